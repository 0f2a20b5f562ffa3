"""Can the model judge this patient? Input coverage, out-of-range values and refusals.

Before a bundle scores new patients, :func:`audit_inputs` compares their raw inputs with
what the model saw in training:

* **errors** (:class:`~pathgptomic.errors.InputValidationError`, nothing is scored): an
  infinite value, or an *absurd* one, farther from the training median than
  :data:`ABSURD_FACTOR` times the feature's training scale
  :math:`s_j = \\max(\\max_j - \\min_j,\\ |\\mathrm{median}_j|,\\ 1)`; a typo such as a
  gene multiplied by :math:`10^6` lands here instead of being silently scored;
* **warnings** (one per feature): a value outside the training range by more than
  :data:`OUT_OF_RANGE_MARGIN` of the range's width (any value other than the constant of
  a feature that never varied in training);
* one warning naming every input column the model does not use, and one per block
  naming the model features absent from the input (imputed with training medians);
* **coverage**: per patient and block (``cnv``, ``mut``, ``rnaseq``, ``clinical``) the
  fraction of the model's features of that block that were measured; ``n_imputed`` the
  number of model inputs filled with a training median;
* **insufficient data**: a patient whose coverage of a block the model needs is under
  ``min_coverage`` (default :data:`DEFAULT_MIN_COVERAGE`), or who has no slide for a model
  that reads slides, gets no score: the reason says what is missing.

The training ranges (:func:`feature_ranges`) are stored in each bundle's ``config.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from pathgptomic.data.cohort import CLINICAL_BLOCK, Cohort
from pathgptomic.data.readers import BLOCK_SUFFIXES, block_of_column
from pathgptomic.errors import InputValidationError

#: A value farther than this many training scales from the median is an error.
ABSURD_FACTOR = 1000.0
#: A value beyond the training range by more than this fraction of its width is warned about.
OUT_OF_RANGE_MARGIN = 0.25
#: Default minimum fraction of a needed block's features that must be measured.
DEFAULT_MIN_COVERAGE = 0.5
#: Statistics stored per feature by :func:`feature_ranges`, in order.
RANGE_KEYS: tuple[str, ...] = ("min", "q01", "median", "q99", "max")
_LISTED = 5


def column_block(column: str) -> str:
    """Block of a model input column: by its suffix (``TP53_cnv`` → ``cnv``, any case), else ``clinical``."""
    return block_of_column(column) or CLINICAL_BLOCK


def feature_ranges(table: pd.DataFrame) -> dict[str, list[float] | None]:
    """Training distribution of each column: ``[min, 1st pct, median, 99th pct, max]`` of measured values.

    Args:
        table: Raw (unscaled) training inputs, shape ``(n, p)``; NaN = missing.

    Returns:
        Column name → the five statistics (:data:`RANGE_KEYS`), or None for a column never measured.
    """
    arr = table.to_numpy(dtype=float)
    out: dict[str, list[float] | None] = {}
    for j, col in enumerate(table.columns):
        v = arr[:, j]
        v = v[np.isfinite(v)]
        out[str(col)] = None if v.size == 0 else [float(x) for x in np.quantile(v, [0.0, 0.01, 0.5, 0.99, 1.0])]
    return out


def raw_model_inputs(cohort: Cohort, columns: Sequence[str]) -> pd.DataFrame:
    """The cohort's raw values of the model's tabular input ``columns`` (float64, NaN = not measured).

    Model columns carry their block suffix (``TP53_cnv``; clinical columns have none); the
    cohort's blocks hold gene names without it. Absent columns are all-NaN.

    Returns:
        Shape ``(n, len(columns))`` indexed by patient id.
    """
    parts = []
    for block, frame in cohort.blocks.items():
        suffix = BLOCK_SUFFIXES.get(block, "")
        parts.append(frame.rename(columns=lambda c, s=suffix: f"{c}{s}"))
    raw = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=cohort.ids)
    raw = raw.loc[:, ~raw.columns.duplicated()]
    out = raw.reindex(columns=list(columns)).astype(float)
    out.index = pd.Index(np.asarray(cohort.ids, dtype=str), name="patient_id")
    return out


def _listing(items: Sequence[str]) -> str:
    return ", ".join(items[:_LISTED]) + (f" and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def _value_problems(raw: pd.DataFrame, ranges: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(errors, warnings) for infinite/absurd and out-of-range values; see the module docstring."""
    errors: list[str] = []
    notes: list[str] = []
    arr = raw.to_numpy(dtype=float)
    ids = raw.index.to_numpy()
    for j, col in enumerate(raw.columns):
        v = arr[:, j]
        inf = np.isinf(v)
        errors += [f"patient {ids[i]!r}, column {col!r}: value {v[i]} is infinite" for i in np.flatnonzero(inf)]
        stats = ranges.get(col)
        if stats is None:
            continue
        lo, med, hi = stats[0], stats[2], stats[4]
        scale = max(hi - lo, abs(med), 1.0)
        absurd = np.isfinite(v) & (np.abs(v - med) > ABSURD_FACTOR * scale)
        errors += [
            f"patient {ids[i]!r}, column {col!r}: value {v[i]:.6g} is absurd for this feature (training values {lo:.4g} to {hi:.4g})"
            for i in np.flatnonzero(absurd)
        ]
        width = hi - lo
        margin = OUT_OF_RANGE_MARGIN * width
        outside = np.isfinite(v) & ~absurd & ((v < lo - margin) | (v > hi + margin))
        if width == 0:
            outside = np.isfinite(v) & ~absurd & ~np.isclose(v, lo)
        if outside.any():
            shown = [f"{ids[i]} ({v[i]:.4g})" for i in np.flatnonzero(outside)]
            notes.append(
                f"{col}: value(s) far outside the training range {lo:.4g} to {hi:.4g} for patient(s) "
                f"{_listing(shown)}; the model has not seen such values, so treat its prediction with caution."
            )
    return errors, notes


