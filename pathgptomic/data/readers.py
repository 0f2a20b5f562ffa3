"""Cohort readers: TCGA layout, generic layout, auto-detection and templates.

Both layouts produce one :class:`~pathgptomic.data.cohort.Cohort` at patient level. Every
check lives in :mod:`pathgptomic.data.validation` and runs on plain tables before the
cohort is built, so a failed read leaves nothing half-made.

TCGA layout (MCAT/PORPOISE): one row per slide with ``case_id``, ``slide_id``,
``survival_months``, ``censorship`` (1 = censored; converted once here to
``event = 1 - censorship``), clinical columns and ``<GENE>_rnaseq`` / ``<GENE>_cnv`` /
``<GENE>_mut`` features.

Generic layout: ``clinical.csv`` (``patient_id``, ``time``, ``event`` with 1 = event, optional
numeric covariates), omics CSVs keyed by ``patient_id`` (block from the column suffix, or
from the file name: ``cnv``/``mut``/``rna`` in the stem), optional slide manifest
``slides.csv`` (``patient_id``, ``path``; relative paths resolve against its folder).
"""

from __future__ import annotations

import io
import json
import logging
import os
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from pathgptomic.data.cohort import CLINICAL_BLOCK, GENOMIC_BLOCKS, Cohort
from pathgptomic.data.validation import (
    CsvSource,
    check_block_assignment,
    check_block_nonempty,
    check_folder,
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
    read_header_checked,
    resolve_manifest_paths,
    source_name,
)
from pathgptomic.errors import ConfigError, DataQualityWarning, InputValidationError

logger = logging.getLogger(__name__)

#: Column-name suffix of each genomic block.
BLOCK_SUFFIXES: dict[str, str] = {"cnv": "_cnv", "mut": "_mut", "rnaseq": "_rnaseq"}
#: Slide/image file extensions tried when a TCGA ``slide_id`` has none that exists.
SLIDE_EXTENSIONS: tuple[str, ...] = (".svs", ".tif", ".tiff", ".ndpi", ".mrxs", ".scn", ".png", ".jpg", ".jpeg")

TCGA_ID, TCGA_SLIDE, TCGA_TIME, TCGA_CENSORSHIP = "case_id", "slide_id", "survival_months", "censorship"
GENERIC_ID, GENERIC_TIME, GENERIC_EVENT = "patient_id", "time", "event"
#: File names with a fixed role in a generic-layout folder (never read as omics).
RESERVED_FILES: frozenset[str] = frozenset({"clinical.csv", "slides.csv", "manifest.csv", "true_risk.csv"})

_EVENT_MEANING = "1 = death observed, 0 = censored"
_CENSORSHIP_MEANING = "1 = censored (alive at last follow-up), 0 = death observed"


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
            df, row_ids, file=name, time_column=TCGA_TIME, status_column=TCGA_CENSORSHIP, meaning=_CENSORSHIP_MEANING
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


def _slides_from_dir(
    slide_ids: Mapping[str, list[str]], slide_dir: str | os.PathLike | None, *, file: str
) -> dict[str, list[str]]:
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
                df, row_ids, file=cname, time_column=GENERIC_TIME, status_column=GENERIC_EVENT, meaning=_EVENT_MEANING
            )
        cov_pat = collapse_feature_rows(cov_rows, row_ids, file=cname)
        ids = cov_pat.index.to_numpy(dtype=object).astype(str)
        time, event = _patient_outcomes(row_ids, ids, t_rows, ev_rows) if has_outcomes else _no_outcomes(len(ids))
        if cov_cols:
            cov = cov_pat
        if for_prediction:
            ignored += [f"{Path(cname).name}: {c}" for c in df.columns if c in (GENERIC_TIME, GENERIC_EVENT)
                        and not has_outcomes]

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
        slides = _read_manifest(manifest_csv, ids)

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


def _read_manifest(manifest_csv: CsvSource, ids: Sequence[str]) -> dict[str, list[str]]:
    name = source_name(manifest_csv)
    base = Path(manifest_csv).parent if isinstance(manifest_csv, (str, os.PathLike)) else Path.cwd()
    df = read_csv_checked(manifest_csv, id_columns=(GENERIC_ID, "path"), what="slide manifest")
    check_required_columns(df, [GENERIC_ID, "path"], file=name, layout="slide manifest")
    row_ids = check_ids(df[GENERIC_ID], file=name, column=GENERIC_ID)
    slides: dict[str, list[str]] = {str(pid): [] for pid in ids}
    unknown: list[str] = []
    paths = resolve_manifest_paths(df["path"], row_ids, base=base, file=name)
    for pid, p in zip(row_ids, paths):
        if pid not in slides:
            unknown.append(pid)
            continue
        if str(p) not in slides[pid]:
            slides[pid].append(str(p))
    if unknown:
        warnings.warn(
            f"{name}: {len(set(unknown))} patient(s) of the manifest are not in the cohort (e.g. {unknown[0]!r}); "
            "their slides are ignored.",
            DataQualityWarning,
            stacklevel=3,
        )
    return slides


