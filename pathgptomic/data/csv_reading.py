"""Reading a CSV with every check: the header row (separator, repeated column names, size), then the
rows into a DataFrame (``pd.read_csv``, or a bounded column-wise parser for tables wider than
:data:`WIDE_TABLE_COLUMNS`), within the :class:`~pathgptomic.data.bounded_read.ReadLimits` in force."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from pathgptomic.data.bounded_read import (
    _EXPORT_FIX,
    _MB,
    MAX_HEADER_BYTES,
    ReadLimits,
    _text_chunks,
    current_limits,
)
from pathgptomic.data.naming import CsvSource, _listing, source_name, spreadsheet_row
from pathgptomic.data.text_encoding import _decode_text, _utf8_bytes
from pathgptomic.errors import InputValidationError


def _lines(text: str) -> Iterator[str]:
    """Lines of ``text`` (with their newline), produced lazily."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _header_row(text: str, name: str, *, complete: bool = True) -> tuple[list[str], str, int]:
    """First non-blank CSV record of ``text``: ``(fields, raw line, offset after it)``.

    Args:
        complete: ``text`` is the whole file (else a header without line end is too long).

    Raises:
        InputValidationError: The header row has no line end within :data:`MAX_HEADER_BYTES`,
            or cannot be parsed (e.g. a cell over 128 KB).
    """
    offset = 0
    for line in _lines(text):
        offset += len(line)
        if not line.strip():
            continue
        if not complete and not line.endswith("\n"):
            raise InputValidationError(
                f"{name}: row 1 (header) is longer than {MAX_HEADER_BYTES // _MB} MB. "
                f"Fix: check that the file is a CSV table with one header row; {_EXPORT_FIX}."
            )
        try:
            return next(csv.reader([line])), line.rstrip("\r\n"), offset
        except csv.Error as exc:
            raise InputValidationError(
                f"{name}: row 1 (header) cannot be parsed ({exc}). Fix: give the table a header row of column names."
            ) from exc
    return [], "", offset


def _check_separator(fields: list[str], line: str, name: str) -> None:
    """Fail when the header is one field that another separator splits into several columns."""
    if len(fields) != 1:
        return
    for sep, label in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
        if sep not in line:
            continue
        cols = next(csv.reader([line], delimiter=sep), [])
        if len(cols) > 1:
            raise InputValidationError(
                f"{name}: row 1 (header) is separated by {label} ({len(cols)} columns, e.g. "
                f"{_listing([c.strip() for c in cols], limit=3)}), not by commas; this reader accepts only commas "
                f"as the separator. Fix: {_EXPORT_FIX}."
            )


def _check_duplicate_columns(fields: Sequence[str], name: str) -> None:
    """Fail when a (stripped, non-blank) column name repeats; O(number of columns)."""
    names = [f.strip() for f in fields]
    counts = Counter(n for n in names if n)
    dupes = sorted(c for c, k in counts.items() if k > 1)
    if dupes:
        first = dupes[0]
        where = [i + 1 for i, n in enumerate(names) if n == first]
        raise InputValidationError(
            f"{name}: column(s) {_listing(dupes)} appear more than once in the header (row 1; "
            f"{first!r} at column positions {_listing(where)}). Fix: give every column a unique name."
        )


def _checked_header(text: str, name: str, what: str, *, complete: bool) -> tuple[list[str], int]:
    """Header checks shared by :func:`read_csv_checked` and :func:`read_header_checked`.

    Args:
        text: The file's text, or its first part when ``complete`` is False.
        complete: ``text`` is the whole file.

    Returns:
        ``(fields, offset)``: the raw header fields and the text offset just after the header.

    Raises:
        InputValidationError: Empty (blank) file, a header over :data:`MAX_HEADER_BYTES`,
            another separator than commas, or repeated column names.
    """
    if complete and not text.strip():
        raise InputValidationError(
            f"{name}: the {what} is empty (it holds only blank lines or spaces). Fix: add a header row and data rows."
        )
    fields, line, offset = _header_row(text, name, complete=complete)
    _check_separator(fields, line, name)
    _check_duplicate_columns(fields, name)
    return fields, offset


def _no_data_rows(name: str, what: str) -> InputValidationError:
    return InputValidationError(f"{name}: the {what} has a header row but no data rows. Fix: add one row per patient (or slide).")


def _header_then_data(text: str) -> bool:
    """True when ``text`` holds a complete non-blank line followed by non-blank text."""
    lines = (line for line in _lines(text) if line.strip())
    first = next(lines, "")
    return first.endswith("\n") and next(lines, None) is not None


