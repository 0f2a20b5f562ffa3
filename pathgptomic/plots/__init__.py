"""Plotly figure builders (data step + figure step) for the dashboard and reports.

Every builder takes data (DataFrames/arrays, typically from :mod:`pathgptomic.evaluation`,
:mod:`pathgptomic.explain` or a model bundle) and returns a ``plotly.graph_objects.Figure``;
the data steps are separate, public and tested. No Streamlit here.

Static export: :func:`figure_to_bytes` needs kaleido + Chrome (optional, usually absent);
:func:`km_matplotlib` draws the Kaplan–Meier figure as PNG/SVG with matplotlib instead.
"""

from pathgptomic.plots.balance import (
    FINAL_FIT,
    balance_figure,
    balance_reading,
    balance_series,
    epoch_cindex_figure,
    epoch_series,
    fold_label,
    history_folds,
    trailing_mean,
    training_curves_figure,
)
from pathgptomic.plots.benchmark import cindex_by_config_figure, cindex_summary
from pathgptomic.plots.calibration import calibration_figure, calibration_plot_data
from pathgptomic.plots.explain import attribution_bar_figure, modality_shares_figure, risk_decomposition_figure
from pathgptomic.plots.export import StaticExportUnavailable, figure_to_bytes, kaleido_available
from pathgptomic.plots.km import (
    KMPlotData,
    KMSteps,
    add_survival_band,
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
from pathgptomic.plots.slides import (
    TileGrid,
    slide_tiles_figure,
    tile_heatmap_figure,
    tile_outlines,
    tile_score_grid,
)

__all__ = [
    "FINAL_FIT",
    "KMPlotData",
    "KMSteps",
    "StaticExportUnavailable",
    "TileGrid",
    "add_survival_band",
    "at_risk_counts",
    "attribution_bar_figure",
    "balance_figure",
    "balance_reading",
    "balance_series",
    "calibration_figure",
    "calibration_plot_data",
    "censor_marks",
    "cindex_by_config_figure",
    "cindex_summary",
    "epoch_cindex_figure",
    "epoch_series",
    "figure_to_bytes",
    "fold_label",
    "history_folds",
    "kaleido_available",
    "km_figure",
    "km_matplotlib",
    "km_plot_data",
    "km_statistics",
    "km_steps",
    "modality_shares_figure",
    "risk_decomposition_figure",
    "slide_tiles_figure",
    "step_value",
    "survival_curve_figure",
    "tile_heatmap_figure",
    "tile_outlines",
    "tile_score_grid",
    "trailing_mean",
    "training_curves_figure",
]
