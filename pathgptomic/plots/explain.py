"""Explanation figures: the θ waterfall, the modality shares of |θ| and the top-feature attribution bars."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pathgptomic.errors import InputValidationError
from pathgptomic.plots._common import BRANCH_COLOURS, legend_below, require_columns

RAISES_RISK = "#d62728"
LOWERS_RISK = "#1f77b4"


def _scalar(name: str, value: Any) -> float:
    arr = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value, dtype=float).ravel()
    if arr.size != 1:
        raise InputValidationError(f"'{name}' must be one number (one patient), got {arr.size} values.")
    return float(arr[0])


def risk_decomposition_figure(
    genomic_term: Any,
    image_term: Any,
    bias: Any,
    theta: Any | None = None,
    *,
    title: str = "Risk score θ = W^G·G + W^P·P + b",
) -> go.Figure:
    """Waterfall of one patient's risk: bias, genomic term, image term, total θ.

    The decomposition is exact for concat / gradmod / unimodal models. For a kronecker
    model (NaN terms) the figure shows θ alone with a note that it does not split.

    Args:
        genomic_term: ``W^G·G`` of the patient.
        image_term: ``W^P·P`` of the patient.
        bias: ``b``.
        theta: The model's θ (checked against the sum when given; required for NaN terms).
        title: Figure title.

    Returns:
        Figure with one ``Waterfall`` trace (or one ``Bar`` for a kronecker model).
    """
    g, p, b = _scalar("genomic_term", genomic_term), _scalar("image_term", image_term), _scalar("bias", bias)
    th = None if theta is None else _scalar("theta", theta)
    if np.isnan(g) or np.isnan(p):
        if th is None:
            raise InputValidationError("NaN branch terms (kronecker model): pass theta to draw the total.")
        fig = go.Figure(go.Bar(x=["θ (risk)"], y=[th], marker_color=BRANCH_COLOURS["fused"], name="θ"))
        fig.add_annotation(
            text="kronecker fusion: θ does not split into genomic and image terms",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=1.05,
        )
        fig.update_layout(title=title, template="plotly_white")
        return fig
    total = g + p + b
    if th is not None and abs(th - total) > 1e-4 * (1 + abs(th)):
        raise InputValidationError(f"θ = {th:.6g} is not genomic_term + image_term + bias = {total:.6g}; pass one model output's values.")
    fig = go.Figure(
        go.Waterfall(
            x=["bias b", "genomic W^G·G", "image W^P·P", "θ (risk)"],
            y=[b, g, p, total],
            measure=["relative", "relative", "relative", "total"],
            text=[f"{v:+.3f}" for v in (b, g, p)] + [f"{total:.3f}"],
            textposition="outside",
            increasing={"marker": {"color": RAISES_RISK}},
            decreasing={"marker": {"color": LOWERS_RISK}},
            totals={"marker": {"color": BRANCH_COLOURS["fused"]}},
            connector={"line": {"color": "#999999", "dash": "dot"}},
            name="θ",
        )
    )
    fig.update_layout(title=title, template="plotly_white", yaxis_title="contribution to θ (log-hazard)", showlegend=False)
    return fig


def attribution_bar_figure(
    features: pd.DataFrame,
    *,
    value: str = "attribution",
    sign: str | None = None,
    by_block: bool = False,
    title: str = "Top genomic features (integrated gradients)",
) -> go.Figure:
    """Horizontal bars of feature attributions, largest magnitude on top.

    Red bars raise the risk, blue bars lower it (the legend says so); the label names the
    block. The bar length is ``value`` and the colour the sign of ``sign``, so a cohort
    summary can draw the mean |IG| (always >= 0) coloured by the sign of the mean IG.

    Args:
        features: Table with ``feature`` and ``value`` (and ``block``), e.g.
            ``explain.top_genomic_features`` or ``explain.cohort_summary`` (then
            ``value="mean_abs_attribution", sign="mean_attribution"``).
        value: Column to draw.
        sign: Column whose sign picks the colour (default: ``value``).
        by_block: Group the bars by block (blocks in alphabetical order from the top, the
            largest magnitude first inside each block) instead of one ranking.
        title: Figure title.

    Returns:
        Figure whose first trace is the ``Bar`` trace (one bar per row of ``features``), then
        two legend entries: raises risk, lowers risk.
    """
    sign = sign or value
    require_columns(features, ("feature", value, sign), "The attribution table")
    df = features.assign(_m=pd.to_numeric(features[value], errors="coerce").abs())
    if by_block and "block" in df.columns:
        # top to bottom: first block, largest magnitude first; Plotly draws the first row at the bottom
        df = df.sort_values(["block", "_m"], ascending=[True, False], kind="stable").iloc[::-1]
    else:
        df = df.sort_values("_m", ascending=True, kind="stable")
    blocks = df["block"] if "block" in df.columns else pd.Series([""] * len(df), index=df.index)
    labels = [f"{f} ({b})" if b else str(f) for f, b in zip(df["feature"], blocks)]
    colours = np.where(pd.to_numeric(df[sign], errors="coerce") >= 0, RAISES_RISK, LOWERS_RISK)
    fig = go.Figure(
        go.Bar(
            x=df[value],
            y=labels,
            orientation="h",
            marker_color=list(colours),
            name=value,
            showlegend=False,
            customdata=df[sign],
            hovertemplate=f"%{{y}}: %{{x:.4g}}<br>{sign} %{{customdata:.4g}}<extra></extra>",
        )
    )
    for name, colour in ((f"raises risk ({sign} > 0)", RAISES_RISK), (f"lowers risk ({sign} < 0)", LOWERS_RISK)):
        fig.add_trace(
            go.Bar(
                x=[None],
                y=[labels[0] if labels else ""],
                orientation="h",
                marker_color=colour,
                name=name,
                showlegend=True,
                hoverinfo="skip",
            )
        )
    axis = f"{value} (→ higher risk)" if sign == value else f"{value} (colour: sign of {sign})"
    fig.update_layout(
        title=title,
        template="plotly_white",
        xaxis_title=axis,
        barmode="overlay",
        yaxis={"categoryorder": "array", "categoryarray": labels},
        height=max(300, 22 * len(df) + 160),
        margin={"l": 10},
    )
    return legend_below(fig, band=90)


def modality_shares_figure(shares: pd.DataFrame, *, title: str = "Modality shares of |θ|") -> go.Figure:
    """One stacked bar: the genomic, image and bias shares of |θ| of the first row.

    Args:
        shares: ``explain.modality_shares`` output (``genomic_share``, ``image_share``,
            ``bias_share``; NaN parts, e.g. of a kronecker model, are drawn empty).
        title: Figure title.

    Returns:
        Figure with three ``Bar`` traces (genomic, image, bias).
    """
    if len(shares) == 0:
        raise InputValidationError("The shares table is empty: pass explain.modality_shares output.")
    row = shares.iloc[0]
    fig = go.Figure()
    for part in ("genomic", "image", "bias"):
        v = float(pd.to_numeric(row.get(f"{part}_share", np.nan), errors="coerce"))
        fig.add_trace(
            go.Bar(
                x=[v],
                y=["|θ|"],
                orientation="h",
                name=part,
                marker_color=BRANCH_COLOURS[part],
                text=[f"{part} {v:.0%}"] if np.isfinite(v) else None,
                textposition="inside",
            )
        )
    fig.update_layout(
        barmode="stack",
        height=150,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        showlegend=False,
        xaxis={"range": [0, 1], "tickformat": ".0%"},
        title=title,
        template="plotly_white",
    )
    return fig