def read_header_checked(path: CsvSource, *, what: str = "CSV file") -> list[str]:
    """The stripped, non-blank column names of a cohort candidate file, reading only its start.

    Runs the same checks, with the same messages, as :func:`read_csv_checked` does before
    parsing (missing/empty/binary file, zip or Excel content, compression, encoding,
    separator, repeated names, no data row), on at most :data:`MAX_HEADER_BYTES` of text
    (decompressed in bounded steps).

    Args:
        path: The file (or an open file object, which is consumed).
        what: What the file is, for messages (e.g. ``"TCGA-layout CSV"``).

    Returns:
        Column names in file order, stripped of surrounding spaces; blank names (an index
        column without header) are left out, as :func:`read_csv_checked` drops them.

    Raises:
        InputValidationError: The first problem found, naming the file and the fix.
    """
    name = source_name(path)
    buf = bytearray()
    complete = True
    chunks = _text_chunks(path, name, what, current_limits())
    try:
        for piece in chunks:
            buf += piece
            text = _decode_text(buf, name, final=False)
            if _header_then_data(text) or len(buf) > MAX_HEADER_BYTES:
                complete = False
                break
    finally:
        chunks.close()
    text = _decode_text(buf, name, final=complete)
    fields, offset = _checked_header(text, name, what, complete=complete)
    if complete and not text[offset:].strip():
        raise _no_data_rows(name, what)
    return [f.strip() for f in fields if f.strip()]


def read_csv_checked(
    source: CsvSource, *, id_columns: Iterable[str] = (), what: str = "CSV file", limits: ReadLimits | None = None
) -> pd.DataFrame:
    """Read a CSV (plain, gzip, bz2 or xz) or fail with a message a spreadsheet user can act on.

    The text (after decompression, done in bounded steps) may hold at most
    ``limits.max_text_bytes`` bytes and ``limits.max_rows`` data rows; every check runs on the
    decompressed text. UTF-8 with or without a byte-order mark (Excel's "CSV UTF-8") and
    UTF-16/32 with a byte-order mark are read; other encodings (Latin-1) are refused naming the
    row and column. Only commas separate columns: a semicolon-, tab- or bar-separated file is
    refused with the export fix (a semicolon file usually has decimal commas too, which
    cannot be told from thousands separators). Identifier columns are read as text (so
    ``007`` stays ``007``); blank-header index columns (``Unnamed: 0``) are dropped; column
    names are stripped of surrounding spaces.

    Args:
        source: Path or open file object (a dashboard upload).
        id_columns: Columns to read as strings, if present.
        what: What the file is, for messages (e.g. ``"clinical CSV"``).
        limits: Bounds of this read (default: :func:`current_limits`).

    Returns:
        The table, shape ``(n_rows, n_columns)`` with ``1 <= n_rows <= limits.max_rows``.

    Raises:
        InputValidationError: File missing, empty (0 bytes, blank or header only), binary
            (zip, Excel, image, pickle, ...), UTF-16 without BOM, not UTF-8, corrupt or
            oversized compressed data, over the text or row bound, another separator than
            commas, repeated column names, or not parseable as comma-separated values.
    """
    name = source_name(source)
    lim = limits or current_limits()
    buf = bytearray()
    for piece in _text_chunks(source, name, what, lim):
        buf += piece
    data = _utf8_bytes(buf, name)
    del buf
    head = _decode_text(data[:MAX_HEADER_BYTES], name, final=len(data) <= MAX_HEADER_BYTES)
    header, _ = _checked_header(head, name, what, complete=len(data) <= MAX_HEADER_BYTES)
    del head
    if len(header) > WIDE_TABLE_COLUMNS:
        df = _parse_wide_csv(data.decode("utf-8"), header, name, id_columns=id_columns, max_rows=lim.max_rows)
    else:
        df = _parse_csv(data, name, what, id_columns=id_columns, max_rows=lim.max_rows)
    df.columns = [str(c).strip() for c in df.columns]
    unnamed = [c for c in df.columns if c.startswith("Unnamed:")]
    if unnamed:
        df = df.drop(columns=unnamed)
    if len(df) == 0:
        raise _no_data_rows(name, what)
    if lim.max_rows is not None and len(df) > lim.max_rows:
        raise InputValidationError(
            f"{name}: the {what} has more than {lim.max_rows:,} data rows (reading stopped at row "
            f"{spreadsheet_row(lim.max_rows)}). Fix: {lim.fix}."
        )
    return df


#: Tables with more columns than this are parsed by :func:`_parse_wide_csv` (pandas' C parser
#: spends about 0.3 ms per column: 20 s for a 60,000-gene table).
WIDE_TABLE_COLUMNS = 2000
#: Cells converted per step by the wide-table parser (bounds its working memory).
_WIDE_BATCH_CELLS = 2_000_000
#: Cell texts that mean "missing" (pandas' default ``na_values``).
_NA_STRINGS = frozenset(
    {
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    }
)


