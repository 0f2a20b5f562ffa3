"""Exact modality shares of the risk score θ = W^G·G + W^P·P + b.

For the concat / gradmod / unimodal models the risk is a sum of three terms,

.. math::

    \\theta_i = \\underbrace{W^G G_i}_{g_i} + \\underbrace{W^P P_i}_{p_i} + b,

so the split is exact (no attribution method involved). Shares per patient:

.. math::

    \\text{share}^{abs}_m = \\frac{|m_i|}{|g_i| + |p_i| + |b|}, \\qquad
    \\text{share}^{signed}_m = \\frac{m_i}{|g_i| + |p_i| + |b|},
    \\quad m \\in \\{g, p, b\\},

the absolute shares sum to 1 (how much of the score's magnitude each part carries),
the signed shares keep the direction (positive = pushes towards higher risk) and sum
to :math:`\\theta_i / (|g_i| + |p_i| + |b|)`. Shares of θ itself (``g/θ``) are not
used: they explode when θ is near 0. ``image_vs_genomic`` = :math:`|p_i| / (|g_i| + |p_i|)`
ignores the bias. When all three terms are 0 the shares are NaN.

A kronecker-fusion model's θ is a bilinear function of G and P; it does not split
this way and its ``genomic_term`` / ``image_term`` are NaN (use integrated gradients
per branch, :mod:`pathgptomic.explain.attributions`, instead).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from pathgptomic.errors import InputValidationError

KRONECKER_MESSAGE = (
    "the genomic and image terms are NaN for {n} patient(s): a kronecker-fusion model's risk θ "
    "is a bilinear function of both branches and does not split into W^G·G + W^P·P + b, so "
    "there are no exact modality shares. Use integrated gradients per branch "
    "(pathgptomic.explain.integrated_gradients) to see each modality's influence."
)


def _as_1d(name: str, value: Any, n: int | None = None) -> np.ndarray:
    arr = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value, dtype=float)
    arr = arr.reshape(-1) if arr.ndim > 0 else arr.reshape(1)
    if n is not None and arr.size == 1 and n != 1:
        arr = np.full(n, float(arr[0]))
    if n is not None and arr.size != n:
        raise InputValidationError(f"Dimension mismatch: '{name}' has {arr.size} values but expected {n}.")
    return arr


def modality_shares(
    genomic_term: Any,
    image_term: Any,
    bias: Any,
    *,
    theta: Any | None = None,
    patient_ids: Sequence[Any] | None = None,
    on_nan: str = "raise",
    atol: float = 1e-4,
) -> pd.DataFrame:
    """Exact decomposition of θ into genomic, image and bias parts, per patient.

    Args:
        genomic_term: ``W^G·G`` per patient, shape ``(n,)`` (or a scalar for one patient).
        image_term: ``W^P·P`` per patient, shape ``(n,)``.
        bias: ``b``: a scalar or shape ``(n,)``.
        theta: Optional model risk, shape ``(n,)``; when given it is checked to equal
            ``g + p + b`` within ``atol + 1e-4·|θ|``.
        patient_ids: Optional ids, shape ``(n,)`` (first column of the result).
        on_nan: ``"raise"`` (default) raises for NaN terms (kronecker models); ``"keep"``
            returns the rows with NaN shares and ``separable = False``.
        atol: Absolute tolerance of the θ check.

    Returns:
        DataFrame, one row per patient: ``[patient_id,] theta, genomic_term, image_term,
        bias, genomic_share, image_share, bias_share`` (absolute shares),
        ``genomic_signed, image_signed, bias_signed``, ``image_vs_genomic``, ``separable``.

    Raises:
        InputValidationError: On NaN terms with ``on_nan="raise"``, mismatched lengths, or
            a θ that is not the sum of the terms.
    """
    if on_nan not in ("raise", "keep"):
        raise InputValidationError(f"on_nan must be 'raise' or 'keep', not {on_nan!r}.")
    g = _as_1d("genomic_term", genomic_term)
    n = g.size
    p = _as_1d("image_term", image_term, n)
    b = _as_1d("bias", bias, n)
    if np.any(np.isnan(b)):
        raise InputValidationError("'bias' is NaN; pass the model's scalar bias b.")
    nan_rows = np.isnan(g) | np.isnan(p)
    if np.any(nan_rows) and on_nan == "raise":
        raise InputValidationError(KRONECKER_MESSAGE.format(n=int(nan_rows.sum())))
    total = g + p + b
    if theta is not None:
        th = _as_1d("theta", theta, n)
        ok = nan_rows | (np.abs(th - total) <= atol + 1e-4 * np.abs(th))
        if not np.all(ok):
            bad = int(np.flatnonzero(~ok)[0])
            raise InputValidationError(
                f"θ is not genomic_term + image_term + bias at row {bad} "
                f"({th[bad]:.6g} vs {total[bad]:.6g}); pass the terms and θ of the same model output."
            )
        total = np.where(nan_rows, th, total)
    denom = np.abs(g) + np.abs(p) + np.abs(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        safe = np.where(denom > 0, denom, np.nan)
        gp = np.abs(g) + np.abs(p)
        out = pd.DataFrame(
            {
                "theta": total,
                "genomic_term": g,
                "image_term": p,
                "bias": b,
                "genomic_share": np.abs(g) / safe,
                "image_share": np.abs(p) / safe,
                "bias_share": np.abs(b) / safe,
                "genomic_signed": g / safe,
                "image_signed": p / safe,
                "bias_signed": b / safe,
                "image_vs_genomic": np.abs(p) / np.where(gp > 0, gp, np.nan),
                "separable": ~nan_rows,
            }
        )
    if patient_ids is not None:
        ids = list(patient_ids)
        if len(ids) != n:
            raise InputValidationError(f"Dimension mismatch: 'patient_ids' has {len(ids)} values but expected {n}.")
        out.insert(0, "patient_id", ids)
    return out


def cohort_modality_shares(shares: pd.DataFrame) -> dict[str, float]:
    """Cohort summary of :func:`modality_shares`: mean absolute shares over separable rows.

    Args:
        shares: Output of :func:`modality_shares`.

    Returns:
        ``{"genomic": mean genomic_share, "image": ..., "bias": ..., "n": rows used}``.
    """
    ok = shares[shares["separable"]]
    return {
        "genomic": float(ok["genomic_share"].mean()),
        "image": float(ok["image_share"].mean()),
        "bias": float(ok["bias_share"].mean()),
        "n": int(len(ok)),
    }
