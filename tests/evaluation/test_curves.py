"""Breslow baseline hazard and individual survival curves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pathgptomic.errors import BundleError, InputValidationError
from pathgptomic.evaluation import BreslowBaseline


def test_hand_computed_baseline_with_ties() -> None:
    # risks 0, ln 2, 0, 0; times 1, 1, 2, 3; events 1, 1, 0, 1
    # t=1: d=2, risk set all: 1+2+1+1 = 5 -> 2/5
    # t=3: d=1, risk set {3}: 1        -> 1
    b = BreslowBaseline().fit([0.0, math.log(2.0), 0.0, 0.0], [1.0, 1.0, 2.0, 3.0], [1, 1, 0, 1])
    # stored relative to risk_offset_ = mean risk = ln2/4; H0 for risk 0 is exp(-offset) * stored
    h0_at_zero = b.cumulative_hazard([0.5, 1.0, 2.5, 3.0, 9.0]) * math.exp(-b.risk_offset_)
    np.testing.assert_allclose(h0_at_zero, [0.0, 0.4, 0.4, 1.4, 1.4])
    s = b.survival_function([0.0, math.log(2.0)], times=[1.0, 3.0])
    np.testing.assert_allclose(s[0], np.exp([-0.4, -1.4]))
    np.testing.assert_allclose(s[1], np.exp([-0.8, -2.8]))


def test_matches_lifelines_breslow_baseline_and_survival() -> None:
    from lifelines import CoxPHFitter
    from lifelines.datasets import load_rossi

    df = load_rossi()
    cph = CoxPHFitter().fit(df, "week", "arrest")
    risk = cph.predict_log_partial_hazard(df)
    b = BreslowBaseline().fit(risk, df["week"], df["arrest"])
    h = cph.baseline_cumulative_hazard_
    np.testing.assert_allclose(
        b.cumulative_hazard(h.index.to_numpy()) * math.exp(-b.risk_offset_), h.iloc[:, 0].to_numpy(), rtol=1e-10, atol=1e-12
    )
    times = h.index.to_numpy()
    ours = b.survival_function(risk.iloc[:8], times=times)
    np.testing.assert_allclose(ours.to_numpy(), cph.predict_survival_function(df.iloc[:8], times=times).to_numpy(), rtol=1e-10, atol=1e-12)
    assert list(ours.columns) == list(risk.index[:8])  # Series index -> column names
    # a common shift of all risks leaves the curves unchanged, even a huge one
    shifted = BreslowBaseline().fit(risk + 500.0, df["week"], df["arrest"]).survival_function(risk.iloc[:8] + 500.0, times=times)
    np.testing.assert_allclose(shifted.to_numpy(), ours.to_numpy(), rtol=1e-9, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 40), seed=st.integers(0, 10_000), scale=st.sampled_from([0.1, 3.0, 50.0]))
def test_property_curves_in_unit_interval_and_non_increasing(n: int, seed: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    time = rng.integers(1, 10, size=n).astype(float)
    event = rng.random(n) < 0.6
    event[0] = True
    risk = rng.normal(scale=scale, size=n)
    surv = BreslowBaseline().fit(risk, time, event).survival_function(rng.normal(scale=scale, size=5))
    values = surv.to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()
    assert (np.diff(values, axis=0) <= 1e-15).all()
    assert surv.index[0] == 0.0 and (values[0] == 1.0).all()


def test_frame_round_trip_through_csv(tmp_path) -> None:
    rng = np.random.default_rng(0)
    risk = rng.normal(size=50)
    time = rng.integers(1, 30, size=50).astype(float)
    event = rng.random(50) < 0.5
    b = BreslowBaseline().fit(risk, time, event)
    path = tmp_path / "baseline_hazard.csv"
    b.to_frame().to_csv(path, index=False)
    frame = pd.read_csv(path)
    assert list(frame.columns) == ["time", "hazard", "cumulative_hazard", "risk_offset"]
    back = BreslowBaseline.from_frame(frame)
    new = rng.normal(size=7)
    pd.testing.assert_frame_equal(back.survival_function(new), b.survival_function(new), rtol=1e-12)


def test_errors() -> None:
    with pytest.raises(BundleError, match="not fitted"):
        BreslowBaseline().survival_function([0.0])
    with pytest.raises(InputValidationError, match="without any event"):
        BreslowBaseline().fit([0.0, 1.0], [1.0, 2.0], [0, 0])
    with pytest.raises(BundleError, match=r"lacks column\(s\) \['risk_offset'\]"):
        BreslowBaseline.from_frame(pd.DataFrame({"time": [1.0], "hazard": [0.1], "cumulative_hazard": [0.1]}))
    bad = pd.DataFrame({"time": [2.0, 1.0], "hazard": [0.1, 0.1], "cumulative_hazard": [0.1, 0.2], "risk_offset": [0.0, 0.0]})
    with pytest.raises(BundleError, match="strictly increasing"):
        BreslowBaseline.from_frame(bad)
    b = BreslowBaseline().fit([0.0, 1.0], [1.0, 2.0], [1, 1])
    with pytest.raises(InputValidationError, match="'risk'"):
        b.survival_function([np.nan])
