"""Risk groups from training cut-offs, Kaplan–Meier, at-risk tables, log-rank and hazard ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pathgptomic.errors import ConfigError, DataQualityWarning, InputValidationError
from pathgptomic.evaluation import (
    assign_risk_groups,
    at_risk_table,
    format_p,
    group_order,
    hazard_ratio,
    kaplan_meier,
    logrank,
    risk_cutoffs,
)


def _cohort(n: int = 150, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    t_event = rng.exponential(20 * np.exp(-risk))
    t_cens = rng.exponential(30, size=n)
    time = np.ceil(np.minimum(t_event, t_cens))  # integer months: ties
    return risk, time, t_event <= t_cens


def test_cutoffs_median_tertiles_explicit() -> None:
    train = np.arange(10.0)  # 0..9
    np.testing.assert_allclose(risk_cutoffs(train), [4.5])
    np.testing.assert_allclose(risk_cutoffs(train, "tertiles"), [3.0, 6.0])
    np.testing.assert_allclose(risk_cutoffs(train, [0.25]), [0.25])
    np.testing.assert_allclose(risk_cutoffs(train, [-1.0, 2.0]), [-1.0, 2.0])


@pytest.mark.parametrize(
    ("scheme", "match"),
    [
        ("quartiles", "must be 'median', 'tertiles'"),
        ([2.0, 1.0], "strictly increasing"),
        ([1.0, 2.0, 3.0], "one or two"),
        ([float("nan")], "finite"),
        (["a"], "must be numbers"),
    ],
)
def test_cutoffs_reject_bad_schemes(scheme: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        risk_cutoffs([0.0, 1.0], scheme)


def test_cutoffs_reject_bad_training_risks() -> None:
    with pytest.raises(InputValidationError, match="'train_risk'"):
        risk_cutoffs([0.0, np.inf])
    with pytest.raises(InputValidationError, match="'train_risk'"):
        risk_cutoffs([])


def test_groups_use_training_cutoffs_not_test_distribution() -> None:
    train = np.arange(10.0)
    cut = risk_cutoffs(train)  # 4.5
    test = np.array([5.0, 6.0, 7.0, 8.0])  # all above the training median
    assert assign_risk_groups(test, cut).tolist() == ["high"] * 4
    # the test median (6.5) would have split them: the cut-off must not be re-estimated
    assert assign_risk_groups(test, risk_cutoffs(test)).tolist() == ["low", "low", "high", "high"]
    assert assign_risk_groups([4.5, 4.5001], cut).tolist() == ["low", "high"]  # boundary goes low
    tert = assign_risk_groups(train, risk_cutoffs(train, "tertiles"))
    assert tert.tolist() == ["low"] * 4 + ["intermediate"] * 3 + ["high"] * 3


def test_group_order() -> None:
    assert group_order(["high", "b", "low", "intermediate", "a", "high"]) == ["low", "intermediate", "high", "a", "b"]


def test_kaplan_meier_equals_lifelines() -> None:
    from lifelines import KaplanMeierFitter

    risk, time, event = _cohort()
    groups = assign_risk_groups(risk, risk_cutoffs(risk, "tertiles"))
    km = kaplan_meier(time, event, groups)
    assert list(km.columns) == ["group", "time", "survival", "ci_lower", "ci_upper", "at_risk", "events", "censored"]
    assert km["group"].unique().tolist() == ["low", "intermediate", "high"]
    for label in ("low", "intermediate", "high"):
        m = groups == label
        kmf = KaplanMeierFitter().fit(time[m], event[m])
        part = km[km["group"] == label]
        assert part["time"].iloc[0] == 0.0 and part["survival"].iloc[0] == 1.0 and part["at_risk"].iloc[0] == m.sum()
        np.testing.assert_allclose(part["time"], kmf.survival_function_.index)
        np.testing.assert_allclose(part["survival"], kmf.survival_function_.iloc[:, 0])
        np.testing.assert_allclose(part["ci_lower"], kmf.confidence_interval_.iloc[:, 0])
        np.testing.assert_allclose(part["ci_upper"], kmf.confidence_interval_.iloc[:, 1])
        np.testing.assert_array_equal(part["at_risk"], kmf.event_table["at_risk"])
        np.testing.assert_array_equal(part["events"], kmf.event_table["observed"])
        np.testing.assert_array_equal(part["censored"], kmf.event_table["censored"])
        assert (np.diff(part["survival"]) <= 0).all()
    # the high-risk group fares worse
    last = km.groupby("group")["survival"].last()
    assert last["high"] < last["low"]


def test_kaplan_meier_single_group_default() -> None:
    _, time, event = _cohort(30)
    km = kaplan_meier(time, event)
    assert km["group"].unique().tolist() == ["all"] and km["at_risk"].iloc[0] == 30


def _lifelines_at_risk(time: np.ndarray, event: np.ndarray, tick: float) -> tuple[int, int, int]:
    """The exact computation inside lifelines.plotting.add_at_risk_counts (default mode)."""
    from lifelines import KaplanMeierFitter

    table = KaplanMeierFitter().fit(time, event).event_table
    sl = table.assign(at_risk=lambda x: x.at_risk - x.removed).loc[:tick, ["at_risk", "censored", "observed"]]
    if sl.empty:
        return 0, 0, 0
    return int(sl["at_risk"].tail(1).item()), int(sl["observed"].sum()), int(sl["censored"].sum())


def test_at_risk_table_equals_lifelines_counts() -> None:
    risk, time, event = _cohort()
    groups = assign_risk_groups(risk, risk_cutoffs(risk))
    ticks = [0.0, 5.0, 10.5, 20.0, 40.0, 500.0]
    table = at_risk_table(time, event, groups, ticks)
    assert len(table) == 2 * len(ticks)
    assert list(table.columns) == ["group", "time", "at_risk", "events", "censored"]
    for row in table.itertuples():
        m = groups == row.group
        assert (row.at_risk, row.events, row.censored) == _lifelines_at_risk(time[m], event[m], row.time)
    assert table.loc[table["time"] == 0.0, "at_risk"].tolist() == [(groups == "low").sum(), (groups == "high").sum()]
    with pytest.raises(InputValidationError, match="'times'"):
        at_risk_table(time, event, groups, [-1.0])


def test_logrank_equals_lifelines_two_and_three_groups() -> None:
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    risk, time, event = _cohort()
    two = assign_risk_groups(risk, risk_cutoffs(risk))
    lo, hi = two == "low", two == "high"
    ref2 = logrank_test(time[lo], time[hi], event[lo], event[hi]).p_value
    assert logrank(time, event, two) == pytest.approx(ref2, rel=1e-12)
    assert logrank(time, event, two) < 0.01  # risk carries signal
    three = assign_risk_groups(risk, risk_cutoffs(risk, "tertiles"))
    assert logrank(time, event, three) == pytest.approx(multivariate_logrank_test(time, three, event).p_value, rel=1e-12)
    rng = np.random.default_rng(5)
    assert logrank(time, event, rng.choice(["low", "high"], size=len(time))) > 0.01  # random labels


def test_logrank_needs_two_groups_and_events() -> None:
    _, time, event = _cohort(20)
    with pytest.raises(InputValidationError, match="at least two groups"):
        logrank(time, event, ["low"] * 20)
    with pytest.warns(DataQualityWarning, match="no events"):
        assert np.isnan(logrank(time, np.zeros(20), ["low", "high"] * 10))


def test_hazard_ratio_high_vs_low_equals_lifelines_cox() -> None:
    from lifelines import CoxPHFitter

    risk, time, event = _cohort()
    groups = assign_risk_groups(risk, risk_cutoffs(risk, "tertiles"))
    hr, lower, upper = hazard_ratio(time, event, groups)
    m = groups != "intermediate"
    df = pd.DataFrame({"t": time[m], "e": event[m].astype(int), "x": (groups[m] == "high").astype(float)})
    cph = CoxPHFitter().fit(df, "t", "e")
    assert hr == pytest.approx(float(np.exp(cph.params_["x"])), rel=1e-9)
    ci = np.exp(cph.confidence_intervals_.loc["x"].to_numpy())
    assert (lower, upper) == (pytest.approx(ci[0], rel=1e-9), pytest.approx(ci[1], rel=1e-9))
    assert 1.0 < lower < hr < upper
    hr_rev, _, _ = hazard_ratio(time, event, groups, high="low", low="high")
    assert hr_rev == pytest.approx(1.0 / hr, rel=1e-5)


def test_hazard_ratio_edge_cases() -> None:
    _, time, event = _cohort(20)
    with pytest.raises(InputValidationError, match="needs group 'high'"):
        hazard_ratio(time, event, ["low"] * 20)
    ev = np.zeros(20, dtype=bool)
    ev[:10:2] = True  # events only in group "low" (even indices)
    with pytest.warns(DataQualityWarning, match="has no event"):
        assert np.isnan(hazard_ratio(time, ev, ["low", "high"] * 10)).all()


def test_format_p_is_one_convention_four_decimals() -> None:
    assert [format_p(p) for p in (0.5, 0.01234, 0.0001, 0.00009999, float("nan"), None)] == [
        "0.5000",
        "0.0123",
        "0.0001",
        "< 0.0001",
        "n/a",
        "n/a",
    ]
    assert [format_p(p, relation=True) for p in (0.01234, 3e-9, float("nan"))] == ["= 0.0123", "< 0.0001", "n/a"]


def test_report_text_reads_log_rank_p_with_one_relation() -> None:
    from pathgptomic.evaluation import evaluate_predictions, format_report

    risk, time, event = _cohort(300)
    report = evaluate_predictions(pd.DataFrame({"time": time, "event": event, "risk": risk}), n_boot=20)
    assert report["risk_groups"]["logrank_p"] < 1e-4
    text = format_report(report)
    assert "log-rank p < 0.0001" in text and "= <" not in text


def test_evaluate_refuses_conflicting_outcomes_naming_the_table_rows() -> None:
    """Repeated patients go through data.validation.check_outcome_conflicts; rows are the table's own
    (header = row 1), also after NaN rows were dropped; agreeing repeats are collapsed."""
    from pathgptomic.evaluation import evaluate_predictions

    pred = pd.DataFrame(
        {
            "patient_id": ["P1", "P2", "P3", "P4", "P1", "P5"],
            "time": [5.0, 7.0, np.nan, 3.0, 6.0, 9.0],
            "event": [1, 0, 1, 1, 1, 0],
            "risk": [0.3, -0.2, 0.1, 0.5, 0.3, -0.4],
        }
    )
    with pytest.raises(InputValidationError, match=r"predictions: patient P1 appears in rows 2, 6 with conflicting 'time' values 5, 6"):
        evaluate_predictions(pred, n_boot=10)
    agreeing = pred.assign(time=pred["time"].where(pred.index != 4, 5.0), risk=pred["risk"].where(pred.index != 4, 0.5))
    report = evaluate_predictions(agreeing, n_boot=10)
    assert report["collapsed_duplicates"] == 1 and report["n_patients"] == 4
    assert report["patient_id"] == ["P1", "P2", "P4", "P5"]
