"""The calibration figure draws the report's numbers (predicted x, observed y) per time."""

from __future__ import annotations

import numpy as np
import pytest

from pathgptomic.errors import InputValidationError
from pathgptomic.plots import calibration_figure, calibration_plot_data

REPORT = {
    "times": [12.0, 36.0],
    "table": [
        {"quartile": "Q1 (lowest risk)", "time": 12.0, "n": 10, "predicted": 0.9, "observed": 0.85},
        {"quartile": "Q2", "time": 12.0, "n": 10, "predicted": 0.8, "observed": 0.82},
        {"quartile": "Q1 (lowest risk)", "time": 36.0, "n": 10, "predicted": 0.7, "observed": 0.6},
        {"quartile": "Q2", "time": 36.0, "n": 10, "predicted": 0.5, "observed": 0.55},
    ],
    "ibs": 0.18,
    "ibs_null": 0.22,
}


def test_plot_data_keeps_values_and_order():
    data = calibration_plot_data(REPORT)
    assert list(data["time"]) == [12.0, 12.0, 36.0, 36.0]
    assert list(data["quartile"]) == ["Q1 (lowest risk)", "Q2"] * 2
    np.testing.assert_allclose(data["abs_error"], [0.05, 0.02, 0.1, 0.05])


def test_figure_has_diagonal_and_one_trace_per_time():
    fig = calibration_figure(REPORT)
    assert list(fig.data[0].x) == [0, 1] and list(fig.data[0].y) == [0, 1]
    assert [t.name for t in fig.data[1:]] == ["1 year (12 months)", "3 years (36 months)"]
    np.testing.assert_allclose(fig.data[2].x, [0.7, 0.5])
    np.testing.assert_allclose(fig.data[2].y, [0.6, 0.55])
    assert "0.180 vs 0.220" in fig.layout.title.text


def test_bundle_report_round_trip(tmp_path):
    """A bundle's stored report (``metrics.json``) plots one point per quartile and time."""
    table = [
        {"quartile": q, "time": t, "n": 5, "predicted": p, "observed": o, "abs_error": abs(p - o)}
        for t in (12.0, 36.0, 60.0)
        for q, p, o in (("Q1", 0.9, 0.8), ("Q2", 0.8, 0.7), ("Q3", 0.6, 0.65), ("Q4", 0.4, 0.3))
    ]
    fig = calibration_figure({"table": table}, time_unit="days")
    assert len(fig.data) == 4 and all(len(t.x) == 4 for t in fig.data[1:])
    assert fig.data[3].name == "60 days"


@pytest.mark.parametrize("bad", [None, {}, {"table": [{"quartile": "Q1", "time": 12}]}])
def test_missing_report_says_what_is_missing(bad):
    with pytest.raises(InputValidationError):
        calibration_plot_data(bad)
