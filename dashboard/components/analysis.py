"""Computations the pages show, as plain functions of a bundle and a cohort (no Streamlit).

The heavy lifting lives in the library (``Bundle.predict``, :mod:`pathgptomic.evaluation`,
:mod:`pathgptomic.plots`); these helpers only wire it together for the dashboard.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

import numpy as np
import pandas as pd

from pathgptomic.errors import InputValidationError

#: Risk-group schemes offered by the pages.
SCHEMES: tuple[str, ...] = ("median", "tertiles", "custom")


def uses_images(bundle: Any) -> bool:
    """True when the bundle's model has an image branch."""
    try:
        return bool(bundle.train_config.model.uses_images)
    except AttributeError:
        return True


def tiling_config(bundle: Any) -> Any:
    """The :class:`~pathgptomic.slides.TilingConfig` the bundle's features were made with."""
    from pathgptomic.slides import TilingConfig

    s = bundle.train_config.features
    return TilingConfig(patch_size=s.patch_size, target_mpp=s.target_mpp, assumed_mpp=s.assumed_mpp,
                        max_patches=s.max_patches)


def reference_predictions(bundle: Any) -> pd.DataFrame:
    """The bundle's out-of-fold predictions (training-set ones when it has no CV)."""
    pred = bundle.predictions
    if "split" in pred:
        oof = pred[pred["split"] == "oof"]
        if len(oof):
            return oof.reset_index(drop=True)
        return pred[pred["split"] == "train"].reset_index(drop=True)
    return pred.reset_index(drop=True)


def cutoffs_for(bundle: Any, scheme: str | Sequence[float] = "median") -> list[float]:
    """Risk cut-offs from the bundle's training risks (median, tertiles or custom values)."""
    from pathgptomic.evaluation import risk_cutoffs

    return [float(c) for c in np.atleast_1d(risk_cutoffs(bundle.train_risk, scheme))]


def groups_for(risk: Sequence[float] | np.ndarray, cutoffs: Sequence[float]) -> np.ndarray:
    """Risk-group label per patient for the given cut-offs."""
    from pathgptomic.evaluation import assign_risk_groups

    return np.asarray(assign_risk_groups(np.asarray(risk, dtype=float), list(cutoffs)), dtype=object)


def group_km(bundle: Any, cutoffs: Sequence[float]) -> pd.DataFrame:
    """Kaplan–Meier table of the bundle's reference patients by predicted risk group."""
    from pathgptomic.evaluation import kaplan_meier

    ref = reference_predictions(bundle)
    groups = groups_for(ref["risk"], cutoffs)
    return kaplan_meier(ref["time"].to_numpy(float), ref["event"].to_numpy(int), groups)


def survival_curves(bundle: Any, pred: pd.DataFrame) -> pd.DataFrame:
    """Predicted survival curves (times x patients) from the Breslow baseline."""
    curves = bundle.baseline.survival_function(pred["risk"].to_numpy(float))
    curves.columns = [str(p) for p in pred["patient_id"]]
    return curves


def decomposition(row: pd.Series) -> pd.DataFrame:
    """The exact split θ = W^G·G + W^P·P + b of one prediction, as a small table.

    Returns:
        Rows ``W^G·G (genomic)``, ``W^P·P (image)``, ``b (bias)``, ``θ (risk)`` with
        columns ``term`` and ``value`` (the genomic/image rows are NaN for kronecker fusion).
    """
    g, p, b, theta = (float(row.get(k, np.nan)) for k in ("genomic_term", "image_term", "bias", "risk"))
    return pd.DataFrame({
        "term": ["W^G·G (genomic)", "W^P·P (image)", "b (bias)", "θ (risk score)"],
        "value": [g, p, b, theta],
    })


def one_patient(cohort: Any, patient_id: str) -> Any:
    """The sub-cohort holding ``patient_id`` only.

    Raises:
        InputValidationError: Unknown patient.
    """
    ids = [str(i) for i in cohort.ids]
    if patient_id not in ids:
        raise InputValidationError(f"patient {patient_id!r} is not in the cohort")
    return cohort.subset([ids.index(patient_id)])


def with_slide(cohort: Any, slide_path: str | None) -> Any:
    """``cohort`` (one patient) with ``slide_path`` as its only slide (or none)."""
    pid = str(cohort.ids[0])
    return replace(cohort, slides={pid: [str(slide_path)] if slide_path else []})


def parse_custom_cutoffs(text: str) -> list[float]:
    """``"0.1, 0.5"`` → ``[0.1, 0.5]`` (sorted, unique).

    Raises:
        InputValidationError: Empty or non-numeric entries.
    """
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise InputValidationError("give at least one custom cut-off, e.g. 0.0 or -0.5, 0.5")
    try:
        values = sorted({float(p) for p in parts})
    except ValueError as exc:
        raise InputValidationError(f"custom cut-offs must be numbers separated by commas, got {text!r}") from exc
    if not all(np.isfinite(values)):
        raise InputValidationError("custom cut-offs must be finite numbers")
    return values


def template_feature_blocks(bundle: Any) -> dict[str, list[str]]:
    """Gene names per genomic block of the bundle's raw inputs (for the omics template)."""
    from pathgptomic.data.readers import BLOCK_SUFFIXES

    out: dict[str, list[str]] = {}
    names = list(bundle.feature_names.get("cnv_mut", [])) + list(bundle.feature_names.get("rna", []))
    for name in names:
        for block, suffix in BLOCK_SUFFIXES.items():
            if suffix and name.endswith(suffix):
                out.setdefault(block, []).append(name[: -len(suffix)])
                break
    return out


def input_coverage(bundle: Any, cohort: Any) -> list[str]:
    """Warnings for model genes missing (absent or empty) in a cohort's genomic blocks.

    Args:
        bundle: The model bundle (its ``feature_names`` define the expected genes).
        cohort: The input cohort (usually one patient).

    Returns:
        One sentence per block with missing genes, e.g. ``"cnv: 28 of 30 model genes present;
        missing (imputed with the training median): EGFR, MET"``; empty when all are present.
    """
    notes = []
    for block, genes in template_feature_blocks(bundle).items():
        table = cohort.blocks.get(block)
        present = set() if table is None else {str(c) for c in table.columns if table[c].notna().all()}
        missing = [g for g in genes if g not in present]
        if missing:
            shown = ", ".join(missing[:8]) + (f" and {len(missing) - 8} more" if len(missing) > 8 else "")
            notes.append(f"{block}: {len(genes) - len(missing)} of {len(genes)} model genes present; "
                         f"missing (imputed with the training median): {shown}")
    return notes
