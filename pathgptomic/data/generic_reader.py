"""Reading the generic layout: ``clinical.csv`` (``patient_id``, ``time``, ``event`` with 1 = event,
optional numeric covariates), omics CSVs keyed by ``patient_id`` (block from the column suffix, or from
the file name: ``cnv``/``mut``/``rna`` in the stem) and an optional slide manifest ``slides.csv``
(``patient_id``, ``path``; relative paths resolve against its folder)."""

from __future__ import annotations

import io
import logging
import os
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from pathgptomic.data.cohort import CLINICAL_BLOCK, GENOMIC_BLOCKS, Cohort
from pathgptomic.data.columns import (
    BLOCK_SUFFIXES,
    EVENT_MEANING,
    GENERIC_EVENT,
    GENERIC_ID,
    GENERIC_TIME,
    _no_outcomes,
    _patient_outcomes,
    block_of_column,
)
from pathgptomic.data.manifest import read_slide_manifest
from pathgptomic.data.validation import (
    CsvSource,
    check_block_assignment,
    check_has_features,
    check_ids,
    check_min_events,
    check_outcomes,
    check_required_columns,
    check_unique_genes,
    coerce_numeric,
    collapse_feature_rows,
    drop_uninformative,
    read_csv_checked,
    source_name,
)
from pathgptomic.errors import DataQualityWarning, InputValidationError

logger = logging.getLogger(__name__)


def _block_of_stem(stem: str) -> str | None:
    s = stem.lower()
    for key, block in (("cnv", "cnv"), ("copy", "cnv"), ("mut", "mut"), ("rna", "rnaseq"), ("expr", "rnaseq")):
        if key in s:
            return block
    return None


def _read_omics(source: CsvSource, *, for_prediction: bool = False) -> tuple[dict[str, pd.DataFrame], str, list[str]]:
    """One omics CSV -> per-block patient-level tables (suffixes stripped), file name, ignored columns.

    A column with no block suffix in a file whose name names no block is an error when
    reading a training cohort; for prediction it is ignored and returned (the model
    reports every column it does not use).
    """
    name = source_name(source)
    df = read_csv_checked(source, id_columns=(GENERIC_ID,), what="omics CSV")
    check_required_columns(df, [GENERIC_ID], file=name, layout="generic omics")
    ids = check_ids(df[GENERIC_ID], file=name, column=GENERIC_ID)
    cols = [c for c in df.columns if c != GENERIC_ID]
    check_has_features(cols, file=name)
    stem_block = _block_of_stem(Path(name).name.split(".")[0])
    by_block: dict[str, list[str]] = {}
    unassigned: list[str] = []
    suffixed: set[str] = set()
    for c in cols:
        block = block_of_column(c)
        if block is None:
            block = stem_block
        else:
            suffixed.add(c)
        if block is None:
            unassigned.append(c)
        else:
            by_block.setdefault(block, []).append(c)
    if not for_prediction:
        check_block_assignment(unassigned, file=name)
    cols = [c for c in cols if c not in set(unassigned)]
    if not cols:
        return {}, name, unassigned
    feats = coerce_numeric(df, cols, file=name, ids=ids, kind="feature")
    patient = collapse_feature_rows(feats, ids, file=name)
    out = {}
    for block, bcols in by_block.items():
        blk = patient.loc[:, bcols]
        suffix = BLOCK_SUFFIXES[block]
        blk.columns = [c[: -len(suffix)] if c in suffixed else c for c in bcols]
        check_unique_genes(list(blk.columns), block=block, file=name)
        out[block] = blk
    return out, name, unassigned


