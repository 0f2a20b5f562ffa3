"""Every input check of the cohort readers, in one place.

Each check raises :class:`~pathgptomic.errors.InputValidationError` whose message names
the file, the row and/or column at fault, the offending value and the fix. Rows are
numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2.
The readers run all checks on plain DataFrames *before* a :class:`~pathgptomic.data.cohort.Cohort`
is built, so a failed read leaves no partial state behind.

Covered: unreadable/empty/binary files, missing columns, non-numeric or infinite cells,
bad times and event codes, conflicting duplicate patients, too few events, empty feature
blocks, unassignable or duplicated gene columns, slide-manifest paths and folders, and
PORPOISE split files.

Accepted-but-changed input (constant or all-missing feature columns, conflicting feature
values across slides of one patient) produces a single
:class:`~pathgptomic.errors.DataQualityWarning` instead.
"""

from __future__ import annotations

import csv
import gzip
import io
import logging
import os
import warnings
import zlib
from pathlib import Path
from typing import IO, Iterable, Mapping, Sequence, Union

import numpy as np
import pandas as pd

from pathgptomic.errors import DataQualityWarning, InputValidationError

logger = logging.getLogger(__name__)

#: A CSV source: a path, or an open binary/text file object (e.g. a dashboard upload).
CsvSource = Union[str, os.PathLike, IO]

#: At most this many offending items are spelled out in one message.
_MAX_LISTED = 5


