"""Parsing genomic feature names into their block and gene symbol (``TP53_cnv`` → ``("cnv", "TP53")``)."""

from __future__ import annotations

from pathgptomic.schema import BLOCK_SUFFIXES

#: Label of a suffixed feature's block where it differs from the block's name (suffixes: ``BLOCK_SUFFIXES``).
_BLOCK_LABELS: dict[str, str] = {"rnaseq": "rna"}
#: Feature-name prefix -> block label.
_PREFIX_BLOCKS: tuple[tuple[str, str], ...] = (("scgpt_", "scgpt"), ("mlpa_", "mlpa"))


def feature_block(name: str) -> tuple[str, str | None]:
    """Block and gene symbol of a feature name.

    ``TP53_cnv`` → ``("cnv", "TP53")``, ``EGFR_rnaseq`` → ``("rna", "EGFR")``,
    ``IDH1_mut`` → ``("mut", "IDH1")``, ``scgpt_17`` → ``("scgpt", None)``,
    ``mlpa_3`` → ``("mlpa", None)``, anything else → ``("other", None)``.
    """
    for block, suffix in BLOCK_SUFFIXES.items():
        if name.endswith(suffix) and len(name) > len(suffix):
            return _BLOCK_LABELS.get(block, block), name[: -len(suffix)]
    for prefix, block in _PREFIX_BLOCKS:
        if name.startswith(prefix):
            return block, None
    return "other", None
