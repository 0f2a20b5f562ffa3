"""Explanation figures: the θ waterfall and the top-feature attribution bars."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pathgptomic.errors import InputValidationError
from pathgptomic.plots._common import BRANCH_COLOURS, require_columns

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
            text="kronecker fusion: θ does not split into genomic and image terms", showarrow=False,
            xref="paper", yref="paper", x=0.5, y=1.05,
        )
        fig.update_layout(title=title, template="plotly_white")
        return fig
    total = g + p + b
    if th is not None and abs(th - total) > 1e-4 * (1 + abs(th)):
        raise InputValidationError(
            f"θ = {th:.6g} is not genomic_term + image_term + bias = {total:.6g}; pass one model output's values."
        )
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
    fig.update_layout(title=title, template="plotly_white", yaxis_title="contribution to θ (log-hazard)",
                      showlegend=False)
    return fig


def attribution_bar_figure(
    features: pd.DataFrame,
    *,
    value: str = "attribution",
    title: str = "Top genomic features (integrated gradients)",
) -> go.Figure:
    """Horizontal bars of feature attributions, largest magnitude on top.

    Red bars raise the risk, blue bars lower it; the label names the block.

    Args:
        features: Table with ``feature`` and ``value`` (and ``block``), e.g.
            ``explain.top_genomic_features`` or ``explain.cohort_summary`` (then
            ``value="mean_abs_attribution"``).
        value: Column to draw.
        title: Figure title.

    Returns:
        Figure with one ``Bar`` trace.
    """
    require_columns(features, ("feature", value), "The attribution table")
    df = features.assign(_m=features[value].abs()).sort_values("_m", ascending=True, kind="stable")
    blocks = df["block"] if "block" in df.columns else pd.Series([""] * len(df), index=df.index)
    labels = [f"{f} ({b})" if b else str(f) for f, b in zip(df["feature"], blocks)]
    colours = np.where(df[value] >= 0, RAISES_RISK, LOWERS_RISK)
    fig = go.Figure(
        go.Bar(
            x=df[value], y=labels, orientation="h", marker_color=list(colours), name=value,
            hovertemplate="%{y}: %{x:.4g}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title, template="plotly_white", xaxis_title=f"{value} (→ higher risk)",
        height=max(300, 22 * len(df) + 120), margin={"l": 10},
    )
    return fig
