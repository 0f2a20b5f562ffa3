"""Kaplan–Meier data steps: step vertices, censor ticks, statistics and the plot data.

The data steps (:func:`km_steps`, :func:`step_value`, :func:`censor_marks`,
:func:`km_statistics`, :func:`km_plot_data`) work on the long Kaplan–Meier table of
``pathgptomic.evaluation.kaplan_meier`` (columns ``group, time, survival, ci_lower,
ci_upper, at_risk, events, censored``) and on plain arrays; they return arrays and
DataFrames and are checked against lifelines' ``KaplanMeierFitter``. The figure steps
that draw them live in :mod:`pathgptomic.plots.km_plotly`, :mod:`pathgptomic.plots.km_mpl`
and :mod:`pathgptomic.plots.survival_overlay`; the number-at-risk table in
:mod:`pathgptomic.plots.at_risk`.

The Kaplan–Meier estimate drawn is

.. math::

    \\hat S(t) = \\prod_{t_i \\le t} \\left(1 - \\frac{d_i}{n_i}\\right),

with ``d_i`` deaths at time ``t_i`` and ``n_i`` patients at risk just before ``t_i``;
it is right-continuous, so the curve is drawn as a "post" step (horizontal, then
vertical) starting at ``(0, 1)``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from pathgptomic.errors import InputValidationError, PathGPTomicError
from pathgptomic.plots._common import require_columns
from pathgptomic.plots.at_risk import at_risk_counts, default_at_risk_times
from pathgptomic.validators import check_survival, group_order

logger = logging.getLogger(__name__)

KM_COLUMNS: tuple[str, ...] = ("group", "time", "survival")


@dataclass(frozen=True)
class KMSteps:
    """Post-step vertices of one group's Kaplan–Meier curve.

    Attributes:
        x: Times, shape ``(m,)``, starting at 0, non-decreasing.
        y: Survival after the step at each ``x`` (right-continuous), shape ``(m,)``;
            ``y[0] == 1``.
        lower: Lower confidence bound at each ``x``, shape ``(m,)`` (NaN when absent).
        upper: Upper confidence bound at each ``x``, shape ``(m,)`` (NaN when absent).

    Draw with Plotly ``line_shape="hv"`` or matplotlib ``drawstyle="steps-post"``.
    """

    x: np.ndarray
    y: np.ndarray
    lower: np.ndarray
    upper: np.ndarray


def km_steps(km_df: pd.DataFrame) -> dict[str, KMSteps]:
    """Step-function vertices per group from a long Kaplan–Meier table.

    Args:
        km_df: Table of ``evaluation.kaplan_meier`` with at least ``group, time,
            survival`` (``ci_lower``/``ci_upper`` optional), one row per (group, time).

    Returns:
        ``{group: KMSteps}`` in clinical group order (low, intermediate, high, then the
        rest sorted). Each curve starts at ``(0, 1)`` (a row is prepended when the
        table has no ``time == 0`` row) and then follows the table's rows in time order.

    Raises:
        InputValidationError: When columns are missing or survival leaves ``[0, 1]``.
    """
    require_columns(km_df, KM_COLUMNS, "The Kaplan–Meier table")
    out: dict[str, KMSteps] = {}
    df = km_df.copy()
    df["group"] = df["group"].astype(str)
    for label in group_order(df["group"].to_numpy()):
        g = df[df["group"] == label].sort_values("time", kind="stable")
        x = g["time"].to_numpy(dtype=float)
        y = g["survival"].to_numpy(dtype=float)
        lo = g["ci_lower"].to_numpy(dtype=float) if "ci_lower" in g else np.full_like(y, np.nan)
        up = g["ci_upper"].to_numpy(dtype=float) if "ci_upper" in g else np.full_like(y, np.nan)
        if np.any((y < -1e-12) | (y > 1 + 1e-12)):
            raise InputValidationError(f"Kaplan–Meier table, group {label!r}: 'survival' must lie in [0, 1].")
        if x.size == 0 or x[0] > 0:
            x = np.concatenate([[0.0], x])
            y = np.concatenate([[1.0], y])
            lo = np.concatenate([[1.0], lo])
            up = np.concatenate([[1.0], up])
        elif y[0] < 1.0:
            # deaths at t = 0: start at S = 1 and drop vertically at 0
            x = np.concatenate([[0.0], x])
            y = np.concatenate([[1.0], y])
            lo = np.concatenate([[1.0], lo])
            up = np.concatenate([[1.0], up])
        out[label] = KMSteps(x=x, y=y, lower=lo, upper=up)
    return out


def step_value(x: np.ndarray, y: np.ndarray, t: Any) -> np.ndarray:
    """Evaluate a right-continuous post-step function at times ``t``.

    ``S(t) = y[k]`` with ``k`` the last index such that ``x[k] <= t``; times before
    ``x[0]`` give ``y[0]``.

    Args:
        x: Step times, shape ``(m,)``, non-decreasing.
        y: Values after each step, shape ``(m,)``.
        t: Query times, scalar or shape ``(q,)``.

    Returns:
        Values at ``t``, shape ``(q,)``.
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    tq = np.atleast_1d(np.asarray(t, dtype=float))
    idx = np.searchsorted(x, tq, side="right") - 1
    return y[np.clip(idx, 0, len(y) - 1)]


