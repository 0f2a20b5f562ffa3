"""C-index, bootstrap CI, time-dependent AUC and integrated Brier score."""

from __future__ import annotations

import time as _time

import numpy as np
import pandas as pd
import pytest

from pathgptomic.errors import DataQualityWarning, InputValidationError
from pathgptomic.evaluation import (
    BreslowBaseline,
    bootstrap_cindex,
    concordance_index,
    fold_cindex,
    integrated_brier,
    time_dependent_auc,
)


def _cohort(n: int = 200, seed: int = 0, ties: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t_event = rng.exponential(10 * np.exp(-x))
    t_cens = rng.exponential(15, size=n)
    time = np.minimum(t_event, t_cens)
    if ties:
        time = np.ceil(time)  # integer times: tied event/event and event/censored pairs
    event = t_event <= t_cens
    risk = x + rng.normal(scale=0.8, size=n)
    if ties:
        risk[:30] = np.round(risk[:30])  # tied risks too
    return risk, time, event


def test_cindex_hand_case() -> None:
    # times 1,2,3,4; events 1,1,0,1; risks 4,2,3,1.
    # comparable (earlier event first): (0,1),(0,2),(0,3),(1,2),(1,3); (3,*) none (last).
    # concordant: r0>r1 y, r0>r2 y, r0>r3 y, r1>r2 n, r1>r3 y -> 4/5
    assert concordance_index([4.0, 2.0, 3.0, 1.0], [1.0, 2.0, 3.0, 4.0], [1, 1, 0, 1]) == pytest.approx(0.8)
    # tied risk counts 1/2; tied event times are not comparable; event tied with censored is.
    # pairs: (0,2) [t0=t2=1, 0 event, 2 censored] tied risk -> 0.5 ; (0,1) both events tied -> skip
    # (1,2) -> r1=3 > r2=1 -> 1; total 1.5 / 2
    assert concordance_index([1.0, 3.0, 1.0], [1.0, 1.0, 1.0], [1, 1, 0]) == pytest.approx(0.75)


@pytest.mark.parametrize("seed", [0, 1])
def test_cindex_equals_lifelines_and_sksurv(seed: int) -> None:
    from lifelines.utils import concordance_index as lifelines_cindex
    from sksurv.metrics import concordance_index_censored

    risk, time, event = _cohort(seed=seed)
    ours = concordance_index(risk, time, event)
    assert ours == pytest.approx(lifelines_cindex(time, -risk, event), abs=1e-12)  # lifelines: higher = longer
    assert ours == pytest.approx(concordance_index_censored(event, time, risk, tied_tol=0.0)[0], abs=1e-12)
    assert concordance_index(-risk, time, event) == pytest.approx(1 - ours, abs=1e-12)


def test_cindex_accepts_series_and_tensors() -> None:
    import torch

    risk, time, event = _cohort(50)
    ref = concordance_index(risk, time, event)
    assert concordance_index(torch.tensor(risk), pd.Series(time), event.astype(int).tolist()) == pytest.approx(ref)


def test_cindex_no_comparable_pair_is_nan_with_warning() -> None:
    with pytest.warns(DataQualityWarning, match="no comparable pair"):
        assert np.isnan(concordance_index([1.0, 2.0], [1.0, 2.0], [0, 0]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"time": [1.0, -1.0, 2.0]}, r"'time' \(shape \(3,\)\) must be finite and >= 0; index 1"),
        ({"event": [1, 2, 0]}, r"'event' \(shape \(3,\)\) must hold only 0 \(censored\) or 1 \(event\); index 1"),
        ({"risk": [1.0, np.nan, 0.0]}, r"'risk' \(shape \(3,\)\) contains NaN or infinite values at index 1"),
        ({"risk": [1.0, 2.0]}, r"'risk' has 2 subjects \(shape \(2,\)\) but 'time' has 3"),
        ({"risk": np.zeros((3, 2))}, r"'risk' must have shape \(n,\) or \(n, 1\), got shape \(3, 2\)"),
    ],
)
def test_cindex_validation(kwargs: dict, match: str) -> None:
    args = {"risk": [1.0, 2.0, 3.0], "time": [1.0, 2.0, 3.0], "event": [1, 0, 1]}
    args.update(kwargs)
    with pytest.raises(InputValidationError, match=match):
        concordance_index(**args)


def test_bootstrap_matches_explicit_resampling() -> None:
    risk, time, event = _cohort(60)
    res = bootstrap_cindex(risk, time, event, n_boot=40, seed=3)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 60, size=(40, 60))  # same draws as the implementation (one chunk)
    boots = [concordance_index(risk[i], time[i], event[i]) for i in idx]
    lower, upper = np.quantile(boots, [0.025, 0.975])
    assert res.c == pytest.approx(concordance_index(risk, time, event))
    assert (res.lower, res.upper) == (pytest.approx(lower, abs=1e-12), pytest.approx(upper, abs=1e-12))


