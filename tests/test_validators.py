"""The one validators module: which values pass and fail, and that every former call site rejects through it."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import pytest
import torch

from pathgptomic import validators as V
from pathgptomic.errors import ConfigError, InputValidationError

NAN, INF = float("nan"), float("inf")


# --- vector_length, check_same_length, as_numeric ---------------------------------------------


@pytest.mark.parametrize("shape", [(0,), (3,), (3, 1)])
def test_vector_length_accepts_one_value_per_patient(shape: tuple[int, ...]) -> None:
    assert V.vector_length(shape, "x") == shape[0]


@pytest.mark.parametrize("shape", [(), (3, 2), (1, 1, 1)])
def test_vector_length_refuses_other_shapes(shape: tuple[int, ...]) -> None:
    with pytest.raises(InputValidationError, match=r"argument 'x' must have shape \(n,\) or \(n, 1\).*one value per patient"):
        V.vector_length(shape, "x")


def test_check_same_length_names_both_arrays() -> None:
    V.check_same_length("event", (3,), "time", (3, 1))
    with pytest.raises(InputValidationError, match=r"'event' has 2 subjects \(shape \(2,\)\) but 'time' has 3 \(shape \(3,\)\)"):
        V.check_same_length("event", (2,), "time", (3,))


@pytest.mark.parametrize(
    ("values", "expected"),
    [([1, 2], [1.0, 2.0]), (["1.5", "2"], [1.5, 2.0]), (np.array([[1.0], [NAN]]), [1.0, NAN]), (torch.tensor([1.0, 2.0]), [1.0, 2.0])],
)
def test_as_numeric_converts(values: Any, expected: list[float]) -> None:
    np.testing.assert_array_equal(V.as_numeric(values, "x"), expected)


@pytest.mark.parametrize("values", [[True, False], np.array([1 + 1j]), ["a", "1"]])
def test_as_numeric_refuses_booleans_complex_and_text(values: Any) -> None:
    with pytest.raises(InputValidationError, match="argument 'x' must be numeric"):
        V.as_numeric(values, "x")


# --- check_time ----------------------------------------------------------------------------------

_TIMES = {"negative": -1.0, "zero": 0.0, "positive": 2.5, "nan": NAN, "inf": INF}
_PASSES = {
    "any": {"negative", "zero", "positive"},
    "nonnegative": {"zero", "positive"},
    "positive": {"positive"},
}


@pytest.mark.parametrize("lower", list(_PASSES))
@pytest.mark.parametrize("case", list(_TIMES))
def test_check_time_bounds(lower: str, case: str) -> None:
    time = [1.0, _TIMES[case], 3.0]
    if case in _PASSES[lower]:
        np.testing.assert_array_equal(V.check_time(time, lower=lower), time)
    else:
        with pytest.raises(InputValidationError, match=r"argument 'time' \(shape \(3,\)\) must be finite.*; index 1 is"):
            V.check_time(time, lower=lower)


@pytest.mark.parametrize(
    ("value", "match"),
    [(NAN, r"index 0 is missing \(NaN\)"), (INF, "index 0 is infinite"), (-2.0, r"index 0 is -2 \(must be >= 0\)")],
)
def test_check_time_says_what_is_wrong(value: float, match: str) -> None:
    with pytest.raises(InputValidationError, match=match):
        V.check_time([value, -1.0])


def test_check_time_counts_further_bad_values() -> None:
    with pytest.raises(InputValidationError, match=r"\(2 more bad time\(s\)\)"):
        V.check_time([-1.0, -2.0, NAN, 1.0])


def test_check_time_plausible_maximum_per_unit() -> None:
    V.check_time([1200.0], unit="months")
    V.check_time([5000.0], unit="fortnights")  # unknown unit: no upper bound
    V.check_time([1e300])  # no unit: no upper bound
    with pytest.raises(InputValidationError, match=r"is 101 years, over the plausible maximum of 100 years\. Fix"):
        V.check_time([101.0], unit="years")


def test_check_time_with_locate_names_the_patient() -> None:
    ids = ["A", "B"]
    with pytest.raises(InputValidationError, match=r"^f\.csv: row 3 \(patient B\): follow-up time is 0 \(must be > 0\)\. Fix: add it\.$"):
        V.check_time([1.0, 0.0], lower="positive", locate=lambda i: f"f.csv: row {i + 2} (patient {ids[i]})", fix="add it.")


def test_check_time_empty_and_types() -> None:
    assert V.check_time([]).size == 0
    with pytest.raises(InputValidationError, match="argument 'time' is empty"):
        V.check_time([], allow_empty=False)
    with pytest.raises(InputValidationError, match="must be numeric, got dtype bool"):
        V.check_time(torch.tensor([True, False]))
    with pytest.raises(ConfigError, match="'lower'"):
        V.check_time([1.0], lower="strict")  # type: ignore[arg-type]
    np.testing.assert_array_equal(V.check_time(torch.tensor([[1.0], [2.0]], dtype=torch.bfloat16)), [1.0, 2.0])


# --- check_event ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        ([1, 0, 1], [True, False, True]),
        ([1.0, 0.0], [True, False]),
        ([True, False], [True, False]),
        (["1", "0"], [True, False]),
        (torch.tensor([[0.0], [1.0]]), [False, True]),
        (pd.Series([0, 1]), [False, True]),
    ],
)
def test_check_event_accepts_zero_one_and_booleans(event: Any, expected: list[bool]) -> None:
    out = V.check_event(event)
    assert out.dtype == bool and out.tolist() == expected


@pytest.mark.parametrize(("value", "shown"), [(2, "2"), (0.5, "0.5"), (-1, "-1"), (NAN, "empty")])
def test_check_event_refuses_other_values(value: float, shown: str) -> None:
    expected = rf"'event' \(shape \(3,\)\) must hold only 0 \(censored\) or 1 \(event\); index 1 holds {shown}"
    with pytest.raises(InputValidationError, match=expected):
        V.check_event([1, value, 0])


def test_check_event_refuses_other_dtypes_and_names_the_fix() -> None:
    with pytest.raises(InputValidationError, match="must be 0/1 or boolean, got dtype complex"):
        V.check_event(np.array([1 + 0j]))
    with pytest.raises(InputValidationError, match="must be 0/1 or boolean"):
        V.check_event(["yes", "no"])
    expected = r"^c\.csv row 2: value 3 is not 0 or 1 \(1 more invalid value\(s\)\)\. Fix: use 1 = censored\.$"
    with pytest.raises(InputValidationError, match=expected):
        V.check_event([3, 0, 4], locate=lambda i: f"c.csv row {i + 2}", meaning="1 = censored")


# --- check_risk ----------------------------------------------------------------------------------


def test_check_risk() -> None:
    np.testing.assert_array_equal(V.check_risk([0.5, -3.0]), [0.5, -3.0])
    assert V.check_risk([]).size == 0
    with pytest.raises(InputValidationError, match=r"'train_risk' is empty"):
        V.check_risk([], name="train_risk", allow_empty=False)
    for bad in (NAN, INF, -INF):
        with pytest.raises(InputValidationError, match=r"'risk' \(shape \(2,\)\) contains NaN or infinite values at index 1.*Fix:"):
            V.check_risk([0.0, bad])
    with pytest.raises(InputValidationError, match=r"must have shape"):
        V.check_risk(np.zeros((2, 2)))


# --- groups --------------------------------------------------------------------------------------


def test_check_groups_and_group_order() -> None:
    assert V.check_groups(["low", 1, None]).tolist() == ["low", "1", "None"]
    with pytest.raises(InputValidationError, match="'groups' is required"):
        V.check_groups(None)
    with pytest.raises(InputValidationError, match="must have shape"):
        V.check_groups([["a", "b"], ["c", "d"]])
    assert V.group_order(["high", "b", "low", "intermediate", "a", "high"]) == ["low", "intermediate", "high", "a", "b"]


def test_check_survival_checks_every_array_and_lengths() -> None:
    t, e, other = V.check_survival([0.0, 2.0], [1, 0], risk=[0.1, 0.2], groups=["a", "b"])
    assert t.tolist() == [0.0, 2.0] and e.tolist() == [True, False]
    assert other["risk"].tolist() == [0.1, 0.2] and other["groups"].tolist() == ["a", "b"]
    with pytest.raises(InputValidationError, match="'event' has 1 subjects"):
        V.check_survival([1.0, 2.0], [1])
    with pytest.raises(InputValidationError, match="'groups' has 3 subjects"):
        V.check_survival([1.0, 2.0], [1, 0], groups=["a", "b", "c"])
    with pytest.raises(InputValidationError, match=r"'time'.*> 0"):
        V.check_survival([0.0], [1], lower="positive")


# --- every former call site rejects through the validators ---------------------------------------


_CALL_SITES = (
    "cox_ph_loss time",
    "cox_ph_loss event",
    "branch_rho event",
    "concordance_index",
    "bootstrap_cindex",
    "time_dependent_auc",
    "integrated_brier",
    "risk_cutoffs",
    "assign_risk_groups",
    "kaplan_meier",
    "at_risk_table",
    "logrank",
    "hazard_ratio",
    "BreslowBaseline.fit",
    "BreslowBaseline.survival_function",
    "RiskCalibration.fit",
    "km_plot_data",
    "censor_marks",
    "at_risk_counts",
    "stratified_kfold",
    "inner_validation_split",
    "data check_time",
    "data check_binary",
    "Bundle.predict times",
)


def _call_sites() -> dict[str, Callable[[], Any]]:
    """One bad call per former call site (imported here: evaluation and plots load lifelines)."""
    from pathgptomic.data import splits
    from pathgptomic.data import validation as data_validation
    from pathgptomic.evaluation import (
        BreslowBaseline,
        RiskCalibration,
        assign_risk_groups,
        at_risk_table,
        bootstrap_cindex,
        concordance_index,
        hazard_ratio,
        integrated_brier,
        kaplan_meier,
        logrank,
        risk_cutoffs,
        time_dependent_auc,
    )
    from pathgptomic.plots.km import at_risk_counts, censor_marks, km_plot_data
    from pathgptomic.training.balance import branch_rho
    from pathgptomic.training.bundle import Bundle
    from pathgptomic.training.cox import cox_ph_loss

    t, e, r, g = [1.0, 2.0, 3.0, 4.0], [1, 0, 1, 1], [0.1, 0.2, 0.3, 0.4], ["low", "low", "high", "high"]
    bad_t, bad_e, bad_r = [1.0, -2.0, 3.0, 4.0], [1, 2, 1, 0], [0.1, NAN, 0.3, 0.4]
    fitted = BreslowBaseline().fit(r, t, e)
    ids = ["P1", "P2", "P3", "P4"]
    sites = [
        ("cox_ph_loss time", lambda: cox_ph_loss(torch.zeros(4), torch.tensor([1.0, NAN, 2.0, 3.0]), torch.tensor(e))),
        ("cox_ph_loss event", lambda: cox_ph_loss(torch.zeros(4), torch.tensor(t), torch.tensor(bad_e))),
        ("branch_rho event", lambda: branch_rho(torch.zeros(4), torch.zeros(4), 0.0, torch.tensor(t), torch.tensor(bad_e))),
        ("concordance_index", lambda: concordance_index(r, bad_t, e)),
        ("bootstrap_cindex", lambda: bootstrap_cindex(bad_r, t, e, n_boot=2)),
        ("time_dependent_auc", lambda: time_dependent_auc(t, bad_e, t, e, r)),
        ("integrated_brier", lambda: integrated_brier(t, e, bad_t, e, pd.DataFrame(np.ones((2, 4))))),
        ("risk_cutoffs", lambda: risk_cutoffs(bad_r)),
        ("assign_risk_groups", lambda: assign_risk_groups(bad_r, [0.0])),
        ("kaplan_meier", lambda: kaplan_meier(t, bad_e, g)),
        ("at_risk_table", lambda: at_risk_table(t, e, g, [-1.0])),
        ("logrank", lambda: logrank(bad_t, e, g)),
        ("hazard_ratio", lambda: hazard_ratio(t, bad_e, g)),
        ("BreslowBaseline.fit", lambda: BreslowBaseline().fit(r, bad_t, e)),
        ("BreslowBaseline.survival_function", lambda: fitted.survival_function(bad_r)),
        ("RiskCalibration.fit", lambda: RiskCalibration.fit(r, t, bad_e)),
        ("km_plot_data", lambda: km_plot_data(bad_t, e, g)),
        ("censor_marks", lambda: censor_marks(t, bad_e, g, kaplan_meier(t, e, g))),
        ("at_risk_counts", lambda: at_risk_counts(t, g[:3], [0.0])),
        ("stratified_kfold", lambda: splits.stratified_kfold([1, 0, 0.5, 1], n_folds=2)),
        ("inner_validation_split", lambda: splits.inner_validation_split(bad_e)),
        ("data check_time", lambda: data_validation.check_time(np.array([1.0, 0.0]), file="c.csv", column="time", ids=ids)),
        (
            "data check_binary",
            lambda: data_validation.check_binary(np.array([1.0, 2.0]), file="c.csv", column="event", ids=ids, meaning="0/1"),
        ),
        ("Bundle.predict times", lambda: Bundle.predict(None, None, times=[12.0, -1.0])),  # checked before the bundle is used
    ]
    return dict(sites)


def test_call_site_list_is_complete() -> None:
    assert tuple(_call_sites()) == _CALL_SITES


@pytest.mark.parametrize("site", _CALL_SITES)
def test_former_call_sites_reject_through_the_validators(site: str) -> None:
    with pytest.raises(InputValidationError) as info:
        _call_sites()[site]()
    assert any(Path(str(entry.path)).name == "validators.py" for entry in info.traceback), str(info.value)