def source_name(source: CsvSource) -> str:
    """Human-readable name of a CSV source (its path, or the upload's ``name``)."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return str(getattr(source, "name", None) or "uploaded file")


def spreadsheet_row(position: int) -> int:
    """Spreadsheet row number of the 0-based data row ``position`` (header = row 1)."""
    return int(position) + 2


def _listing(items: Sequence[object], limit: int = _MAX_LISTED) -> str:
    shown = ", ".join(repr(x) if isinstance(x, str) else str(x) for x in list(items)[:limit])
    more = len(items) - limit
    return shown + (f" and {more} more" if more > 0 else "")


def _read_bytes(source: CsvSource, name: str) -> bytes:
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise InputValidationError(f"{name}: file not found. Fix: check the path and file name.")
        if path.is_dir():
            raise InputValidationError(f"{name}: is a folder, not a CSV file. Fix: give the path of the CSV file.")
        try:
            return path.read_bytes()
        except OSError as exc:
            raise InputValidationError(f"{name}: cannot be read ({exc}). Fix: check the file permissions.") from exc
    data = source.read()
    if isinstance(data, str):
        data = data.encode("utf-8")
    return bytes(data)


def _decompress(raw: bytes, name: str) -> bytes:
    if raw[:2] != b"\x1f\x8b":
        if name.endswith(".gz"):
            raise InputValidationError(
                f"{name}: the name ends in .gz but the content is not gzip-compressed. "
                "Fix: compress it with gzip or remove the .gz extension."
            )
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputValidationError(
            f"{name}: is not a valid gzip file ({exc}). Fix: re-export the CSV and compress it again."
        ) from exc


def read_csv_checked(source: CsvSource, *, id_columns: Iterable[str] = (), what: str = "CSV file") -> pd.DataFrame:
    """Read a CSV (plain or gzip) or fail with a message a spreadsheet user can act on.

    Identifier columns are read as text (so ``007`` stays ``007``); blank-header index
    columns (``Unnamed: 0``) are dropped; column names are stripped of surrounding spaces.

    Args:
        source: Path or open file object (a dashboard upload).
        id_columns: Columns to read as strings, if present.
        what: What the file is, for messages (e.g. ``"clinical CSV"``).

    Returns:
        The table, with at least one data row.

    Raises:
        InputValidationError: File missing, empty (0 bytes or header only), binary, not
            UTF-8 text, corrupt gzip, or not parseable as comma-separated values.
    """
    name = source_name(source)
    raw = _read_bytes(source, name)
    if len(raw) == 0:
        raise InputValidationError(f"{name}: the {what} is empty (0 bytes). Fix: export the table again with a header row and data rows.")
    text = _decompress(raw, name)
    if b"\x00" in text[:8192]:
        raise InputValidationError(
            f"{name}: is not a text CSV (it contains binary data; is it an image, Excel or zip file?). "
            "Fix: save the table as comma-separated values (.csv)."
        )
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as exc:
        try:
            text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InputValidationError(
                f"{name}: is not UTF-8 text (byte {exc.start} cannot be decoded). Fix: save the CSV with UTF-8 encoding."
            ) from exc
    if not text.strip():
        raise InputValidationError(f"{name}: the {what} is empty. Fix: add a header row and data rows.")
    dtype = {c: str for c in id_columns}
    try:
        df = pd.read_csv(io.BytesIO(text), dtype=dtype, low_memory=False, encoding="utf-8-sig")
    except pd.errors.EmptyDataError as exc:
        raise InputValidationError(f"{name}: the {what} has no columns. Fix: add a header row and data rows.") from exc
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputValidationError(
            f"{name}: cannot be parsed as a comma-separated file ({first}). "
            "Fix: check that every row has as many fields as the header and that the separator is a comma."
        ) from exc
    df.columns = [str(c).strip() for c in df.columns]
    unnamed = [c for c in df.columns if c.startswith("Unnamed:")]
    if unnamed:
        df = df.drop(columns=unnamed)
    if df.shape[1] == 1 and any(sep in df.columns[0] for sep in (";", "\t", "|")):
        raise InputValidationError(
            f"{name}: has a single column {df.columns[0][:60]!r}; the separator looks like ';', tab or '|'. "
            "Fix: save the table with commas as separators."
        )
    if len(df) == 0:
        raise InputValidationError(
            f"{name}: the {what} has a header row but no data rows. Fix: add one row per patient (or slide)."
        )
    header = next(csv.reader(io.StringIO(text.split(b"\n", 1)[0].decode("utf-8-sig"))), [])
    names = [h.strip() for h in header if h.strip()]
    dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise InputValidationError(f"{name}: column(s) {_listing(dupes)} appear more than once. Fix: give every column a unique name.")
    return df


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
    kinds = np.array([sub[c].dtype.kind for c in sub.columns]) if sub.shape[1] else np.array([], dtype=str)
    numeric = np.isin(kinds, list("biuf"))
    if numeric.any():
        arr[:, numeric] = sub.loc[:, sub.columns[numeric]].to_numpy(dtype=float)
    bad_cells: list[tuple[int, str, object]] = []
    for j in np.flatnonzero(~numeric):
        col = sub.columns[j]
        s = sub[col]
        text = s.astype("string").str.strip()
        conv = pd.to_numeric(text, errors="coerce").astype(float)
        bad = conv.isna() & text.notna() & (text != "")
        if bad.any():
            bad_cells.extend((int(p), col, s.iloc[p]) for p in np.flatnonzero(bad.to_numpy()))
        arr[:, j] = conv.to_numpy()
    if bad_cells:
        bad_cells.sort()
        p, col, val = bad_cells[0]
        who = f" (patient {ids[p]})" if ids is not None else ""
        more = f" ({len(bad_cells) - 1} more non-numeric cell(s) elsewhere)" if len(bad_cells) > 1 else ""
        raise InputValidationError(
            f"{file}: row {spreadsheet_row(p)}{who}, column {col!r}: value {str(val)!r} is not a number{more}. "
            f"Fix: every {kind} column must hold numbers; leave the cell empty for a missing value."
        )
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


def check_time(time: np.ndarray, *, file: str, column: str, ids: Sequence[str]) -> None:
    """Fail unless every follow-up time is finite and > 0.

    Raises:
        InputValidationError: Names row, patient and value of the first bad time.
    """
    t = np.asarray(time, dtype=float)
    bad = ~np.isfinite(t) | (t <= 0)
    if not bad.any():
        return
    p = int(np.flatnonzero(bad)[0])
    val = t[p]
    what = "is missing" if np.isnan(val) else ("is infinite" if np.isinf(val) else f"is {val:g} (must be > 0)")
    more = f" ({int(bad.sum()) - 1} more bad time(s))" if bad.sum() > 1 else ""
    raise InputValidationError(
        f"{file}: row {spreadsheet_row(p)} (patient {ids[p]}), column {column!r}: follow-up time {what}{more}. "
        "Fix: every patient needs a positive, finite follow-up time (e.g. 0.5 for half a month; "
        "remove the patient if the time is unknown)."
    )


def check_binary(values: np.ndarray, *, file: str, column: str, ids: Sequence[str], meaning: str) -> np.ndarray:
    """Return ``values`` as int 0/1, failing on anything else (including missing).

    Args:
        meaning: What 1 means, for the message (e.g. ``"1 = death observed, 0 = censored"``).

    Raises:
        InputValidationError: Names row, patient, column and the offending value.
    """
    v = np.asarray(values, dtype=float)
    bad = ~np.isin(v, (0.0, 1.0))
    if bad.any():
        p = int(np.flatnonzero(bad)[0])
        shown = "empty" if np.isnan(v[p]) else f"{v[p]:g}"
        more = f" ({int(bad.sum()) - 1} more invalid value(s))" if bad.sum() > 1 else ""
        raise InputValidationError(
            f"{file}: row {spreadsheet_row(p)} (patient {ids[p]}), column {column!r}: value {shown} is not 0 or 1{more}. "
            f"Fix: use {meaning}."
        )
    return v.astype(int)


def check_outcome_conflicts(
    ids: np.ndarray, outcomes: pd.DataFrame, *, file: str, columns: Sequence[str]
) -> None:
    """Fail when rows of one patient disagree on any outcome column.

    Several rows per patient (one per slide) are allowed when their outcomes agree.

    Raises:
        InputValidationError: Names the patient, the rows and the disagreeing values.
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
    vals = [frame.iloc[r][col] for r in rows]
    more = f" ({len(conflicting) - 1} more patient(s) conflict)" if len(conflicting) > 1 else ""
    raise InputValidationError(
        f"{file}: patient {pid} appears in rows {_listing([spreadsheet_row(r) for r in rows])} with conflicting "
        f"{col!r} values {_listing([f'{v:g}' if isinstance(v, float) else v for v in vals])}{more}. "
        "Fix: rows of the same patient (one per slide) must carry identical outcomes; correct or remove the wrong row."
    )


