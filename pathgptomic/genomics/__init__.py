"""scGPT genomic branch: checkpoint loader, embedding, bulk RNA-seq input, MLP-A smoothing.

The encoder is our own torchtext-free implementation that loads official scGPT model
folders unchanged (see :mod:`pathgptomic.genomics.scgpt`). Main entry point:
:func:`rna_features` (cohort → frozen G2 features).

The names below are imported lazily (PEP 562 ``__getattr__``): ``import
pathgptomic.genomics`` — and so ``pathgptomic --help``, which loads
:mod:`pathgptomic.genomics.cli` — does not import torch; the first access to e.g.
``pathgptomic.genomics.load_scgpt`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pathgptomic import lazy_exports

if TYPE_CHECKING:
    from pathgptomic.genomics.features import (
        RnaFeatures,
        default_scgpt_folder,
        rna_features,
    )
    from pathgptomic.genomics.scgpt import (
        LoadedScGPT,
        ScGPTEncoder,
        checkpoint_hash,
        load_scgpt,
    )
    from pathgptomic.genomics.vocab import GeneCoverage, GeneVocab

#: Public name → submodule defining it.
_LAZY: dict[str, str] = {
    "GeneCoverage": "vocab",
    "GeneVocab": "vocab",
    "LoadedScGPT": "scgpt",
    "RnaFeatures": "features",
    "ScGPTEncoder": "scgpt",
    "checkpoint_hash": "scgpt",
    "default_scgpt_folder": "features",
    "load_scgpt": "scgpt",
    "rna_features": "features",
}

__all__ = [
    "GeneCoverage",
    "GeneVocab",
    "LoadedScGPT",
    "RnaFeatures",
    "ScGPTEncoder",
    "checkpoint_hash",
    "default_scgpt_folder",
    "load_scgpt",
    "rna_features",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
