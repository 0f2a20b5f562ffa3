"""Self-normalizing networks (Klambauer et al., 2017) for tabular genomic features.

The block is the one Pathomic Fusion uses for CNV + mutations (``networks.py`` MaxNet):
``Linear → SELU → AlphaDropout``, repeated; weights initialised with LeCun normal
(``std = 1/sqrt(fan_in)``) so that activations keep zero mean and unit variance.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import nn


def selu_block(in_features: int, out_features: int, dropout: float) -> nn.Sequential:
    """One SNN block ``Linear → SELU → AlphaDropout`` with LeCun-normal initialisation."""
    linear = nn.Linear(in_features, out_features)
    nn.init.normal_(linear.weight, mean=0.0, std=1.0 / math.sqrt(max(in_features, 1)))
    nn.init.zeros_(linear.bias)
    return nn.Sequential(linear, nn.SELU(), nn.AlphaDropout(p=dropout))


class SNN(nn.Module):
    """Stack of SNN blocks mapping ``(B, in_features)`` to ``(B, hidden[-1])``.

    Args:
        in_features: Number of input features ``p``.
        hidden: Width of each block; the default four blocks follow Pathomic Fusion.
        dropout: AlphaDropout probability in every block.
    """

    def __init__(self, in_features: int, hidden: Sequence[int] = (64, 48, 32, 32), dropout: float = 0.25) -> None:
        super().__init__()
        if in_features < 1:
            raise ValueError(f"SNN needs at least one input feature, got in_features={in_features}")
        widths = [in_features, *hidden]
        self.blocks = nn.Sequential(*[selu_block(a, b, dropout) for a, b in zip(widths[:-1], widths[1:])])
        self.num_features = int(widths[-1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode features.

        Args:
            x: Standardised features, shape ``(B, in_features)``.

        Returns:
            Embedding of shape ``(B, num_features)``.
        """
        return self.blocks(x)


class MLP(nn.Module):
    """A plain MLP ``Linear → act → Dropout`` × (n_layers − 1) then ``Linear``.

    Used as MLP-B (3 layers, hidden 128) over the concatenated genomic embeddings
    ``[G1 ‖ G2]`` and as the image projection.

    Args:
        in_features: Input width.
        hidden: Hidden width.
        out_features: Output width.
        n_layers: Number of linear layers (≥ 1).
        dropout: Dropout probability after each hidden activation.
        activation: ``"selu"`` (with AlphaDropout) or ``"relu"`` (with Dropout).
    """

    def __init__(
        self,
        in_features: int,
        hidden: int,
        out_features: int,
        *,
        n_layers: int = 3,
        dropout: float = 0.25,
        activation: str = "selu",
    ) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be >= 1, got {n_layers}")
        widths = [in_features] + [hidden] * (n_layers - 1) + [out_features]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
            if activation == "selu":
                if i < n_layers - 1:
                    layers.append(selu_block(a, b, dropout))
                else:
                    layers.append(selu_block(a, b, 0.0)[:2])
            else:
                layers.append(nn.Linear(a, b))
                layers.append(nn.ReLU())
                if i < n_layers - 1 and dropout > 0:
                    layers.append(nn.Dropout(dropout))
        self.net = nn.Sequential(*layers)
        self.num_features = int(out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``(B, in_features)`` to ``(B, out_features)``."""
        return self.net(x)
