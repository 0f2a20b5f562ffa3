"""Kaplan–Meier figures: pure data steps (tested) and Plotly / matplotlib figure steps.

The data steps (:func:`km_steps`, :func:`step_value`, :func:`censor_marks`,
:func:`at_risk_counts`) work on the long Kaplan–Meier table of
``pathgptomic.evaluation.kaplan_meier`` (columns ``group, time, survival, ci_lower,
ci_upper, at_risk, events, censored``) and on plain arrays; they return arrays and
DataFrames and are checked against lifelines' ``KaplanMeierFitter``. The figure steps
(:func:`km_figure`, :func:`survival_curve_figure`, :func:`km_matplotlib`) only draw.

The Kaplan–Meier estimate drawn is

.. math::

    \\hat S(t) = \\prod_{t_i \\le t} \\left(1 - \\frac{d_i}{n_i}\\right),

with ``d_i`` deaths at time ``t_i`` and ``n_i`` patients at risk just before ``t_i``;
it is right-continuous, so the curve is drawn as a "post" step (horizontal, then
vertical) starting at ``(0, 1)``.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pathgptomic.errors import InputValidationError, PathGPTomicError
from pathgptomic.plots._common import (
    check_grouped_arrays,
    group_colours,
    ordered_groups,
    require_columns,
    rgba,
)

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
    for label in ordered_groups(df["group"].to_numpy()):
        g = df[df["group"] == label].sort_values("time", kind="stable")
        x = g["time"].to_numpy(dtype=float)
        y = g["survival"].to_numpy(dtype=float)
        lo = g["ci_lower"].to_numpy(dtype=float) if "ci_lower" in g else np.full_like(y, np.nan)
        up = g["ci_upper"].to_numpy(dtype=float) if "ci_upper" in g else np.full_like(y, np.nan)
        if np.any((y < -1e-12) | (y > 1 + 1e-12)):
            raise InputValidationError(
                f"Kaplan–Meier table, group {label!r}: 'survival' must lie in [0, 1]."
            )
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


def censor_marks(
    time: Any, event: Any, groups: Any, km_df: pd.DataFrame
) -> pd.DataFrame:
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
    t, e, g = check_grouped_arrays(time, event, groups)
    steps = km_steps(km_df)
    rows: list[dict[str, Any]] = []
    for label in ordered_groups(g):
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
        rows.extend(
            {"group": label, "time": float(a), "survival": float(b), "n_censored": int(c)}
            for a, b, c in zip(ct, s, counts)
        )
    return pd.DataFrame(rows, columns=["group", "time", "survival", "n_censored"])


def at_risk_counts(
    time: Any,
    groups: Any,
    times: Sequence[float] | np.ndarray,
    *,
    event: Any | None = None,
    from_start_of_period: bool = False,
) -> pd.DataFrame:
    """Number at risk per group at the given times, with lifelines' conventions.

    lifelines' ``add_at_risk_counts`` (default) reports, at a tick ``t``, the patients
    still followed *after* the last observed time ``<= t`` has been removed:
    ``n(t) = #{i : T_i > t}`` (R's ``survminer`` risk table does the same); with
    ``from_start_of_period=True`` it reports the risk set at that last observed time,
    ``#{i : T_i >= t*}`` with ``t*`` the largest observed time ``<= t`` (0 when none).

    Args:
        time: Follow-up times, shape ``(n,)``.
        groups: Group label per patient, shape ``(n,)``.
        times: Tick times at which to count, shape ``(k,)``.
        event: Optional event indicators, shape ``(n,)``; when given the table also holds
            the cumulative ``censored`` and ``events`` counts up to each tick (inclusive),
            as lifelines' "Censored" / "Events" rows.
        from_start_of_period: lifelines' ``at_risk_count_from_start_of_period``.

    Returns:
        Long DataFrame ``group, time, at_risk`` (+ ``censored, events``), one row per
        (group, tick), groups in clinical order.
    """
    ev = np.ones(np.asarray(time).shape[0]) if event is None else event
    t, e, g = check_grouped_arrays(time, ev, groups)
    ticks = np.asarray(times, dtype=float).ravel()
    rows: list[dict[str, Any]] = []
    for label in ordered_groups(g):
        tg = t[g == label]
        eg = e[g == label]
        for tick in ticks:
            if from_start_of_period:
                seen = tg[tg <= tick]
                start = float(seen.max()) if seen.size else 0.0
                n = int(np.sum(tg >= start))
            else:
                n = int(np.sum(tg > tick))
            row: dict[str, Any] = {"group": label, "time": float(tick), "at_risk": n}
            if event is not None:
                row["censored"] = int(np.sum((tg <= tick) & (eg == 0)))
                row["events"] = int(np.sum((tg <= tick) & (eg == 1)))
            rows.append(row)
    cols = ["group", "time", "at_risk"] + (["censored", "events"] if event is not None else [])
    return pd.DataFrame(rows, columns=cols)


def default_at_risk_times(max_time: float, n_ticks: int = 6) -> np.ndarray:
    """Round tick times from 0 to ``max_time`` (about ``n_ticks`` of them)."""
    if max_time <= 0:
        return np.array([0.0])
    raw = max_time / max(n_ticks - 1, 1)
    mag = 10 ** np.floor(np.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    return np.arange(0.0, max_time + 1e-9, step)


def _format_p(p: float) -> str:
    if not np.isfinite(p):
        return "n/a"
    return "< 0.001" if p < 1e-3 else f"= {p:.3f}"


def km_statistics(time: Any, event: Any, groups: Any) -> dict[str, Any]:
    """Log-rank p-value and hazard ratio (when exactly two groups) for the KM title.

    Uses ``pathgptomic.evaluation.logrank`` and ``hazard_ratio``; a statistic that
    cannot be computed (one group only, an evaluation error) is left out and logged.

    Returns:
        ``{"p": float | None, "hr": (hr, lower, upper) | None, "text": str}``.
    """
    from pathgptomic import evaluation  # lazy: evaluation imports lifelines/sksurv

    out: dict[str, Any] = {"p": None, "hr": None, "text": ""}
    labels = ordered_groups(groups)
    if len(labels) < 2:
        return out
    parts: list[str] = []
    try:
        out["p"] = float(evaluation.logrank(time, event, groups))
        parts.append(f"log-rank p {_format_p(out['p'])}")
    except (PathGPTomicError, ValueError) as err:
        logger.info("log-rank test not available: %s", err)
    if len(labels) == 2:
        try:
            hr = tuple(float(v) for v in evaluation.hazard_ratio(time, event, groups))
            out["hr"] = hr
            parts.append(f"HR {labels[-1]} vs {labels[0]} {hr[0]:.2f} ({hr[1]:.2f}–{hr[2]:.2f})")
        except (PathGPTomicError, ValueError) as err:
            logger.info("hazard ratio not available: %s", err)
    out["text"] = " · ".join(parts)
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
    t, e, g = check_grouped_arrays(time, event, groups)
    table = km_df if km_df is not None else _km_table(t, e, g)
    ticks = (
        default_at_risk_times(float(t.max()))
        if at_risk_times is None
        else np.asarray(at_risk_times, dtype=float)
    )
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


def km_figure(
    time: Any,
    event: Any,
    groups: Any,
    *,
    time_unit: str = "months",
    ci: bool = True,
    at_risk_times: Sequence[float] | None = None,
    title: str | None = None,
    km_df: pd.DataFrame | None = None,
    stats: dict[str, Any] | None = None,
    height: int = 560,
) -> go.Figure:
    """Kaplan–Meier curves per group with CI bands, censor ticks and a number-at-risk table.

    Layout: the curves on top (one "post" step line per group, its confidence band as a
    shaded step polygon, ``+`` ticks at censoring times on the curve), and under the
    plot a number-at-risk table (one text row per group) sharing the time axis. The
    log-rank p-value and, for two groups, the hazard ratio with its 95 % CI go in the
    title.

    Traces per group, in order: band (when ``ci``), curve, censor ticks, at-risk row.

    Args:
        time: Follow-up times, shape ``(n,)``.
        event: 1 = death observed, 0 = censored, shape ``(n,)``.
        groups: Group label per patient, shape ``(n,)`` (e.g. "low"/"high").
        time_unit: Unit written on the time axis.
        ci: Draw the confidence bands.
        at_risk_times: Times of the at-risk table (default: about 6 round ticks).
        title: Figure title; the statistics line is appended to it.
        km_df: Precomputed ``evaluation.kaplan_meier(time, event, groups)`` table.
        stats: Precomputed :func:`km_statistics` result (skips the tests).
        height: Figure height in pixels.

    Returns:
        The Plotly figure.
    """
    d = km_plot_data(time, event, groups, at_risk_times=at_risk_times, km_df=km_df, stats=stats)
    g, steps, marks, ticks, risk, st = d.groups, d.steps, d.marks, d.ticks, d.at_risk, d.stats
    labels = list(steps)
    colours = group_colours(labels)

    fig = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.78, 0.22], vertical_spacing=0.1
    )
    for label in labels:
        s = steps[label]
        c = colours[label]
        n_g = int(np.sum(g == label))
        if ci:
            bx, by = _band_polygon(s)
            fig.add_trace(
                go.Scatter(
                    x=bx, y=by, fill="toself", fillcolor=rgba(c, 0.18), line={"width": 0},
                    hoverinfo="skip", showlegend=False, legendgroup=label, name=f"{label} 95% CI",
                ),
                row=1, col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=s.x, y=s.y, mode="lines", line={"shape": "hv", "color": c, "width": 2},
                name=f"{label} (n={n_g})", legendgroup=label,
                hovertemplate=f"{label}<br>t=%{{x:.1f}} {time_unit}<br>S=%{{y:.3f}}<extra></extra>",
            ),
            row=1, col=1,
        )
        m = marks[marks["group"] == label]
        fig.add_trace(
            go.Scatter(
                x=m["time"], y=m["survival"], mode="markers",
                marker={"symbol": "line-ns-open", "size": 9, "color": c, "line": {"width": 1.5}},
                name=f"{label} censored", legendgroup=label, showlegend=False,
                customdata=m["n_censored"],
                hovertemplate="censored: %{customdata}<br>t=%{x:.1f}<extra></extra>",
            ),
            row=1, col=1,
        )
        r = risk[risk["group"] == label]
        fig.add_trace(
            go.Scatter(
                x=r["time"], y=[label] * len(r), mode="text", text=r["at_risk"].astype(str),
                textfont={"color": c}, showlegend=False, hoverinfo="skip", name=f"{label} at risk",
            ),
            row=2, col=1,
        )
    head = title or "Kaplan–Meier survival by risk group"
    if st.get("text"):
        head = f"{head}<br><sup>{st['text']}</sup>"
    fig.update_layout(
        title={"text": head}, height=height, template="plotly_white",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        margin={"t": 90, "l": 60, "r": 20, "b": 50},
    )
    fig.update_yaxes(title_text="Survival probability", range=[0, 1.03], row=1, col=1)
    fig.update_yaxes(
        title_text="At risk", categoryorder="array", categoryarray=labels[::-1],
        showgrid=False, row=2, col=1,
    )
    fig.update_xaxes(title_text=f"Time ({time_unit})", tickvals=ticks, row=2, col=1)
    fig.update_xaxes(tickvals=ticks, showticklabels=True, row=1, col=1)
    return fig


def survival_curve_figure(
    patient_curves: pd.DataFrame,
    group_km: pd.DataFrame | None = None,
    *,
    time_unit: str = "months",
    title: str | None = None,
    ci: bool = True,
) -> go.Figure:
    """A patient's predicted survival curve with the risk group's Kaplan–Meier curve behind it.

    Args:
        patient_curves: ``BreslowBaseline.survival_function`` output: index = times
            (shape ``(m,)``), one column per patient (label = column name), values
            :math:`S_i(t) = S_0(t)^{\\exp(\\theta_i)}`.
        group_km: Optional long KM table (see :func:`km_steps`) of the groups to show
            behind, drawn lighter and dashed.
        time_unit: Unit on the time axis.
        title: Figure title.
        ci: Draw the groups' confidence bands.

    Returns:
        Figure with, per KM group, an optional band and a curve, then one line per patient.
    """
    if not isinstance(patient_curves, pd.DataFrame) or patient_curves.shape[1] == 0:
        raise InputValidationError(
            "patient_curves must be a DataFrame (times x patients) with at least one column, "
            "as returned by BreslowBaseline.survival_function."
        )
    fig = go.Figure()
    if group_km is not None:
        steps = km_steps(group_km)
        colours = group_colours(list(steps))
        for label, s in steps.items():
            c = colours[label]
            if ci and np.any(np.isfinite(s.lower)):
                bx, by = _band_polygon(s)
                fig.add_trace(
                    go.Scatter(
                        x=bx, y=by, fill="toself", fillcolor=rgba(c, 0.12), line={"width": 0},
                        hoverinfo="skip", showlegend=False, name=f"{label} group 95% CI",
                    )
                )
            fig.add_trace(
                go.Scatter(
                    x=s.x, y=s.y, mode="lines",
                    line={"shape": "hv", "color": rgba(c, 0.7), "dash": "dash", "width": 1.5},
                    name=f"{label}-risk group (Kaplan–Meier)",
                )
            )
    times = np.asarray(patient_curves.index, dtype=float)
    order = np.argsort(times, kind="stable")
    for j, col in enumerate(patient_curves.columns):
        y = patient_curves[col].to_numpy(dtype=float)[order]
        x = times[order]
        if x.size == 0 or x[0] > 0:
            x = np.concatenate([[0.0], x])
            y = np.concatenate([[1.0], y])
        fig.add_trace(
            go.Scatter(
                x=x, y=y, mode="lines", line={"shape": "hv", "width": 3, "color": "#111111" if j == 0 else None},
                name=f"patient {col}",
                hovertemplate="t=%{x:.1f}<br>S=%{y:.3f}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title or "Predicted survival (Breslow baseline)", template="plotly_white",
        xaxis_title=f"Time ({time_unit})", yaxis_title="Survival probability",
        yaxis_range=[0, 1.03],
    )
    return fig


def add_survival_band(fig: go.Figure, curve: pd.DataFrame, *, colour: str = "#1f77b4",
                      name: str = "band (final and fold models)") -> go.Figure:
    """Add a patient's survival band as a shaded step area (e.g. to :func:`survival_curve_figure`).

    Args:
        fig: The figure (changed in place).
        curve: Index = times, columns ``lower`` and ``upper`` (e.g.
            ``explain.patient_report.patient_curve`` output).
        colour: Fill colour (``"#rrggbb"``).
        name: Legend name of the band.

    Returns:
        ``fig`` with two traces added: the upper edge (invisible) and the lower edge filled up to it.
    """
    require_columns(curve, ("lower", "upper"), "The survival band")
    t = curve.index.to_numpy(dtype=float)
    fig.add_trace(go.Scatter(x=t, y=curve["upper"], mode="lines", line={"width": 0, "shape": "hv"},
                             hoverinfo="skip", showlegend=False, name="band upper"))
    fig.add_trace(go.Scatter(x=t, y=curve["lower"], mode="lines", line={"width": 0, "shape": "hv"}, fill="tonexty",
                             fillcolor=rgba(colour, 0.18), hoverinfo="skip", name=name))
    return fig


def km_matplotlib(
    time: Any,
    event: Any,
    groups: Any,
    *,
    fmt: str = "png",
    time_unit: str = "months",
    ci: bool = True,
    at_risk_times: Sequence[float] | None = None,
    title: str | None = None,
    km_df: pd.DataFrame | None = None,
    stats: dict[str, Any] | None = None,
    dpi: int = 150,
) -> bytes:
    """The :func:`km_figure` drawing, re-done with matplotlib, as PNG or SVG bytes.

    Static export of Plotly figures needs kaleido and a Chrome binary, which a plain
    deployment lacks; this draws the same data (same :func:`km_steps`,
    :func:`censor_marks`, :func:`at_risk_counts`, statistics) with matplotlib's
    object-oriented API (no pyplot, no global backend change, thread-safe).

    Args:
        time, event, groups, time_unit, ci, at_risk_times, title, km_df, stats: As in
            :func:`km_figure`.
        fmt: ``"png"`` or ``"svg"``.
        dpi: Resolution of the PNG.

    Returns:
        The encoded image.

    Raises:
        InputValidationError: For another ``fmt``.
    """
    if fmt not in ("png", "svg"):
        raise InputValidationError(f"fmt must be 'png' or 'svg', not {fmt!r}.")
    from matplotlib.figure import Figure  # lazy: optional [app] dependency

    d = km_plot_data(time, event, groups, at_risk_times=at_risk_times, km_df=km_df, stats=stats)
    g, steps, marks, ticks, risk, st = d.groups, d.steps, d.marks, d.ticks, d.at_risk, d.stats
    labels = list(steps)
    colours = group_colours(labels)

    fig = Figure(figsize=(7.5, 5.6))
    ax, ax_tab = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    for label in labels:
        s, c = steps[label], colours[label]
        if ci:
            lower, upper = _finite_band(s)
            ax.fill_between(s.x, lower, upper, step="post", color=c, alpha=0.18, linewidth=0)
        ax.step(s.x, s.y, where="post", color=c, lw=2, label=f"{label} (n={int(np.sum(g == label))})")
        m = marks[marks["group"] == label]
        ax.plot(m["time"], m["survival"], linestyle="none", marker="|", ms=8, color=c)
    ax.set_ylim(0, 1.03)
    ax.set_ylabel("Survival probability")
    ax.legend(loc="lower left", frameon=False)
    head = title or "Kaplan–Meier survival by risk group"
    ax.set_title(head + (f"\n{st['text']}" if st.get("text") else ""), fontsize=11)
    ax.grid(alpha=0.3)
    for i, label in enumerate(labels[::-1]):
        r = risk[risk["group"] == label]
        for tick, n in zip(r["time"], r["at_risk"]):
            ax_tab.text(tick, i, str(n), ha="center", va="center", color=colours[label], fontsize=9)
    ax_tab.set_ylim(-0.6, len(labels) - 0.4)
    ax_tab.set_yticks(range(len(labels)), labels[::-1])
    ax_tab.set_xticks(ticks)
    ax_tab.set_xlabel(f"Time ({time_unit})")
    ax_tab.set_title("Number at risk", fontsize=9, loc="left")
    for side in ("top", "right", "left"):
        ax_tab.spines[side].set_visible(False)
    ax_tab.tick_params(left=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()
