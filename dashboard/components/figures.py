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


def attribution_bar_figure(table: pd.DataFrame, *, value: str = "attribution") -> go.Figure:
    """Horizontal bars of feature attributions, grouped by block (signed: red raises risk).

    Args:
        table: Rows with ``feature``, ``block`` and ``value`` columns.
        value: Column to draw.
    """
    t = table.assign(_mag=table[value].abs()).sort_values(["block", "_mag"], ascending=[True, False])
    t = t.iloc[::-1]  # first block and largest magnitude at the top
    colours = np.where(t[value] >= 0, "#d62728", "#1f77b4")
    labels = [f"{f} · {b}" for f, b in zip(t["feature"], t["block"])]
    fig = go.Figure(go.Bar(x=t[value], y=labels, orientation="h", marker_color=colours,
                           hovertemplate="%{y}<br>%{x:.4f}<extra></extra>"))
    fig.update_layout(height=max(300, 22 * len(t) + 80), margin=dict(l=10, r=10, t=40, b=30),
                      title="Top genomic features by block (integrated gradients)",
                      xaxis_title=value.replace("_", " "), template="plotly_white")
    return fig


def shares_figure(shares: pd.DataFrame) -> go.Figure:
    """Stacked bar of the genomic / image / bias share of |θ| (first row)."""
    row = shares.iloc[0]
    fig = go.Figure()
    for part, colour in (("genomic", BRANCH["genomic"]), ("image", BRANCH["image"]), ("bias", "#7f7f7f")):
        v = float(row.get(f"{part}_share", np.nan))
        fig.add_trace(go.Bar(x=[v], y=["|θ|"], orientation="h", name=part, marker_color=colour,
                             text=[f"{part} {v:.0%}"] if np.isfinite(v) else None, textposition="inside"))
    fig.update_layout(barmode="stack", height=150, margin=dict(l=10, r=10, t=30, b=10), showlegend=False,
                      xaxis=dict(range=[0, 1], tickformat=".0%"), title="Modality shares of |θ|",
                      template="plotly_white")
    return fig


def tile_heatmap_figure(thumbnail: np.ndarray, downsample: tuple[float, float], step: int,
                        tiles: pd.DataFrame, *, value: str = "ig") -> go.Figure:
    """Per-tile scores as coloured squares over the slide thumbnail.

    Args:
        thumbnail: RGB thumbnail, shape ``(h, w, 3)``.
        downsample: Level-0 pixels per thumbnail pixel ``(sx, sy)``.
        step: Tile footprint in level-0 pixels.
        tiles: Rows with level-0 ``x``, ``y`` and ``value``.
        value: Column to colour by (diverging scale centred on 0).
    """
    import plotly.express as px

    fig = px.imshow(thumbnail)
    sx, sy = downsample
    t = tiles.dropna(subset=["x", "y"])
    if len(t):
        x0, y0 = float(t["x"].min()), float(t["y"].min())
        col = np.rint((t["x"].to_numpy(float) - x0) / step).astype(int)
        row = np.rint((t["y"].to_numpy(float) - y0) / step).astype(int)
        z = np.full((row.max() + 1, col.max() + 1), np.nan)
        z[row, col] = t[value].to_numpy(float)
        vmax = float(np.nanmax(np.abs(z))) or 1.0
        fig.add_trace(go.Heatmap(
            z=z, x0=(x0 + step / 2) / sx, dx=step / sx, y0=(y0 + step / 2) / sy, dy=step / sy,
            colorscale="RdBu_r", zmin=-vmax, zmax=vmax, opacity=0.6, colorbar=dict(title=value),
            hovertemplate=value + " %{z:.4f}<extra></extra>",
        ))
    fig.update_layout(height=520, margin=dict(l=0, r=0, t=10, b=0))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def add_band(fig: go.Figure, curve: pd.DataFrame, *, colour: str = "#1f77b4") -> go.Figure:
    """Add a patient's survival band (``lower``/``upper`` columns, index = time) as a shaded step area.

    Args:
        fig: The survival figure (e.g. :func:`pathgptomic.plots.survival_curve_figure`).
        curve: :func:`pathgptomic.explain.patient_report.patient_curve` output.
        colour: Fill colour (hex).

    Returns:
        ``fig`` with two traces added: the upper edge (invisible) and the lower edge filled up to it.
    """
    t = curve.index.to_numpy(dtype=float)
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    fig.add_trace(go.Scatter(x=t, y=curve["upper"], mode="lines", line=dict(width=0, shape="hv"),
                             hoverinfo="skip", showlegend=False, name="band upper"))
    fig.add_trace(go.Scatter(x=t, y=curve["lower"], mode="lines", line=dict(width=0, shape="hv"), fill="tonexty",
                             fillcolor=f"rgba({r},{g},{b},0.18)", hoverinfo="skip",
                             name="band (final and fold models)"))
    return fig
