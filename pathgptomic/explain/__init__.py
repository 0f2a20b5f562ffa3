"""Explanations of the risk score: exact modality shares and Captum attributions.

- :mod:`~pathgptomic.explain.decomposition`: θ = W^G·G + W^P·P + b split per patient.
- :mod:`~pathgptomic.explain.attributions`: integrated gradients on the genomic inputs
  and the patch features, grouped by block and gene signature; per-tile scores. It gathers
  :mod:`~pathgptomic.explain.integrated_gradients` (the IG core), :mod:`~pathgptomic.explain.feature_names`,
  :mod:`~pathgptomic.explain.tables`, :mod:`~pathgptomic.explain.signatures` and
  :mod:`~pathgptomic.explain.tiles`.

Thread safety: hold one ``threading.Lock`` per shared model around attribution calls
(see :mod:`pathgptomic.explain.attributions`).
"""

from pathgptomic.explain.attributions import (
    IGResult,
    block_summary,
    cohort_summary,
    feature_block,
    genomic_attribution_table,
    group_by_signature,
    integrated_gradients,
    load_gene_signatures,
    signatures_long,
    tile_attributions,
    top_genomic_features,
    unpack_inputs,
)
from pathgptomic.explain.decomposition import cohort_modality_shares, modality_shares
from pathgptomic.explain.patient_report import ModelFacts, model_facts, patient_curve, patient_report_html

__all__ = [
    "IGResult",
    "ModelFacts",
    "block_summary",
    "cohort_modality_shares",
    "cohort_summary",
    "feature_block",
    "genomic_attribution_table",
    "group_by_signature",
    "integrated_gradients",
    "load_gene_signatures",
    "modality_shares",
    "model_facts",
    "patient_curve",
    "patient_report_html",
    "signatures_long",
    "tile_attributions",
    "top_genomic_features",
    "unpack_inputs",
]