def read_generic(
    clinical_csv: CsvSource | None,
    omics_csvs: CsvSource | Sequence[CsvSource] = (),
    manifest_csv: CsvSource | None = None,
    *,
    time_unit: str = "months",
    for_prediction: bool = False,
) -> Cohort:
    """Read the generic layout (clinical CSV + omics CSVs + optional slide manifest).

    Patients are those of the clinical CSV, in its order. Omics patients missing from the
    clinical CSV are ignored, clinical patients missing from an omics file get missing
    values (imputed per training fold later); both are reported with a
    :class:`~pathgptomic.errors.DataQualityWarning`.

    Args:
        clinical_csv: ``patient_id``, ``time``, ``event`` (1 = event) and optional numeric
            covariates (-> block ``"clinical"``). May be None only with ``for_prediction``
            (patients are then those of the omics files).
        omics_csvs: One or more CSVs keyed by ``patient_id``; each column's block comes
            from its suffix (``_cnv``, ``_mut``, ``_rnaseq``) or else from the file name.
        manifest_csv: Slide manifest ``patient_id``, ``path`` (several rows per patient
            allowed); relative paths resolve against the manifest's folder.
        time_unit: Unit of ``time``, stored on the cohort.
        for_prediction: New patients: outcomes optional, no minimum-event check, no
            column dropped, and every block absent from the files (``cnv``, ``mut``,
            ``rnaseq``, ``clinical``) present as an empty ``(n, 0)`` table.

    Returns:
        The cohort.

    Raises:
        InputValidationError: Any check of :mod:`pathgptomic.data.validation` fails, or a
            manifest path does not exist.
    """
    if isinstance(omics_csvs, (str, os.PathLike, io.IOBase)) or hasattr(omics_csvs, "read"):
        omics_list = [omics_csvs]
    else:
        omics_list = list(omics_csvs)
    read = [_read_omics(src, for_prediction=for_prediction) for src in omics_list]
    omics_tables = [(tabs, oname) for tabs, oname, _ in read if tabs]
    ignored = [f"{Path(oname).name}: {c}" for _, oname, cols in read for c in cols]

    cov = None
    cname = "omics files"
    has_outcomes = not for_prediction
    if clinical_csv is None:
        if not for_prediction:
            raise InputValidationError("no clinical CSV given. Fix: provide clinical.csv with patient_id, time, event.")
        if not omics_tables:
            if ignored:
                raise InputValidationError(
                    f"no genomic columns found: {', '.join(ignored[:5])} have no block suffix. Fix: name the "
                    "columns <GENE>_cnv, <GENE>_mut or <GENE>_rnaseq (download the model's omics template)."
                )
            raise InputValidationError("neither a clinical CSV nor omics CSVs were given. Fix: provide at least one file.")
        ids = pd.unique(np.concatenate([t.index.to_numpy(dtype=object) for tabs, _ in omics_tables for t in tabs.values()])).astype(str)
        time, event = _no_outcomes(len(ids))
    else:
        cname = source_name(clinical_csv)
        df = read_csv_checked(clinical_csv, id_columns=(GENERIC_ID,), what="clinical CSV")
        has_outcomes = has_outcomes or GENERIC_TIME in df.columns or GENERIC_EVENT in df.columns
        required = [GENERIC_ID] + ([GENERIC_TIME, GENERIC_EVENT] if has_outcomes else [])
        check_required_columns(df, required, file=cname, layout="generic clinical")
        row_ids = check_ids(df[GENERIC_ID], file=cname, column=GENERIC_ID)
        cov_cols = [c for c in df.columns if c not in (GENERIC_ID, GENERIC_TIME, GENERIC_EVENT)]
        cov_rows = coerce_numeric(df, cov_cols, file=cname, ids=row_ids, kind="clinical covariate")
        if has_outcomes:
            t_rows, ev_rows = check_outcomes(
                df, row_ids, file=cname, time_column=GENERIC_TIME, status_column=GENERIC_EVENT, meaning=EVENT_MEANING
            )
        cov_pat = collapse_feature_rows(cov_rows, row_ids, file=cname)
        ids = cov_pat.index.to_numpy(dtype=object).astype(str)
        time, event = _patient_outcomes(row_ids, ids, t_rows, ev_rows) if has_outcomes else _no_outcomes(len(ids))
        if cov_cols:
            cov = cov_pat
        if for_prediction:
            ignored += [f"{Path(cname).name}: {c}" for c in df.columns if c in (GENERIC_TIME, GENERIC_EVENT) and not has_outcomes]

    blocks: dict[str, pd.DataFrame] = {}
    index = pd.Index(ids, name="patient_id")
    extra_ids: set[str] = set()
    for tabs, oname in omics_tables:
        file_ids = next(iter(tabs.values())).index  # every block of one file has the same rows
        extra_ids.update(set(file_ids) - set(ids))
        missing = index.difference(file_ids, sort=False)
        if len(missing):
            warnings.warn(
                f"{oname}: {len(missing)} patient(s) of the cohort have no row in this file "
                f"(e.g. {missing[0]!r}); their {', '.join(tabs)} values count as missing.",
                DataQualityWarning,
                stacklevel=2,
            )
        for block, blk in tabs.items():
            blk = blk.reindex(index)
            if block in blocks:
                check_unique_genes(list(blk.columns), block=block, file=oname, taken=blocks[block].columns)
                blocks[block] = pd.concat([blocks[block], blk], axis=1)
            else:
                blocks[block] = blk
    if extra_ids:
        warnings.warn(
            f"{len(extra_ids)} patient(s) of the omics files are not in {Path(cname).name} "
            f"(e.g. {sorted(extra_ids)[0]!r}); they are ignored.",
            DataQualityWarning,
            stacklevel=2,
        )
    if cov is not None:
        blocks[CLINICAL_BLOCK] = cov
    if has_outcomes and not for_prediction:
        check_min_events(event, file=cname)
    dropped: dict[str, list[str]] = {}
    if not for_prediction and blocks:
        blocks, dropped = drop_uninformative(blocks, file=cname)
    if for_prediction:  # absent blocks: empty, so a model imputes their columns
        for b in (*GENOMIC_BLOCKS, CLINICAL_BLOCK):
            if b not in blocks:
                logger.info("%s: no %r columns; the block is empty", cname, b)
                blocks[b] = pd.DataFrame(index=index, dtype=float)
    for blk in blocks.values():
        blk.index = pd.Index(ids, name="patient_id")

    slides: dict[str, list[str]] = {str(pid): [] for pid in ids}
    if manifest_csv is not None:
        slides = read_slide_manifest(manifest_csv, ids)

    return Cohort(
        ids=np.asarray(ids, dtype=str),
        time=np.asarray(time, dtype=float),
        event=np.asarray(event, dtype=int),
        blocks=blocks,
        slides=slides,
        time_unit=time_unit,
        source=f"generic layout: {Path(cname).name} + {len(omics_tables)} omics file(s)",
        meta={
            "layout": "generic",
            "file": cname,
            "omics_files": [n for _, n in omics_tables],
            "dropped_columns": dropped,
            "ignored_columns": ignored,
            "has_outcomes": bool(has_outcomes),
        },
    )
