"""A patient's predicted survival curve over its risk group's Kaplan–Meier curve.

:func:`survival_curve_figure` draws the Breslow curves
:math:`S_i(t) = S_0(t)^{\\exp(\\theta_i)}` of one or more patients in front of the
groups' Kaplan–Meier steps (lighter, dashed); :func:`add_survival_band` shades a
patient's band (e.g. final and fold models) as a step area.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pathgptomic.errors import InputValidationError
from pathgptomic.plots._common import group_colours, require_columns, rgba
from pathgptomic.plots.km_data import _band_polygon, km_steps


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
                        x=bx,
                        y=by,
                        fill="toself",
                        fillcolor=rgba(c, 0.12),
                        line={"width": 0},
                        hoverinfo="skip",
                        showlegend=False,
                        name=f"{label} group 95% CI",
                    )
                )
            fig.add_trace(
                go.Scatter(
                    x=s.x,
                    y=s.y,
                    mode="lines",
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
                x=x,
                y=y,
                mode="lines",
                line={"shape": "hv", "width": 3, "color": "#111111" if j == 0 else None},
                name=f"patient {col}",
                hovertemplate="t=%{x:.1f}<br>S=%{y:.3f}<extra></extra>",
            )
        )
    fig.update_layout(
        title=title or "Predicted survival (Breslow baseline)",
        template="plotly_white",
        xaxis_title=f"Time ({time_unit})",
        yaxis_title="Survival probability",
        yaxis_range=[0, 1.03],
    )
    return fig


def add_survival_band(
    fig: go.Figure, curve: pd.DataFrame, *, colour: str = "#1f77b4", name: str = "band (final and fold models)"
) -> go.Figure:
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
    fig.add_trace(
        go.Scatter(
            x=t, y=curve["upper"], mode="lines", line={"width": 0, "shape": "hv"}, hoverinfo="skip", showlegend=False, name="band upper"
        )
    )
    fig.add_trace(
        go.Scatter(
            x=t,
            y=curve["lower"],
            mode="lines",
            line={"width": 0, "shape": "hv"},
            fill="tonexty",
            fillcolor=rgba(colour, 0.18),
            hoverinfo="skip",
            name=name,
        )
    )
    return fig