@dataclass
class InputAudit:
    """Outcome of :func:`audit_inputs`.

    Attributes:
        coverage: Fraction of the model's features measured, per patient and block, shape
            ``(n, n_blocks)``; columns ``coverage_<block>``.
        n_imputed: Model inputs filled with a training median per patient, shape ``(n,)``.
        insufficient: Reason a patient cannot be scored ('' when it can), shape ``(n,)``.
        warnings: Messages for the user, in order.
    """

    coverage: pd.DataFrame
    n_imputed: pd.Series
    insufficient: pd.Series
    warnings: list[str] = field(default_factory=list)


def audit_inputs(
    cohort: Cohort,
    model_columns: Sequence[str],
    ranges: Mapping[str, Any],
    *,
    required_blocks: Iterable[str],
    needs_slides: bool = False,
    min_coverage: float = DEFAULT_MIN_COVERAGE,
) -> InputAudit:
    """Check new patients against the model's training inputs (see the module docstring).

    Args:
        cohort: Patients read for prediction.
        model_columns: The model's tabular input columns (suffixed), e.g. ``TP53_cnv``, ``age``.
        ranges: :func:`feature_ranges` of the training cohort.
        required_blocks: Blocks the model needs measured (e.g. ``("cnv", "mut")``).
        needs_slides: The model reads slides.
        min_coverage: Minimum measured fraction of each required block, in [0, 1].

    Returns:
        The :class:`InputAudit`.

    Raises:
        InputValidationError: Infinite or absurd values (all listed, with patient and column).
    """
    if not 0.0 <= min_coverage <= 1.0:
        raise InputValidationError(f"min_coverage must lie in [0, 1], got {min_coverage}.")
    raw = raw_model_inputs(cohort, model_columns)
    errors, notes = _value_problems(raw, ranges)
    if errors:
        raise InputValidationError(
            f"{len(errors)} input value(s) cannot be right: {'; '.join(errors[:_LISTED])}"
            + (f"; and {len(errors) - _LISTED} more" if len(errors) > _LISTED else "")
            + ". Fix: correct the values (check units and scaling) or leave the cells empty to mark them missing."
        )
    measured = np.isfinite(raw.to_numpy(dtype=float))
    blocks = np.array([column_block(c) for c in raw.columns])
    coverage = pd.DataFrame(index=raw.index)
    for block in dict.fromkeys(blocks):
        coverage[f"coverage_{block}"] = measured[:, blocks == block].mean(axis=1)
    warnings_out: list[str] = []
    known = set(model_columns)
    present_cols = [f"{c}{BLOCK_SUFFIXES.get(b, '')}" for b, f in cohort.blocks.items() for c in f.columns]
    unknown = [c for c in present_cols if c not in known] + list(cohort.meta.get("ignored_columns", []))
    if unknown:
        warnings_out.append(f"{len(unknown)} input column(s) are not used by this model: {_listing(unknown)}.")
    present = set(present_cols)
    for block in dict.fromkeys(blocks):
        absent = [c for c, b in zip(raw.columns, blocks) if b == block and c not in present]
        if absent:
            warnings_out.append(
                f"{len(absent)} of the model's {int((blocks == block).sum())} {block} feature(s) are absent from "
                f"the input and were imputed with training medians: {_listing(absent)}."
            )
    warnings_out += notes
    reasons = pd.Series("", index=raw.index, dtype=object)
    for block in required_blocks:
        col = f"coverage_{block}"
        cov = coverage[col] if col in coverage else _input_block_coverage(cohort, block, raw.index)
        if col not in coverage:
            coverage[col] = cov
        for pid, c in cov[cov < min_coverage].items():
            reasons[pid] += f"{block}: {c:.0%} of the model's features measured, needs {min_coverage:.0%}; "
    if needs_slides:
        for pid in raw.index:
            if not cohort.slides.get(str(pid)):
                reasons[pid] += "no slide or image; "
    reasons = reasons.str.rstrip("; ")
    n_bad = int((reasons != "").sum())
    if n_bad:
        warnings_out.append(
            f"{n_bad} patient(s) have too little data for this model and get no risk: "
            f"{_listing([f'{pid} ({r})' for pid, r in reasons[reasons != ''].items()])}."
        )
    n_imputed = pd.Series((~measured).sum(axis=1), index=raw.index, name="n_imputed")
    return InputAudit(coverage=coverage, n_imputed=n_imputed, insufficient=reasons, warnings=warnings_out)


def _input_block_coverage(cohort: Cohort, block: str, index: pd.Index) -> pd.Series:
    """Measured fraction of the input's own columns of ``block`` (models whose inputs are embeddings)."""
    frame = cohort.blocks.get(block)
    if frame is None or frame.shape[1] == 0:
        return pd.Series(0.0, index=index)
    values = np.isfinite(frame.to_numpy(dtype=float)).mean(axis=1)
    return pd.Series(values, index=index)
