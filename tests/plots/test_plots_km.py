"""Kaplan–Meier plot data steps against lifelines' KaplanMeierFitter, and figure structure."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_waltons

from pathgptomic.errors import InputValidationError
from pathgptomic.plots.km import (
    at_risk_counts,
    censor_marks,
    default_at_risk_times,
    km_figure,
    km_matplotlib,
    km_steps,
    step_value,
    survival_curve_figure,
)


def lifelines_km_table(time: np.ndarray, event: np.ndarray, groups: np.ndarray) -> pd.DataFrame:
    """The evaluation.kaplan_meier contract, built from lifelines (reference)."""
    parts = []
    for label in np.unique(groups):
        m = groups == label
        kmf = KaplanMeierFitter().fit(time[m], event[m])
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_
        et = kmf.event_table
        parts.append(
            pd.DataFrame(
                {
                    "group": label,
                    "time": sf.index.to_numpy(dtype=float),
                    "survival": sf.to_numpy(),
                    "ci_lower": ci.iloc[:, 0].to_numpy(),
                    "ci_upper": ci.iloc[:, 1].to_numpy(),
                    "at_risk": et["at_risk"].to_numpy(),
                    "events": et["observed"].to_numpy(),
                    "censored": et["censored"].to_numpy(),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.fixture(scope="module")
def synthetic() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two groups, integer times so deaths and censorings tie, no row at t = 0."""
    rng = np.random.default_rng(3)
    n = 80
    groups = np.where(rng.random(n) < 0.5, "low", "high")
    time = np.ceil(rng.exponential(np.where(groups == "high", 8.0, 20.0))).astype(float)
    event = (rng.random(n) < 0.7).astype(int)
    return time, event, groups


@pytest.fixture(scope="module")
def waltons() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    df = load_waltons()
    return df["T"].to_numpy(float), df["E"].to_numpy(int), df["group"].to_numpy(str)


@pytest.mark.parametrize("data", ["synthetic", "waltons"])
def test_km_steps_match_lifelines_everywhere(data: str, request: pytest.FixtureRequest) -> None:
    time, event, groups = request.getfixturevalue(data)
    steps = km_steps(lifelines_km_table(time, event, groups))
    assert set(steps) == set(np.unique(groups))
    probe = np.linspace(0, time.max() * 1.1, 301)
    probe = np.concatenate([probe, np.unique(time)])  # exactly at the jumps too
    for label, s in steps.items():
        assert s.x[0] == 0.0 and s.y[0] == 1.0
        assert np.all(np.diff(s.x) >= 0) and np.all(np.diff(s.y) <= 1e-12)
        m = groups == label
        kmf = KaplanMeierFitter().fit(time[m], event[m])
        expected = kmf.survival_function_at_times(probe).to_numpy()
        np.testing.assert_allclose(step_value(s.x, s.y, probe), expected, rtol=0, atol=1e-12)


def test_km_steps_prepend_origin_and_order() -> None:
    df = pd.DataFrame({"group": ["high", "high", "low"], "time": [5.0, 2.0, 3.0], "survival": [0.25, 0.5, 0.9]})
    steps = km_steps(df)
    assert list(steps) == ["low", "high"]  # clinical order, not alphabetical
    np.testing.assert_array_equal(steps["high"].x, [0.0, 2.0, 5.0])
    np.testing.assert_array_equal(steps["high"].y, [1.0, 0.5, 0.25])
    assert np.isnan(steps["high"].lower[1])


def test_km_steps_rejects_bad_tables() -> None:
    with pytest.raises(InputValidationError, match="survival"):
        km_steps(pd.DataFrame({"group": ["a"], "time": [1.0]}))
    with pytest.raises(InputValidationError, match=r"\[0, 1\]"):
        km_steps(pd.DataFrame({"group": ["a"], "time": [1.0], "survival": [1.5]}))


def test_step_value_is_right_continuous() -> None:
    x, y = np.array([0.0, 2.0, 5.0]), np.array([1.0, 0.5, 0.2])
    np.testing.assert_array_equal(step_value(x, y, [0, 1.99, 2, 4.9, 5, 100]), [1, 1, 0.5, 0.5, 0.2, 0.2])


@pytest.mark.parametrize("data", ["synthetic", "waltons"])
def test_censor_marks_sit_on_the_curve(data: str, request: pytest.FixtureRequest) -> None:
    time, event, groups = request.getfixturevalue(data)
    marks = censor_marks(time, event, groups, lifelines_km_table(time, event, groups))
    assert marks["n_censored"].sum() == int(np.sum(event == 0))
    for label, part in marks.groupby("group"):
        m = groups == label
        kmf = KaplanMeierFitter().fit(time[m], event[m])
        expected = kmf.survival_function_at_times(part["time"].to_numpy()).to_numpy()
        np.testing.assert_allclose(part["survival"].to_numpy(), expected, atol=1e-12)
        np.testing.assert_array_equal(np.sort(part["time"]), np.unique(time[m & (event == 0)]))