def test_bootstrap_ci_contains_estimate_deterministic_and_fast() -> None:
    risk, time, event = _cohort(200)
    start = _time.perf_counter()
    res = bootstrap_cindex(risk, time, event, n_boot=1000, seed=0)
    elapsed = _time.perf_counter() - start
    assert res.lower < res.c < res.upper
    assert 0.5 < res.lower and res.upper < 1.0
    assert res == bootstrap_cindex(risk, time, event, n_boot=1000, seed=0)
    assert res != bootstrap_cindex(risk, time, event, n_boot=1000, seed=1)
    assert elapsed < 5.0  # ~0.02 s on one core; generous bound for a shared machine
    c, lo, hi = res  # unpacks like a tuple
    assert c == res.c


def _split(n: int = 300, seed: int = 0) -> tuple[np.ndarray, ...]:
    risk, time, event = _cohort(n, seed=seed, ties=False)
    tr = np.arange(n) < 2 * n // 3
    return risk, time, event, tr


def test_time_dependent_auc_matches_sksurv_and_is_informative() -> None:
    from sksurv.metrics import cumulative_dynamic_auc
    from sksurv.util import Surv

    risk, time, event, tr = _split()
    te = ~tr
    res = time_dependent_auc(time[tr], event[tr], time[te], event[te], risk[te])
    assert 1 <= len(res.table) <= 10 and res.message == ""
    assert res.table["time"].between(time[te].min(), min(time[te].max(), time[tr].max()), inclusive="left").all()
    assert 0.6 < res.mean_auc < 1.0
    ref_auc, ref_mean = cumulative_dynamic_auc(
        Surv.from_arrays(event[tr], time[tr]), Surv.from_arrays(event[te], time[te]), risk[te], res.table["time"].to_numpy()
    )
    np.testing.assert_allclose(res.table["auc"], ref_auc)
    assert res.mean_auc == pytest.approx(ref_mean)
    assert time_dependent_auc(time[tr], event[tr], time[te], event[te], -risk[te]).mean_auc < 0.4


def test_time_dependent_auc_drops_invalid_times_and_reports_impossible_follow_up() -> None:
    risk, time, event, tr = _split()
    te = ~tr
    with pytest.warns(DataQualityWarning, match="outside the valid range"):
        res = time_dependent_auc(time[tr], event[tr], time[te], event[te], risk[te], times=[2.0, 5.0, 1e6])
    assert res.table["time"].tolist() == [2.0, 5.0]
    with pytest.warns(DataQualityWarning, match="no test event time inside the valid follow-up range"):
        res = time_dependent_auc(time[tr], event[tr], time[te], np.zeros(te.sum()), risk[te])
    assert res.table.empty and np.isnan(res.mean_auc) and "undefined" in res.message


def test_test_events_beyond_training_follow_up_do_not_break_ipcw() -> None:
    risk, time, event, tr = _split()
    te_idx = np.flatnonzero(~tr)
    last = np.argmax(np.where(tr, time, -1.0))
    event[last] = False  # training censoring survival drops to 0 at its last time
    time[te_idx[0]], event[te_idx[0]] = time[last] * 2, True  # a test event after it
    te = ~tr
    res = time_dependent_auc(time[tr], event[tr], time[te], event[te], risk[te])
    assert np.isfinite(res.mean_auc)
    surv = BreslowBaseline().fit(risk[tr], time[tr], event[tr]).survival_function(risk[te])
    assert np.isfinite(integrated_brier(time[tr], event[tr], time[te], event[te], surv))


def test_integrated_brier_matches_sksurv_and_beats_uninformative() -> None:
    from sksurv.metrics import integrated_brier_score
    from sksurv.util import Surv

    risk, time, event, tr = _split()
    te = ~tr
    base = BreslowBaseline().fit(risk[tr], time[tr], event[tr])
    grid = np.linspace(time[te].min(), min(time[te].max(), time[tr].max()), 25)[:-1]
    surv = base.survival_function(risk[te], times=grid)
    ibs = integrated_brier(time[tr], event[tr], time[te], event[te], surv)
    ref = integrated_brier_score(Surv.from_arrays(event[tr], time[tr]), Surv.from_arrays(event[te], time[te]), surv.to_numpy().T, grid)
    assert ibs == pytest.approx(ref)
    flat = pd.DataFrame(0.5, index=surv.index, columns=surv.columns)
    assert ibs < integrated_brier(time[tr], event[tr], time[te], event[te], flat)
    # rows outside the valid range (time 0 and beyond follow-up) are ignored, not an error
    wide = base.survival_function(risk[te], times=np.r_[0.0, grid, 1e6])
    assert integrated_brier(time[tr], event[tr], time[te], event[te], wide) == pytest.approx(ibs)


