"""Fixtures for the genomics tests: tiny scGPT checkpoints in the official folder format."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
import torch

from pathgptomic.genomics.scgpt import ScGPTConfig, ScGPTEncoder, clear_cache, save_scgpt_folder
from pathgptomic.genomics.vocab import GeneVocab, build_vocab

TINY_ARGS = {
    "embsize": 16, "nheads": 2, "d_hid": 24, "nlayers": 2, "n_layers_cls": 3, "dropout": 0.2,
    "pad_token": "<pad>", "pad_value": -2, "mask_value": -1, "input_emb_style": "continuous", "n_bins": 51,
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


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Callable[..., Path]:
    """Factory: write a tiny official-format folder (``layout`` flash/torch/fa2) and return it."""

    def _make(name: str = "tiny", layout: str = "flash", seed: int = 0, heads: bool = True, **kw) -> Path:
        model, vocab, args = make_tiny(seed, **kw)
        e = args["embsize"]
        extra = {}
        if heads:
            extra = {
                "decoder.fc.0.weight": torch.randn(e, e), "decoder.fc.0.bias": torch.randn(e),
                "decoder.fc.4.weight": torch.randn(1, e), "mvc_decoder.W.weight": torch.randn(e, e),
                "flag_encoder.weight": torch.randn(2, e),
            }
        return save_scgpt_folder(tmp_path / name, model, vocab, args, layout=layout, extra_state=extra)

    return _make


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    clear_cache()
    yield
    clear_cache()
