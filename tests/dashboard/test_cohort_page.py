"""AppTest of the Cohort page: the numbers shown are ``evaluate_predictions`` of the same predictions.

Runs on the session's tiny bundle (``conftest.py``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("dashboard_env")


@pytest.fixture
def page(dashboard_env, open_page, no_errors) -> AppTest:
    """The Cohort page, rendered without errors."""
    at = open_page("cohort")
    no_errors(at)
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _report(pred: pd.DataFrame, groups="median") -> dict:
    from pathgptomic.evaluation import evaluate_predictions

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return evaluate_predictions(pred, groups=groups, n_boot=1000, seed=0)


def _assert_shows(at: AppTest, report: dict) -> None:
    from pathgptomic.evaluation.groups import format_p

    m = _metrics(at)
    assert float(m["C-index, pooled"]) == pytest.approx(report["cindex_pooled"]["c"], abs=5e-4)
    lo, hi = report["cindex_pooled"]["ci"]
    assert any(c.value == f"95% bootstrap CI {lo:.3f}–{hi:.3f}" for c in at.caption)
    pf = report["cindex_per_fold"]
    if pf:
        assert m["C-index, per-fold mean ± sd"] == f"{pf['mean']:.3f} ± {pf['sd']:.3f}"
    assert m["Log-rank p"] == format_p(report["risk_groups"]["logrank_p"])
    assert m["Patients / events"] == f"{report['n_patients']} / {report['n_events']}"
    groups = next(d.value for d in at.dataframe if "events" in d.value.columns)
    expected = report["risk_groups"]["groups"]
    assert list(groups["group"]) == [g["group"] for g in expected]
    assert list(groups["patients"]) == [g["n"] for g in expected]
    assert list(groups["events"]) == [g["events"] for g in expected]
    assert [float(v) if v != "not reached" else np.inf for v in groups["median survival"]] == pytest.approx(
        [round(g["median_survival"], 1) for g in expected]
    )


def test_out_of_fold_view_equals_evaluate_predictions(dashboard_env, page):
    from pathgptomic.training.bundle import load_bundle

    bundle = load_bundle(dashboard_env["bundle"])
    at = page
    assert at.get("plotly_chart") and len(at.get("plotly_chart")) >= 2  # KM and calibration
    _assert_shows(at, _report(bundle.predictions))
    assert _metrics(at)["C-index, per-fold mean ± sd"] != "n/a"
    at.radio(key="cohort.scheme").set_value("tertiles").run()
    assert not at.error, [e.value for e in at.error]
    report = _report(bundle.predictions, "tertiles")
    _assert_shows(at, report)
    hrs = next(d.value for d in at.dataframe if "hazard ratio" in d.value.columns)
    assert len(hrs) == 3  # every pair of three groups
    assert list(hrs["hazard ratio"]) == [f"{h['hr']:.2f}" for h in report["risk_groups"]["hazard_ratios"]]


@pytest.mark.parametrize("text, words", [("1, 0", "larger than the first"), ("a", "numbers"), ("-1, 0, 1", "at most two")])
def test_bad_custom_cutoffs_say_what_to_fix(text, words, page):
    at = page
    at.radio(key="cohort.scheme").set_value("custom").run()
    at.text_input(key="cohort.custom").set_value(text).run()
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and words in errors[0], errors
    assert "np.float64" not in errors[0] and "[" not in errors[0]


def test_custom_cutoffs_group_like_evaluate_predictions(dashboard_env, page):
    from pathgptomic.training.bundle import load_bundle

    bundle = load_bundle(dashboard_env["bundle"])
    at = page
    at.radio(key="cohort.scheme").set_value("custom").run()
    at.text_input(key="cohort.custom").set_value("-0.1, 0.2").run()
    assert not at.error, [e.value for e in at.error]
    _assert_shows(at, _report(bundle.predictions, [-0.1, 0.2]))


def test_demo_cohort_rescoring_equals_bundle_predict(dashboard_env, page):
    from pathgptomic.data import read_cohort
    from pathgptomic.training.bundle import load_bundle

    bundle = load_bundle(dashboard_env["bundle"])
    cohort = read_cohort(dashboard_env["cohort"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = bundle.predict(cohort)
    pred.insert(1, "time", cohort.time)
    pred.insert(2, "event", cohort.event)
    at = page
    at.segmented_control(key="cohort.source").set_value("Demo cohort through this model").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    _assert_shows(at, _report(pred))
