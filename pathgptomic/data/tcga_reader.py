"""Reading the TCGA layout (MCAT/PORPOISE): one row per slide with ``case_id``, ``slide_id``,
``survival_months``, ``censorship`` (1 = censored; converted once here to ``event = 1 - censorship``),
clinical columns and ``<GENE>_rnaseq`` / ``<GENE>_cnv`` / ``<GENE>_mut`` features; the slides of one
patient collapse to one row whose outcomes must agree."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from pathgptomic.data.cohort import CLINICAL_BLOCK, GENOMIC_BLOCKS, Cohort
from pathgptomic.data.columns import (
    BLOCK_SUFFIXES,
    CENSORSHIP_MEANING,
    TCGA_CENSORSHIP,
    TCGA_ID,
    TCGA_SLIDE,
    TCGA_TIME,
    _check_block_names,
    _no_outcomes,
    _patient_outcomes,
    _resolve_slide,
    _strip_suffix,
    block_of_column,
)
from pathgptomic.data.validation import (
    CsvSource,
    check_block_nonempty,
    check_folder,
    check_has_features,
    check_ids,
    check_min_events,
    check_outcomes,
    check_required_columns,
    coerce_numeric,
    collapse_feature_rows,
    drop_uninformative,
    read_csv_checked,
    source_name,
)
from pathgptomic.errors import DataQualityWarning


def read_tcga(
    path: CsvSource,
    *,
    blocks: Sequence[str] = GENOMIC_BLOCKS,
    clinical: Sequence[str] = ("age", "is_female"),
    slide_dir: str | os.PathLike | None = None,
    for_prediction: bool = False,
) -> Cohort:
    """Read a TCGA-layout CSV (plain or gzip) into a patient-level cohort.

    Rows of the same ``case_id`` (one per slide) collapse to one patient; their outcomes
    must agree. ``event = 1 - censorship``. Feature columns ``<GENE>_<block>`` go to block
    ``<block>`` with the suffix stripped; columns that are all missing or constant are
    dropped with one :class:`~pathgptomic.errors.DataQualityWarning`.

    Args:
        path: The CSV file (or an open upload).
        blocks: Genomic blocks to read (subset of ``("cnv", "mut", "rnaseq")``).
        clinical: Numeric clinical columns for the ``"clinical"`` block (``()`` for none).
        slide_dir: Folder holding the slides; each ``slide_id`` is resolved there (as is,
            or with any of :data:`SLIDE_EXTENSIONS`). Without it, patients have no slides
            (the slide ids are kept in ``meta["slide_ids"]``).
        for_prediction: Read new patients for prediction: outcome and clinical columns
            become optional (absent clinical columns are all-missing, i.e. imputed later),
            a requested block without columns becomes an empty block of shape ``(n, 0)``,
            the minimum-event check is skipped and no column is dropped (so a cohort of
            one patient is accepted). Without outcomes, ``time`` is NaN and ``event`` 0
            (``meta["has_outcomes"]`` is False).

    Returns:
        The cohort; ``time_unit`` is ``"months"``.

    Raises:
        InputValidationError: Any check of :mod:`pathgptomic.data.validation` fails.
        ConfigError: An unknown block name.
    """
    _check_block_names(blocks)
    name = source_name(path)
    df = read_csv_checked(path, id_columns=(TCGA_ID, TCGA_SLIDE), what="TCGA-layout CSV")
    has_outcomes = TCGA_TIME in df.columns or TCGA_CENSORSHIP in df.columns or not for_prediction
    required = [TCGA_ID] + ([TCGA_TIME, TCGA_CENSORSHIP] if has_outcomes else [])
    if not for_prediction:
        required += list(clinical)
    check_required_columns(df, required, file=name, layout="TCGA")
    row_ids = check_ids(df[TCGA_ID], file=name, column=TCGA_ID)

    block_cols: dict[str, list[str]] = {}
    column_block = {c: block_of_column(c) for c in df.columns}
    for b in blocks:
        suffix = BLOCK_SUFFIXES[b]
        cols = [c for c in df.columns if column_block[c] == b]
        if not for_prediction:
            check_block_nonempty(cols, block=b, file=name, expected=f"columns named <GENE>{suffix}")
        block_cols[b] = cols
    clin_present = [c for c in clinical if c in df.columns]
    feature_cols = [c for cols in block_cols.values() for c in cols] + clin_present
    structural = {TCGA_ID, TCGA_SLIDE, TCGA_TIME, TCGA_CENSORSHIP}
    feature_set = set(feature_cols)
    ignored = [c for c in df.columns if c not in structural and c not in feature_set]
    check_has_features(feature_cols, file=name)
    feats = coerce_numeric(df, feature_cols, file=name, ids=row_ids, kind="feature")
    for c in clinical:
        if c not in feats.columns:
            feats[c] = np.nan

    if has_outcomes:
        t_rows, cens_rows = check_outcomes(
            df, row_ids, file=name, time_column=TCGA_TIME, status_column=TCGA_CENSORSHIP, meaning=CENSORSHIP_MEANING
        )
    patient = collapse_feature_rows(feats, row_ids, file=name)
    ids = patient.index.to_numpy(dtype=object).astype(str)
    time, event = _patient_outcomes(row_ids, ids, t_rows, 1 - cens_rows) if has_outcomes else _no_outcomes(len(ids))
    if has_outcomes and not for_prediction:
        check_min_events(event, file=name)

    out_blocks: dict[str, pd.DataFrame] = {}
    for b, cols in block_cols.items():
        blk = patient.loc[:, cols]
        blk.columns = _strip_suffix(cols, BLOCK_SUFFIXES[b])
        out_blocks[b] = blk
    if clinical:
        out_blocks[CLINICAL_BLOCK] = patient.loc[:, list(clinical)]
    dropped: dict[str, list[str]] = {}
    if not for_prediction:
        out_blocks, dropped = drop_uninformative(out_blocks, file=name)
    for blk in out_blocks.values():
        blk.index = pd.Index(ids, name="patient_id")

    slide_ids: dict[str, list[str]] = {str(pid): [] for pid in ids}
    if TCGA_SLIDE in df.columns:
        sids = df[TCGA_SLIDE].astype("string").str.strip()
        for pid, sid in zip(row_ids, sids):
            if pd.notna(sid) and sid != "" and sid not in slide_ids[str(pid)]:
                slide_ids[str(pid)].append(str(sid))
    slides = _slides_from_dir(slide_ids, slide_dir, file=name)

    return Cohort(
        ids=ids,
        time=np.asarray(time, dtype=float),
        event=np.asarray(event, dtype=int),
        blocks=out_blocks,
        slides=slides,
        time_unit="months",
        source=f"TCGA layout: {Path(name).name}",
        meta={
            "layout": "tcga",
            "file": name,
            "n_rows": int(len(df)),
            "slide_ids": slide_ids,
            "dropped_columns": dropped,
            "ignored_columns": ignored,
            "has_outcomes": bool(has_outcomes),
        },
    )


def _slides_from_dir(slide_ids: Mapping[str, list[str]], slide_dir: str | os.PathLike | None, *, file: str) -> dict[str, list[str]]:
    if slide_dir is None:
        return {pid: [] for pid in slide_ids}
    folder = check_folder(slide_dir, what="slide folder", fix=f"give the folder that holds the slides of {file}")
    slides: dict[str, list[str]] = {}
    missing: list[str] = []
    for pid, sids in slide_ids.items():
        found = []
        for sid in sids:
            p = _resolve_slide(folder, sid)
            if p is None:
                missing.append(sid)
            else:
                found.append(str(p))
        slides[pid] = found
    if missing:
        warnings.warn(
            f"{len(missing)} slide(s) listed in {file} were not found in {folder} (e.g. {missing[0]!r}); "
            "those patients have fewer or no slides.",
            DataQualityWarning,
            stacklevel=3,
        )
    return slides
