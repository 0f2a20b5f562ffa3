"""Cohort readers: auto-detection (:func:`read_cohort`) over the TCGA layout (:mod:`~pathgptomic.data.tcga_reader`)
and the generic layout (:mod:`~pathgptomic.data.generic_reader`); re-exports their readers, the column names
(:mod:`~pathgptomic.data.columns`) and the templates (:mod:`~pathgptomic.data.templates`).

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

import json
import os
from dataclasses import replace
from pathlib import Path

import pandas as pd

from pathgptomic.data.cohort import Cohort
from pathgptomic.data.columns import (
    BLOCK_SUFFIXES,
    GENERIC_EVENT,
    GENERIC_ID,
    GENERIC_TIME,
    RESERVED_FILES,
    SLIDE_EXTENSIONS,
    TCGA_CENSORSHIP,
    TCGA_ID,
    TCGA_SLIDE,
    TCGA_TIME,
    block_of_column,
)
from pathgptomic.data.generic_reader import read_generic
from pathgptomic.data.tcga_reader import read_tcga
from pathgptomic.data.templates import TEMPLATE_FILES, omics_template_csv, template_csv_text, write_templates
from pathgptomic.data.validation import (
    read_header_checked,
)
from pathgptomic.errors import InputValidationError

__all__ = [
    "BLOCK_SUFFIXES",
    "GENERIC_EVENT",
    "GENERIC_ID",
    "GENERIC_TIME",
    "RESERVED_FILES",
    "SLIDE_EXTENSIONS",
    "TCGA_CENSORSHIP",
    "TCGA_ID",
    "TCGA_SLIDE",
    "TCGA_TIME",
    "TEMPLATE_FILES",
    "block_of_column",
    "omics_template_csv",
    "read_cohort",
    "read_generic",
    "read_tcga",
    "template_csv_text",
    "write_templates",
]


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
        raise InputValidationError(f"{p}: holds several TCGA-layout CSVs ({[f.name for f in tcga]}). Fix: give the path of one file.")
    if for_prediction and omics and all(GENERIC_ID in _header(f) for f in omics):
        return read_generic(None, omics, manifest, for_prediction=True)
    raise InputValidationError(
        f"{p}: holds neither clinical.csv (generic layout) nor a CSV with a 'case_id' column (TCGA layout). "
        "Fix: see the templates (write_templates)."
    )
