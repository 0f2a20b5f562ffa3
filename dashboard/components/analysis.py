"""Computations the pages show, as plain functions of a bundle and a cohort (no Streamlit).

The heavy lifting lives in the library (``Bundle.predict``, :mod:`pathgptomic.evaluation`,
:mod:`pathgptomic.plots`); these helpers only wire it together for the dashboard.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from typing import Any

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
    return TilingConfig(patch_size=s.patch_size, target_mpp=s.target_mpp, assumed_mpp=s.assumed_mpp, max_patches=s.max_patches)


def reference_predictions(bundle: Any) -> pd.DataFrame:
    """The bundle's out-of-fold predictions (training-set ones when it has no CV)."""
    pred = bundle.predictions
    if "split" in pred:
        oof = pred[pred["split"] == "oof"]
        if len(oof):
            return oof.reset_index(drop=True)
        return pred[pred["split"] == "train"].reset_index(drop=True)
    return pred.reset_index(drop=True)


def survival_curves(bundle: Any, pred: pd.DataFrame) -> pd.DataFrame:
    """Predicted survival curves (times x patients) from the Breslow baseline."""
    curves = bundle.baseline.survival_function(pred["risk"].to_numpy(float))
    curves.columns = [str(p) for p in pred["patient_id"]]
    return curves


def decomposition(row: pd.Series) -> pd.DataFrame:
    """The exact split θ = W^G·G + W^P·P + b of the model's raw score θ (not the calibrated risk).

    Returns:
        :func:`pathgptomic.explain.patient_report.theta_split`: rows ``W^G·G (genomic)``,
        ``W^P·P (image)``, ``b (bias)``, ``θ (raw model score)`` with columns ``term`` and
        ``value`` (the genomic/image rows are NaN for kronecker fusion).
    """
    from pathgptomic.explain.patient_report import theta_split

    return theta_split(row)


def input_key(*parts: object) -> str:
    """A short stable key for the inputs a result belongs to (bundle, mode, patient, file hashes)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return digest[:24]


def bytes_digest(data: bytes) -> str:
    """SHA-256 of uploaded bytes (identity of a file, whatever its name)."""
    return hashlib.sha256(data).hexdigest()


def group_km_by_tertile(bundle: Any) -> pd.DataFrame:
    """Kaplan–Meier table of the bundle's out-of-fold patients by the group ``Bundle.predict`` gives.

    Groups are :meth:`Bundle.risk_group` (tertiles of ``bundle.reference_risk``) of the
    out-of-fold risks, so a new patient's ``risk_group`` names one of these curves.
    """
    from pathgptomic.evaluation import kaplan_meier

    ref = reference_predictions(bundle)
    groups = bundle.risk_group(ref["risk"].to_numpy(float))
    return kaplan_meier(ref["time"].to_numpy(float), ref["event"].to_numpy(int), groups)


def evaluated_rows(pred: pd.DataFrame, report: dict) -> pd.DataFrame:
    """The patients an :func:`evaluate_predictions` report grouped, in its order, with their group.

    Args:
        pred: The table that was evaluated (``patient_id``, ``time``, ``event``, ...).
        report: Its report (``patient_id`` and ``risk_groups.labels`` in the same order).

    Returns:
        Columns ``patient_id``, ``time``, ``event``, ``risk_group``.
    """
    ids = report.get("patient_id")
    labels = report["risk_groups"]["labels"]
    rows = pred.copy()
    if "split" in rows.columns and (rows["split"] == "oof").any():
        rows = rows[rows["split"] == "oof"]
    rows = rows.assign(patient_id=rows["patient_id"].astype(str)).drop_duplicates("patient_id")
    rows = rows.set_index("patient_id").loc[list(ids)].reset_index()
    return pd.DataFrame(
        {"patient_id": rows["patient_id"], "time": rows["time"].to_numpy(float), "event": rows["event"].to_numpy(int), "risk_group": labels}
    )


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
    """``"-0.5, 0.5"`` → ``[-0.5, 0.5]``: one or two strictly increasing finite cut-offs.

    Raises:
        InputValidationError: Empty, non-numeric, non-finite, more than two, or not increasing
            (the message quotes the numbers as typed).
    """
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    if not parts:
        raise InputValidationError("give one or two cut-offs on the risk scale, e.g. 0.0 or -0.5, 0.5")
    if len(parts) > 2:
        raise InputValidationError(f"give at most two cut-offs (three groups), got {len(parts)}: {', '.join(parts)}")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise InputValidationError(f"cut-offs must be numbers separated by a comma, e.g. -0.5, 0.5; got {text!r}") from None
    if not all(np.isfinite(values)):
        raise InputValidationError(f"cut-offs must be finite numbers, got {', '.join(parts)}")
    if len(values) == 2 and values[1] <= values[0]:
        raise InputValidationError(
            f"the second cut-off must be larger than the first, got {parts[0]} then {parts[1]}; write them in increasing order"
        )
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
