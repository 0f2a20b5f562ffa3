"""Every input check of the cohort readers, in one place.

Each check raises :class:`~pathgptomic.errors.InputValidationError` whose message names
the file, the row and/or column at fault, the offending value and the fix. Rows are
numbered as a spreadsheet shows them: the header is row 1, the first data row is row 2.
The readers run all checks on plain DataFrames *before* a :class:`~pathgptomic.data.cohort.Cohort`
is built, so a failed read leaves no partial state behind.

Covered: unreadable/empty/binary files (zip, Excel, images, pickles), compressed files
(gzip/bz2/xz, decompressed in bounded steps up to :class:`ReadLimits`), text encodings
(UTF-8 with or without BOM, UTF-16/32 with BOM; Latin-1 refused naming row and column),
other separators than commas, repeated column names, missing columns, non-numeric or
infinite cells, bad or implausible times and event codes, conflicting duplicate patients,
too few events, empty feature blocks, unassignable or duplicated gene columns, slide-manifest
paths and folders, and PORPOISE split files.

Bounds: every read holds at most ``ReadLimits.max_text_bytes`` of text (command line:
``PATHGPTOMIC_MAX_TEXT_MB``, default 500 MB; the dashboard passes tighter bounds with
:func:`read_limits`) and optionally a row cap.

Accepted-but-changed input (constant or all-missing feature columns, conflicting feature
values across slides of one patient) produces a single
:class:`~pathgptomic.errors.DataQualityWarning` instead.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import csv
import io
import itertools
import logging
import lzma
import os
import warnings
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from pathgptomic.errors import ConfigError, DataQualityWarning, InputValidationError

logger = logging.getLogger(__name__)

#: A CSV source: a path, or an open binary/text file object (e.g. a dashboard upload).
CsvSource = str | os.PathLike | IO

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


# --------------------------------------------------------------------------- bounded reading

#: Default bound on the text of one CSV (after decompression), in MB; ``PATHGPTOMIC_MAX_TEXT_MB`` overrides it.
DEFAULT_MAX_TEXT_MB = 500.0
#: Environment variable that sets the bound on the text of one CSV (MB).
MAX_TEXT_ENV = "PATHGPTOMIC_MAX_TEXT_MB"
#: Most bytes of text read to find the header row (and the start of the first data row).
MAX_HEADER_BYTES = 8 * 1024 * 1024
#: Bytes read from a file, and most bytes a decompressor produces, per step.
_CHUNK = 1024 * 1024
_MB = 1024 * 1024

#: Compressed formats read transparently, by content: (name, magic bytes, file suffix).
_COMPRESSIONS: tuple[tuple[str, bytes, str], ...] = (
    ("gzip", b"\x1f\x8b", ".gz"),
    ("bz2", b"BZh", ".bz2"),
    ("xz", b"\xfd7zXZ\x00", ".xz"),
)

#: Binary formats recognised by their first bytes: (magic, what it is, how to get a CSV).
_BINARY_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"PK\x03\x04", "a zip archive", "extract the CSV from the archive (a gzip-compressed .csv.gz is read directly)"),
    (b"PK\x05\x06", "an empty zip archive", "extract the CSV from the archive (a gzip-compressed .csv.gz is read directly)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 workbook (.xls) or another legacy Office file",
     "open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)'"),
    (b"\x28\xb5\x2f\xfd", "a zstd-compressed file", "decompress it (zstd -d) or compress the CSV with gzip instead"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "extract the CSV from the archive"),
    (b"Rar!\x1a\x07", "a RAR archive", "extract the CSV from the archive"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image", "give the CSV table here; images belong in the slide folder or manifest"),
    (b"\xff\xd8\xff", "a JPEG image", "give the CSV table here; images belong in the slide folder or manifest"),
    (b"II*\x00", "a TIFF image", "give the CSV table here; slides belong in the slide folder or manifest"),
    (b"MM\x00*", "a TIFF image", "give the CSV table here; slides belong in the slide folder or manifest"),
    (b"%PDF", "a PDF document", "export the table itself as comma-separated values"),
    (b"PAR1", "a Parquet file", "convert it with pandas: pd.read_parquet(f).to_csv('table.csv', index=False)"),
    (b"\x89HDF\r\n\x1a\n", "an HDF5 file (e.g. .h5ad)", "export the table as comma-separated values"),
    (b"\x93NUMPY", "a NumPy array file", "write the table with pandas to_csv"),
    (b"\x80\x02", "a Python pickle (never loaded)", "write the table with pandas to_csv"),
    (b"\x80\x03", "a Python pickle (never loaded)", "write the table with pandas to_csv"),
    (b"\x80\x04", "a Python pickle (never loaded)", "write the table with pandas to_csv"),
    (b"\x80\x05", "a Python pickle (never loaded)", "write the table with pandas to_csv"),
)
_XLSX_FIX = "open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)'"
_EXPORT_FIX = (
    "export the table as comma-separated values in UTF-8 (Excel: File > Save As > 'CSV UTF-8 (Comma delimited)'; "
    "R: write.csv; pandas: to_csv)"
)


@dataclass(frozen=True)
class ReadLimits:
    """Bounds on one CSV read; memory and time of a read grow at most linearly with them.

    Attributes:
        max_text_bytes: Most bytes of text a CSV may hold, counted after decompression
            (a compressed file is decompressed in bounded steps and abandoned at the bound).
        max_rows: Most data rows, or None for no row cap.
        fix: What a user can do when a bound is hit (ends the message).
    """

    max_text_bytes: int
    max_rows: int | None = None
    fix: str = f"split the table into smaller files, or raise the bound with the environment variable {MAX_TEXT_ENV} (MB)"


_LIMITS: ContextVar[ReadLimits | None] = ContextVar("pathgptomic_read_limits", default=None)


def default_limits() -> ReadLimits:
    """The command line's bounds: ``PATHGPTOMIC_MAX_TEXT_MB`` (default 500 MB) of text, no row cap.

    Raises:
        ConfigError: The environment variable is not a positive number.
    """
    raw = os.environ.get(MAX_TEXT_ENV, "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_MAX_TEXT_MB
    except ValueError:
        mb = float("nan")
    if not (np.isfinite(mb) and mb > 0):
        raise ConfigError(f"{MAX_TEXT_ENV}={raw!r} is not a positive number of MB. Fix: set it to e.g. 500 or unset it.")
    return ReadLimits(max_text_bytes=int(mb * _MB))


def current_limits() -> ReadLimits:
    """The bounds in force: those of the innermost :func:`read_limits` block, else :func:`default_limits`."""
    return _LIMITS.get() or default_limits()


@contextlib.contextmanager
def read_limits(limits: ReadLimits) -> Iterator[ReadLimits]:
    """Apply ``limits`` to every CSV read inside the block (e.g. the dashboard's tighter upload bounds).

    Readers such as ``read_tcga`` call :func:`read_csv_checked` without limits, so a caller
    that wants other bounds wraps the read: ``with read_limits(ReadLimits(...)): read_tcga(f)``.
    The setting is per thread/context (a :class:`contextvars.ContextVar`).
    """
    token = _LIMITS.set(limits)
    try:
        yield limits
    finally:
        _LIMITS.reset(token)


def _checked_path(source: str | os.PathLike, name: str) -> Path:
    path = Path(source)
    if not path.exists():
        raise InputValidationError(f"{name}: file not found. Fix: check the path and file name.")
    if path.is_dir():
        raise InputValidationError(f"{name}: is a folder, not a CSV file. Fix: give the path of the CSV file.")
    return path


def _raw_chunks(source: CsvSource, name: str) -> Iterator[bytes]:
    """The source's bytes as they are stored, in chunks of at most ``_CHUNK`` bytes."""
    if isinstance(source, (str, os.PathLike)):
        path = _checked_path(source, name)
        try:
            fh = path.open("rb")
        except OSError as exc:
            raise InputValidationError(f"{name}: cannot be read ({exc}). Fix: check the file permissions.") from exc
        with fh:
            while True:
                try:
                    chunk = fh.read(_CHUNK)
                except OSError as exc:
                    raise InputValidationError(f"{name}: cannot be read ({exc}). Fix: check the file.") from exc
                if not chunk:
                    return
                yield chunk
    while True:
        chunk = source.read(_CHUNK)
        if not chunk:
            return
        yield chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)


