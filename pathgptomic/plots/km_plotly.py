"""The Plotly Kaplan–Meier figure: curves, confidence bands, censor ticks and at-risk table.

:func:`km_figure` only draws; its data (step vertices, censor marks, at-risk counts,
log-rank p and hazard ratio) comes from :func:`pathgptomic.plots.km_data.km_plot_data`.
Curves are right-continuous "post" steps (Plotly ``line_shape="hv"``) starting at
``(0, 1)``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pathgptomic.plots._common import group_colours, rgba
from pathgptomic.plots.km_data import _band_polygon, km_plot_data


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

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.78, 0.22], vertical_spacing=0.1)
    for label in labels:
        s = steps[label]
        c = colours[label]
        n_g = int(np.sum(g == label))
        if ci:
            bx, by = _band_polygon(s)
            fig.add_trace(
                go.Scatter(
                    x=bx,
                    y=by,
                    fill="toself",
                    fillcolor=rgba(c, 0.18),
                    line={"width": 0},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=label,
                    name=f"{label} 95% CI",
                ),
                row=1,
                col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=s.x,
                y=s.y,
                mode="lines",
                line={"shape": "hv", "color": c, "width": 2},
                name=f"{label} (n={n_g})",
                legendgroup=label,
                hovertemplate=f"{label}<br>t=%{{x:.1f}} {time_unit}<br>S=%{{y:.3f}}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        m = marks[marks["group"] == label]
        fig.add_trace(
            go.Scatter(
                x=m["time"],
                y=m["survival"],
                mode="markers",
                marker={"symbol": "line-ns-open", "size": 9, "color": c, "line": {"width": 1.5}},
                name=f"{label} censored",
                legendgroup=label,
                showlegend=False,
                customdata=m["n_censored"],
                hovertemplate="censored: %{customdata}<br>t=%{x:.1f}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        r = risk[risk["group"] == label]
        fig.add_trace(
            go.Scatter(
                x=r["time"],
                y=[label] * len(r),
                mode="text",
                text=r["at_risk"].astype(str),
                textfont={"color": c},
                showlegend=False,
                hoverinfo="skip",
                name=f"{label} at risk",
            ),
            row=2,
            col=1,
        )
    head = title or "Kaplan–Meier survival by risk group"
    if st.get("text"):
        head = f"{head}<br><sup>{st['text']}</sup>"
    fig.update_layout(
        title={"text": head},
        height=height,
        template="plotly_white",
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1, "xanchor": "right"},
        margin={"t": 90, "l": 60, "r": 20, "b": 50},
    )
    fig.update_yaxes(title_text="Survival probability", range=[0, 1.03], row=1, col=1)
    fig.update_yaxes(
        title_text="At risk",
        categoryorder="array",
        categoryarray=labels[::-1],
        showgrid=False,
        row=2,
        col=1,
    )
    fig.update_xaxes(title_text=f"Time ({time_unit})", tickvals=ticks, row=2, col=1)
    fig.update_xaxes(tickvals=ticks, showticklabels=True, row=1, col=1)
    return fig