def _header(path: Path) -> list[str]:
    """Column names of a cohort candidate file; an unreadable file raises the reader's precise error."""
    return read_header_checked(path, what="cohort CSV")


def _attach_truth(cohort: Cohort, folder: Path) -> Cohort:
    path = folder / "true_risk.csv"
    if not path.is_file():
        return cohort
    truth = pd.read_csv(path, dtype={"patient_id": str}, float_precision="round_trip").set_index("patient_id")
    if "true_risk" not in truth.columns or not set(cohort.ids) <= set(truth.index):
        return cohort
    truth = truth.reindex(cohort.ids)
    meta = dict(cohort.meta)
    meta["truth"] = truth
    meta["synthetic"] = True
    source = cohort.source if cohort.source.startswith("synthetic") else f"synthetic demo cohort ({cohort.source})"
    return replace(cohort, true_risk=truth["true_risk"].to_numpy(dtype=float), meta=meta, source=source)


def _attach_info(cohort: Cohort, folder: Path) -> Cohort:
    """Merge ``cohort_info.json`` (e.g. ``{"semi_synthetic": true, "description": …}``) into ``meta``."""
    path = folder / "cohort_info.json"
    if not path.is_file():
        return cohort
    try:
        info = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise InputValidationError(f"{path}: not valid JSON ({exc}). Fix: repair or delete the file.") from exc
    if not isinstance(info, dict):
        raise InputValidationError(f"{path}: must hold a JSON object. Fix: repair or delete the file.")
    meta = {**cohort.meta, **info}
    source = f"{info['description']} ({cohort.source})" if info.get("description") else cohort.source
    return replace(cohort, meta=meta, source=source)


def read_cohort(path: str | os.PathLike, *, for_prediction: bool = False) -> Cohort:
    """Read a cohort, detecting its layout.

    * a file: a TCGA-layout CSV(.gz) (has ``case_id``), or a generic clinical CSV alone
      (or, with ``for_prediction``, a generic omics CSV keyed by ``patient_id``);
    * a folder with ``clinical.csv``: generic layout, every other ``*.csv``/``*.csv.gz``
      (except ``slides.csv``, ``manifest.csv``, ``true_risk.csv``, ``splits*``) is an
      omics file, ``slides.csv`` (or ``manifest.csv``) the slide manifest; with
      ``for_prediction`` the folder may hold omics files without ``clinical.csv``;
    * a folder with one TCGA-layout CSV: read with ``slide_dir`` = its ``images/`` (or
      ``slides/``) subfolder when present.

    A ``true_risk.csv`` beside the files (synthetic demo cohorts) fills ``true_risk`` and
    ``meta["truth"]``.

    Args:
        path: File or folder.
        for_prediction: Read new patients to score with a trained model: outcome columns
            optional, one patient accepted, no minimum number of events, and no column
            dropped for being constant or empty within the file (so a patient's inputs
            do not depend on who else is in the file). See :func:`read_tcga` and
            :func:`read_generic`.

    Raises:
        InputValidationError: Path missing, or a folder with no recognisable cohort.
    """
    p = Path(path)
    if not p.exists():
        raise InputValidationError(f"{p}: no such file or folder. Fix: check the cohort path.")
    if p.is_file():
        cols = _header(p)
        if TCGA_ID in cols:
            return read_tcga(p, for_prediction=for_prediction)
        if p.name == "clinical.csv":
            return read_cohort(p.parent, for_prediction=for_prediction)
        if GENERIC_ID in cols:
            if for_prediction and GENERIC_TIME not in cols and GENERIC_EVENT not in cols and len(cols) > 1:
                return read_generic(None, [p], for_prediction=True)
            return read_generic(p, [], for_prediction=for_prediction)
        raise InputValidationError(
            f"{p}: not a recognised cohort file (needs a 'case_id' column for the TCGA layout or "
            "'patient_id', 'time', 'event' for the generic layout). Fix: see the templates."
        )
    files = sorted(f for f in p.iterdir() if f.is_file() and (f.name.endswith(".csv") or f.name.endswith(".csv.gz")))
    omics = [f for f in files if f.name not in RESERVED_FILES and not f.name.startswith("splits")]
    manifest = next((p / m for m in ("slides.csv", "manifest.csv") if (p / m).is_file()), None)
    if (p / "clinical.csv").is_file():
        cohort = read_generic(p / "clinical.csv", omics, manifest, for_prediction=for_prediction)
        return _attach_info(_attach_truth(cohort, p), p)
    tcga = [f for f in omics if TCGA_ID in _header(f)]
    if len(tcga) == 1:
        slide_dir = next((p / d for d in ("images", "slides") if (p / d).is_dir()), None)
        return _attach_info(_attach_truth(read_tcga(tcga[0], slide_dir=slide_dir, for_prediction=for_prediction), p), p)
    if len(tcga) > 1:
        raise InputValidationError(
            f"{p}: holds several TCGA-layout CSVs ({[f.name for f in tcga]}). Fix: give the path of one file."
        )
    if for_prediction and omics and all(GENERIC_ID in _header(f) for f in omics):
        return read_generic(None, omics, manifest, for_prediction=True)
    raise InputValidationError(
        f"{p}: holds neither clinical.csv (generic layout) nor a CSV with a 'case_id' column (TCGA layout). "
        "Fix: see the templates (write_templates)."
    )