def _compression_of(head: bytes) -> str | None:
    return next((kind for kind, magic, _ in _COMPRESSIONS if head.startswith(magic)), None)


def _refuse_binary(head: bytes, name: str, *, inside: str | None = None) -> None:
    """Fail with what the file is when ``head`` starts like a known binary format."""
    where = f" (inside the {inside} compression)" if inside else ""
    if head.startswith(b"PK\x03\x04") and (b"[Content_Types].xml" in head[:4096] or b"xl/" in head[:4096]):
        raise InputValidationError(
            f"{name}: is an Excel workbook (.xlsx){where}, not a text CSV (binary content). Fix: {_XLSX_FIX}."
        )
    for magic, kind, fix in _BINARY_MAGIC:
        if head.startswith(magic):
            raise InputValidationError(f"{name}: is {kind}{where}, not a text CSV (binary content). Fix: {fix}.")


def _new_decompressor(kind: str):
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "bz2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)


def _inflate(dec, data: bytes, kind: str) -> Iterator[bytes]:
    """Everything ``dec`` produces from ``data``, in pieces of at most ``_CHUNK`` bytes (``max_length``)."""
    while True:
        piece = dec.decompress(data, _CHUNK)
        if piece:
            yield piece
        if dec.eof:
            return
        if kind == "gzip":
            data = dec.unconsumed_tail
            more = bool(data) or len(piece) == _CHUNK
        else:
            data = b""
            more = not dec.needs_input
        if not more:
            return