def test_integrated_brier_rejects_wrong_table_and_reports_short_range() -> None:
    risk, time, event, tr = _split()
    te = ~tr
    with pytest.raises(InputValidationError, match="one column per test subject"):
        integrated_brier(time[tr], event[tr], time[te], event[te], pd.DataFrame(np.ones((3, 2))))
    one_row = pd.DataFrame(0.5, index=[1.0], columns=range(te.sum()))
    with pytest.warns(DataQualityWarning, match="fewer than 2 survival-table times"):
        assert np.isnan(integrated_brier(time[tr], event[tr], time[te], event[te], one_row))


@pytest.mark.parametrize(("n", "n_times", "n_risks"), [(7, 3, 2), (60, 5, 4), (500, 20, 10), (5000, 400, 3000)])
def test_cindex_equals_lifelines_with_ties_and_censoring(n: int, n_times: int, n_risks: int) -> None:
    """Random data with many tied times, tied risks and event/censoring ties: same C as lifelines."""
    from lifelines.utils import concordance_index as lifelines_cindex

    rng = np.random.default_rng(n)
    for _ in range(3):
        time = rng.integers(1, n_times + 1, n).astype(float)
        event = rng.random(n) < 0.55
        risk = rng.integers(0, n_risks, n) / 7.0
        assert concordance_index(risk, time, event) == pytest.approx(lifelines_cindex(time, -risk, event), abs=1e-12)


def test_constant_risk_gives_one_half_never_nan() -> None:
    risk, time, event = _cohort(300)
    const = np.full_like(risk, 2.5)
    assert concordance_index(const, time, event) == 0.5
    assert tuple(bootstrap_cindex(const, time, event, n_boot=50, seed=0)) == (0.5, 0.5, 0.5)


def test_bootstrap_with_several_chunks_matches_explicit_resampling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunked bootstrap (weights per chunk of samples) = the C-index of each explicit resample."""
    from lifelines.utils import concordance_index as lifelines_cindex

    import pathgptomic.evaluation.metrics as metrics

    risk, time, event = _cohort(120)
    monkeypatch.setattr(metrics, "_BOOT_CHUNK_ELEMENTS", 120 * 7)  # chunks of 7 samples
    res = bootstrap_cindex(risk, time, event, n_boot=30, seed=4)
    rng = np.random.default_rng(4)
    draws = np.concatenate([rng.integers(0, 120, size=(min(7, 30 - s), 120)) for s in range(0, 30, 7)])
    boots = [lifelines_cindex(time[i], -risk[i], event[i]) for i in draws]
    np.testing.assert_allclose((res.lower, res.upper), np.quantile(boots, [0.025, 0.975]), atol=1e-12)


def test_bootstrap_scales_to_thousands_of_rows() -> None:
    """O(n log n) per resample: 5,000 rows x 200 resamples in seconds (25,000 x 1,000 in benchmarks/)."""
    risk, time, event = _cohort(5000)
    start = _time.perf_counter()
    res = bootstrap_cindex(risk, time, event, n_boot=200, seed=0)
    assert _time.perf_counter() - start < 30.0  # about 1 s on one quiet core
    assert res.lower < res.c < res.upper and res.upper - res.lower < 0.05


def test_fold_cindex_counts_a_constant_risk_fold_as_one_half_in_the_mean() -> None:
    """The one per-fold C-index: a collapsed (constant) fold is 0.5 and enters the mean, never NaN."""
    risk, time, event = _cohort(90)
    folds = [np.arange(0, 30), np.arange(30, 60), np.arange(60, 90)]
    per_fold = [fold_cindex(risk[f], time[f], event[f]) for f in folds[:2]]
    per_fold.append(fold_cindex(np.full(30, 1.7), time[folds[2]], event[folds[2]]))
    assert per_fold[2] == 0.5
    assert per_fold[:2] == [concordance_index(risk[f], time[f], event[f]) for f in folds[:2]]
    assert np.nanmean(per_fold) == pytest.approx((per_fold[0] + per_fold[1] + 0.5) / 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_fold_cindex_of_non_finite_risks_is_nan_with_a_counting_warning(bad: float) -> None:
    risk, time, event = _cohort(20)
    risk[[3, 7]] = bad
    with pytest.warns(DataQualityWarning, match=r"2 of 20 risk score\(s\) are NaN or infinite"):
        assert np.isnan(fold_cindex(risk, time, event))


def test_fold_cindex_without_comparable_pair_is_nan_silently_and_checks_inputs() -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.isnan(fold_cindex([3.0, 2.0, 1.0], [1.0, 2.0, 3.0], [0, 0, 0]))
        assert np.isnan(fold_cindex([], [], []))
    with pytest.raises(InputValidationError, match="'risk' has 2 subjects"):
        fold_cindex([1.0, 2.0], [1.0, 2.0, 3.0], [1, 0, 1])
    with pytest.raises(InputValidationError, match="'time'"):
        fold_cindex([1.0, 2.0], [1.0, -2.0], [1, 0])
