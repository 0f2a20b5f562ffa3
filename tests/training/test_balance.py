"""Tests of balanced training: ρ, coefficients and gradient modulation (docs/ARCHITECTURE.md, "Balance")."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from pathgptomic.errors import ConfigError, InputValidationError
from pathgptomic.training.balance import (
    BalanceConfig,
    GradientModulator,
    RhoScore,
    branch_rho,
    branch_scores,
    modulation_coefficient,
)
from pathgptomic.training.cox import cox_ph_loss

LN3 = math.log(3.0)


def test_rho_hand_computed_no_ties() -> None:
    # a = (ln 3, 0, 0), c = (0, 0, 0), t = (1, 2, 3), events at subjects 0 and 1.
    # s^G = 3/(3+1+1) + 1/(1+1) = 0.6 + 0.5 = 1.1
    # s^P = 1/3 + 1/2 = 0.833333
    # rho_g = 1.1 / 0.833333 = 1.32, rho_p = 0.757576
    # k_g = 1 - tanh(1.0 * 0.32) = 0.690493; k_p = min(1 - tanh(-0.242424), 1) = 1
    time, event = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1, 1, 0])
    s_g, s_p = branch_scores(torch.tensor([LN3, 0.0, 0.0]), torch.zeros(3), 0.0, time, event)
    assert (s_g, s_p) == (pytest.approx(1.1), pytest.approx(0.8333333333))
    rho_g, rho_p = branch_rho(torch.tensor([LN3, 0.0, 0.0]), torch.zeros(3), 0.0, time, event)
    assert rho_g == pytest.approx(1.32)
    assert rho_p == pytest.approx(0.7575757576)
    assert modulation_coefficient(rho_g, 1.0) == pytest.approx(0.6904930788)
    assert modulation_coefficient(rho_g, 2.0) == pytest.approx(0.4351004472)
    assert modulation_coefficient(rho_p, 1.0) == 1.0


def test_rho_bias_shared_equally_cancels() -> None:
    # b/2 is added to every logit of a branch, so it cancels inside each risk-set softmax.
    time, event = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1, 1, 0])
    rho_b = branch_rho(torch.tensor([LN3, 0.0, 0.0]), torch.zeros(3), torch.tensor([3.7]), time, event)
    assert rho_b[0] == pytest.approx(1.32)


def test_rho_hand_computed_with_ties() -> None:
    # a = (ln 2, 0, 0), c = 0, t = (1, 1, 2), both tied subjects are events; risk set of both = all three.
    # s^G = 2/4 + 1/4 = 0.75; s^P = 1/3 + 1/3 = 0.666667; rho_g = 1.125; k_g = 1 - tanh(0.125) = 0.875647
    rho_g, rho_p = branch_rho(
        torch.tensor([math.log(2.0), 0.0, 0.0]), torch.zeros(3), 0.0, torch.tensor([1.0, 1.0, 2.0]), torch.tensor([1, 1, 0])
    )
    assert rho_g == pytest.approx(1.125)
    assert rho_p == pytest.approx(0.8888888889)
    assert modulation_coefficient(rho_g, 1.0) == pytest.approx(0.8756469982)


def test_rho_no_events_is_none_and_extreme_logits_finite() -> None:
    assert branch_rho(torch.randn(4), torch.randn(4), 0.0, torch.arange(1.0, 5.0), torch.zeros(4)) is None
    rho_g, rho_p = branch_rho(
        torch.tensor([1e3, -1e3, 0.0]), torch.tensor([-1e3, 1e3, 0.0]), 0.0, torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1, 0, 0])
    )
    assert math.isfinite(rho_g) and rho_g > 1e100 and rho_p < 1e-100
    assert modulation_coefficient(rho_g, 1.0) == pytest.approx(0.0, abs=1e-12)


def test_modulation_coefficient_range_and_nan() -> None:
    assert modulation_coefficient(1.0, 1.0) == 1.0
    assert modulation_coefficient(float("nan"), 1.0) == 1.0
    for rho in (0.0, 0.3, 1.0, 1.5, 10.0, 1e9):
        assert 0.0 <= modulation_coefficient(rho, 0.8) <= 1.0
    with pytest.raises(ConfigError, match="'alpha' must be a finite number > 0"):
        modulation_coefficient(2.0, 0.0)
    with pytest.raises(ConfigError, match="'rho' must be >= 0"):
        modulation_coefficient(-1.0, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 0.0}, r"alpha must be a finite number > 0"),
        ({"alpha": float("nan")}, r"alpha must be a finite number > 0"),
        ({"alpha": "x"}, r"alpha must be a positive number"),
        ({"start_epoch": -1}, r"start_epoch must be an integer >= 0"),
        ({"start_epoch": 1.5}, r"start_epoch must be an integer >= 0"),
        ({"start_epoch": 3, "end_epoch": 3}, r"end_epoch must be None or an integer > start_epoch \(3\)"),
        ({"enabled": "yes"}, r"enabled must be True or False"),
        ({"ge_noise": 1}, r"ge_noise must be True or False"),
        ({"score": "paper_literal"}, r"score must be one of \['softmax'\]"),
    ],
)
def test_config_range_checks(kwargs: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        BalanceConfig(**kwargs)


def test_config_defaults_and_window() -> None:
    cfg = BalanceConfig()
    assert (cfg.enabled, cfg.alpha, cfg.start_epoch, cfg.end_epoch, cfg.ge_noise) == (True, 1.0, 0, None, False)
    assert cfg.score is RhoScore.SOFTMAX
    cfg = BalanceConfig(start_epoch=2, end_epoch=4)
    assert [cfg.in_window(e) for e in range(6)] == [False, False, True, True, False, False]


class _TinyFusion(nn.Module):
    """theta = W^G G + W^P P + b with G = genomic(xg), P = image(xp)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.genomic = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3))
        self.image = nn.Sequential(nn.Linear(5, 3))
        self.head = nn.Linear(6, 1)
        with torch.no_grad():  # make the genomic side dominant so k_g < 1
            self.head.weight[:, :3] *= 8.0
            self.head.weight[:, 3:] *= 0.1

    def forward(self, xg: torch.Tensor, xp: torch.Tensor) -> tuple[torch.Tensor, ...]:
        g, p = self.genomic(xg), self.image(xp)
        w = self.head.weight[0]
        g_term, p_term = g @ w[:3], p @ w[3:]
        theta = g_term + p_term + self.head.bias[0]
        return theta, g_term, p_term


