"""Fusion model: shapes, exact θ decomposition, gradients reach every branch parameter."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pathgptomic.errors import ConfigError
from pathgptomic.nn.fusion import FUSION_MODES, ModelConfig, ModelInputs, PathGPTomic


def _inputs(b: int = 6, p1: int = 5, p2: int = 7, n: int = 4, d: int = 8, seed: int = 0) -> ModelInputs:
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(b, n, dtype=torch.bool)
    mask[0, 2:] = False  # a patient with fewer patches
    return ModelInputs(torch.randn(b, p1, generator=g), torch.randn(b, p2, generator=g), torch.randn(b, n, d, generator=g), mask)


@pytest.mark.parametrize("pooling", ["mean", "attention"])
@pytest.mark.parametrize("fusion", FUSION_MODES)
def test_every_branch_parameter_gets_a_gradient(fusion: str, pooling: str) -> None:
    torch.manual_seed(0)
    model = PathGPTomic(ModelConfig(fusion=fusion, image_pooling=pooling, dropout=0.0, snn_dropout=0.0), 5, 7, 8)
    out = model(_inputs())
    assert out.theta.shape == (6,)
    out.theta.pow(2).sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None, f"{fusion}: {name} received no gradient"
        assert torch.isfinite(p.grad).all(), name
        if name.endswith("attention_w.bias"):
            continue  # softmax is shift-invariant: the bias of the last attention score has zero gradient by design
        assert p.grad.abs().sum() > 0, f"{fusion}: {name} has an all-zero gradient"


@pytest.mark.parametrize("fusion", ["concat", "gradmod", "genomic", "image"])
def test_theta_decomposes_exactly(fusion: str) -> None:
    model = PathGPTomic(ModelConfig(fusion=fusion), 5, 7, 8).eval()
    with torch.no_grad():
        model.bias.fill_(0.3)
        out = model(_inputs())
    torch.testing.assert_close(out.theta, out.genomic_term + out.image_term + out.bias)
    if fusion == "genomic":
        assert torch.all(out.image_term == 0)
    if fusion == "image":
        assert torch.all(out.genomic_term == 0)


def test_kronecker_terms_are_not_separable() -> None:
    out = PathGPTomic(ModelConfig(fusion="kronecker"), 5, 7, 8).eval()(_inputs())
    assert torch.isnan(out.genomic_term).all() and torch.isfinite(out.theta).all()


def test_parameter_groups_partition_the_model() -> None:
    model = PathGPTomic(ModelConfig(fusion="gradmod"), 5, 7, 8)
    groups = [model.genomic_parameters(), model.image_parameters(), model.head_parameters()]
    ids = [id(p) for g in groups for p in g]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    assert any(p is model.bias for p in model.head_parameters())


def test_padded_patches_do_not_change_the_risk() -> None:
    model = PathGPTomic(ModelConfig(fusion="concat", image_pooling="attention"), 5, 7, 8).eval()
    x = _inputs()
    noisy = ModelInputs(x.cnv_mut, x.rna, x.image.clone(), x.image_mask)
    noisy.image[0, 2:] = 1e3  # padded positions of patient 0
    torch.testing.assert_close(model(x).theta, model(noisy).theta)


def test_forward_tensors_matches_forward() -> None:
    model = PathGPTomic(ModelConfig(), 5, 7, 8).eval()
    x = _inputs()
    torch.testing.assert_close(model.forward_tensors(x.cnv_mut, x.rna, x.image, x.image_mask), model(x).theta)


def test_rna_embeddings_feed_mlp_b_directly() -> None:
    model = PathGPTomic(ModelConfig(fusion="genomic", rna_encoder="scgpt"), 5, 7, 0)
    assert model.genomic_branch.rna_snn is None
    assert model.genomic_branch.mlp_b.net[0][0].in_features == 32 + 7


@pytest.mark.parametrize("bad", [dict(fusion="sum"), dict(dropout=1.0), dict(genomic_dim=0), dict(image_pooling="max")])
def test_config_rejects_bad_values(bad: dict) -> None:
    with pytest.raises(ConfigError):
        ModelConfig(**bad)


def test_rna_projection_matches_sklearn_pca_and_is_frozen() -> None:
    from sklearn.decomposition import PCA

    from pathgptomic.nn.fusion import GenomicBranch

    gen = torch.Generator().manual_seed(0)
    z = torch.randn(40, 120, generator=gen) @ torch.randn(120, 120, generator=gen) * 0.1
    z = (z - z.mean(0)) / z.std(0)
    branch = GenomicBranch(ModelConfig(fusion="genomic", rna_components=5), 3, 120)
    assert branch.projects_rna and not any(p is branch.rna_projection for p in branch.parameters())
    branch.fit_projections(torch.zeros(40, 3), z)
    ours = (z @ branch.rna_projection).numpy()
    ref = PCA(n_components=5, svd_solver="full").fit_transform(z.numpy())
    for j in range(5):  # same components up to sign
        assert abs(np.corrcoef(ours[:, j], ref[:, j])[0, 1]) > 0.9999
    np.testing.assert_allclose(branch.rna_projection_scale.numpy(), ref.std(axis=0, ddof=1), rtol=1e-4)
    few = GenomicBranch(ModelConfig(fusion="genomic", rna_components=5), 3, 120)
    few.fit_projections(torch.zeros(3, 3), z[:3])  # 3 patients span 2 directions: the other 3 are zero columns
    assert torch.isfinite(few(torch.zeros(2, 3), z[:2])).all()
    assert (few.rna_projection.abs().sum(0) > 0).tolist() == [True, True, False, False, False]
    held_out = (z[3:] - z[:3].mean(0)) @ few.rna_projection / few.rna_projection_scale
    assert held_out.abs().max() < 50  # patients outside the training span stay on the training scale (was ~1e6)


def test_rna_projection_only_for_a_high_dimensional_block() -> None:
    import pandas as pd

    from pathgptomic.training.config import TrainConfig, resolve_block_projections
    from pathgptomic.training.features import CohortFeatures

    def feats(n: int, p: int) -> CohortFeatures:
        ids = np.array([f"P{i}" for i in range(n)])
        return CohortFeatures(ids, pd.DataFrame(index=ids), pd.DataFrame(np.zeros((n, p)), index=ids), [], [], [], {})

    cfg = TrainConfig(model=ModelConfig(fusion="genomic", rna_components=32))
    assert resolve_block_projections(cfg, feats(100, 1000)).model.rna_components == 32
    narrow = resolve_block_projections(cfg, feats(200, 200))
    assert narrow.model.rna_components == 0 and cfg.model.rna_components == 32  # cfg itself unchanged


def test_cnv_mut_projection_only_for_a_wide_block_and_used_in_forward() -> None:
    import pandas as pd
    from sklearn.decomposition import PCA

    from pathgptomic.nn.fusion import GenomicBranch
    from pathgptomic.training.config import TrainConfig, resolve_block_projections
    from pathgptomic.training.features import CohortFeatures

    def feats(n: int, p_cnv: int, p_mut: int) -> CohortFeatures:
        ids = np.array([f"P{i}" for i in range(n)])
        cols = [f"G{i}_cnv" for i in range(p_cnv)] + [f"G{i}_mut" for i in range(p_mut)]
        return CohortFeatures(ids, pd.DataFrame(np.zeros((n, len(cols))), index=ids, columns=cols), pd.DataFrame(index=ids), [], [], [], {})

    cfg = TrainConfig(model=ModelConfig(fusion="genomic"))
    wide = resolve_block_projections(cfg, feats(100, 1000, 16)).model  # CNV block p > n: projected; mutations raw
    assert (wide.cnv_mut_projected_blocks, wide.cnv_mut_width, wide.rna_components) == (("cnv",), 32 + 16, 0)
    narrow = resolve_block_projections(cfg, feats(100, 60, 60)).model  # 120 columns, but no block wider than n
    assert (narrow.cnv_mut_projected_blocks, narrow.cnv_mut_width) == ((), 0)
    # a configuration written before the projection existed loads without one
    old = cfg.to_dict()
    for key in ("cnv_mut_components", "cnv_mut_projected_blocks", "cnv_mut_width"):
        del old["model"][key]
    assert TrainConfig.from_dict(old).model.cnv_mut_projected_blocks == ()
    assert TrainConfig.from_dict(replace_model(cfg, wide).to_dict()).model == wide  # round trip through the bundle JSON

    gen = torch.Generator().manual_seed(1)
    x = torch.randn(30, 8, generator=gen) @ torch.randn(8, 63, generator=gen)
    x = (x - x.mean(0)) / x.std(0)
    blocks = ["cnv"] * 60 + ["mut"] * 3
    model_cfg = ModelConfig(fusion="genomic", cnv_mut_components=4, cnv_mut_projected_blocks=("cnv",), cnv_mut_width=7)
    branch = GenomicBranch(model_cfg, 63, 0)
    first = next(m for m in branch.snn.modules() if isinstance(m, torch.nn.Linear))
    assert branch.projects_cnv_mut and first.in_features == 7  # 4 CNV components + 3 raw mutation columns
    branch.fit_projections(x, torch.zeros(30, 0), blocks)
    projected = ((x @ branch.cnv_mut_projection) / branch.cnv_mut_projection_scale).numpy()
    ref = PCA(n_components=4, svd_solver="full").fit_transform(x[:, :60].numpy())
    for j in range(4):  # the CNV block's own PCs, unit variance
        assert abs(np.corrcoef(projected[:, j], ref[:, j])[0, 1]) > 0.9999
        assert projected[:, j].std(ddof=1) == pytest.approx(1.0, rel=1e-4)
    np.testing.assert_allclose(projected[:, 4:], x[:, 60:].numpy(), atol=1e-6)  # mutations pass unchanged
    branch.eval()
    out = branch(x, torch.zeros(30, 0))
    assert out.shape == (30, 32) and torch.isfinite(out).all()
    assert "cnv_mut_projection" in branch.state_dict() and not any(p is branch.cnv_mut_projection for p in branch.parameters())
    with pytest.raises(ConfigError, match="block labels"):
        branch.fit_projections(x, torch.zeros(30, 0), blocks[:-1])
    # a hand-edited configuration with inconsistent projection settings is refused, not silently changed
    for bad in (
        {"cnv_mut_projected_blocks": "cnv", "cnv_mut_width": 7},
        {"cnv_mut_projected_blocks": ("rna",), "cnv_mut_width": 7},
        {"cnv_mut_projected_blocks": ("cnv",), "cnv_mut_width": 0},
        {"cnv_mut_projected_blocks": ("cnv",), "cnv_mut_width": 7, "cnv_mut_components": 0},
    ):
        with pytest.raises(ConfigError, match="cnv_mut"):
            ModelConfig(fusion="genomic", **bad)


def replace_model(cfg, model):  # noqa: ANN001, ANN201 - test helper
    from dataclasses import replace

    return replace(cfg, model=model)


def test_model_card_and_cv_output_state_the_projections() -> None:
    """What the model sees: the inputs sentence names each projected block and the RNA projection."""
    import pandas as pd

    from pathgptomic.training.config import TrainConfig, resolve_block_projections
    from pathgptomic.training.features import CohortFeatures
    from pathgptomic.training.model_card import inputs_statement

    ids = np.array([f"P{i}" for i in range(100)])
    cols = [f"G{i}_cnv" for i in range(1000)] + [f"G{i}_mut" for i in range(16)]
    feats = CohortFeatures(
        ids,
        pd.DataFrame(np.zeros((100, len(cols))), index=ids, columns=cols),
        pd.DataFrame(np.zeros((100, 500)), index=ids),
        [],
        [],
        [],
        {},
    )
    wide = resolve_block_projections(TrainConfig(model=ModelConfig(fusion="genomic")), feats).to_dict()
    text = inputs_statement(wide)
    assert "cnv reduced to 32 training-fold principal components each" in text and "mut reduced" not in text
    assert "RNA-seq through `snn` on 32 training-fold principal components" in text
    narrow = resolve_block_projections(TrainConfig(model=ModelConfig(fusion="genomic")), feats.subset(np.arange(100))).to_dict()
    narrow["model"].update(cnv_mut_projected_blocks=[], cnv_mut_width=0, rna_components=0)
    plain = inputs_statement(narrow)
    assert "principal components" not in plain and "clinical covariates (age, sex) **not used**" in plain