def censor_marks(time: Any, event: Any, groups: Any, km_df: pd.DataFrame) -> pd.DataFrame:
    """Where to draw censoring ticks: the curve's value at each censoring time.

    Args:
        time: Follow-up times, shape ``(n,)``.
        event: 1 = death observed, 0 = censored, shape ``(n,)``.
        groups: Group label per patient, shape ``(n,)``.
        km_df: The groups' Kaplan–Meier table (see :func:`km_steps`).

    Returns:
        DataFrame with columns ``group, time, survival, n_censored``: one row per
        distinct (group, censoring time), ``survival`` = :math:`\\hat S(t)` of that
        group at ``t`` (right-continuous, i.e. after any deaths at ``t``, as lifelines'
        ``survival_function_at_times`` and its ``show_censors`` ticks).

    Raises:
        InputValidationError: On malformed arrays or a group missing from ``km_df``.
    """
    t, e, other = check_survival(time, event, allow_empty=False, groups=groups)
    g = other["groups"]
    steps = km_steps(km_df)
    rows: list[dict[str, Any]] = []
    for label in group_order(g):
        sel = (g == label) & (e == 0)
        if not np.any(sel):
            continue
        if label not in steps:
            raise InputValidationError(
                f"Group {label!r} has censored patients but no rows in the Kaplan–Meier table; "
                "compute the table from the same time/event/groups."
            )
        ct, counts = np.unique(t[sel], return_counts=True)
        s = step_value(steps[label].x, steps[label].y, ct)
        rows.extend({"group": label, "time": float(a), "survival": float(b), "n_censored": int(c)} for a, b, c in zip(ct, s, counts))
    return pd.DataFrame(rows, columns=["group", "time", "survival", "n_censored"])


def km_title_text(p: float | None, hr: tuple[float, float, float] | None = None, group: str = "", reference: str = "") -> str:
    """The KM figure's statistics line: ``log-rank p = 0.0123 · HR high vs low 2.10 (1.40–3.15)``.

    Args:
        p: Log-rank p-value (left out when ``None``).
        hr: ``(hazard ratio, lower, upper)`` of ``group`` against ``reference`` (left out when ``None``).
        group, reference: The two groups' labels.
    """
    from pathgptomic.evaluation import format_p

    parts = [] if p is None else [f"log-rank p {format_p(p, relation=True)}"]
    if hr is not None:
        parts.append(f"HR {group} vs {reference} {hr[0]:.2f} ({hr[1]:.2f}–{hr[2]:.2f})")
    return " · ".join(parts)


