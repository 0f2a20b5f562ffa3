"""Dashboard-side Plotly figures not provided by :mod:`pathgptomic.plots` (no Streamlit here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

BRANCH = {"genomic": "#2ca02c", "image": "#9467bd", "fused": "#1f77b4", "loss": "#444444"}


def smooth(values: pd.Series, window: int) -> pd.Series:
    """Centred rolling mean over ``window`` steps (NaNs skipped); ``window <= 1`` returns a copy."""
    if window <= 1:
        return values.astype(float).copy()
    return values.astype(float).rolling(window, min_periods=1, center=True).mean()


def _global_step(history: pd.DataFrame) -> pd.Series:
    """A monotone step index across folds (the per-fold ``step`` restarts at 0)."""
    return pd.Series(np.arange(len(history)), index=history.index)


def live_training_figure(history: pd.DataFrame, window: int = 10) -> go.Figure:
    """Loss and ρ^G/ρ^P of a (running) job, per step, smoothed.

    Args:
        history: Rows of ``history.csv`` so far (columns ``loss``, ``rho_g``, ``rho_p``; optional ``fold``).
        window: Rolling-mean window in steps.

    Returns:
        Two stacked panels sharing the step axis.
    """
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Cox loss", "ρ^G and ρ^P (log scale)"))
    x = _global_step(history)
    if "loss" in history:
        fig.add_trace(go.Scatter(x=x, y=history["loss"], mode="lines", name="loss (raw)",
                                 line=dict(color="#BBBBBB", width=1)), row=1, col=1)
        fig.add_trace(go.Scatter(x=x, y=smooth(history["loss"], window), mode="lines", name="loss",
                                 line=dict(color=BRANCH["loss"], width=2)), row=1, col=1)
    for col, name, colour in (("rho_g", "ρ^G", BRANCH["genomic"]), ("rho_p", "ρ^P", BRANCH["image"])):
        if col in history:
            fig.add_trace(go.Scatter(x=x, y=smooth(history[col], window), mode="lines", name=name,
                                     line=dict(color=colour, width=2)), row=1, col=2)
    fig.add_hline(y=1.0, line=dict(color="#888888", dash="dot", width=1), row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_xaxes(title_text="step (all folds)")
    fig.update_layout(height=300, margin=dict(l=10, r=10, t=40, b=10), legend=dict(orientation="h", y=-0.25))
    return fig
