"""Toy models with the ``forward_tensors(cnv_mut, rna, image, image_mask) -> θ (B,)`` signature.

Their integrated gradients are known analytically (the linear model; BasicModel2 of the
IG paper as in Captum's tests), so tests can compare against exact values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass
class ToyInputs:
    """Minimal stand-in of ``pathgptomic.nn.fusion.ModelInputs``."""

    cnv_mut: torch.Tensor
    rna: torch.Tensor
    image: torch.Tensor
    image_mask: torch.Tensor
    extras: dict[str, Any] = field(default_factory=dict)

    def index(self, idx: list[int]) -> "ToyInputs":
        return ToyInputs(self.cnv_mut[idx], self.rna[idx], self.image[idx], self.image_mask[idx])


@dataclass
class ToyOutput:
    theta: torch.Tensor
    attention: torch.Tensor | None


def masked_mean(image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    m = mask.to(image.dtype).unsqueeze(-1)
    return (image * m).sum(1) / m.sum(1).clamp_min(1.0)


class LinearToy(nn.Module):
    """θ = cnv_mut·w1 + rna·w2 + mean_valid(image)·w3 + c: IG is exactly (x − x')·w."""

    def __init__(self, p1: int, p2: int, d: int, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.w1 = nn.Parameter(torch.randn(p1, generator=g))
        self.w2 = nn.Parameter(torch.randn(p2, generator=g))
        self.w3 = nn.Parameter(torch.randn(d, generator=g))
        self.c = nn.Parameter(torch.tensor(0.3))

    def forward_tensors(self, cnv_mut, rna, image, image_mask) -> torch.Tensor:  # noqa: ANN001
        return cnv_mut @ self.w1 + rna @ self.w2 + masked_mean(image, image_mask) @ self.w3 + self.c


class BasicModel2Toy(nn.Module):
    """θ = ReLU(ReLU(x1) − 1 − ReLU(x2)) on the two cnv_mut columns (IG paper; Captum's BasicModel2)."""

    def forward_tensors(self, cnv_mut, rna, image, image_mask) -> torch.Tensor:  # noqa: ANN001
        x1, x2 = cnv_mut[:, 0], cnv_mut[:, 1]
        return torch.relu(torch.relu(x1) - 1 - torch.relu(x2))


class AttentionToy(nn.Module):
    """Genomic MLP + gated-attention pooling of tiles; ``forward`` returns the attention."""

    def __init__(self, p1: int, p2: int, d: int, seed: int = 0) -> None:
        super().__init__()
        torch.manual_seed(seed)
        self.genomic = nn.Sequential(nn.Linear(p1 + p2, 8), nn.Tanh(), nn.Linear(8, 1))
        self.att = nn.Sequential(nn.Linear(d, 8), nn.Tanh(), nn.Linear(8, 1))
        self.head = nn.Linear(d, 1)

    def _run(self, cnv_mut, rna, image, image_mask):  # noqa: ANN001, ANN202
        scores = self.att(image).squeeze(-1).masked_fill(~image_mask.bool(), float("-inf"))
        attention = torch.softmax(scores, dim=1)
        pooled = (attention.unsqueeze(-1) * image).sum(1)
        theta = self.genomic(torch.cat([cnv_mut, rna], 1)).squeeze(1) + self.head(pooled).squeeze(1)
        return theta, attention

    def forward(self, inputs: ToyInputs) -> ToyOutput:
        theta, attention = self._run(inputs.cnv_mut, inputs.rna, inputs.image, inputs.image_mask)
        return ToyOutput(theta, attention)

    def forward_tensors(self, cnv_mut, rna, image, image_mask) -> torch.Tensor:  # noqa: ANN001
        return self._run(cnv_mut, rna, image, image_mask)[0]


class GenomicOnlyToy(nn.Module):
    """Ignores the image entirely (its gradient never reaches θ)."""

    def forward_tensors(self, cnv_mut, rna, image, image_mask) -> torch.Tensor:  # noqa: ANN001
        return torch.tanh(cnv_mut).sum(1) + (rna**2).sum(1)


def random_inputs(b: int = 3, p1: int = 4, p2: int = 5, n: int = 6, d: int = 3, seed: int = 0) -> ToyInputs:
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(b, n, dtype=torch.bool)
    mask[0, n - 2 :] = False  # patient 0 has two padded tiles
    image = torch.randn(b, n, d, generator=g) * mask.unsqueeze(-1)
    coords = [torch.arange(n).repeat(2, 1).T.numpy() * 224 for _ in range(b)]
    return ToyInputs(
        torch.randn(b, p1, generator=g),
        torch.randn(b, p2, generator=g),
        image,
        mask,
        extras={"coords": coords, "patient_ids": [f"P{i}" for i in range(b)]},
    )