def test_censor_marks_hand_example() -> None:
    # 5 patients; death at 1 (S = 4/5), censored at 2, at t = 3 three at risk and one death
    # (S = 4/5 * 2/3); the censoring tied with that death is drawn after the drop
    time = np.array([1, 2, 3, 3, 4.0])
    event = np.array([1, 0, 1, 0, 1])
    groups = np.array(["a"] * 5)
    marks = censor_marks(time, event, groups, lifelines_km_table(time, event, groups))
    np.testing.assert_allclose(marks["time"], [2.0, 3.0])
    np.testing.assert_allclose(marks["survival"], [0.8, 0.8 * 2 / 3])


@pytest.mark.parametrize("from_start", [False, True])
@pytest.mark.parametrize("data", ["synthetic", "waltons"])
def test_at_risk_counts_equal_lifelines(data: str, from_start: bool, request: pytest.FixtureRequest) -> None:
    time, event, groups = request.getfixturevalue(data)
    ticks = np.concatenate([default_at_risk_times(time.max()), np.unique(time)[:5], [time.max()]])
    table = at_risk_counts(time, groups, ticks, event=event, from_start_of_period=from_start)
    for label in np.unique(groups):
        m = groups == label
        et = KaplanMeierFitter().fit(time[m], event[m]).event_table
        if not from_start:
            et = et.assign(at_risk=et["at_risk"] - et["removed"])
        part = table[table["group"] == label].set_index("time")
        for tick in ticks:
            sl = et.loc[:tick]
            assert part.loc[tick, "at_risk"] == int(sl["at_risk"].iloc[-1]), (label, tick)
            assert part.loc[tick, "censored"] == int(sl["censored"].sum())
            assert part.loc[tick, "events"] == int(sl["observed"].sum())


def test_at_risk_counts_validation() -> None:
    with pytest.raises(InputValidationError, match="groups"):
        at_risk_counts([1.0, 2.0], ["a"], [0.0])
    with pytest.raises(InputValidationError, match="time"):
        at_risk_counts([1.0, -2.0], ["a", "a"], [0.0])


def test_km_figure_traces_and_table(synthetic: tuple) -> None:
    time, event, groups = synthetic
    table = lifelines_km_table(time, event, groups)
    stats = {"p": 0.01, "hr": (2.0, 1.2, 3.1), "text": "log-rank p = 0.010 · HR high vs low 2.00 (1.20–3.10)"}
    fig = km_figure(time, event, groups, km_df=table, stats=stats, at_risk_times=[0, 10, 20])
    assert len(fig.data) == 8  # per group: band, curve, censor ticks, at-risk row
    curves = [t for t in fig.data if t.mode == "lines"]
    assert [t.name.split(" ")[0] for t in curves] == ["low", "high"]
    assert all(t.line.shape == "hv" for t in curves)
    assert "log-rank p = 0.010" in fig.layout.title.text and "HR" in fig.layout.title.text
    rows = [t for t in fig.data if t.mode == "text"]
    expected = at_risk_counts(time, groups, [0, 10, 20])
    for row, label in zip(rows, ["low", "high"]):
        assert list(row.text) == expected[expected["group"] == label]["at_risk"].astype(str).tolist()
    assert len(km_figure(time, event, groups, km_df=table, stats=stats, ci=False).data) == 6


def test_km_figure_uses_evaluation(synthetic: tuple) -> None:
    from pathgptomic import evaluation

    time, event, groups = synthetic
    fig = km_figure(time, event, groups)
    assert "log-rank p" in fig.layout.title.text
    steps = km_steps(evaluation.kaplan_meier(time, event, groups))
    for label, s in steps.items():
        m = groups == label
        kmf = KaplanMeierFitter().fit(time[m], event[m])
        np.testing.assert_allclose(step_value(s.x, s.y, time), kmf.survival_function_at_times(time), atol=1e-10)


@pytest.mark.parametrize("fmt,magic", [("png", b"\x89PNG"), ("svg", b"<svg")])
def test_km_matplotlib_export(synthetic: tuple, fmt: str, magic: bytes) -> None:
    pytest.importorskip("matplotlib")
    time, event, groups = synthetic
    data = km_matplotlib(
        time,
        event,
        groups,
        fmt=fmt,
        km_df=lifelines_km_table(time, event, groups),
        stats={"text": "log-rank p = 0.010"},
    )
    assert magic in data[:400]
    with pytest.raises(InputValidationError, match="fmt"):
        km_matplotlib(time, event, groups, fmt="jpg", km_df=lifelines_km_table(time, event, groups), stats={})


