"""The slide manifest (``slides.csv``): one row per slide or image, columns ``patient_id`` and ``path``.

One reader for every caller: the generic-layout cohort reader, the ``extract`` command and
``torchrun`` extraction (:func:`read_slide_manifest`, paths relative to the manifest's folder)
and the dashboard's Cohort page (:func:`manifest_slides` on an uploaded table, paths confined to
the server's slide root). Each row's checks are those of
:func:`pathgptomic.data.validation.check_manifest_path`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from pathgptomic.data.columns import GENERIC_ID
from pathgptomic.data.validation import (
    CsvSource,
    check_ids,
    check_manifest_path,
    check_required_columns,
    read_csv_checked,
    source_name,
)
from pathgptomic.errors import DataQualityWarning

__all__ = ["MANIFEST_COLUMNS", "manifest_slides", "read_slide_manifest"]

#: The manifest's columns.
MANIFEST_COLUMNS: tuple[str, str] = (GENERIC_ID, "path")


def manifest_slides(
    table: pd.DataFrame,
    *,
    file: str,
    ids: Sequence[str] | None = None,
    base: Path | None = None,
    resolve: Callable[[str], Path] | None = None,
) -> dict[str, list[str]]:
    """Slide paths per patient from a manifest table.

    Args:
        table: The manifest as read (one row per slide; several rows per patient allowed).
        file: The manifest's name, for messages.
        ids: The cohort's patient ids: every one gets an entry (possibly empty) and rows of
            other patients are ignored with one :class:`~pathgptomic.errors.DataQualityWarning`;
            None keeps every patient of the manifest.
        base: Folder that relative paths resolve against (see :func:`check_manifest_path`).
        resolve: Replaces that rule (e.g. confinement to a slide root).

    Returns:
        ``{patient_id: [paths]}`` in manifest order, a path repeated for one patient kept once.

    Raises:
        InputValidationError: Missing columns, an empty patient id, or a bad path (row named).
    """
    check_required_columns(table, list(MANIFEST_COLUMNS), file=file, layout="slide manifest")
    row_ids = check_ids(table[GENERIC_ID], file=file, column=GENERIC_ID)
    slides: dict[str, list[str]] = {str(pid): [] for pid in ids} if ids is not None else {}
    unknown: list[str] = []
    for position, (pid, raw) in enumerate(zip(map(str, row_ids), table["path"])):
        if ids is not None and pid not in slides:
            unknown.append(pid)
            continue
        path = str(check_manifest_path(raw, file=file, position=position, patient=pid, base=base, resolve=resolve))
        paths = slides.setdefault(pid, [])
        if path not in paths:
            paths.append(path)
    if unknown:
        warnings.warn(
            f"{file}: {len(set(unknown))} patient(s) of the manifest are not in the cohort (e.g. {unknown[0]!r}); "
            "their slides are ignored.",
            DataQualityWarning,
            stacklevel=3,
        )
    return slides


def read_slide_manifest(source: CsvSource, ids: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Read a slide manifest file; relative paths resolve against its folder.

    Args:
        source: The CSV (a path, or an open file whose relative paths resolve against the
            working directory).
        ids: The cohort's patient ids (see :func:`manifest_slides`), or None for every patient.

    Returns:
        ``{patient_id: [paths]}`` in manifest order.

    Raises:
        InputValidationError: The CSV cannot be read (:func:`read_csv_checked`), or a check of
            :func:`manifest_slides` fails.
    """
    base = Path(source).parent if isinstance(source, (str, os.PathLike)) else Path.cwd()
    table = read_csv_checked(source, id_columns=MANIFEST_COLUMNS, what="slide manifest")
    return manifest_slides(table, file=source_name(source), ids=ids, base=base)
