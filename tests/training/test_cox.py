"""Tests of the vectorised Cox negative partial log-likelihood."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pathgptomic.errors import ConfigError, InputValidationError
from pathgptomic.training.cox import cox_ph_loss, log_risk_set_sums

_BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_cox_loss.py"
_spec = importlib.util.spec_from_file_location("bench_cox_loss", _BENCH)
_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_bench)
naive_cox_loss = _bench.naive_cox_loss  # O(n^2) reference, shared with the benchmark


def _tied_batch(n: int = 40, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(n, generator=g, dtype=torch.float64)
    time = torch.randint(1, 8, (n,), generator=g).double()  # heavy ties
    event = (torch.rand(n, generator=g) < 0.6).long()
    event[0] = 1
    return theta, time, event


def test_hand_computed_breslow_value() -> None:
    # theta = (0.5, -0.2, 1.0, 0.0), t = (5, 3, 3, 8), events at subjects 0, 1, 3.
    # subject 0: R = {0, 3}: 0.5 - log(e^0.5 + 1)              = -0.474077
    # subject 1: R = all:    -0.2 - log(e^.5 + e^-.2 + e^1 + 1) = -2.022244
    # subject 3: R = {3}:    0 - log(1)                          = 0
    # mean over 3 events: (0.474077 + 2.022244) / 3             = 0.832107
    theta = torch.tensor([0.5, -0.2, 1.0, 0.0], dtype=torch.float64)
    expected = (-(0.5 - math.log(math.exp(0.5) + 1)) - (-0.2 - math.log(math.exp(0.5) + math.exp(-0.2) + math.exp(1.0) + 1))) / 3
    loss = cox_ph_loss(theta, torch.tensor([5.0, 3.0, 3.0, 8.0]), torch.tensor([1, 1, 0, 1]))
    assert loss.item() == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.832107, abs=1e-6)


def test_tied_pair_breslow_vs_efron_by_hand() -> None:
    # two events tied at t=1 with theta (0, 0), one subject at t=2 with theta 0:
    # Breslow: 2 * log(3)            -> mean log 3
    # Efron:   log(3) + log(3 - 1/2 * 2) = log 3 + log 2 -> mean (log 3 + log 2) / 2
    theta = torch.zeros(3, dtype=torch.float64)
    time = torch.tensor([1.0, 1.0, 2.0])
    event = torch.tensor([1, 1, 0])
    assert cox_ph_loss(theta, time, event).item() == pytest.approx(math.log(3))
    assert cox_ph_loss(theta, time, event, ties="efron").item() == pytest.approx((math.log(3) + math.log(2)) / 2)


@pytest.mark.parametrize("ties", ["breslow", "efron"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_matches_naive_value_and_gradient(ties: str, seed: int) -> None:
    theta, time, event = _tied_batch(seed=seed)
    th1 = theta.clone().requires_grad_(True)
    th2 = theta.clone().requires_grad_(True)
    fast = cox_ph_loss(th1, time, event, ties=ties)
    ref = naive_cox_loss(th2, time, event, ties=ties)
    (g1,) = torch.autograd.grad(fast, th1)
    (g2,) = torch.autograd.grad(ref, th2)
    torch.testing.assert_close(fast, ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(g1, g2, rtol=1e-10, atol=1e-12)


def test_breslow_and_efron_differ_with_ties_and_agree_without() -> None:
    theta, time, event = _tied_batch()
    assert abs(cox_ph_loss(theta, time, event).item() - cox_ph_loss(theta, time, event, ties="efron").item()) > 1e-3
    distinct = torch.arange(len(time), dtype=torch.float64)[torch.randperm(len(time))]
    torch.testing.assert_close(cox_ph_loss(theta, distinct, event), cox_ph_loss(theta, distinct, event, ties="efron"))


def test_reduction_sum_is_mean_times_events() -> None:
    theta, time, event = _tied_batch()
    torch.testing.assert_close(cox_ph_loss(theta, time, event, reduction="sum"), cox_ph_loss(theta, time, event) * int(event.sum()))


def test_matches_lifelines_efron_log_likelihood_on_rossi() -> None:
    """lifelines' CoxPHFitter maximises Efron's partial likelihood; at its fit,
    ``log_likelihood_ == -cox_ph_loss(X @ beta, week, arrest, ties="efron", reduction="sum")``
    (lifelines centres X internally, which shifts theta by a constant: no effect on the likelihood),
    and the Efron gradient with respect to beta vanishes there (the MLE) while Breslow's does not."""
    from lifelines import CoxPHFitter
    from lifelines.datasets import load_rossi

    df = load_rossi()  # 432 subjects, 114 events, 49 distinct weeks: many ties
    cph = CoxPHFitter().fit(df, duration_col="week", event_col="arrest")
    x = torch.tensor(df.drop(columns=["week", "arrest"]).to_numpy(), dtype=torch.float64)
    beta = torch.tensor(cph.params_.to_numpy(), dtype=torch.float64, requires_grad=True)
    time = torch.tensor(df["week"].to_numpy(), dtype=torch.float64)
    event = torch.tensor(df["arrest"].to_numpy())
    efron = cox_ph_loss(x @ beta, time, event, ties="efron", reduction="sum")
    assert efron.item() == pytest.approx(-cph.log_likelihood_, rel=1e-9)
    mean = cox_ph_loss(x @ beta, time, event, ties="efron")
    assert mean.item() == pytest.approx(-cph.log_likelihood_ / 114, rel=1e-9)
    (grad,) = torch.autograd.grad(efron, beta)
    assert grad.abs().max().item() < 1e-4
    (grad_b,) = torch.autograd.grad(cox_ph_loss(x @ beta, time, event, reduction="sum"), beta)
    assert grad_b.abs().max().item() > 1e-2


