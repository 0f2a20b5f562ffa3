"""Column names, block suffixes and small helpers shared by the two cohort layouts' readers and templates."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from pathgptomic.errors import ConfigError
from pathgptomic.schema import BLOCK_SUFFIXES  # noqa: F401 - re-exported: the readers' suffix table

#: Slide/image file extensions tried when a TCGA ``slide_id`` has none that exists.
SLIDE_EXTENSIONS: tuple[str, ...] = (".svs", ".tif", ".tiff", ".ndpi", ".mrxs", ".scn", ".png", ".jpg", ".jpeg")

TCGA_ID, TCGA_SLIDE, TCGA_TIME, TCGA_CENSORSHIP = "case_id", "slide_id", "survival_months", "censorship"
GENERIC_ID, GENERIC_TIME, GENERIC_EVENT = "patient_id", "time", "event"
#: File names with a fixed role in a generic-layout folder (never read as omics).
RESERVED_FILES: frozenset[str] = frozenset({"clinical.csv", "slides.csv", "manifest.csv", "true_risk.csv"})

EVENT_MEANING = "1 = death observed, 0 = censored"
CENSORSHIP_MEANING = "1 = censored (alive at last follow-up), 0 = death observed"


def _check_block_names(blocks: Sequence[str]) -> None:
    unknown = [b for b in blocks if b not in BLOCK_SUFFIXES]
    if unknown:
        raise ConfigError(f"unknown feature block(s) {unknown}; choose from {list(BLOCK_SUFFIXES)}.")


def _strip_suffix(columns: Sequence[str], suffix: str) -> list[str]:
    return [c[: -len(suffix)] for c in columns]


def block_of_column(column: str) -> str | None:
    """Genomic block of a ``<GENE>_<suffix>`` column, matching the suffix in any letter case.

    ``TP53_mut``, ``TP53_MUT`` and ``TP53_Mut`` all belong to ``"mut"``; a bare suffix
    (``_cnv``) or a column without one belongs to no block (None).
    """
    low = column.lower()
    return next((b for b, s in BLOCK_SUFFIXES.items() if low.endswith(s) and len(column) > len(s)), None)


def _resolve_slide(slide_dir: Path, slide_id: str) -> Path | None:
    direct = slide_dir / slide_id
    if direct.is_file():
        return direct
    stem = slide_id
    for ext in SLIDE_EXTENSIONS:
        if stem.lower().endswith(ext):
            stem = stem[: -len(ext)]
            break
    for ext in SLIDE_EXTENSIONS:
        cand = slide_dir / f"{stem}{ext}"
        if cand.is_file():
            return cand
    return None


def _patient_outcomes(row_ids: np.ndarray, ids: np.ndarray, time_rows: np.ndarray, event_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-patient time and event from the patient's first row (rows already checked to agree)."""
    first = pd.Series(np.arange(len(row_ids))).groupby(row_ids, sort=False).first().reindex(ids).to_numpy()
    return np.asarray(time_rows, dtype=float)[first], np.asarray(event_rows, dtype=int)[first]


def _no_outcomes(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Placeholder outcomes of a prediction cohort: time NaN, event 0."""
    return np.full(n, np.nan), np.zeros(n, dtype=int)
