"""Calibration plot: predicted vs Kaplan–Meier-observed survival by risk quartile, per time.

Input is a calibration report as written by
:func:`pathgptomic.evaluation.calibration.calibration_report` (stored in a bundle's
``metrics.json`` under ``"calibration"`` and returned by
:func:`pathgptomic.evaluation.report.evaluate_predictions`). No Streamlit here.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pathgptomic.errors import InputValidationError
from pathgptomic.plots._common import require_columns

__all__ = ["calibration_figure", "calibration_plot_data"]

#: Columns each row of the report's ``table`` must have.
TABLE_COLUMNS = ("quartile", "time", "n", "predicted", "observed")
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")


def calibration_plot_data(report: Mapping[str, Any]) -> pd.DataFrame:
    """The report's quartile table as a DataFrame sorted by time, then quartile order.

    Args:
        report: A calibration report with a ``table`` list of rows
            ``quartile, time, n, predicted, observed`` (``abs_error`` optional).

    Returns:
        One row per (time, quartile) with float ``time``, ``predicted``, ``observed``
        and ``abs_error`` (``|predicted − observed|``).

    Raises:
        InputValidationError: No report, or rows lacking a column.
    """
    if not report or "table" not in report:
        raise InputValidationError(
            "no calibration report: the bundle or the predictions carry none (retrain with cross-validation, or give survival_<t> columns)."
        )
    table = pd.DataFrame(list(report["table"]))
    require_columns(table, TABLE_COLUMNS, "The calibration table")
    table = table.assign(
        time=table["time"].astype(float), predicted=table["predicted"].astype(float), observed=table["observed"].astype(float)
    )
    table["abs_error"] = (table["predicted"] - table["observed"]).abs()
    order = {q: i for i, q in enumerate(pd.unique(table["quartile"]))}
    table["_q"] = table["quartile"].map(order)
    return table.sort_values(["time", "_q"], kind="stable").drop(columns="_q").reset_index(drop=True)


def _time_label(t: float, unit: str) -> str:
    if unit == "months" and t % 12 == 0:
        years = int(t // 12)
        return f"{years} year{'s' if years != 1 else ''} ({t:g} months)"
    return f"{t:g} {unit}"


def calibration_figure(report: Mapping[str, Any], *, time_unit: str = "months", title: str | None = None, height: int = 420) -> go.Figure:
    """Predicted (x) vs Kaplan–Meier-observed (y) survival by risk quartile, one series per time.

    A perfectly calibrated model lies on the dotted diagonal. Hover shows the quartile,
    the number of patients and both probabilities.

    Args:
        report: Calibration report (see :func:`calibration_plot_data`).
        time_unit: Unit of the report's times.
        title: Figure title (default states the integrated Brier scores when present).
        height: Figure height in pixels.

    Returns:
        Figure: the diagonal first, then one markers+lines trace per time.
    """
    data = calibration_plot_data(report)
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1], y=[0, 1], mode="lines", name="perfect calibration", line=dict(color="#888888", dash="dot", width=1), hoverinfo="skip"
        )
    )
    for i, (t, part) in enumerate(data.groupby("time", sort=True)):
        text = [f"{q}<br>n = {n}" for q, n in zip(part["quartile"], part["n"])]
        fig.add_trace(
            go.Scatter(
                x=part["predicted"],
                y=part["observed"],
                mode="lines+markers",
                name=_time_label(float(t), time_unit),
                text=text,
                marker=dict(size=9, color=_COLOURS[i % len(_COLOURS)]),
                line=dict(color=_COLOURS[i % len(_COLOURS)], width=1.5),
                hovertemplate="%{text}<br>predicted %{x:.3f}<br>observed %{y:.3f}<extra>%{fullData.name}</extra>",
            )
        )
    if title is None:
        ibs, null = report.get("ibs"), report.get("ibs_null")
        title = "Calibration: predicted vs observed (Kaplan–Meier) survival by risk quartile"
        if ibs is not None and null is not None and np.isfinite([ibs, null]).all():
            title += f"<br><sup>integrated Brier score {ibs:.3f} vs {null:.3f} for Kaplan–Meier alone</sup>"
    fig.update_layout(
        title=title,
        height=height,
        template="plotly_white",
        margin=dict(l=50, r=10, t=70, b=40),
        xaxis=dict(title="predicted survival", range=[0, 1.02]),
        yaxis=dict(title="observed survival (Kaplan–Meier)", range=[0, 1.02], scaleanchor="x"),
        legend=dict(orientation="h", y=-0.2, x=0),
    )
    return fig