# --------------------------------------------------------------------------- templates

_TEMPLATE_GENES = {"mut": ["IDH1", "TP53"], "cnv": ["EGFR", "CDKN2A"], "rnaseq": ["PTEN", "MKI67", "SOX2"]}


def _template_tables() -> dict[str, pd.DataFrame]:
    pids = ["PATIENT-001", "PATIENT-002", "PATIENT-003", "PATIENT-004"]
    clin = pd.DataFrame(
        {
            GENERIC_ID: pids,
            GENERIC_TIME: [14.2, 30.5, 8.1, 52.0],
            GENERIC_EVENT: [1, 0, 1, 0],
            "age": [61, 45, 70, 38],
            "is_female": [0, 1, 1, 0],
        }
    )
    values = {
        "IDH1_mut": [0, 1, 0, 1],
        "TP53_mut": [1, 1, 0, 0],
        "EGFR_cnv": [2, 0, 1, -1],
        "CDKN2A_cnv": [-2, 0, -1, 0],
        "PTEN_rnaseq": [-0.81, 0.42, -1.3, 0.95],
        "MKI67_rnaseq": [1.72, -0.35, 0.88, -1.1],
        "SOX2_rnaseq": [0.15, 0.6, None, -0.4],
    }
    omics = pd.DataFrame({GENERIC_ID: pids, **values})
    slides = pd.DataFrame(
        {GENERIC_ID: ["PATIENT-001", "PATIENT-001", "PATIENT-002"],
         "path": ["slides/P001_a.svs", "slides/P001_b.svs", "/data/slides/P002.tif"]}
    )
    rows = [0, 0, 1, 2, 3]
    tcga = pd.DataFrame(
        {
            TCGA_ID: [pids[i] for i in rows],
            TCGA_SLIDE: ["P001_a.svs", "P001_b.svs", "P002.svs", "P003.svs", "P004.svs"],
            TCGA_TIME: [clin[GENERIC_TIME][i] for i in rows],
            TCGA_CENSORSHIP: [1 - clin[GENERIC_EVENT][i] for i in rows],
            "age": [clin["age"][i] for i in rows],
            "is_female": [clin["is_female"][i] for i in rows],
            **{k: [v[i] for i in rows] for k, v in values.items()},
        }
    )
    return {"tcga": tcga, "clinical": clin, "omics": omics, "slides": slides}


#: File name of each template written by :func:`write_templates`.
TEMPLATE_FILES: dict[str, str] = {
    "tcga": "template_tcga.csv",
    "clinical": "template_clinical.csv",
    "omics": "template_omics.csv",
    "slides": "template_slides.csv",
}


def template_csv_text(kind: str) -> str:
    """CSV text of one template: ``"tcga"``, ``"clinical"``, ``"omics"`` or ``"slides"``.

    Raises:
        ConfigError: Unknown ``kind``.
    """
    tables = _template_tables()
    if kind not in tables:
        raise ConfigError(f"unknown template {kind!r}; choose from {sorted(tables)}.")
    return tables[kind].to_csv(index=False, lineterminator="\n")


def write_templates(folder: str | os.PathLike) -> dict[str, Path]:
    """Write small template CSVs of both layouts into ``folder`` (created if needed).

    Files (see :data:`TEMPLATE_FILES`): ``template_tcga.csv`` (one row per slide, patient
    PATIENT-001 has two slides), ``template_clinical.csv``, ``template_omics.csv`` (genes
    with block suffixes, one empty cell = missing value) and ``template_slides.csv``
    (the generic slide manifest; its paths are examples).

    Returns:
        Path of each template by kind.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, fname in TEMPLATE_FILES.items():
        path = out / fname
        path.write_text(template_csv_text(kind), encoding="utf-8")
        paths[kind] = path
    return paths


def omics_template_csv(
    feature_names: Mapping[str, Sequence[str]] | None = None, *, patient_id: str = "NEW-PATIENT-1"
) -> str:
    """CSV text to fill in for a one-patient omics upload (prediction).

    Header: ``patient_id`` then ``<GENE>_<block>`` for every feature (e.g. the feature
    names a model bundle was trained on); one row with the patient id and empty cells.
    Read the filled file with ``read_generic(None, [file], for_prediction=True)``;
    cells left empty are imputed with the training median.

    Args:
        feature_names: Gene names per genomic block (``"cnv"``, ``"mut"``, ``"rnaseq"``);
            default: a small example set.
        patient_id: Id written in the single data row.
    """
    names = dict(_TEMPLATE_GENES if feature_names is None else feature_names)
    header = [GENERIC_ID]
    for block, genes in names.items():
        if block == CLINICAL_BLOCK:
            continue
        _check_block_names([block])
        header.extend(f"{g}{BLOCK_SUFFIXES[block]}" for g in genes)
    row = [patient_id] + [""] * (len(header) - 1)
    buf = io.StringIO()
    pd.DataFrame([row], columns=header).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()
