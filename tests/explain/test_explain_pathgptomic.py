"""Explanations on the real PathGPTomic model from a tiny config."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pathgptomic.errors import InputValidationError
from pathgptomic.explain import integrated_gradients, modality_shares, tile_attributions, top_genomic_features
from pathgptomic.nn import fusion


def tiny(fusion_mode: str, pooling: str = "attention", seed: int = 0):  # noqa: ANN201
    torch.manual_seed(seed)
    cfg = fusion.ModelConfig(
        fusion=fusion_mode,
        snn_hidden=(8, 8),
        mlp_b_hidden=8,
        genomic_dim=4,
        image_dim=4,
        image_hidden=8,
        image_pooling=pooling,
        kronecker_gate_dim=4,
        kronecker_hidden=8,
    )
    model = fusion.PathGPTomic(cfg, cnv_mut_dim=5, rna_dim=6, image_feature_dim=8).eval()
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(3, 7, dtype=torch.bool)
    mask[2, 4:] = False
    x = fusion.ModelInputs(
        torch.randn(3, 5, generator=g),
        torch.randn(3, 6, generator=g),
        torch.randn(3, 7, 8, generator=g) * mask.unsqueeze(-1),
        mask,
        extras={"coords": [np.stack([np.arange(7) * 256, np.zeros(7)], 1).astype(int)] * 3},
    )
    return model, x


def test_ig_completeness_and_exact_shares_on_concat_model() -> None:
    model, x = tiny("concat")
    res = integrated_gradients(model, x, n_steps=64)
    assert res["cnv_mut"].shape == (3, 5) and res["rna"].shape == (3, 6) and res["image"].shape == (3, 7, 8)
    assert np.all(np.abs(res.delta) < 5e-3 * (1 + np.abs(res.theta - res.baseline_theta)))
    with torch.no_grad():
        out = model(x)
    shares = modality_shares(out.genomic_term, out.image_term, out.bias, theta=out.theta)
    np.testing.assert_allclose(shares["theta"], res.theta, rtol=1e-5, atol=1e-6)
    names = {"cnv_mut": [f"G{i}_cnv" for i in range(5)], "rna": [f"G{i}_rnaseq" for i in range(6)]}
    top = top_genomic_features(res, names, k=4, patient=1)
    assert len(top) == 4 and top["magnitude"].is_monotonic_decreasing


def test_tile_attributions_with_mil_attention() -> None:
    model, x = tiny("gradmod")
    tiles = tile_attributions(model, x, 2, n_steps=32)
    assert len(tiles) == 4  # patient 2 has 4 real tiles
    assert tiles["attention"].sum() == pytest.approx(1.0, abs=1e-5)
    np.testing.assert_array_equal(tiles["x"], np.arange(4) * 256)
    mean_model, _ = tiny("concat", pooling="mean")
    assert tile_attributions(mean_model, x, 0, n_steps=8)["attention"].isna().all()


def test_kronecker_has_no_exact_split_but_ig_works() -> None:
    model, x = tiny("kronecker")
    with torch.no_grad():
        out = model(x)
    with pytest.raises(InputValidationError, match="kronecker"):
        modality_shares(out.genomic_term, out.image_term, out.bias, theta=out.theta)
    res = integrated_gradients(model, x, n_steps=32)
    assert res["image"] is not None and res["cnv_mut"] is not None


def test_genomic_only_model_skips_image() -> None:
    model, x = tiny("genomic")
    res = integrated_gradients(model, x, n_steps=16)
    assert res["image"] is None and res["rna"] is not None
    with pytest.raises(InputValidationError, match="image"):
        tile_attributions(model, x, 0, n_steps=4)