def _backward(model: _TinyFusion, event: torch.Tensor) -> tuple[torch.Tensor, ...]:
    gen = torch.Generator().manual_seed(1)
    xg, xp = torch.randn(16, 4, generator=gen), torch.randn(16, 5, generator=gen)
    time = torch.randint(1, 10, (16,), generator=gen).float()
    model.zero_grad()
    theta, g_term, p_term = model(xg, xp)
    cox_ph_loss(theta, time, event).backward()
    return g_term, p_term, time


def _grads(module: nn.Module) -> list[torch.Tensor]:
    return [p.grad.detach().clone() for p in module.parameters()]


def _norm(grads: list[torch.Tensor]) -> float:
    return math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))


def test_step_scales_each_branch_and_leaves_head_alone() -> None:
    model = _TinyFusion()
    event = torch.tensor([1, 0] * 8)
    g_term, p_term, time = _backward(model, event)
    before = {name: _grads(getattr(model, name)) for name in ("genomic", "image", "head")}
    mod = GradientModulator(model.genomic, list(model.image.parameters()), BalanceConfig(alpha=1.0))
    out = mod.step(g_term, p_term, model.head.bias, time, event, epoch=0)

    assert set(out) == {"rho_g", "rho_p", "coef_g", "coef_p", "grad_norm_g", "grad_norm_p", "modulated"}
    rho_g, rho_p = branch_rho(g_term, p_term, model.head.bias, time, event)
    assert out["rho_g"] == pytest.approx(rho_g) and out["rho_p"] == pytest.approx(rho_p)
    assert out["rho_g"] > 1.0 and out["rho_g"] * out["rho_p"] == pytest.approx(1.0)
    assert out["coef_g"] == pytest.approx(1 - math.tanh(rho_g - 1)) and out["coef_g"] < 0.99
    assert out["coef_p"] == 1.0 and out["modulated"] is True
    # grad norms are measured before scaling
    assert out["grad_norm_g"] == pytest.approx(_norm(before["genomic"]))
    assert out["grad_norm_p"] == pytest.approx(_norm(before["image"]))
    for old, p in zip(before["genomic"], model.genomic.parameters()):
        torch.testing.assert_close(p.grad, old * out["coef_g"])
    for old, p in zip(before["image"], model.image.parameters()):
        torch.testing.assert_close(p.grad, old * out["coef_p"])
    for old, p in zip(before["head"], model.head.parameters()):
        assert torch.equal(p.grad, old)


def test_step_scales_image_branch_when_it_dominates() -> None:
    model = _TinyFusion()
    with torch.no_grad():  # swap dominance
        model.head.weight[:, :3] *= 0.01
        model.head.weight[:, 3:] *= 500.0
    event = torch.tensor([1, 0] * 8)
    g_term, p_term, time = _backward(model, event)
    before_p = _grads(model.image)
    out = GradientModulator(model.genomic, model.image).step(g_term, p_term, model.head.bias, time, event, epoch=0)
    assert out["coef_g"] == 1.0 and out["coef_p"] < 1.0
    for old, p in zip(before_p, model.image.parameters()):
        torch.testing.assert_close(p.grad, old * out["coef_p"])