def km_statistics(time: Any, event: Any, groups: Any) -> dict[str, Any]:
    """Log-rank p-value and hazard ratio (when exactly two groups) for the KM title.

    Uses ``pathgptomic.evaluation.logrank`` and ``hazard_ratio``; a statistic that
    cannot be computed (one group only, an evaluation error) is left out and logged.

    Returns:
        ``{"p": float | None, "hr": (hr, lower, upper) | None, "text": str}``.
    """
    from pathgptomic import evaluation  # lazy: evaluation imports lifelines/sksurv

    out: dict[str, Any] = {"p": None, "hr": None, "text": ""}
    labels = group_order(groups)
    if len(labels) < 2:
        return out
    try:
        out["p"] = float(evaluation.logrank(time, event, groups))
    except (PathGPTomicError, ValueError) as err:
        logger.info("log-rank test not available: %s", err)
    if len(labels) == 2:
        try:
            out["hr"] = tuple(float(v) for v in evaluation.hazard_ratio(time, event, groups))
        except (PathGPTomicError, ValueError) as err:
            logger.info("hazard ratio not available: %s", err)
    out["text"] = km_title_text(out["p"], out["hr"], str(labels[-1]), str(labels[0]))
    return out


def _km_table(time: np.ndarray, event: np.ndarray, groups: np.ndarray) -> pd.DataFrame:
    from pathgptomic import evaluation  # lazy

    return evaluation.kaplan_meier(time, event, groups)


@dataclass(frozen=True)
class KMPlotData:
    """Everything a Kaplan–Meier figure draws, computed once (see :func:`km_plot_data`).

    Attributes:
        groups: Group label per patient as ``str``, shape ``(n,)``.
        steps: :func:`km_steps` of the KM table.
        marks: :func:`censor_marks` table.
        ticks: Times of the at-risk table, shape ``(k,)``.
        at_risk: :func:`at_risk_counts` at ``ticks``.
        stats: :func:`km_statistics` result.
    """

    groups: np.ndarray
    steps: dict[str, KMSteps]
    marks: pd.DataFrame
    ticks: np.ndarray
    at_risk: pd.DataFrame
    stats: dict[str, Any]


def km_plot_data(
    time: Any,
    event: Any,
    groups: Any,
    *,
    at_risk_times: Sequence[float] | None = None,
    km_df: pd.DataFrame | None = None,
    stats: dict[str, Any] | None = None,
) -> KMPlotData:
    """The data step shared by :func:`km_figure` and :func:`km_matplotlib`.

    Args:
        time: Follow-up times, shape ``(n,)``.
        event: 1 = death observed, 0 = censored, shape ``(n,)``.
        groups: Group label per patient, shape ``(n,)``.
        at_risk_times: Times of the at-risk table (default: about 6 round ticks).
        km_df: Precomputed ``evaluation.kaplan_meier`` table (computed when None).
        stats: Precomputed :func:`km_statistics` (computed when None).

    Returns:
        The :class:`KMPlotData`.
    """
    t, e, other = check_survival(time, event, allow_empty=False, groups=groups)
    g = other["groups"]
    table = km_df if km_df is not None else _km_table(t, e, g)
    ticks = default_at_risk_times(float(t.max())) if at_risk_times is None else np.asarray(at_risk_times, dtype=float)
    return KMPlotData(
        groups=g,
        steps=km_steps(table),
        marks=censor_marks(t, e, g, table),
        ticks=ticks,
        at_risk=at_risk_counts(t, g, ticks),
        stats=stats if stats is not None else km_statistics(t, e, g),
    )


def _finite_band(s: KMSteps) -> tuple[np.ndarray, np.ndarray]:
    """Lower/upper bounds with NaN replaced by the curve value."""
    return np.where(np.isfinite(s.lower), s.lower, s.y), np.where(np.isfinite(s.upper), s.upper, s.y)


def _band_polygon(s: KMSteps) -> tuple[np.ndarray, np.ndarray]:
    """Closed polygon of a step-shaped confidence band (explicit step vertices).

    Missing bounds (NaN) collapse the band onto the curve there.
    """
    lower, upper = _finite_band(s)
    xs = np.repeat(s.x, 2)[1:]
    lo = np.repeat(lower, 2)[:-1]
    up = np.repeat(upper, 2)[:-1]
    return np.concatenate([xs, xs[::-1]]), np.concatenate([up, lo[::-1]])