def test_no_events_returns_graph_connected_zero() -> None:
    theta = torch.randn(5, requires_grad=True)
    for ties in ("breslow", "efron"):
        loss = cox_ph_loss(theta, torch.arange(5.0), torch.zeros(5), ties=ties)
        assert loss.item() == 0.0
        assert loss.requires_grad and loss.grad_fn is not None
        (g,) = torch.autograd.grad(loss, theta)
        assert torch.equal(g, torch.zeros(5))


def test_accepts_column_vectors_numpy_and_bool_event() -> None:
    theta, time, event = _tied_batch()
    ref = cox_ph_loss(theta, time, event)
    torch.testing.assert_close(cox_ph_loss(theta[:, None], time.numpy()[:, None], event.bool().numpy()), ref)


def test_half_precision_is_computed_in_float32() -> None:
    theta, time, event = _tied_batch()
    out = cox_ph_loss(theta.bfloat16(), time, event)
    assert out.dtype == torch.float32
    assert out.item() == pytest.approx(cox_ph_loss(theta.bfloat16().double(), time, event).item(), rel=1e-5)


def test_log_risk_set_sums_original_order() -> None:
    theta = torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)
    time = torch.tensor([2.0, 1.0, 2.0])
    expected = torch.tensor([math.log(1 + math.exp(2)), math.log(1 + math.e + math.exp(2)), math.log(1 + math.exp(2))], dtype=torch.float64)
    torch.testing.assert_close(log_risk_set_sums(theta, time), expected)
    assert torch.autograd.gradcheck(lambda th: log_risk_set_sums(th, time), (theta.clone().requires_grad_(True),))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"theta": torch.zeros(3, 2)}, InputValidationError, r"'theta' must have shape \(n,\) or \(n, 1\), got shape \(3, 2\)"),
        ({"time": torch.ones(4)}, InputValidationError, r"'time' has 4 subjects \(shape \(4,\)\) but 'theta' has 3"),
        ({"event": torch.tensor([0, 2, 1])}, InputValidationError, r"'event'.*only 0 \(censored\) or 1.*index 1"),
        ({"time": torch.tensor([1.0, float("nan"), 2.0])}, InputValidationError, r"'time'.*NaN or infinite"),
        ({"theta": torch.zeros(3, dtype=torch.long)}, InputValidationError, r"'theta' must be a floating-point"),
        ({"theta": np.zeros(3)}, InputValidationError, r"'theta' must be a torch.Tensor"),
        ({"ties": "exact"}, ConfigError, r"'ties' must be 'breslow' or 'efron'"),
        ({"reduction": "none"}, ConfigError, r"'reduction' must be 'mean' or 'sum'"),
    ],
)
def test_input_validation(kwargs: dict, error: type, match: str) -> None:
    args = {"theta": torch.zeros(3), "time": torch.tensor([1.0, 2.0, 3.0]), "event": torch.tensor([1, 0, 1])}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        cox_ph_loss(**args)


_settings = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def _batches(draw: st.DrawFn, max_abs: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    n = draw(st.integers(min_value=1, max_value=30))
    theta = draw(st.lists(st.floats(-max_abs, max_abs, allow_nan=False), min_size=n, max_size=n))
    time = draw(st.lists(st.integers(1, 6), min_size=n, max_size=n))
    event = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    return torch.tensor(theta, dtype=torch.float32), torch.tensor(time, dtype=torch.float32), torch.tensor(event)


@_settings
@given(batch=_batches(max_abs=1e3), ties=st.sampled_from(["breslow", "efron"]))
def test_property_finite_and_graph_connected_for_extreme_theta(batch: tuple, ties: str) -> None:
    theta, time, event = batch
    theta = theta.requires_grad_(True)
    loss = cox_ph_loss(theta, time, event, ties=ties)
    (grad,) = torch.autograd.grad(loss, theta)
    assert torch.isfinite(loss) and bool(torch.isfinite(grad).all())
    assert loss.item() >= -1e-3 * max(1.0, float(theta.detach().abs().max()))  # -log partial likelihood >= 0 (up to rounding)


@_settings
@given(batch=_batches(max_abs=5.0), ties=st.sampled_from(["breslow", "efron"]))
def test_property_matches_naive_on_random_censoring(batch: tuple, ties: str) -> None:
    theta, time, event = batch
    theta = theta.double()
    torch.testing.assert_close(cox_ph_loss(theta, time, event, ties=ties), naive_cox_loss(theta, time, event, ties=ties))


@_settings
@given(n=st.integers(1, 20), scale=st.sampled_from([1.0, 1e3]))
def test_property_all_censored_is_zero_with_zero_grad(n: int, scale: float) -> None:
    theta = (torch.randn(n) * scale).requires_grad_(True)
    loss = cox_ph_loss(theta, torch.rand(n) + 0.1, torch.zeros(n, dtype=torch.long))
    (grad,) = torch.autograd.grad(loss, theta)
    assert loss.item() == 0.0 and torch.equal(grad, torch.zeros(n))