def test_survival_curve_figure() -> None:
    times = np.array([1.0, 3.0, 7.0])
    curves = pd.DataFrame({"P1": [0.9, 0.7, 0.4]}, index=times)
    group = pd.DataFrame(
        {"group": "high", "time": [0.0, 2.0, 6.0], "survival": [1.0, 0.8, 0.5], "ci_lower": [1.0, 0.7, 0.35], "ci_upper": [1.0, 0.9, 0.65]}
    )
    fig = survival_curve_figure(curves, group)
    assert len(fig.data) == 3  # band, group curve, patient curve
    patient = fig.data[-1]
    np.testing.assert_array_equal(patient.x, [0.0, 1.0, 3.0, 7.0])
    np.testing.assert_array_equal(patient.y, [1.0, 0.9, 0.7, 0.4])
    with pytest.raises(InputValidationError):
        survival_curve_figure(pd.DataFrame())


def test_band_polygon_is_a_step_band_and_tolerates_nan() -> None:
    from pathgptomic.plots.km import KMSteps, _band_polygon

    s = KMSteps(
        x=np.array([0.0, 2.0, 5.0]), y=np.array([1.0, 0.6, 0.3]), lower=np.array([1.0, 0.4, np.nan]), upper=np.array([1.0, 0.8, np.nan])
    )
    bx, by = _band_polygon(s)
    # upper edge: (0,1) (2,1) (2,.8) (5,.8) (5,.3); then the lower edge back
    np.testing.assert_array_equal(bx, [0, 2, 2, 5, 5, 5, 5, 2, 2, 0])
    np.testing.assert_array_equal(by, [1, 1, 0.8, 0.8, 0.3, 0.3, 0.4, 0.4, 1, 1])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 12), st.integers(0, 1), st.sampled_from(["low", "high"])),
        min_size=2,
        max_size=30,
    )
)
def test_km_and_at_risk_match_lifelines_on_random_cohorts(rows: list) -> None:
    time = np.array([r[0] for r in rows], dtype=float)
    event = np.array([r[1] for r in rows])
    groups = np.array([r[2] for r in rows])
    steps = km_steps(lifelines_km_table(time, event, groups))
    ticks = np.arange(0, 14, 3.0)
    table = at_risk_counts(time, groups, ticks)
    for label, s in steps.items():
        m = groups == label
        kmf = KaplanMeierFitter().fit(time[m], event[m])
        probe = np.arange(0, 14, 0.5)
        np.testing.assert_allclose(step_value(s.x, s.y, probe), kmf.survival_function_at_times(probe), atol=1e-12)
        assert np.all((s.y >= 0) & (s.y <= 1)) and np.all(np.diff(s.y) <= 1e-12)
        et = kmf.event_table.assign(at_risk=lambda d: d["at_risk"] - d["removed"])
        got = table[table["group"] == label]["at_risk"].to_numpy()
        np.testing.assert_array_equal(got, [int(et.loc[:t, "at_risk"].iloc[-1]) for t in ticks])


def test_km_statistics_text_uses_the_evaluation_p_format() -> None:
    from pathgptomic.evaluation import format_p, logrank
    from pathgptomic.plots.km_data import km_statistics

    rng = np.random.default_rng(0)
    groups = np.repeat(["low", "high"], 40)
    time = rng.exponential(np.where(groups == "high", 8.0, 12.0))  # a weak difference: an exact p
    event = (rng.random(80) < 0.8).astype(int)
    stats = km_statistics(time, event, groups)
    p = logrank(time, event, groups)
    assert stats["p"] == pytest.approx(p) and 1e-4 <= p < 1
    assert stats["text"].startswith(f"log-rank p = {p:.4f} · HR high vs low ")
    assert stats["text"].startswith(f"log-rank p {format_p(p, relation=True)}")
    df = load_waltons()
    strong = km_statistics(df["T"].to_numpy(float), df["E"].to_numpy(int), df["group"].to_numpy())
    assert strong["p"] < 1e-4 and strong["text"].startswith("log-rank p < 0.0001")


def test_km_title_from_the_evaluation_report_equals_the_plot_statistics() -> None:
    """The Cohort page titles its KM figure from the evaluation report; the plot layer computes the same line."""
    from pathgptomic.evaluation.report import evaluate_predictions
    from pathgptomic.plots.km_data import km_statistics, km_title_text

    rng = np.random.default_rng(3)
    risk = rng.normal(size=120)
    time = rng.exponential(scale=np.exp(-risk)) * 20 + 0.1
    event = (rng.uniform(size=120) < 0.7).astype(int)
    report = evaluate_predictions(pd.DataFrame({"time": time, "event": event, "risk": risk}), n_boot=10)
    rg = report["risk_groups"]
    (h,) = rg["hazard_ratios"]  # median split: two groups
    from_report = km_title_text(rg["logrank_p"], (h["hr"], *h["ci"]), h["group"], h["reference"])
    assert from_report == km_statistics(time, event, np.asarray(rg["labels"]))["text"]
    assert from_report.startswith("log-rank p ") and " · HR high vs low " in from_report