def _wide_batches(text: str, n_columns: int, name: str, max_rows: int | None) -> Iterator[np.ndarray]:
    """Data rows after the header as object arrays ``(rows, n_columns)`` of a bounded number of cells.

    Blank lines are skipped and short rows padded with empty cells, as pandas does.

    Raises:
        InputValidationError: A row with more fields than the header, or a csv syntax error.
    """
    reader = csv.reader(_lines(text))
    size = max(1, _WIDE_BATCH_CELLS // n_columns)
    batch: list[list[str]] = []
    header_seen, count = False, 0
    try:
        for row in reader:
            if not row:
                continue
            if not header_seen:
                header_seen = any(cell.strip() for cell in row)
                continue
            if len(row) > n_columns:
                raise InputValidationError(
                    f"{name}: cannot be parsed as a comma-separated file (row {reader.line_num} has {len(row)} fields, "
                    f"the header {n_columns}). Fix: check that every row has as many fields as the header and "
                    "that the separator is a comma."
                )
            batch.append(row + [""] * (n_columns - len(row)))
            count += 1
            if len(batch) >= size or (max_rows is not None and count > max_rows):
                yield np.array(batch, dtype=object).reshape(len(batch), n_columns)
                batch = []
            if max_rows is not None and count > max_rows:
                return
    except csv.Error as exc:
        raise InputValidationError(
            f"{name}: cannot be parsed as a comma-separated file (row {reader.line_num}: {exc}). Fix: check the quoting of that row."
        ) from exc
    if batch:
        yield np.array(batch, dtype=object).reshape(len(batch), n_columns)


def _cells_as_numbers(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, missing)`` of an object array of cell texts, both of its shape (text that is no number: NaN)."""
    flat = pd.Series(cells.ravel(), dtype=object)
    missing = flat.isin(_NA_STRINGS).to_numpy()
    values = pd.to_numeric(flat.str.strip(), errors="coerce").to_numpy(dtype=float)
    return values.reshape(cells.shape), missing.reshape(cells.shape)


def _parse_wide_csv(text: str, header: Sequence[str], name: str, *, id_columns: Iterable[str], max_rows: int | None) -> pd.DataFrame:
    """Parse a wide table in two bounded passes with vectorised type inference.

    Gives what ``pd.read_csv`` gives, except that integer columns become float64 and
    True/False columns stay text: a column whose non-missing cells are all numbers is
    float64; id columns and other columns keep their cell texts (missing cells NaN).

    Args:
        text: The whole CSV text.
        header: Raw header fields, shape ``(n_columns,)``.
        max_rows: Read at most ``max_rows + 1`` data rows.

    Returns:
        The table, shape ``(n_rows, n_columns)``.
    """
    n = len(header)
    names = [h if h.strip() else f"Unnamed: {i}" for i, h in enumerate(header)]
    ids = set(id_columns)
    numeric = np.array([h not in ids for h in names], dtype=bool)
    n_rows = 0
    for cells in _wide_batches(text, n, name, max_rows):  # pass 1: which columns are numeric
        values, missing = _cells_as_numbers(cells)
        numeric &= ~(np.isnan(values) & ~missing).any(axis=0)
        n_rows += len(cells)
    num_idx, obj_idx = np.flatnonzero(numeric), np.flatnonzero(~numeric)
    num = np.empty((n_rows, len(num_idx)), dtype=float)
    obj = np.empty((n_rows, len(obj_idx)), dtype=object)
    start = 0
    for cells in _wide_batches(text, n, name, max_rows):  # pass 2: fill the two blocks
        stop = start + len(cells)
        values, missing = _cells_as_numbers(cells)
        num[start:stop] = values[:, num_idx]
        texts = cells[:, obj_idx]
        texts[missing[:, obj_idx]] = np.nan
        obj[start:stop] = texts
        start = stop
    parts = [pd.DataFrame(num, columns=[names[i] for i in num_idx]), pd.DataFrame(obj, columns=[names[i] for i in obj_idx])]
    return pd.concat(parts, axis=1).reindex(columns=names)


def _parse_csv(data: bytes, name: str, what: str, *, id_columns: Iterable[str], max_rows: int | None) -> pd.DataFrame:
    """``pd.read_csv`` of checked UTF-8 text, reading at most ``max_rows + 1`` rows.

    Raises:
        InputValidationError: No columns, or rows that cannot be parsed (the parser's own
            line number is quoted).
    """
    dtype = {c: str for c in id_columns}
    nrows = None if max_rows is None else max_rows + 1
    try:
        df = pd.read_csv(io.BytesIO(data), dtype=dtype, low_memory=False, encoding="utf-8", nrows=nrows)
    except pd.errors.EmptyDataError as exc:
        raise InputValidationError(f"{name}: the {what} has no columns. Fix: add a header row and data rows.") from exc
    except (pd.errors.ParserError, csv.Error, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputValidationError(
            f"{name}: cannot be parsed as a comma-separated file ({first}). "
            "Fix: check that every row has as many fields as the header and that the separator is a comma."
        ) from exc
    if not isinstance(df.index, pd.RangeIndex):  # pandas took the first field as an index: rows are one field longer
        raise InputValidationError(
            f"{name}: row 2 has {df.shape[1] + 1} fields but the header (row 1) has {df.shape[1]}; every data row has "
            "one field more than the header (a trailing comma, or a first column without a name). Fix: name every "
            "column in the header row, or remove the trailing commas."
        )
    return df