def test_no_event_batch_skips_modulation() -> None:
    model = _TinyFusion()
    event = torch.zeros(16, dtype=torch.long)
    g_term, p_term, time = _backward(model, event)
    before = _grads(model.genomic) + _grads(model.image)
    out = GradientModulator(model.genomic, model.image).step(g_term, p_term, model.head.bias, time, event, epoch=0)
    assert math.isnan(out["rho_g"]) and math.isnan(out["rho_p"])
    assert (out["coef_g"], out["coef_p"], out["modulated"]) == (1.0, 1.0, False)
    after = _grads(model.genomic) + _grads(model.image)
    assert all(torch.equal(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize(("epoch", "modulated"), [(0, False), (1, False), (2, True), (3, True), (4, False)])
def test_epoch_window_half_open(epoch: int, modulated: bool) -> None:
    model = _TinyFusion()
    event = torch.tensor([1, 0] * 8)
    g_term, p_term, time = _backward(model, event)
    before = _grads(model.genomic)
    mod = GradientModulator(model.genomic, model.image, BalanceConfig(start_epoch=2, end_epoch=4))
    out = mod.step(g_term, p_term, model.head.bias, time, event, epoch=epoch)
    assert out["modulated"] is modulated
    assert math.isfinite(out["rho_g"]) and out["rho_g"] > 1.0  # rho reported in and out of the window
    expected_k = (1 - math.tanh(out["rho_g"] - 1)) if modulated else 1.0
    assert out["coef_g"] == pytest.approx(expected_k)
    for old, p in zip(before, model.genomic.parameters()):
        torch.testing.assert_close(p.grad, old * expected_k)


def test_disabled_reports_rho_but_does_not_scale() -> None:
    model = _TinyFusion()
    event = torch.tensor([1, 0] * 8)
    g_term, p_term, time = _backward(model, event)
    before = _grads(model.genomic)
    out = GradientModulator(model.genomic, model.image, BalanceConfig(enabled=False)).step(
        g_term, p_term, model.head.bias, time, event, epoch=0
    )
    assert out["rho_g"] > 1.0 and out["coef_g"] == 1.0 and out["modulated"] is False
    assert all(torch.equal(a, p.grad) for a, p in zip(before, model.genomic.parameters()))


def test_ge_noise_statistics() -> None:
    """grad <- grad * k + N(0, std(unmodulated grad)): residual has mean ~0 and the unmodulated std,
    for both branches (OGM-GE adds the noise to every modulated parameter), head untouched."""
    torch.manual_seed(0)
    gen_branch, img_branch, head = nn.Linear(200, 100), nn.Linear(200, 100), nn.Linear(2, 1)
    for p, scale in (
        (gen_branch.weight, 3.0),
        (gen_branch.bias, 3.0),
        (img_branch.weight, 0.5),
        (img_branch.bias, 0.5),
        (head.weight, 1.0),
        (head.bias, 1.0),
    ):
        p.grad = torch.randn_like(p) * scale + 1.0
    old = {id(p): p.grad.clone() for p in [*gen_branch.parameters(), *img_branch.parameters(), *head.parameters()]}
    # hand case: rho_g = 1.32 -> k_g = 0.690493, k_p = 1
    time, event = torch.tensor([1.0, 2.0, 3.0]), torch.tensor([1, 1, 0])
    mod = GradientModulator(gen_branch, img_branch, BalanceConfig(ge_noise=True))
    out = mod.step(torch.tensor([LN3, 0.0, 0.0]), torch.zeros(3), 0.0, time, event, epoch=0)
    assert out["coef_g"] == pytest.approx(0.6904930788) and out["coef_p"] == 1.0
    for branch, k in ((gen_branch, out["coef_g"]), (img_branch, out["coef_p"])):
        w = branch.weight
        resid = w.grad - old[id(w)] * k
        assert abs(float(resid.mean())) < 0.05 * float(old[id(w)].std())
        assert float(resid.std()) == pytest.approx(float(old[id(w)].std()), rel=0.05)
    for p in head.parameters():
        assert torch.equal(p.grad, old[id(p)])


def test_modulator_rejects_overlap_and_empty_lists() -> None:
    a, b = nn.Linear(2, 2), nn.Linear(2, 2)
    with pytest.raises(ConfigError, match="in both 'genomic_params' and 'image_params'"):
        GradientModulator([*a.parameters(), b.weight], b.parameters())
    with pytest.raises(ConfigError, match="'image_params' holds no trainable parameter"):
        GradientModulator(a, [])


def test_step_input_validation() -> None:
    mod = GradientModulator(nn.Linear(2, 1), nn.Linear(2, 1))
    with pytest.raises(InputValidationError, match=r"'time' has 2 subjects"):
        mod.step(torch.zeros(3), torch.zeros(3), 0.0, torch.ones(2), torch.ones(3), epoch=0)
    with pytest.raises(InputValidationError, match=r"'bias' must be a scalar"):
        mod.step(torch.zeros(3), torch.zeros(3), torch.zeros(2), torch.ones(3), torch.ones(3), epoch=0)
