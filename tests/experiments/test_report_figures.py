"""The report's ρ / k PNG draws the one smoother of the training curves (plots.balance)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pathgptomic.experiments.report_figures import SMOOTH_STEPS, _rho_png
from pathgptomic.experiments.runner import CURVE_COLUMNS


def _history(seed: int, n_steps: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    h = pd.DataFrame({c: rng.uniform(0.5, 2.0, n_steps) for c in CURVE_COLUMNS})
    h["fold"], h["step"] = seed, np.arange(n_steps)
    h.loc[[4, 11], "rho_g"] = np.nan  # batches without events: skipped by the mean
    return h


def test_rho_png_draws_trailing_means_of_the_per_step_mean_over_cells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import matplotlib.pyplot as plt

    hists = {"concat": pd.concat([_history(0), _history(1)], ignore_index=True), "gradmod": _history(2)}
    figures = []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to read its lines
    _rho_png(hists, tmp_path / "rho.png", "SNN")
    monkeypatch.undo()
    assert (tmp_path / "rho.png").stat().st_size > 0
    left, right = figures[0].axes
    per_step = hists["concat"].groupby("step")[["rho_g", "coef_g", "coef_p"]].mean()
    by_hand = {c: [per_step[c].iloc[max(0, s - SMOOTH_STEPS + 1) : s + 1].mean() for s in range(30)] for c in per_step}
    np.testing.assert_allclose(left.lines[0].get_ydata(), by_hand["rho_g"])
    np.testing.assert_allclose(right.lines[0].get_ydata(), by_hand["coef_g"])
    np.testing.assert_allclose(right.lines[1].get_ydata(), by_hand["coef_p"])
    assert f"{SMOOTH_STEPS}-step smoothing" in left.get_title()
    for fig in figures:
        plt.close(fig)
