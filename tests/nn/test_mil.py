"""MIL pooling: masking, attention normalisation, gradients; ROI encoder branch."""

from __future__ import annotations

import pytest
import torch

from pathgptomic.nn.mil import GatedAttentionMIL, MeanPooling, ROIEncoderBranch, masked_softmax


def _bag() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    x = torch.randn(3, 5, 8)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]], dtype=torch.bool)
    return x, mask


def test_mean_pooling_ignores_padding() -> None:
    x, mask = _bag()
    pooled, att = MeanPooling(8)(x, mask)
    torch.testing.assert_close(pooled[0], x[0, :3].mean(0))
    torch.testing.assert_close(pooled[1], x[1].mean(0))
    assert torch.all(pooled[2] == 0) and torch.all(att[2] == 0)
    torch.testing.assert_close(att[0], torch.tensor([1 / 3, 1 / 3, 1 / 3, 0, 0]))


def test_gated_attention_masked_and_normalised() -> None:
    x, mask = _bag()
    mil = GatedAttentionMIL(8, hidden=16)
    pooled, att = mil(x, mask)
    assert pooled.shape == (3, 8) and att.shape == (3, 5)
    torch.testing.assert_close(att[:2].sum(1), torch.ones(2))
    assert torch.all(att[0, 3:] == 0) and torch.all(att[2] == 0) and torch.isfinite(pooled).all()
    # padding values do not matter
    x2 = x.clone()
    x2[0, 3:] = 1e3
    torch.testing.assert_close(mil(x2, mask)[0][0], pooled[0])
    torch.testing.assert_close(pooled[1], (att[1, :, None] * x[1]).sum(0))


def test_gated_attention_gradients() -> None:
    x, mask = _bag()
    x.requires_grad_(True)
    mil = GatedAttentionMIL(8, hidden=16, dropout=0.1)
    pooled, _ = mil(x, mask)
    pooled.sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in mil.parameters())
    assert torch.all(x.grad[0, 3:] == 0)


def test_masked_softmax_no_nan() -> None:
    s = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    m = torch.tensor([[True, False], [False, False]])
    a = masked_softmax(s, m)
    torch.testing.assert_close(a, torch.tensor([[1.0, 0.0], [0.0, 0.0]]))


def test_shape_errors() -> None:
    with pytest.raises(ValueError, match="B, N, D"):
        MeanPooling(4)(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="mask"):
        GatedAttentionMIL(4)(torch.zeros(2, 3, 4), torch.ones(2, 4, dtype=torch.bool))


def test_roi_encoder_branch_end_to_end() -> None:
    torch.manual_seed(0)
    branch = ROIEncoderBranch("t2t_vit_test", chunk_size=3)
    images = torch.randn(2, 3, 3, 64, 64)
    mask = torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool)
    feats = branch(images, mask)
    assert feats.shape == (2, 3, branch.num_features) and torch.all(feats[0, 2] == 0)
    pooled, _ = GatedAttentionMIL(branch.num_features, hidden=8)(feats, mask)
    pooled.sum().backward()
    grads = [p.grad for p in branch.parameters()]
    assert all(g is not None for g in grads)
    frozen = ROIEncoderBranch("t2t_vit_test", freeze=True)
    assert not any(p.requires_grad for p in frozen.parameters())
