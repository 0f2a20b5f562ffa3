"""Bounded reading of a CSV source's bytes: transparent gzip/bz2/xz decompression in bounded steps,
refusal of binary formats (zip, Excel, images, pickles …) by their first bytes, and the
:class:`ReadLimits` that bound the text of one read (``PATHGPTOMIC_MAX_TEXT_MB``, default 500 MB; the
dashboard passes tighter bounds with :func:`read_limits`)."""

from __future__ import annotations

import bz2
import contextlib
import itertools
import lzma
import os
import zlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pathgptomic.data.naming import CsvSource
from pathgptomic.errors import ConfigError, InputValidationError

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
    (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        "an Excel 97-2003 workbook (.xls) or another legacy Office file",
        "open it in Excel and use File > Save As > 'CSV UTF-8 (Comma delimited)'",
    ),
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
        raise InputValidationError(f"{name}: is an Excel workbook (.xlsx){where}, not a text CSV (binary content). Fix: {_XLSX_FIX}.")
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
    return InputValidationError(f"{name}: is not a valid {kind} file ({detail}). Fix: re-export the CSV and compress it again.")


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
