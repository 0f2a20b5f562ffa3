"""MLP-A mix-up smoothing on the real pbmc68k_reduced cells with the demo encoder."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pathgptomic.errors import CheckpointError
from pathgptomic.genomics.scgpt import load_scgpt
from pathgptomic.genomics.smoothing import (
    SmoothingConfig,
    SmoothingModel,
    load_mlp_a,
    save_mlp_a,
    soft_target_loss,
    stratified_holdout,
)

#: Mix-up must lower the held-out mixing-proportion MAE by at least this much (absolute).
MAE_MARGIN = 0.03
#: Held-out pure-cell accuracy floor (10 types; majority class ≈ 0.34).
ACCURACY_FLOOR = 0.45

#: The demo model committed in this repository.
REPO_DEMO_FOLDER = Path(__file__).resolve().parents[2] / "models" / "scgpt-demo"


def test_soft_target_losses():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    t = torch.tensor([[0.3, 0.7, 0.0]])
    logp = torch.log_softmax(logits, 1)
    assert torch.isclose(soft_target_loss(logits, t, "soft_ce"), -(t * logp).sum())
    assert torch.isclose(soft_target_loss(logits, t, "mse"), ((logp.exp() - t) ** 2).mean())
    # the soft-CE minimiser is the target distribution itself
    z = torch.zeros(1, 3, requires_grad=True)
    opt = torch.optim.SGD([z], lr=1.0)
    for _ in range(500):
        opt.zero_grad()
        soft_target_loss(z, t, "soft_ce").backward()
        opt.step()
    assert torch.allclose(torch.softmax(z, 1), t, atol=1e-2)


def test_stratified_holdout_keeps_every_type_in_training():
    labels = np.array(["a"] * 10 + ["b"] * 3 + ["c"])
    tr, va = stratified_holdout(labels, 0.2, np.random.default_rng(0))
    assert set(labels[tr]) == {"a", "b", "c"} and sorted(np.concatenate([tr, va]).tolist()) == list(range(14))
    assert (labels[va] == "a").sum() == 2 and (labels[va] == "b").sum() == 1 and "c" not in set(labels[va])


def test_mixup_lowers_mixing_proportion_error_on_pbmc68k(tmp_path):
    pytest.importorskip("anndata")
    from pathgptomic.genomics.datasets import load_cells
    from pathgptomic.genomics.smoothing import train_mlp_a

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the stated numbers are for one CPU thread (deterministic)
    try:
        cells = load_cells(None)
        loaded = load_scgpt(REPO_DEMO_FOLDER)
        cfg = SmoothingConfig(n_pairs=500, n_val_pairs=150, steps=500, seed=0)
        result = train_mlp_a(loaded, cells, cfg, device="cpu", show_progress=False)
    finally:
        torch.set_num_threads(threads)
    m = result.metrics
    assert m["mixup"]["n_val_pairs"] == 150 and m["mixup"]["n_val_cells"] > 100
    assert m["mixup"]["mix_mae"] <= m["no_mixup"]["mix_mae"] - MAE_MARGIN, m
    assert m["mixup"]["pure_accuracy"] >= ACCURACY_FLOOR, m
    # save / load round trip, metadata ties the MLP-A to the checkpoint
    path = save_mlp_a(result, tmp_path / "mlp_a.safetensors")
    back = load_mlp_a(path, expected_checkpoint_hash=loaded.checkpoint_hash)
    assert back.meta["cell_types"] == result.cell_types and back.meta["dataset"].endswith("(.raw.X)")
    x = np.random.default_rng(0).normal(size=(3, loaded.config.embsize)).astype(np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(back.transform(x), result.model.mlp_a(torch.from_numpy(x)).numpy(), atol=1e-6)
    with pytest.raises(CheckpointError, match="trained on scGPT checkpoint"):
        load_mlp_a(path, expected_checkpoint_hash="f" * 64)


def test_mlp_a_shape():
    model = SmoothingModel(64, 10)
    linears = [m for m in model.mlp_a.modules() if isinstance(m, torch.nn.Linear)]
    assert [(lin.in_features, lin.out_features) for lin in linears] == [(64, 128), (128, 128), (128, 128)]
    assert model.classifier.out_features == 10 and model(torch.zeros(2, 64)).shape == (2, 10)


def test_mse_option_and_input_checks_on_synthetic_cells(tiny_folder, monkeypatch):
    """Both losses train on a tiny encoder; a single cell type is refused."""
    from scgpt_test_helpers import TINY_GENES

    from pathgptomic.errors import InputValidationError
    from pathgptomic.genomics.datasets import CellData
    from pathgptomic.genomics.smoothing import train_mlp_a

    rng = np.random.default_rng(0)
    labels = np.repeat(["t0", "t1", "t2"], 20)
    profile = rng.gamma(1.0, 1.0, (3, len(TINY_GENES)))
    x = rng.poisson(profile[np.repeat(np.arange(3), 20)] * 3).astype(np.float32)
    cells = CellData(x=x, genes=np.array(TINY_GENES), labels=labels, source="synthetic")
    loaded = load_scgpt(tiny_folder())
    cfg = SmoothingConfig(loss="mse", n_pairs=60, n_val_pairs=20, steps=30, hidden=16)
    with pytest.raises(InputValidationError, match="at least 50 genes"):
        train_mlp_a(loaded, cells, cfg, show_progress=False)
    import pathgptomic.genomics.smoothing as smoothing

    monkeypatch.setattr(smoothing, "MIN_VOCAB_GENES", 10)
    res = train_mlp_a(loaded, cells, cfg, device="cpu", show_progress=False)
    assert res.meta["config"]["loss"] == "mse" and res.cell_types == ["t0", "t1", "t2"]
    assert set(res.metrics) == {"mixup", "no_mixup", "majority_class_accuracy", "constant_half_mix_mae"}
    assert res.model.mlp_a(torch.zeros(1, 16)).shape == (1, 16)
    one = CellData(x=x, genes=np.array(TINY_GENES), labels=np.array(["t0"] * 60), source="one type")
    with pytest.raises(InputValidationError, match="at least 2 cell types"):
        train_mlp_a(loaded, one, cfg, show_progress=False)
