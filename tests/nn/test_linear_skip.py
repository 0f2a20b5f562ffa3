"""The genomic branch's linear skip path: G = MLP-B([G1 ‖ G2]) + L·[x1 ‖ x2], L zero at the start."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pathgptomic.nn.fusion import ModelConfig, PathGPTomic


def _genomic_inputs(n: int = 12, p1: int = 5, p2: int = 9, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    cnv, rna = torch.randn(n, p1, generator=g), torch.randn(n, p2, generator=g)
    return (cnv - cnv.mean(0)) / cnv.std(0), (rna - rna.mean(0)) / rna.std(0)


def test_the_skip_path_adds_exactly_a_linear_map_of_the_projected_inputs() -> None:
    """G with the path = G without it + [x1 ‖ x2] Lᵀ + c, with x2 the RNA input's projected components."""
    torch.manual_seed(0)
    model = PathGPTomic(ModelConfig(fusion="genomic", rna_components=3), 5, 9, 0).eval()
    branch = model.genomic_branch
    cnv, rna = _genomic_inputs()
    branch.fit_projections(cnv, rna)
    assert branch.skip is not None and branch.skip.in_features == 5 + 3
    with torch.no_grad():
        g_networks = branch(cnv, rna)  # the path starts at zero: only the networks
        rng = np.random.default_rng(0)
        weight, bias = rng.normal(size=(32, 8)), rng.normal(size=32)
        branch.skip.weight.copy_(torch.as_tensor(weight))
        branch.skip.bias.copy_(torch.as_tensor(bias))
        g = branch(cnv, rna)
    x2 = (rna.double().numpy() @ branch.rna_projection.double().numpy()) / branch.rna_projection_scale.double().numpy()
    expected = g_networks.double().numpy() + np.hstack([cnv.double().numpy(), x2]) @ weight.T + bias
    np.testing.assert_allclose(g.double().numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("fusion", ["genomic", "concat", "gradmod", "kronecker"])
def test_at_initialisation_the_model_equals_the_paper_networks(fusion: str) -> None:
    """With L = 0 the risk equals that of the same networks without the path; the path trains with the genomic branch."""
    torch.manual_seed(0)
    plain = PathGPTomic(ModelConfig(fusion=fusion, linear_skip=False), 5, 9, 8).eval()
    skip = PathGPTomic(ModelConfig(fusion=fusion), 5, 9, 8).eval()
    missing, unexpected = skip.load_state_dict(plain.state_dict(), strict=False)
    assert sorted(missing) == ["genomic_branch.skip.bias", "genomic_branch.skip.weight"] and not unexpected
    cnv, rna = _genomic_inputs(n=6)
    image, mask = torch.randn(6, 4, 8), torch.ones(6, 4, dtype=torch.bool)
    torch.testing.assert_close(skip.forward_tensors(cnv, rna, image, mask), plain.forward_tensors(cnv, rna, image, mask))
    genomic = {id(p) for p in skip.genomic_parameters()}
    assert id(skip.genomic_branch.skip.weight) in genomic and id(skip.genomic_branch.skip.bias) in genomic


def test_rna_embeddings_and_a_missing_block_size_the_path() -> None:
    """Frozen RNA embeddings enter the path as they are; a cohort without CNV/mutations has only the RNA part."""
    emb = PathGPTomic(ModelConfig(fusion="genomic", rna_encoder="scgpt"), 5, 7, 0).genomic_branch
    assert emb.skip.in_features == 5 + 7
    rna_only = PathGPTomic(ModelConfig(fusion="genomic", rna_components=0), 0, 9, 0).genomic_branch
    assert rna_only.skip.in_features == 9
    assert PathGPTomic(ModelConfig(fusion="genomic", rna_encoder="none"), 5, 7, 0).genomic_branch.skip.in_features == 5
    assert PathGPTomic(ModelConfig(fusion="genomic", linear_skip=False), 5, 7, 0).genomic_branch.skip is None


def test_bundles_from_before_the_path_load_without_it() -> None:
    """A saved configuration without the field is the paper's branch, and its weights load strictly."""
    from pathgptomic.training.config import TrainConfig

    cfg = TrainConfig(model=ModelConfig(fusion="genomic", linear_skip=False))
    old = cfg.to_dict()
    del old["model"]["linear_skip"]
    loaded = TrainConfig.from_dict(old)
    assert loaded.model.linear_skip is False
    torch.manual_seed(0)
    weights = PathGPTomic(cfg.model, 5, 7, 0).state_dict()
    PathGPTomic(loaded.model, 5, 7, 0).load_state_dict(weights, strict=True)
    assert TrainConfig.from_dict(TrainConfig().to_dict()).model.linear_skip is True  # round trip of a new one


def test_cli_flag_model_card_and_benchmark_state_the_path() -> None:
    from pathgptomic.cli import build_parser, config_from_args
    from pathgptomic.experiments.runner import BenchmarkSettings
    from pathgptomic.training.model_card import genomic_branch_statement

    argv = ["cv", "--cohort", "demo", "--out", "unused", "--fusion", "genomic"]
    on = config_from_args(build_parser().parse_args(argv))
    off = config_from_args(build_parser().parse_args([*argv, "--no-linear-skip"]))
    assert on.model.linear_skip is True and off.model.linear_skip is False
    assert "linear skip path" in genomic_branch_statement(on.to_dict()["model"])
    assert genomic_branch_statement(off.to_dict()["model"]) == "G = MLP-B([G1 ‖ G2]) (no linear skip path)."
    # benchmark folders written before the path existed (no key) keep their fingerprint only without it
    assert "linear_skip" not in BenchmarkSettings(linear_skip=False).fingerprint_dict()
    assert BenchmarkSettings().fingerprint_dict()["linear_skip"] is True


def test_benchmark_records_the_flag_and_reads_old_folders_as_without_the_path(tmp_path) -> None:  # noqa: ANN001
    import json

    from pathgptomic.cli import build_parser
    from pathgptomic.experiments.cli import _command_line
    from pathgptomic.experiments.report import _hyper_parameters
    from pathgptomic.experiments.runner import BenchmarkSettings, settings_from_json

    argv = ["benchmark", "--cohort", "demo", "--out", "unused"]
    assert "--no-linear-skip" in _command_line(build_parser().parse_args([*argv, "--no-linear-skip"]))
    assert "--no-linear-skip" not in _command_line(build_parser().parse_args(argv))
    old = BenchmarkSettings().fingerprint_dict()
    old.pop("linear_skip")
    old.pop("average_fraction")
    (tmp_path / "benchmark.json").write_text(json.dumps({"all_settings": {**old, "cox": {}}}))
    settings = settings_from_json(tmp_path / "benchmark.json")
    assert settings.linear_skip is False
    assert "genomic branch without the linear skip path" in " ".join(_hyper_parameters(settings))
    assert "genomic branch with the linear skip path" in " ".join(_hyper_parameters(BenchmarkSettings()))


def test_a_branch_whose_only_input_is_switched_off_is_refused_with_a_message() -> None:
    """RNA columns but ``rna_encoder="none"`` and no CNV/mutation columns: a clear error, not a crash in the forward pass."""
    from pathgptomic.errors import ConfigError

    with pytest.raises(ConfigError, match="RNA encoder is 'none'"):
        PathGPTomic(ModelConfig(fusion="genomic", rna_encoder="none"), 0, 9, 0)