def _bad_compressed(name: str, kind: str, detail: str) -> InputValidationError:
    return InputValidationError(
        f"{name}: is not a valid {kind} file ({detail}). Fix: re-export the CSV and compress it again."
    )


def _decompressed_chunks(raw: Iterator[bytes], kind: str, name: str) -> Iterator[bytes]:
    """Decompress ``raw`` (one or more concatenated members) in pieces of at most ``_CHUNK`` bytes.

    Zero bytes after the last member are ignored; other trailing bytes are an error.

    Raises:
        InputValidationError: Corrupt, truncated or trailing data, naming the file.
    """
    magic = next(m for k, m, _ in _COMPRESSIONS if k == kind)
    dec = _new_decompressor(kind)
    between = b""  # bytes after the end of a member, before the next one starts
    try:
        for chunk in raw:
            data = chunk
            while data:
                if dec is None:
                    between += data
                    data = b""
                    if between.startswith(magic):
                        data, between, dec = between, b"", _new_decompressor(kind)
                    elif len(between) >= len(magic) and between.strip(b"\x00"):
                        raise _bad_compressed(name, kind, "unexpected data after the end of the compressed stream")
                    continue
                yield from _inflate(dec, data, kind)
                data = dec.unused_data if dec.eof else b""
                if dec.eof:
                    dec = None
    except (zlib.error, OSError, EOFError, lzma.LZMAError) as exc:
        raise _bad_compressed(name, kind, str(exc)) from exc
    if dec is not None and not dec.eof:
        raise _bad_compressed(name, kind, "the compressed stream is truncated")
    if between.strip(b"\x00"):
        raise _bad_compressed(name, kind, "unexpected data after the end of the compressed stream")


def _too_large(name: str, what: str, limits: ReadLimits, kind: str | None) -> InputValidationError:
    mb = limits.max_text_bytes / _MB
    if kind:
        return InputValidationError(
            f"{name}: the {what} expands to more than {mb:g} MB of text once {kind}-decompressed; reading stopped "
            f"there (a file that expands this much may be a compression bomb). Fix: {limits.fix}."
        )
    return InputValidationError(f"{name}: the {what} holds more than {mb:g} MB of text; reading stopped there. Fix: {limits.fix}.")


