"""T2T-ViT: shapes, gradients, timm registry, state-dict round trip, checkpoint remapping."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch

import pathgptomic.nn.t2t_vit as t2t
from pathgptomic.errors import CheckpointError
from pathgptomic.nn.encoders import create_image_encoder, load_weights


def test_forward_shapes_and_tokens() -> None:
    torch.manual_seed(0)
    m = timm.create_model("t2t_vit_test", num_classes=5)
    x = torch.randn(3, 3, 64, 64)
    tokens = m.forward_features(x)
    assert tokens.shape == (3, 1 + 16, 32)  # 64/16 = 4 → 16 patch tokens + cls
    assert m(x).shape == (3, 5)
    assert m.forward_head(tokens, pre_logits=True).shape == (3, 32)
    assert t2t.count_tokens(224) == 196
    # other input sizes work (position table recomputed)
    assert m(torch.randn(1, 3, 96, 96)).shape == (1, 5)


def test_every_parameter_gets_a_gradient() -> None:
    torch.manual_seed(0)
    m = timm.create_model("t2t_vit_test", num_classes=3)
    m(torch.randn(2, 3, 64, 64)).sum().backward()
    missing = [n for n, p in m.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert missing == []
    assert "pos_embed" not in dict(m.named_parameters())  # fixed sinusoid buffer


def test_create_model_by_name_and_data_config() -> None:
    for name, dim, depth in (("t2t_vit_7", 256, 7), ("t2t_vit_14", 384, 14)):
        m = timm.create_model(name, num_classes=0)
        assert m.num_features == dim and len(m.blocks) == depth
        cfg = timm.data.resolve_model_data_config(m)
        assert cfg["input_size"] == (3, 224, 224) and len(cfg["mean"]) == 3
    m14 = timm.create_model("t2t_vit_14", num_classes=1000)
    n = sum(p.numel() for p in m14.parameters())
    assert 21.0e6 < n < 22.0e6  # paper: T2T-ViT_t-14 has 21.5M parameters


def test_state_dict_round_trip(tmp_path: Path) -> None:
    torch.manual_seed(0)
    a = timm.create_model("t2t_vit_test", num_classes=0).eval()
    path = tmp_path / "w.pth"
    torch.save(a.state_dict(), path)
    torch.manual_seed(1)
    b, _, d = create_image_encoder("t2t_vit_test", weights=path)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(a(x), b(x))
    assert d == 32


def test_official_release_layout_is_remapped(tmp_path: Path) -> None:
    torch.manual_seed(0)
    src = timm.create_model("t2t_vit_test", num_classes=1000).eval()
    sd = {f"module.{k}": v for k, v in src.state_dict().items()}
    sd["pos_embed"] = torch.zeros(1, 99, 32)  # other length: recomputed here
    path = tmp_path / "release.pth.tar"
    torch.save({"epoch": 300, "state_dict_ema": sd, "state_dict": {}}, path)
    dst = timm.create_model("t2t_vit_test", num_classes=0).eval()
    load_weights(dst, path)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(dst(x), src.forward_head(src.forward_features(x), pre_logits=True))


def test_performer_checkpoint_refused(tmp_path: Path) -> None:
    m = timm.create_model("t2t_vit_test", num_classes=0)
    sd = dict(m.state_dict())
    sd["tokens_to_token.attention1.kqv.weight"] = torch.zeros(3, 3)
    path = tmp_path / "perf.pth"
    torch.save(sd, path)
    with pytest.raises(CheckpointError, match="Performer"):
        load_weights(m, path)


def test_mismatched_weights_name_the_problem(tmp_path: Path) -> None:
    torch.save({"foo.weight": torch.zeros(2)}, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="bad.pth"):
        create_image_encoder("t2t_vit_test", weights=tmp_path / "bad.pth")
