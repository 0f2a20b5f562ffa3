"""Kaplan–Meier figures: the names of the pure data steps (tested) and the figure steps, in one place.

Each job lives in its own module (the estimate and its formula: :mod:`pathgptomic.plots.km_data`):

- :mod:`pathgptomic.plots.km_data`: step vertices, censor ticks, statistics, plot data;
- :mod:`pathgptomic.plots.at_risk`: the number-at-risk table;
- :mod:`pathgptomic.plots.km_plotly`: the Plotly figure (:func:`km_figure`);
- :mod:`pathgptomic.plots.km_mpl`: the matplotlib PNG/SVG export (:func:`km_matplotlib`);
- :mod:`pathgptomic.plots.survival_overlay`: a patient's curve over its group
  (:func:`survival_curve_figure`, :func:`add_survival_band`).
"""

from __future__ import annotations

from pathgptomic.plots.at_risk import at_risk_counts, default_at_risk_times
from pathgptomic.plots.km_data import (
    KM_COLUMNS,
    KMPlotData,
    KMSteps,
    censor_marks,
    km_plot_data,
    km_statistics,
    km_steps,
    step_value,
)
from pathgptomic.plots.km_data import _band_polygon as _band_polygon
from pathgptomic.plots.km_data import _finite_band as _finite_band
from pathgptomic.plots.km_data import _km_table as _km_table
from pathgptomic.plots.km_mpl import km_matplotlib
from pathgptomic.plots.km_plotly import km_figure
from pathgptomic.plots.survival_overlay import add_survival_band, survival_curve_figure

__all__ = [
    "KM_COLUMNS",
    "KMPlotData",
    "KMSteps",
    "add_survival_band",
    "at_risk_counts",
    "censor_marks",
    "default_at_risk_times",
    "km_figure",
    "km_matplotlib",
    "km_plot_data",
    "km_statistics",
    "km_steps",
    "step_value",
    "survival_curve_figure",
]