def _text_chunks(source: CsvSource, name: str, what: str, limits: ReadLimits) -> Iterator[bytes]:
    """The source's text bytes (decompressed when compressed), never more than ``limits.max_text_bytes``.

    Raises:
        InputValidationError: Empty, a known binary format, compressed twice, a compressed
            name with plain content, corrupt compression, or over the bound.
    """
    raw = _raw_chunks(source, name)
    try:
        head = next(raw, b"")
        if not head:
            raise InputValidationError(
                f"{name}: the {what} is empty (0 bytes). Fix: export the table again with a header row and data rows."
            )
        _refuse_binary(head, name)
        kind = _compression_of(head)
        if kind is None:
            suffix = next((s for _, _, s in _COMPRESSIONS if name.lower().endswith(s)), None)
            if suffix:
                raise InputValidationError(
                    f"{name}: the name ends in {suffix} but the content is not compressed that way. "
                    f"Fix: compress the CSV properly or remove the {suffix} extension."
                )
            stream: Iterator[bytes] = itertools.chain([head], raw)
        else:
            stream = _decompressed_chunks(itertools.chain([head], raw), kind, name)
        total = 0
        for piece in stream:
            if total == 0 and kind is not None:
                _refuse_binary(piece, name, inside=kind)
                if _compression_of(piece):
                    raise InputValidationError(f"{name}: is compressed twice. Fix: decompress it once, or compress the plain CSV.")
            total += len(piece)
            if total > limits.max_text_bytes:
                raise _too_large(name, what, limits, kind)
            yield piece
        if total == 0:
            raise InputValidationError(
                f"{name}: the {what} is empty once {kind}-decompressed. Fix: compress a CSV with a header row and data rows."
            )
    finally:
        raw.close()


# --------------------------------------------------------------------------- text encodings

_UTF_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def _bom_encoding(data: bytes | bytearray) -> str | None:
    return next((enc for bom, enc in _UTF_BOMS if data.startswith(bom)), None)


def _looks_utf16_without_bom(data: bytes | bytearray) -> bool:
    """True when every other byte of the start is 0 (UTF-16 text of mostly ASCII characters)."""
    sample = bytes(data[:4096])
    if len(sample) < 8:
        return False
    even, odd = sample[0::2], sample[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    return (zeros_odd > 0.9 and zeros_even < 0.1) or (zeros_even > 0.9 and zeros_odd < 0.1)


def _binary_error(name: str) -> InputValidationError:
    return InputValidationError(
        f"{name}: is not a text CSV (it contains binary data, NUL bytes; is it an image, Excel or zip file?). "
        "Fix: save the table as comma-separated values (.csv)."
    )


def _not_utf8_error(data: bytes | bytearray, pos: int, name: str) -> InputValidationError:
    """Name the row (line) and column of the first byte that is not UTF-8, and the likely character."""
    row = data.count(b"\n", 0, pos) + 1
    start = data.rfind(b"\n", 0, pos) + 1
    prefix = bytes(data[start:pos]).decode("utf-8", errors="replace")
    col = len(next(csv.reader([prefix]), [""])) - 1 if prefix else 0
    header_end = data.find(b"\n")
    header = next(csv.reader([bytes(data[: header_end if header_end >= 0 else len(data)]).decode("utf-8", errors="replace")]), [])
    where = f", column {header[col].strip()!r}" if row > 1 and col < len(header) else ""
    byte = data[pos]
    guess = bytes([byte]).decode("cp1252", errors="replace")
    return InputValidationError(
        f"{name}: row {row}{where}: byte 0x{byte:02x} (probably {guess!r} in a Latin-1/Windows-1252 file) is not UTF-8 "
        "text. Fix: save the file as 'CSV UTF-8 (Comma delimited)' (Excel: File > Save As), or convert it, "
        "e.g. iconv -f latin1 -t utf-8 in.csv > out.csv."
    )


def _decode_text(data: bytes | bytearray, name: str, *, final: bool = True) -> str:
    """Decode CSV text: UTF-8 (with or without BOM), or UTF-16/32 with a BOM.

    Args:
        final: False when ``data`` is a prefix of the file (an incomplete last character is
            then dropped instead of failing).

    Raises:
        InputValidationError: Binary (NUL bytes), UTF-16 without a BOM, or not UTF-8
            (Latin-1 or Windows-1252 text, naming row and column).
    """
    enc = _bom_encoding(data)
    if enc is not None:
        try:
            text = codecs.getincrementaldecoder(enc)().decode(bytes(data), final=final)
        except UnicodeDecodeError as exc:
            raise InputValidationError(
                f"{name}: starts with a {enc.upper()} byte-order mark but is not valid {enc.upper()} text ({exc.reason}). "
                "Fix: save the table as 'CSV UTF-8 (Comma delimited)'."
            ) from exc
        if "\x00" in text:
            raise _binary_error(name)
        return text
    if _looks_utf16_without_bom(data):
        raise InputValidationError(
            f"{name}: is UTF-16 text without a byte-order mark (every other byte is 0), which cannot be read "
            "unambiguously. Fix: save the table as 'CSV UTF-8 (Comma delimited)'."
        )
    if b"\x00" in data:
        raise _binary_error(name)
    skip = 3 if data.startswith(codecs.BOM_UTF8) else 0
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(bytes(data[skip:]), final=final)
    except UnicodeDecodeError as exc:
        raise _not_utf8_error(data, exc.start + skip, name) from exc


def _utf8_bytes(data: bytearray, name: str) -> bytes:
    """The whole text as valid UTF-8 bytes without a BOM (``data`` is emptied to save memory).

    Raises:
        InputValidationError: As :func:`_decode_text`.
    """
    if _bom_encoding(data) is not None:
        text = _decode_text(data, name)
        data.clear()
        return text.encode("utf-8")
    if _looks_utf16_without_bom(data) or b"\x00" in data:
        _decode_text(data, name)  # raises the precise error (UTF-16 without BOM, or binary)
    skip = 3 if data.startswith(codecs.BOM_UTF8) else 0
    out = bytes(data[skip:])
    data.clear()
    try:
        out.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _not_utf8_error(out, exc.start, name) from exc
    return out


# --------------------------------------------------------------------------- header row


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
    return InputValidationError(
        f"{name}: the {what} has a header row but no data rows. Fix: add one row per patient (or slide)."
    )


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
_NA_STRINGS = frozenset({
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>", "N/A", "NA",
    "NULL", "NaN", "None", "n/a", "nan", "null",
})


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
            f"{name}: cannot be parsed as a comma-separated file (row {reader.line_num}: {exc}). "
            "Fix: check the quoting of that row."
        ) from exc
    if batch:
        yield np.array(batch, dtype=object).reshape(len(batch), n_columns)


