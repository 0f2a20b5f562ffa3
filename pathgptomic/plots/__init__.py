"""Plotly figure builders (data step + figure step) for the dashboard and reports.

Every builder takes data (DataFrames/arrays, typically from :mod:`pathgptomic.evaluation`
or a model bundle) and returns a ``plotly.graph_objects.Figure``; the data steps are
separate, public and tested. No Streamlit here.
"""

from pathgptomic.plots.balance import (
    balance_figure,
    balance_reading,
    balance_series,
    epoch_cindex_figure,
    epoch_series,
)
from pathgptomic.plots.km import (
    KMPlotData,
    KMSteps,
    at_risk_counts,
    censor_marks,
    km_figure,
    km_matplotlib,
    km_plot_data,
    km_statistics,
    km_steps,
    step_value,
    survival_curve_figure,
)

__all__ = [
    "KMPlotData",
    "KMSteps",
    "at_risk_counts",
    "balance_figure",
    "balance_reading",
    "balance_series",
    "censor_marks",
    "epoch_cindex_figure",
    "epoch_series",
    "km_figure",
    "km_matplotlib",
    "km_plot_data",
    "km_statistics",
    "km_steps",
    "step_value",
    "survival_curve_figure",
]
