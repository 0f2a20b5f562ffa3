"""Helpers for the genomics tests: tiny scGPT encoders (imported by name; conftest modules are not importable)."""

from __future__ import annotations

import torch

from pathgptomic.genomics.scgpt import ScGPTConfig, ScGPTEncoder
from pathgptomic.genomics.vocab import GeneVocab, build_vocab

TINY_ARGS = {
    "embsize": 16,
    "nheads": 2,
    "d_hid": 24,
    "nlayers": 2,
    "n_layers_cls": 3,
    "dropout": 0.2,
    "pad_token": "<pad>",
    "pad_value": -2,
    "mask_value": -1,
    "input_emb_style": "continuous",
    "n_bins": 51,
}
TINY_GENES = [f"GENE{i}" for i in range(40)] + ["TP53", "EGFR", "IDH1", "PTEN"]


def make_tiny(seed: int = 0, genes: list[str] | None = None, args: dict | None = None) -> tuple[ScGPTEncoder, GeneVocab, dict]:
    """A randomly initialised tiny encoder, its vocabulary and args.json content."""
    torch.manual_seed(seed)
    vocab = build_vocab(genes or TINY_GENES)
    a = dict(TINY_ARGS, **(args or {}))
    model = ScGPTEncoder(ScGPTConfig.from_args(a), len(vocab), vocab["<pad>"])
    # non-trivial LayerNorm/bias parameters so a layout mix-up cannot go unnoticed
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.add_(0.1 * torch.randn_like(p))
    return model.eval(), vocab, a