def _cells_as_numbers(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(values, missing)`` of an object array of cell texts, both of its shape (text that is no number: NaN)."""
    flat = pd.Series(cells.ravel(), dtype=object)
    missing = flat.isin(_NA_STRINGS).to_numpy()
    values = pd.to_numeric(flat.str.strip(), errors="coerce").to_numpy(dtype=float)
    return values.reshape(cells.shape), missing.reshape(cells.shape)


def _parse_wide_csv(
    text: str, header: Sequence[str], name: str, *, id_columns: Iterable[str], max_rows: int | None
) -> pd.DataFrame:
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


#: Longest plausible follow-up (100 years) per time unit; a longer time is a data-entry or unit error.
MAX_FOLLOW_UP: dict[str, float] = {"days": 36525.0, "weeks": 5218.0, "months": 1200.0, "years": 100.0}


def check_time(time: np.ndarray, *, file: str, column: str, ids: Sequence[str], unit: str = "months") -> None:
    """Fail unless every follow-up time is finite, > 0 and at most 100 years (:data:`MAX_FOLLOW_UP`).

    Args:
        time: Follow-up time per row, shape ``(n_rows,)``.
        ids: Patient id per row, shape ``(n_rows,)``.
        unit: Unit of ``time`` (``"months"`` in both layouts); an unknown unit gets no upper bound.

    Raises:
        InputValidationError: Names row, patient, column, value and unit of the first bad time.
    """
    t = np.asarray(time, dtype=float)
    limit = MAX_FOLLOW_UP.get(unit.lower(), np.inf)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(t) | (t <= 0) | (t > limit)
    if not bad.any():
        return
    p = int(np.flatnonzero(bad)[0])
    val = t[p]
    if np.isnan(val):
        what = "is missing"
    elif np.isinf(val):
        what = "is infinite"
    elif val > limit:
        what = f"is {val:g} {unit}, over the plausible maximum of {limit:g} {unit} (100 years)"
    else:
        what = f"is {val:g} (must be > 0)"
    more = f" ({int(bad.sum()) - 1} more bad time(s))" if bad.sum() > 1 else ""
    raise InputValidationError(
        f"{file}: row {spreadsheet_row(p)} (patient {ids[p]}), column {column!r}: follow-up time {what}{more}. "
        f"Fix: every patient needs a positive, finite follow-up time in {unit}, at most 100 years (e.g. 0.5 for "
        "half a month; remove the patient if the time is unknown; check the unit if times look too large)."
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
    df: pd.DataFrame, ids: np.ndarray, *, file: str, time_column: str, status_column: str, meaning: str,
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
    taken_set = set(taken)
    clash = [g for g in names if g in taken_set]
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