def check_outcomes(
    df: pd.DataFrame, ids: np.ndarray, *, file: str, time_column: str, status_column: str, meaning: str
) -> tuple[np.ndarray, np.ndarray]:
    """All outcome checks of one table: numeric, time > 0 and finite, status in {0, 1}, no conflicts.

    Args:
        df: Raw table, one row per file row.
        ids: Patient id per row, shape ``(len(df),)``.
        time_column: Follow-up time column.
        status_column: Event (or TCGA censorship) column.
        meaning: What 1 and 0 mean in ``status_column`` (for messages).

    Returns:
        ``(time, status)`` per row: float and int arrays of shape ``(len(df),)``.

    Raises:
        InputValidationError: From :func:`coerce_numeric`, :func:`check_time`,
            :func:`check_binary` or :func:`check_outcome_conflicts`.
    """
    outc = coerce_numeric(df, [time_column, status_column], file=file, ids=ids, kind="outcome")
    time = outc[time_column].to_numpy(dtype=float)
    check_time(time, file=file, column=time_column, ids=ids)
    status = check_binary(outc[status_column].to_numpy(), file=file, column=status_column, ids=ids, meaning=meaning)
    check_outcome_conflicts(ids, outc, file=file, columns=[time_column, status_column])
    return time, status


def collapse_feature_rows(features: pd.DataFrame, ids: np.ndarray, *, file: str) -> pd.DataFrame:
    """Collapse rows of the same patient to one row (first occurrence order).

    Missing cells are filled from the patient's other rows; when the rows disagree on a
    feature value, the first row wins and a :class:`DataQualityWarning` names the columns.

    Args:
        features: Float table, one row per file row, shape ``(n_rows, p)``.
        ids: Patient id per row, shape ``(n_rows,)``.

    Returns:
        Float table of shape ``(n_patients, p)`` indexed by unique patient id.
    """
    codes, order = pd.factorize(pd.Index(ids), sort=False)
    if len(order) == len(ids):
        f = features.copy()
        f.index = pd.Index(ids, name="patient_id")
        return f
    arr = features.to_numpy(dtype=float)
    first_row = np.unique(codes, return_index=True)[1]  # first row of each patient, in order
    base = arr[first_row]
    if np.isnan(base).any():  # fill missing cells from the patient's later rows
        base = features.groupby(codes, sort=True).first().to_numpy(dtype=float)
    ref = base[codes]
    differs = ~np.isnan(arr) & (arr != ref)
    conflict_cols = [str(c) for c in features.columns[differs.any(axis=0)]]
    if conflict_cols:
        warnings.warn(
            f"{file}: rows of the same patient disagree in feature column(s) {_listing(conflict_cols)}; "
            "the first row's value is used.",
            DataQualityWarning,
            stacklevel=3,
        )
    return pd.DataFrame(base, index=pd.Index(np.asarray(order, dtype=str), name="patient_id"), columns=features.columns)


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
    clash = [g for g in names if g in set(taken)]
    if clash:
        raise InputValidationError(
            f"{file}: gene(s) {_listing(clash)} of block {block!r} also appear in another omics file. "
            "Fix: keep each gene in one file."
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


def resolve_manifest_paths(paths: pd.Series, ids: Sequence[str], *, base: Path, file: str) -> list[Path]:
    """Resolve the ``path`` column of a slide manifest, failing on empty or missing files.

    Args:
        paths: Raw ``path`` cells, one per manifest row.
        ids: Patient id per row.
        base: Folder that relative paths are resolved against (the manifest's folder).

    Returns:
        Absolute (or ``base``-joined) paths of existing files, one per row.

    Raises:
        InputValidationError: Names row, patient and path of the first bad row.
    """
    out: list[Path] = []
    for pos, (pid, raw) in enumerate(zip(ids, paths)):
        if pd.isna(raw) or str(raw).strip() == "":
            raise InputValidationError(
                f"{file}: row {spreadsheet_row(pos)} (patient {pid}), column 'path': the path is empty. "
                "Fix: give the slide or image file path, or remove the row."
            )
        p = Path(str(raw).strip()).expanduser()
        if not p.is_absolute():
            p = base / p
        if not p.is_file():
            raise InputValidationError(
                f"{file}: row {spreadsheet_row(pos)} (patient {pid}), column 'path': file {p} does not exist. "
                "Fix: correct the path (relative paths are resolved against the manifest's folder)."
            )
        out.append(p)
    return out


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


def drop_uninformative(blocks: Mapping[str, pd.DataFrame], *, file: str) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    """Drop feature columns that are all missing or constant, with ONE warning listing them.

    A column is constant when it has at most one distinct non-missing value.

    Args:
        blocks: Patient-level float blocks.

    Returns:
        ``(blocks, dropped)``: the blocks without those columns, and the dropped column
        names per block (only blocks that lost columns).

    Raises:
        InputValidationError: When a block would be left with no column at all.
    """
    out: dict[str, pd.DataFrame] = {}
    dropped: dict[str, list[str]] = {}
    for name, df in blocks.items():
        arr = df.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = np.nanmin(arr, axis=0) if len(arr) else np.full(arr.shape[1], np.nan)
            hi = np.nanmax(arr, axis=0) if len(arr) else np.full(arr.shape[1], np.nan)
        useless = np.isnan(lo) | (lo == hi)
        if useless.any():
            cols = [str(c) for c in df.columns[useless]]
            dropped[name] = cols
            if useless.all():
                raise InputValidationError(
                    f"{file}: every column of block {name!r} is empty or constant ({_listing(cols)}), "
                    "so it carries no information. Fix: check the values or do not request this block."
                )
            out[name] = df.loc[:, ~useless]
        else:
            out[name] = df
    if dropped:
        parts = "; ".join(f"{b}: {_listing(c, limit=10)}" for b, c in dropped.items())
        total = sum(len(c) for c in dropped.values())
        warnings.warn(
            f"{file}: dropped {total} feature column(s) that are all missing or constant ({parts}).",
            DataQualityWarning,
            stacklevel=3,
        )
        logger.info("dropped uninformative columns from %s: %s", file, dropped)
    return out, dropped
