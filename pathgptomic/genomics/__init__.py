"""scGPT genomic branch: checkpoint loader, embedding, bulk RNA-seq input, MLP-A smoothing.

The encoder is our own torchtext-free implementation that loads official scGPT model
folders unchanged (see :mod:`pathgptomic.genomics.scgpt`). Main entry point:
:func:`rna_features` (cohort → frozen G2 features).
"""

from pathgptomic.genomics.features import RnaFeatures, default_scgpt_folder, rna_features
from pathgptomic.genomics.scgpt import LoadedScGPT, ScGPTEncoder, checkpoint_hash, load_scgpt
from pathgptomic.genomics.vocab import GeneCoverage, GeneVocab

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
