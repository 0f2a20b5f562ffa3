"""Balance plot data steps: smoothing, fold averaging, per-epoch summaries and the reading text."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pathgptomic.errors import InputValidationError
from pathgptomic.plots.balance import (
    BALANCE_COLUMNS,
    BALANCE_PANELS,
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


def make_history(n_steps: int = 12, folds: int = 2, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for f in range(folds):
        for s in range(n_steps):
            vals = rng.uniform(0.5, 2.0, size=len(BALANCE_COLUMNS))
            rows.append({"fold": f, "epoch": s // 4, "step": s, "loss": 1.0, **dict(zip(BALANCE_COLUMNS, vals)), "modulated": True})
    return pd.DataFrame(rows)


def make_epochs(final: dict[str, float], n_epochs: int = 3, folds: int = 2) -> pd.DataFrame:
    rows = []
    for f in range(folds):
        for e in range(n_epochs):
            w = (e + 1) / n_epochs  # ramps to the final value at the last epoch
            jitter = 0.01 if f == 0 else -0.01
            rows.append(
                {
                    "fold": f,
                    "epoch": e,
                    "train_loss": 1.0,
                    "val_cindex": 0.5 + w * (final["fused"] - 0.5) + jitter,
                    "val_cindex_genomic": 0.5 + w * (final["genomic"] - 0.5) + jitter,
                    "val_cindex_image": 0.5 + w * (final["image"] - 0.5) + jitter,
                }
            )
    return pd.DataFrame(rows)


def test_balance_series_smoothing_is_trailing_mean_over_fold_means() -> None:
    hist = make_history()
    out = balance_series(hist, window=3)
    fold_mean = hist.groupby("step")["rho_g"].mean().to_numpy()
    np.testing.assert_allclose(out["rho_g"], fold_mean)
    expected = [fold_mean[max(0, i - 2) : i + 1].mean() for i in range(len(fold_mean))]
    np.testing.assert_allclose(out["rho_g_smooth"], expected)
    one = balance_series(hist, window=1, fold=1)
    np.testing.assert_allclose(one["coef_p_smooth"], hist[hist.fold == 1]["coef_p"])


def test_balance_series_skips_nan_rho() -> None:
    hist = make_history(folds=1)
    hist.loc[3, "rho_g"] = np.nan  # a batch without events
    out = balance_series(hist, window=2)
    assert np.isnan(out.loc[3, "rho_g"])
    assert out.loc[3, "rho_g_smooth"] == pytest.approx(hist.loc[2, "rho_g"])
    assert out.loc[4, "rho_g_smooth"] == pytest.approx(hist.loc[4, "rho_g"])


def test_balance_series_validation() -> None:
    with pytest.raises(InputValidationError, match="rho_p"):
        balance_series(make_history().drop(columns="rho_p"))
    with pytest.raises(InputValidationError, match="window"):
        balance_series(make_history(), window=0)
    with pytest.raises(InputValidationError, match="fold 7"):
        balance_series(make_history(), fold=7)


def test_balance_figure_side_by_side() -> None:
    fig = balance_figure([make_history(seed=0), make_history(seed=1)], ["concat", "gradmod"], window=4)
    assert len(fig.data) == 2 * 3 * 2  # runs x rows x branches
    assert [a.text for a in fig.layout.annotations][:2] == ["concat", "gradmod"]
    assert len(balance_figure(make_history(), raw=True).data) == 3 * 4
    with pytest.raises(InputValidationError, match="labels"):
        balance_figure([make_history()], ["a", "b"])


def test_epoch_series_mean_and_sd() -> None:
    ep = make_epochs({"fused": 0.8, "genomic": 0.75, "image": 0.6})
    s = epoch_series(ep)
    assert list(s["epoch"]) == [0, 1, 2]
    assert s["val_cindex"].iloc[-1] == pytest.approx(0.8)
    assert s["val_cindex_sd"].iloc[-1] == pytest.approx(np.std([0.81, 0.79], ddof=1))
    no_branch = epoch_series(ep.drop(columns=["val_cindex_image"]))
    assert no_branch["val_cindex_image_n"].sum() == 0


def test_epoch_cindex_figure_traces() -> None:
    a = make_epochs({"fused": 0.8, "genomic": 0.75, "image": 0.6})
    fig = epoch_cindex_figure([a, a.drop(columns="val_cindex_image")], ["concat", "genomic only"])
    # run 1: 3 columns x (band + line); run 2: 2 columns x (band + line)
    assert len(fig.data) == 10
    assert len(epoch_cindex_figure(a[a.fold == 0]).data) == 3  # one fold: no bands


def test_balance_reading_two_runs() -> None:
    a = make_epochs({"fused": 0.80, "genomic": 0.78, "image": 0.61})
    b = make_epochs({"fused": 0.83, "genomic": 0.77, "image": 0.68})
    text = balance_reading(a, b, ("concat", "with modulation"))
    assert text == "image branch alone: 0.61 → 0.68 with modulation (genomic 0.78 → 0.77, fused 0.80 → 0.83)"
    text = balance_reading(b, a, ("gradmod", "concat"))
    assert text.startswith("image branch alone: 0.68 → 0.61 in concat")


def test_balance_reading_one_run_and_missing_branches() -> None:
    a = make_epochs({"fused": 0.80, "genomic": 0.78, "image": 0.61})
    assert balance_reading(a) == (
        "genomic branch alone 0.78, image branch alone 0.61, fused 0.80: the genomic branch leads the image branch by 0.17"
    )
    bare = a[["fold", "epoch", "val_cindex"]]
    assert "not recorded" in balance_reading(bare)
    assert "not recorded" in balance_reading(bare, bare)


def make_gradmod_history(n_steps: int = 40) -> pd.DataFrame:
    """Two CV folds and a final fit where one branch is slowed per step: k^G < 1 xor k^P < 1, never both.

    Fold 0 slows the genomic branch, fold 1 the image branch and the final fit alternates, so a mean
    over the fits has both coefficients below 1 at every step, which no single step has.
    """
    rows = []
    for fold in (0, 1, FINAL_FIT):
        for s in range(n_steps):
            genomic_slowed = fold == 0 or (fold == FINAL_FIT and s % 2 == 0)
            rho_g = 1.5 if genomic_slowed else 1 / 1.5
            k_slow = 1 - np.tanh(0.5)
            rows.append(
                {
                    "fold": fold,
                    "epoch": s // 10,
                    "step": s,
                    "loss": 1.0,
                    "rho_g": rho_g,
                    "rho_p": 1 / rho_g,
                    "coef_g": k_slow if genomic_slowed else 1.0,
                    "coef_p": 1.0 if genomic_slowed else k_slow,
                    "grad_norm_g": 1.0,
                    "grad_norm_p": 0.5,
                    "modulated": True,
                }
            )
    return pd.DataFrame(rows)


def test_history_folds_and_labels() -> None:
    hist = make_gradmod_history(4)
    assert history_folds(hist) == [FINAL_FIT, 0, 1]  # the final fit first
    assert history_folds(hist.drop(columns="fold")) == []
    assert [fold_label(f) for f in history_folds(hist)] == ["final fit", "CV fold 1", "CV fold 2"]


def test_one_fit_never_has_both_coefficients_below_one() -> None:
    hist = make_gradmod_history()
    mean = balance_series(hist, window=1)
    assert ((mean["coef_g"] < 1) & (mean["coef_p"] < 1)).all()  # the artefact of averaging over fits
    for fold in history_folds(hist):
        one = balance_series(hist, window=1, fold=fold)
        assert not ((one["coef_g"] < 1) & (one["coef_p"] < 1)).any()


def test_balance_figure_draws_the_chosen_fit_raw() -> None:
    hist = make_gradmod_history()
    fig = balance_figure([hist, hist], ["a", "b"], window=5, raw=True, fold=FINAL_FIT)
    final = hist[hist["fold"] == FINAL_FIT]
    raw_k = [t for t in fig.data if t.name == "genomic (raw)" and t.xaxis in ("x3", "x4")]
    assert len(raw_k) == 2
    for t in raw_k:
        np.testing.assert_allclose(np.asarray(t.y, float), final["coef_g"].to_numpy())
    assert fig.layout.title.subtitle.text.startswith("final fit")
    assert balance_figure(hist).layout.title.subtitle.text.startswith("mean over folds")


def test_balance_figures_keep_titles_and_legend_apart() -> None:
    """The legend sits in a band under the plots (container coordinates), not over the column titles."""
    fig = balance_figure([make_history(seed=0), make_history(seed=1)], ["concat", "gradmod"])
    assert [a.text for a in fig.layout.annotations] == ["concat", "gradmod"]  # no row titles at the right edge
    long = balance_figure([make_history()] * 2, ["Demo (synthetic cohort, gradmod) · models/demo", "b"])
    assert long.layout.annotations[0].text == "Demo (synthetic cohort,<br>gradmod) · models/demo"
    assert fig.layout.legend.orientation == "h" and fig.layout.legend.yref == "container"
    assert fig.layout.legend.y == 0 and fig.layout.legend.yanchor == "bottom" and fig.layout.margin.b >= 90
    assert [fig.layout[f"yaxis{i}"].title.text for i in ("", "3", "5")] == [p[0] for p in BALANCE_PANELS]
    epochs = epoch_cindex_figure([make_epochs({"fused": 0.8, "genomic": 0.75, "image": 0.6})] * 2, ["a", "b"])
    assert epochs.layout.legend.yref == "container" and epochs.layout.margin.b >= 90


def test_training_curves_figure_smooths_trailing() -> None:
    hist = make_gradmod_history(6)
    fig = training_curves_figure(hist, window=3)
    assert [t.name for t in fig.data] == ["loss (raw)", "loss", "ρ^G", "ρ^P"]
    np.testing.assert_allclose(fig.data[2].y, trailing_mean(hist["rho_g"], 3))
    assert list(fig.data[0].x) == list(range(len(hist)))  # every fit in order
    np.testing.assert_allclose(trailing_mean(pd.Series([0.0, 10.0, np.nan, 10.0]), 2), [0.0, 5.0, 10.0, 10.0])
    with pytest.raises(InputValidationError, match="window"):
        training_curves_figure(hist, window=0)
