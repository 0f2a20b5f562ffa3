"""Integrated-gradients attributions of the risk θ to the model inputs (Captum): the names of
:mod:`~pathgptomic.explain.integrated_gradients` (the IG core), :mod:`~pathgptomic.explain.feature_names`,
:mod:`~pathgptomic.explain.tables`, :mod:`~pathgptomic.explain.signatures` and
:mod:`~pathgptomic.explain.tiles`, in one namespace.

Thread safety: attribution runs forward and backward passes through the shared model
(and Captum's layer/neuron methods register hooks on it). A model object cached for
several Streamlit sessions (``st.cache_resource``) must therefore be used by one
attribution at a time: the dashboard must hold a ``threading.Lock`` (one per cached
model) around every call of these modules.
"""

from pathgptomic.explain.feature_names import feature_block
from pathgptomic.explain.integrated_gradients import (
    ATTRIBUTABLE,
    GENOMIC_INPUTS,
    TENSOR_NAMES,
    IGResult,
    integrated_gradients,
    unpack_inputs,
)
from pathgptomic.explain.signatures import group_by_signature, load_gene_signatures, signatures_long
from pathgptomic.explain.tables import block_summary, cohort_summary, genomic_attribution_table, top_genomic_features
from pathgptomic.explain.tiles import tile_attributions

__all__ = [
    "ATTRIBUTABLE",
    "GENOMIC_INPUTS",
    "TENSOR_NAMES",
    "IGResult",
    "block_summary",
    "cohort_summary",
    "feature_block",
    "genomic_attribution_table",
    "group_by_signature",
    "integrated_gradients",
    "load_gene_signatures",
    "signatures_long",
    "tile_attributions",
    "top_genomic_features",
    "unpack_inputs",
]
