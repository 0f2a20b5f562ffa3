"""Fixtures for the genomics tests: tiny scGPT checkpoints in the official folder format."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import pytest
import torch
from scgpt_test_helpers import make_tiny

from pathgptomic.genomics.scgpt import clear_cache, save_scgpt_folder


@pytest.fixture
def tiny_folder(tmp_path: Path) -> Callable[..., Path]:
    """Factory: write a tiny official-format folder (``layout`` flash/torch/fa2) and return it."""

    def _make(name: str = "tiny", layout: str = "flash", seed: int = 0, heads: bool = True, **kw) -> Path:
        model, vocab, args = make_tiny(seed, **kw)
        e = args["embsize"]
        extra = {}
        if heads:
            extra = {
                "decoder.fc.0.weight": torch.randn(e, e),
                "decoder.fc.0.bias": torch.randn(e),
                "decoder.fc.4.weight": torch.randn(1, e),
                "mvc_decoder.W.weight": torch.randn(e, e),
                "flag_encoder.weight": torch.randn(2, e),
            }
        return save_scgpt_folder(tmp_path / name, model, vocab, args, layout=layout, extra_state=extra)

    return _make


@pytest.fixture(autouse=True)
def _fresh_model_cache():
    clear_cache()
    yield
    clear_cache()
