"""Multiple-instance pooling of patch features into one vector per patient.

Both poolers take a padded bag ``x`` of shape ``(B, N, D)`` with a validity mask
``(B, N)`` (True = real patch) and return ``(pooled (B, D), attention (B, N))``; the
attention weights sum to 1 over the valid patches of each bag (all zeros for an empty
bag, whose pooled vector is zero). Several slides of one patient are simply
concatenated into one bag.

:class:`ROIEncoderBranch` wraps an image encoder for end-to-end fine-tuning on ROI
images (the paper's setting) instead of cached features.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.nn as nn

__all__ = ["GatedAttentionMIL", "MeanPooling", "ROIEncoderBranch", "masked_softmax"]


def _check(x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if x.dim() != 3:
        raise ValueError(f"x must have shape (B, N, D), got {tuple(x.shape)}")
    if mask is None:
        return torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
    if mask.shape != x.shape[:2]:
        raise ValueError(f"mask must have shape {tuple(x.shape[:2])} (B, N), got {tuple(mask.shape)}")
    return mask.to(device=x.device, dtype=torch.bool)


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis restricted to ``mask``; all-masked rows give zeros.

    .. math:: a_i = \\frac{m_i e^{s_i}}{\\sum_j m_j e^{s_j}}

    Args:
        scores: Shape ``(B, N)``.
        mask: Shape ``(B, N)`` bool, True = valid.

    Returns:
        Weights of shape ``(B, N)``.
    """
    s = scores.float().masked_fill(~mask, float("-inf"))
    any_valid = mask.any(dim=-1, keepdim=True)
    s = torch.where(any_valid, s, torch.zeros_like(s))
    a = torch.softmax(s, dim=-1) * any_valid * mask
    return a.to(scores.dtype)


class MeanPooling(nn.Module):
    """Mean of the valid patch features (no parameters).

    .. math:: p = \\frac{1}{|V|} \\sum_{i \\in V} x_i

    Args:
        dim: Feature width ``D`` (kept for a uniform constructor; output width = ``dim``).
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = int(dim)
        self.out_dim = int(dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, N, D)``, ``mask (B, N)`` → ``(pooled (B, D), attention (B, N))`` (uniform weights)."""
        m = _check(x, mask)
        count = m.sum(dim=1, keepdim=True).clamp(min=1).to(x.dtype)
        att = m.to(x.dtype) / count
        pooled = torch.einsum("bn,bnd->bd", att, x)
        return pooled, att


class GatedAttentionMIL(nn.Module):
    """Gated attention pooling (Ilse, Tomczak & Welling, ICML 2018).

    .. math::
        s_i = w^\\top \\left(\\tanh(V x_i) \\odot \\sigma(U x_i)\\right),\\quad
        a = \\operatorname{softmax}_{i \\in V}(s),\\quad p = \\sum_i a_i x_i

    Args:
        dim: Feature width ``D``.
        hidden: Width of ``V`` and ``U``.
        dropout: Dropout on the gated hidden layer.
    """

    def __init__(self, dim: int, hidden: int = 128, dropout: float = 0.0) -> None:
        super().__init__()
        self.dim = int(dim)
        self.out_dim = int(dim)
        self.attention_v = nn.Linear(dim, hidden)
        self.attention_u = nn.Linear(dim, hidden)
        self.dropout = nn.Dropout(dropout)
        self.attention_w = nn.Linear(hidden, 1)

    def scores(self, x: torch.Tensor) -> torch.Tensor:
        """Unnormalised attention scores ``s``, shape ``(B, N)``."""
        h = torch.tanh(self.attention_v(x)) * torch.sigmoid(self.attention_u(x))
        return self.attention_w(self.dropout(h)).squeeze(-1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``x (B, N, D)``, ``mask (B, N)`` → ``(pooled (B, D), attention (B, N))``."""
        m = _check(x, mask)
        att = masked_softmax(self.scores(x), m)
        pooled = torch.einsum("bn,bnd->bd", att.to(x.dtype), x)
        return pooled, att


class ROIEncoderBranch(nn.Module):
    """A trainable image encoder applied to every ROI/patch image of each patient.

    Args:
        encoder: An encoder name for :func:`pathgptomic.nn.encoders.create_image_encoder`
            (e.g. ``"t2t_vit_14"``) or a module mapping ``(M, 3, H, W) -> (M, D)``.
        weights: Local weights file (when ``encoder`` is a name).
        pretrained: Opt-in timm download (when ``encoder`` is a name).
        freeze: Keep the encoder's parameters fixed (``requires_grad=False``).
        chunk_size: Encode at most this many images per forward call (memory bound);
            ``None`` = all at once.
        num_features: Output width when ``encoder`` is a module without ``num_features``.
        **model_kwargs: Extra constructor arguments when ``encoder`` is a name.

    Attributes:
        num_features: Feature width ``D``.
    """

    def __init__(
        self,
        encoder: str | nn.Module,
        *,
        weights: str | os.PathLike[str] | None = None,
        pretrained: bool = False,
        freeze: bool = False,
        chunk_size: int | None = None,
        num_features: int | None = None,
        **model_kwargs: Any,
    ) -> None:
        super().__init__()
        if isinstance(encoder, str):
            from pathgptomic.nn.encoders import create_image_encoder

            model, _, d = create_image_encoder(encoder, weights=weights, pretrained=pretrained, num_classes=0, **model_kwargs)
            model.train()
        else:
            model = encoder
            d = int(num_features or getattr(encoder, "num_features", 0))
            if d <= 0:
                raise ValueError("pass num_features= for an encoder module without a num_features attribute")
        self.encoder = model
        self.num_features = d
        self.chunk_size = chunk_size
        if freeze:
            for p in self.encoder.parameters():
                p.requires_grad_(False)

    def forward(self, images: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Images ``(B, N, 3, H, W)`` (+ optional mask ``(B, N)``) → patch features ``(B, N, D)``.

        Only valid images are encoded; padded positions get zero vectors.
        """
        if images.dim() != 5:
            raise ValueError(f"images must have shape (B, N, 3, H, W), got {tuple(images.shape)}")
        b, n = images.shape[:2]
        m = torch.ones(b, n, dtype=torch.bool, device=images.device) if mask is None else mask.to(images.device).bool()
        flat = images.reshape(b * n, *images.shape[2:])[m.reshape(-1)]
        if self.chunk_size and flat.shape[0] > self.chunk_size:
            feats = torch.cat([self.encoder(c) for c in flat.split(self.chunk_size)], dim=0)
        else:
            feats = self.encoder(flat)
        out = feats.new_zeros(b * n, feats.shape[-1])
        out[m.reshape(-1)] = feats
        return out.reshape(b, n, -1)
