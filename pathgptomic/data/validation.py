"""Every input check of the cohort readers: columns, ids, numbers, outcomes, feature blocks, gene
names, slide-manifest paths and folders, and PORPOISE split files.

Each check raises :class:`~pathgptomic.errors.InputValidationError` whose message names
the file, the row and/or column at fault, the offending value and the fix. Rows are
numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2.
The readers run all checks on plain DataFrames *before* a :class:`~pathgptomic.data.cohort.Cohort`
is built, so a failed read leaves no partial state behind.

Reading a CSV with its checks lives in :mod:`pathgptomic.data.csv_reading` (header, separator,
repeated columns, parsing), :mod:`pathgptomic.data.bounded_read` (size bounds, decompression, binary
formats) and :mod:`pathgptomic.data.text_encoding` (encodings); input that is accepted but changed
(rows of one patient collapsed, constant or all-missing columns dropped) in
:mod:`pathgptomic.data.feature_cleanup`. Their public names are re-exported here, so
``from pathgptomic.data.validation import read_csv_checked`` keeps working.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pathgptomic import validators
from pathgptomic.data.bounded_read import (
    DEFAULT_MAX_TEXT_MB,
    MAX_HEADER_BYTES,
    MAX_TEXT_ENV,
    ReadLimits,
    current_limits,
    default_limits,
    read_limits,
)
from pathgptomic.data.csv_reading import WIDE_TABLE_COLUMNS, read_csv_checked, read_header_checked
from pathgptomic.data.feature_cleanup import collapse_feature_rows, drop_uninformative
from pathgptomic.data.naming import CsvSource, _listing, source_name, spreadsheet_row
from pathgptomic.errors import InputValidationError
from pathgptomic.validators import MAX_FOLLOW_UP

logger = logging.getLogger(__name__)

__all__ = [
    # checks defined here
    "check_binary",
    "check_block_assignment",
    "check_block_nonempty",
    "check_folder",
    "check_has_features",
    "check_ids",
    "check_manifest_path",
    "check_min_events",
    "check_outcome_conflicts",
    "check_outcomes",
    "check_required_columns",
    "check_split_fold",
    "check_time",
    "check_unique_genes",
    "coerce_numeric",
    # re-exported from pathgptomic.validators and the reading and clean-up modules
    "MAX_FOLLOW_UP",
    "DEFAULT_MAX_TEXT_MB",
    "MAX_HEADER_BYTES",
    "MAX_TEXT_ENV",
    "WIDE_TABLE_COLUMNS",
    "CsvSource",
    "ReadLimits",
    "collapse_feature_rows",
    "current_limits",
    "default_limits",
    "drop_uninformative",
    "read_csv_checked",
    "read_header_checked",
    "read_limits",
    "source_name",
    "spreadsheet_row",
]


def check_required_columns(df: pd.DataFrame, required: Sequence[str], *, file: str, layout: str = "") -> None:
    """Fail when any of ``required`` is not a column of ``df``.

    Raises:
        InputValidationError: Names each missing column, suggests a case-insensitive match
            when there is one, and lists the columns the file has.
    """
    missing = [c for c in required if c not in df.columns]
    if not missing:
        return
    lower = {c.lower().strip(): c for c in df.columns}
    hints = [f"{lower[m.lower()]!r} -> {m!r}" for m in missing if m.lower() in lower]
    hint = f" Rename {', '.join(hints)} (names are case-sensitive)." if hints else ""
    have = _listing(list(df.columns), limit=8)
    where = f" for the {layout} layout" if layout else ""
    raise InputValidationError(
        f"{file}: missing required column(s) {_listing(missing)}{where}. Found columns: {have}.{hint} "
        f"Fix: add the column(s) {', '.join(missing)} to the header row."
    )


def coerce_numeric(
    df: pd.DataFrame, columns: Sequence[str], *, file: str, ids: Sequence[str] | None = None, kind: str = "feature"
) -> pd.DataFrame:
    """Return ``df[columns]`` as float, failing on text that is not a number or on ±inf.

    Empty cells and ``NA``/``NaN`` are missing values (kept as NaN). Booleans become 0/1.

    Args:
        df: Raw table (one row per file row, in file order).
        columns: Columns that must be numeric.
        file: File name for messages.
        ids: Patient id per row (for messages), shape ``(len(df),)``.
        kind: ``"feature"`` or ``"outcome"`` (wording only).

    Returns:
        Float DataFrame of shape ``(len(df), len(columns))``, same index as ``df``.

    Raises:
        InputValidationError: Names row, patient, column and the offending value.
    """
    sub = df.loc[:, list(columns)]
    arr = np.empty(sub.shape, dtype=float)
    numeric = np.array([dt.kind in "biuf" for dt in sub.dtypes], dtype=bool)
    if numeric.any():
        arr[:, numeric] = sub.iloc[:, np.flatnonzero(numeric)].to_numpy(dtype=float)
    text_cols = np.flatnonzero(~numeric)
    if len(text_cols):  # all text columns in one vectorised conversion (fast for 60,000 columns)
        raw = sub.iloc[:, text_cols].to_numpy(dtype=object)
        text = pd.Series(raw.ravel()).astype("string").str.strip()
        conv = pd.to_numeric(text, errors="coerce").astype(float)
        bad = (conv.isna() & text.notna() & (text != "")).to_numpy().reshape(raw.shape)
        if bad.any():
            rows, cols = np.nonzero(bad)  # row-major: first bad row, then leftmost column
            p, col, val = int(rows[0]), sub.columns[text_cols[cols[0]]], raw[rows[0], cols[0]]
            who = f" (patient {ids[p]})" if ids is not None else ""
            more = f" ({len(rows) - 1} more non-numeric cell(s) elsewhere)" if len(rows) > 1 else ""
            raise InputValidationError(
                f"{file}: row {spreadsheet_row(p)}{who}, column {col!r}: value {str(val)!r} {_why_not_number(val)}{more}. "
                f"Fix: every {kind} column must hold numbers; leave the cell empty for a missing value."
            )
        arr[:, text_cols] = conv.to_numpy(dtype=float).reshape(raw.shape)
    res = pd.DataFrame(arr, index=sub.index, columns=sub.columns)
    inf = np.isinf(arr)
    if inf.any():
        r, c = np.argwhere(inf)[0]
        who = f" (patient {ids[r]})" if ids is not None else ""
        raise InputValidationError(
            f"{file}: row {spreadsheet_row(int(r))}{who}, column {res.columns[c]!r}: value {arr[r, c]} is infinite. "
            f"Fix: replace it with a finite number, or leave the cell empty for a missing value."
        )
    return res


def _why_not_number(value: object) -> str:
    """``"is not a number"``, or why a number-looking text is refused (it overflows to infinity)."""
    try:
        overflow = np.isinf(float(str(value).strip()))
    except ValueError:
        overflow = False
    return "is too large: it overflows to infinity" if overflow else "is not a number"


def check_ids(ids: pd.Series, *, file: str, column: str) -> np.ndarray:
    """Patient ids as stripped strings; fails on empty ids (naming the row)."""
    s = ids.astype("string").str.strip()
    empty = s.isna() | (s == "")
    if empty.any():
        p = int(np.flatnonzero(empty.to_numpy())[0])
        raise InputValidationError(
            f"{file}: row {spreadsheet_row(p)}, column {column!r}: the patient id is empty. Fix: give every row a patient id."
        )
    return s.to_numpy(dtype=object).astype(str)


def _row_locator(file: str, column: str, ids: Sequence[str]) -> Callable[[int], str]:
    """How messages name row ``p`` of ``file``: ``"<file>: row <r> (patient <id>), column '<column>'"``."""
    return lambda p: f"{file}: row {spreadsheet_row(p)} (patient {ids[p]}), column {column!r}"


def check_time(time: np.ndarray, *, file: str, column: str, ids: Sequence[str], unit: str = "months") -> None:
    """Fail unless every follow-up time is finite, > 0 and at most 100 years (:data:`MAX_FOLLOW_UP`).

    The rule is :func:`pathgptomic.validators.check_time` with ``lower="positive"``; this function
    names the file, row, patient and column.

    Args:
        time: Follow-up time per row, shape ``(n_rows,)``.
        ids: Patient id per row, shape ``(n_rows,)``.
        unit: Unit of ``time`` (``"months"`` in both layouts); an unknown unit gets no upper bound.

    Raises:
        InputValidationError: Names row, patient, column, value and unit of the first bad time.
    """
    validators.check_time(
        time,
        name=column,
        lower="positive",
        unit=unit,
        locate=_row_locator(file, column, ids),
        fix=(
            f"every patient needs a positive, finite follow-up time in {unit}, at most 100 years (e.g. 0.5 for "
            "half a month; remove the patient if the time is unknown; check the unit if times look too large)."
        ),
    )


def check_binary(values: np.ndarray, *, file: str, column: str, ids: Sequence[str], meaning: str) -> np.ndarray:
    """Return ``values`` as int 0/1, failing on anything else (including missing).

    The rule is :func:`pathgptomic.validators.check_event`; this function names the file, row,
    patient and column.

    Args:
        meaning: What 1 means, for the message (e.g. ``"1 = death observed, 0 = censored"``).

    Raises:
        InputValidationError: Names row, patient, column and the offending value.
    """
    return validators.check_event(values, name=column, locate=_row_locator(file, column, ids), meaning=meaning).astype(int)


def _shown_number(value: Any) -> Any:
    """A float as a message shows it, unquoted and short (``5``, ``6.5``); anything else unchanged."""
    if not isinstance(value, float):
        return value
    short = float(f"{value:g}")
    return int(short) if short.is_integer() else short


def check_outcome_conflicts(
    ids: np.ndarray,
    outcomes: pd.DataFrame,
    *,
    file: str,
    columns: Sequence[str],
    positions: Sequence[int] | None = None,
) -> None:
    """Fail when rows of one patient disagree on any outcome column.

    Several rows per patient (one per slide) are allowed when their outcomes agree. A missing
    value differs from any number (the readers refuse missing outcomes before this check; the
    evaluation drops those rows first).

    Args:
        ids: Patient id per row, shape ``(len(outcomes),)``.
        outcomes: The outcome columns, one row per table row.
        file: Names the table in the message.
        columns: The outcome columns that must agree.
        positions: 0-based data-row position of each row in ``file`` (default ``0, 1, ...``),
            for a table whose rows were filtered before the check.

    Raises:
        InputValidationError: Names the patient, the rows (as a spreadsheet numbers them) and
            the disagreeing values.
    """
    frame = outcomes.loc[:, list(columns)].copy()
    frame.index = pd.RangeIndex(len(frame))
    frame["_id"] = ids
    dup = frame["_id"].duplicated(keep=False)
    if not dup.any():
        return
    sub = frame[dup]
    nun = sub.groupby("_id", sort=False)[list(columns)].nunique(dropna=False)
    conflicting = nun[(nun > 1).any(axis=1)]
    if conflicting.empty:
        return
    pid = conflicting.index[0]
    col = next(c for c in columns if conflicting.loc[pid, c] > 1)
    rows = np.flatnonzero(frame["_id"].to_numpy() == pid)
    vals = [_shown_number(frame.iloc[r][col]) for r in rows]
    where = rows if positions is None else np.asarray(positions)[rows]
    more = f" ({len(conflicting) - 1} more patient(s) conflict)" if len(conflicting) > 1 else ""
    raise InputValidationError(
        f"{file}: patient {pid} appears in rows {_listing([spreadsheet_row(r) for r in where])} with conflicting "
        f"{col!r} values {_listing(vals)}{more}. "
        "Fix: rows of the same patient (e.g. one per slide, or repeated predictions) must carry identical outcomes; "
        "correct or remove the wrong row."
    )


def check_outcomes(
    df: pd.DataFrame,
    ids: np.ndarray,
    *,
    file: str,
    time_column: str,
    status_column: str,
    meaning: str,
    time_unit: str = "months",
) -> tuple[np.ndarray, np.ndarray]:
    """All outcome checks of one table: numeric, time > 0, finite and plausible, status in {0, 1}, no conflicts.

    Args:
        df: Raw table, one row per file row.
        ids: Patient id per row, shape ``(len(df),)``.
        time_column: Follow-up time column.
        status_column: Event (or TCGA censorship) column.
        meaning: What 1 and 0 mean in ``status_column`` (for messages).
        time_unit: Unit of ``time_column`` (sets the 100-year bound of :func:`check_time`).

    Returns:
        ``(time, status)`` per row: float and int arrays of shape ``(len(df),)``.

    Raises:
        InputValidationError: From :func:`coerce_numeric`, :func:`check_time`,
            :func:`check_binary` or :func:`check_outcome_conflicts`.
    """
    outc = coerce_numeric(df, [time_column, status_column], file=file, ids=ids, kind="outcome")
    time = outc[time_column].to_numpy(dtype=float)
    check_time(time, file=file, column=time_column, ids=ids, unit=time_unit)
    status = check_binary(outc[status_column].to_numpy(), file=file, column=status_column, ids=ids, meaning=meaning)
    check_outcome_conflicts(ids, outc, file=file, columns=[time_column, status_column])
    return time, status


def check_min_events(event: np.ndarray, *, file: str, minimum: int = 2) -> None:
    """Fail when the cohort has fewer than ``minimum`` observed events.

    Raises:
        InputValidationError: Says how many events there are and what a Cox model needs.
    """
    n_ev = int(np.asarray(event).sum())
    if n_ev < minimum:
        raise InputValidationError(
            f"{file}: the cohort has {n_ev} observed event(s) among {len(event)} patients; at least {minimum} are "
            "needed to fit or evaluate a survival model. Fix: check the event/censorship coding "
            "(event: 1 = death observed; TCGA censorship: 1 = censored) or add patients."
        )


def check_block_nonempty(columns: Sequence[str], *, block: str, file: str, expected: str) -> None:
    """Fail when a requested feature block has no columns.

    Args:
        expected: How the block's columns are recognised (e.g. ``"columns ending in '_cnv'"``).
    """
    if len(columns) == 0:
        raise InputValidationError(
            f"{file}: no feature columns for the requested block {block!r} (expected {expected}). "
            f"Fix: add such columns, or do not request the {block!r} block."
        )


def check_has_features(columns: Sequence[str], *, file: str) -> None:
    """Fail when a table has no feature column at all.

    Raises:
        InputValidationError: Names the file and the expected column names.
    """
    if len(columns) == 0:
        raise InputValidationError(
            f"{file}: no feature columns (expected gene columns such as TP53_mut, EGFR_cnv, PTEN_rnaseq). "
            "Fix: add one column per gene, e.g. starting from the omics template."
        )


def check_block_assignment(unassigned: Sequence[str], *, file: str) -> None:
    """Fail when omics columns have neither a block suffix nor a block-named file.

    Raises:
        InputValidationError: Names the columns and both ways to fix them.
    """
    if unassigned:
        raise InputValidationError(
            f"{file}: cannot tell which block column(s) {_listing(list(unassigned))} belong to. Fix: end the column "
            "names in _cnv, _mut or _rnaseq, or name the file after its block (e.g. cnv.csv, mut.csv, rnaseq.csv)."
        )


def check_unique_genes(names: Sequence[str], *, block: str, file: str, taken: Iterable[str] = ()) -> None:
    """Fail when a gene appears twice in one block (within ``names`` or already in ``taken``).

    Args:
        names: Gene names of the block from ``file`` (suffixes stripped).
        taken: Gene names of the same block read from earlier files.

    Raises:
        InputValidationError: Names the genes, the block and the file.
    """
    seen = pd.Index(names)
    dup = list(seen[seen.duplicated()])
    if dup:
        raise InputValidationError(
            f"{file}: gene(s) {_listing(dup)} appear twice in block {block!r} (e.g. with and without suffix). "
            "Fix: keep one column per gene."
        )
    taken_set = set(taken)
    clash = [g for g in names if g in taken_set]
    if clash:
        raise InputValidationError(
            f"{file}: gene(s) {_listing(clash)} of block {block!r} also appear in another omics file. Fix: keep each gene in one file."
        )


def check_folder(path: str | os.PathLike, *, what: str, fix: str) -> Path:
    """Return ``path`` as a Path, failing unless it is an existing folder.

    Raises:
        InputValidationError: ``"<what> <path> does not exist. Fix: <fix>"``.
    """
    folder = Path(path)
    if not folder.is_dir():
        raise InputValidationError(f"{what} {folder} does not exist. Fix: {fix}.")
    return folder


def check_manifest_path(
    raw: object,
    *,
    file: str,
    position: int,
    patient: str,
    base: Path | None = None,
    resolve: Callable[[str], Path] | None = None,
) -> Path:
    """One ``path`` cell of a slide manifest as the path of an existing file.

    Args:
        raw: The cell.
        file: The manifest's name, for messages.
        position: 0-based data row of the cell (messages give the spreadsheet row).
        patient: The row's patient id.
        base: Folder that relative paths resolve against (the manifest's folder; default the
            working directory); ``~`` is expanded, absolute paths are kept.
        resolve: Replaces that rule (e.g. the dashboard confines paths to its slide root); an
            :class:`InputValidationError` it raises is reported for this row, and the message
            shows the path as written, never the resolved one.

    Returns:
        The file's path.

    Raises:
        InputValidationError: Names row, patient and path when the cell is empty, ``resolve``
            refuses it or no file is there.
    """
    where = f"{file}: row {spreadsheet_row(position)} (patient {patient}), column 'path'"
    if pd.isna(raw) or str(raw).strip() == "":
        raise InputValidationError(f"{where}: the path is empty. Fix: give the slide or image file path, or remove the row.")
    text = str(raw).strip()
    if resolve is not None:
        try:
            path = resolve(text)
        except InputValidationError as exc:
            raise InputValidationError(f"{where}: {exc}") from exc
        shown, rule = repr(text), ""
    else:
        path = Path(text).expanduser()
        if not path.is_absolute():
            path = (base if base is not None else Path.cwd()) / path
        shown, rule = str(path), " (relative paths are resolved against the manifest's folder)"
    if not path.is_file():
        raise InputValidationError(f"{where}: file {shown} does not exist. Fix: correct the path{rule}, or remove the row.")
    return path


def check_split_fold(train: Sequence[str], val: Sequence[str], known: Iterable[str], *, file: str) -> None:
    """Check one PORPOISE split file: no id in both columns, both columns match the cohort.

    Args:
        train, val: Ids of the two columns (missing cells removed).
        known: The cohort's patient ids.

    Raises:
        InputValidationError: An id in both columns, or a column with no cohort patient.
    """
    both = sorted(set(train) & set(val))
    if both:
        raise InputValidationError(
            f"{file}: {len(both)} id(s) are in both the train and val columns (e.g. {both[0]!r}). "
            "Fix: each patient must be in one column only."
        )
    known_set = set(known)
    for column, values in (("train", train), ("val", val)):
        if not any(v in known_set for v in values):
            raise InputValidationError(
                f"{file}: the {column} column matches no patient of the cohort. "
                "Fix: check that the split file belongs to this cohort (ids are case_ids / patient_ids)."
            )
