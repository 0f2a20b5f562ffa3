r"""Gradient modulation acts as designed on a cohort built for it (issue 10, item 4).

Cohort (fixed seed, features built directly, no images or encoders): 300 patients, a strong
genomic signal :math:`g` (4 of 12 tabular columns) and a weaker, *complementary* image signal
:math:`u` (independent of :math:`g`, carried by the mean of 4 noisy 16-d patch features):

.. math:: \eta_i = 3\,g_i + 0.8\,u_i, \qquad T_i \sim \mathrm{Exp}(e^{\eta_i}), \quad C_i \sim \mathrm{Exp}(1/2).

Oracle test C-index: :math:`g` alone 0.861, :math:`u` alone 0.637. ``concat`` and ``gradmod``
are trained with the same seed, data and settings (20 epochs, batch 32, Adam with step-size
modulation, α = 1); ``concat`` logs ρ with ``log_balance=True``.

What the mechanism must do (OGM-GE, :mod:`pathgptomic.training.balance`): where the genomic
branch dominates the batch score (:math:`\rho^G > 1`), damp its step (:math:`k^G < 1`) more
than the image branch's, which pulls :math:`\rho^G` towards 1 over training.

Measured (seed 0, this file's settings): concat mean log10 ρ^G +0.025 (second half +0.045);
gradmod +0.016 (second half +0.029), mean k^G 0.905 vs k^P 0.945; held-out image-branch C-index
0.612 (concat) vs 0.611 (gradmod), fused 0.854 vs 0.851. Over seeds 0-3 the second-half
imbalance shrank on 3 of 4 (seed 1: concat's ρ^G was below 1 — the batch score is
scale-sensitive and the image branch fits its training patients — and gradmod damped the
image branch instead). So the mechanism acts on ρ and the step sizes, but at α = 1 it does
not make the weaker branch better on held-out patients: the test asserts that too.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from pathgptomic.evaluation import concordance_index
from pathgptomic.nn.fusion import ModelConfig
from pathgptomic.training.balance import BalanceConfig
from pathgptomic.training.features import CohortFeatures, FeatureSettings
from pathgptomic.training.trainer import TrainConfig, predict_inputs, train_model

N, N_TRAIN, N_PATCHES, PATCH_DIM = 300, 200, 4, 16


def _cohort(seed: int = 0) -> tuple[CohortFeatures, np.ndarray, np.ndarray]:
    """Features, times and events of the cohort described in the module docstring."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:03d}" for i in range(N)])
    x = rng.standard_normal((N, 12))
    g = x[:, :4] @ np.array([1.0, -1.0, 0.7, -0.7])
    g = (g - g.mean()) / g.std()
    u = rng.standard_normal(N)
    w = rng.standard_normal(PATCH_DIM) / 4
    patches = [(u[i] * w[None, :] + rng.standard_normal((N_PATCHES, PATCH_DIM))).astype(np.float32) for i in range(N)]
    eta = 3.0 * g + 0.8 * u
    t, c = rng.exponential(np.exp(-eta)), rng.exponential(2.0, N)
    feats = CohortFeatures(
        ids,
        pd.DataFrame(x[:, :8], columns=[f"G{j}_cnv" for j in range(8)]),
        pd.DataFrame(x[:, 8:], columns=[f"R{j}_rnaseq" for j in range(4)]),
        patches,
        [np.zeros((N_PATCHES, 2))] * N,
        [np.zeros(N_PATCHES, dtype=int)] * N,
        {},
    )
    return feats, np.minimum(t, c), (t <= c).astype(int)


def _train(fusion: str, feats: CohortFeatures, time: np.ndarray, event: np.ndarray) -> dict[str, object]:
    cfg = TrainConfig(
        model=ModelConfig(fusion=fusion),
        features=FeatureSettings(image_encoder="precomputed"),
        balance=BalanceConfig(alpha=1.0),
        epochs=20,
        batch_size=32,
        seed=0,
        device="cpu",
        log_balance=True,
    )
    tm = train_model(feats, time, event, np.arange(N_TRAIN), cfg)
    te = np.arange(N_TRAIN, N)
    pred = predict_inputs(tm.model, tm.scaling.transform(feats.subset(te)))
    c = {
        k: concordance_index(pred[col].to_numpy(), time[te], event[te])
        for k, col in (("fused", "risk"), ("genomic", "genomic_term"), ("image", "image_term"))
    }
    return {"history": tm.history, **c}


@pytest.fixture(scope="module")
def runs() -> dict[str, dict[str, object]]:
    torch.set_num_threads(1)
    feats, time, event = _cohort()
    return {f: _train(f, feats, time, event) for f in ("concat", "gradmod")}


def _log_rho(h: pd.DataFrame, second_half: bool = False) -> float:
    if second_half:
        h = h[h["epoch"] >= h["epoch"].max() // 2]
    rho = h["rho_g"].astype(float)
    return float(np.log10(rho[rho > 0]).mean())


def test_concat_logs_rho_and_applies_nothing(runs) -> None:
    h = runs["concat"]["history"]
    assert h["rho_g"].notna().mean() > 0.95, "log_balance=True must give ρ for concat"
    assert not h["modulated"].astype(bool).any()
    assert (h["coef_g"] == 1.0).all() and (h["coef_p"] == 1.0).all()
    assert _log_rho(h) > 0.01, "the cohort is built so that the genomic branch dominates the batch score"


def test_gradmod_damps_the_dominant_branch_more(runs) -> None:
    h = runs["gradmod"]["history"]
    assert h["modulated"].astype(bool).mean() > 0.95
    k_g, k_p = h["coef_g"].astype(float), h["coef_p"].astype(float)
    assert k_g.mean() < 0.95 and k_g.mean() < k_p.mean() - 0.02
    # relative step size of the weaker (image) branch: > 1 under gradmod, exactly 1 under concat
    assert (k_p / k_g).mean() > 1.02
    c = runs["concat"]["history"]
    assert ((c["coef_p"] / c["coef_g"]) == 1.0).all()


def test_gradmod_pulls_rho_towards_one(runs) -> None:
    concat, gradmod = _log_rho(runs["concat"]["history"], True), _log_rho(runs["gradmod"]["history"], True)
    assert 0 < gradmod < concat - 0.008, (concat, gradmod)


def test_weaker_branch_alone_is_not_improved_at_alpha_one(runs) -> None:
    """The measured, honest outcome: the mechanism acts, the held-out image branch does not move."""
    c, g = runs["concat"], runs["gradmod"]
    assert c["image"] > 0.55 and g["image"] > 0.55, "both learned the weak image signal"
    assert abs(g["image"] - c["image"]) < 0.02
    assert c["fused"] > 0.8 and g["fused"] > 0.8 and abs(g["fused"] - c["fused"]) < 0.02
