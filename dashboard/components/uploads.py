"""Upload handling: size re-check, type by content, private temp files, safe CSV parsing.

Plain Python (no Streamlit import) so it can be unit-tested; pages pass ``UploadedFile`` objects
(anything with ``.size`` and ``.getvalue()``). Uploaded bytes are never unpickled; model weights
are never accepted.

CSV uploads go through the library's own reader (:func:`pathgptomic.data.validation.read_csv_checked`),
so an upload and the same file given to the command line get the same result or the same message;
the dashboard only tightens the bounds (:func:`upload_limits`): a compressed upload is decompressed
in bounded steps and abandoned past ``PATHGPTOMIC_MAX_UPLOAD_TEXT_MB`` (default 100 MB) of text,
and at most :data:`MAX_CSV_ROWS` rows are read.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd

from pathgptomic.data.validation import ReadLimits, read_csv_checked, read_header_checked, read_limits
from pathgptomic.errors import InputValidationError

#: Default per-file limit in MB for slides/ROIs and for CSVs (server.maxUploadSize caps both).
DEFAULT_SLIDE_LIMIT_MB = int(os.environ.get("PATHGPTOMIC_MAX_SLIDE_MB", "500"))
DEFAULT_CSV_LIMIT_MB = int(os.environ.get("PATHGPTOMIC_MAX_CSV_MB", "50"))
#: Most rows accepted in an uploaded CSV.
MAX_CSV_ROWS = 20_000
#: Most MB of text in an uploaded CSV once decompressed (a gzip upload can expand 1000-fold).
UPLOAD_TEXT_LIMIT_MB = float(os.environ.get("PATHGPTOMIC_MAX_UPLOAD_TEXT_MB", "100"))
#: Columns read as text in uploaded tables (so an id such as ``007`` stays ``007``).
ID_COLUMNS: tuple[str, ...] = ("case_id", "slide_id", "patient_id", "path")

_MAGIC: tuple[tuple[bytes, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png", ".png"),
    (b"\xff\xd8\xff", "jpeg", ".jpg"),
    (b"II*\x00", "tiff", ".tiff"),
    (b"MM\x00*", "tiff", ".tiff"),
    (b"II+\x00", "bigtiff", ".tiff"),
    (b"MM\x00+", "bigtiff", ".tiff"),
)


class Upload(Protocol):
    """What the helpers need from ``st.UploadedFile``."""

    size: int

    def getvalue(self) -> bytes: ...


def check_size(upload: Upload, limit_mb: float, what: str = "file") -> None:
    """Re-check an upload's size on the server (the widget limit is client-side only).

    Raises:
        InputValidationError: Empty or larger than ``limit_mb``.
    """
    size = int(getattr(upload, "size", len(upload.getvalue())))
    if size <= 0:
        raise InputValidationError(f"the uploaded {what} is empty; choose a non-empty file")
    if size > limit_mb * 1024 * 1024:
        raise InputValidationError(
            f"the uploaded {what} is {size / 1e6:.1f} MB, over the {limit_mb:g} MB limit; "
            "use the server slide folder for large whole-slide files"
        )


def sniff_image_type(head: bytes) -> tuple[str, str] | None:
    """Image kind and a safe suffix from the first bytes (PNG, JPEG, TIFF/BigTIFF), else None."""
    for magic, kind, suffix in _MAGIC:
        if head.startswith(magic):
            return kind, suffix
    if head[:4] == b"DICM" or head[128:132] == b"DICM":
        return "dicom", ".dcm"
    return None


#: Prefix of the private upload folders in the system temp folder.
UPLOAD_DIR_PREFIX = "pgt-upload-"
#: Upload folders older than this (seconds) are leftovers of a killed process and are removed.
STALE_UPLOAD_S = 24 * 3600


def remove_stale_uploads(max_age_s: float = STALE_UPLOAD_S, root: Path | None = None) -> int:
    """Remove this user's upload folders older than ``max_age_s`` (left by a killed process).

    Args:
        max_age_s: Age in seconds (by modification time) above which a folder is stale.
        root: Folder holding the upload folders (default: the system temp folder).

    Returns:
        How many folders were removed.
    """
    import time

    base = Path(root or tempfile.gettempdir())
    now, removed = time.time(), 0
    for folder in base.glob(f"{UPLOAD_DIR_PREFIX}*"):
        try:
            st = folder.lstat()
        except OSError:
            continue
        if folder.is_symlink() or not folder.is_dir() or st.st_uid != os.getuid() or now - st.st_mtime <= max_age_s:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed += 1
    return removed


@contextlib.contextmanager
def private_temp_file(data: bytes, suffix: str) -> Iterator[Path]:
    """Write ``data`` to a fresh private temp folder (mode 0700) as a file of mode 0600.

    The client's file name is never used. The folder is removed on exit (also on error);
    folders that a killed process left behind are removed by the next call after a day.

    Args:
        data: File content.
        suffix: Safe suffix chosen from the sniffed type (e.g. ``".tiff"``).

    Yields:
        Path of the written file.
    """
    remove_stale_uploads()
    folder = Path(tempfile.mkdtemp(prefix=UPLOAD_DIR_PREFIX))
    try:
        os.chmod(folder, 0o700)
        path = folder / f"upload{suffix}"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def validate_slide_file(path: Path) -> str:
    """Check a slide/ROI file by content; returns a format name.

    Uses :func:`pathgptomic.slides.detect_format`; what it does not recognise is tried with
    Pillow (PNG/JPEG).

    Raises:
        InputValidationError: The file is not a supported slide or image.
    """
    from pathgptomic.slides import detect_format

    try:
        kind = detect_format(path)
    except Exception as exc:  # noqa: BLE001 - any reader failure means "unsupported"
        raise InputValidationError(f"the uploaded slide cannot be read: {exc}") from exc
    if not kind:
        try:
            from PIL import Image

            with Image.open(path) as img:
                img.verify()
                kind = (img.format or "").lower() or None
        except Exception:  # noqa: BLE001
            kind = None
    if not kind:
        raise InputValidationError(
            "the uploaded file is not a supported slide or image (checked by content, not by name); "
            "upload a PNG/JPEG ROI or a whole-slide file OpenSlide reads (SVS, TIFF, NDPI, ...)"
        )
    return str(kind)


class NamedBytes(io.BytesIO):
    """Upload bytes with a display name (the readers put ``.name`` in their messages)."""

    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


def upload_limits(max_rows: int | None = MAX_CSV_ROWS, text_limit_mb: float | None = None) -> ReadLimits:
    """The dashboard's bounds on one uploaded CSV.

    Args:
        max_rows: Most data rows (None: no row cap).
        text_limit_mb: Most MB of text once decompressed (default :data:`UPLOAD_TEXT_LIMIT_MB`).

    Returns:
        Bounds for :func:`read_csv_checked` / :func:`read_limits`.
    """
    mb = UPLOAD_TEXT_LIMIT_MB if text_limit_mb is None else text_limit_mb
    rows = f"at most {max_rows:,} rows and " if max_rows is not None else ""
    return ReadLimits(
        max_text_bytes=int(mb * 1024 * 1024),
        max_rows=max_rows,
        fix=f"split the table into files of {rows}{mb:g} MB of text, or use the command line (pathgptomic) for larger cohorts",
    )


@contextlib.contextmanager
def upload_read_limits(max_rows: int | None = MAX_CSV_ROWS) -> Iterator[ReadLimits]:
    """Apply :func:`upload_limits` to every CSV read inside the block (e.g. ``read_tcga`` of an upload)."""
    with read_limits(upload_limits(max_rows)) as limits:
        yield limits


def _upload_name(what: str) -> str:
    return f"the uploaded {what}"


def read_upload_header(upload: Upload, *, what: str = "CSV", limit_mb: float = DEFAULT_CSV_LIMIT_MB) -> list[str]:
    """Stripped column names of an uploaded CSV, checked as the command line checks a cohort file.

    Reads only the start of the upload (decompressed in bounded steps); a UTF-8 BOM is
    removed, so an Excel "CSV UTF-8" file shows ``case_id``, not ``\\ufeffcase_id``.

    Raises:
        InputValidationError: Too big, empty, binary/zip/Excel, not UTF-8, another separator
            than commas, repeated column names or no data row.
    """
    check_size(upload, limit_mb, what)
    with upload_read_limits():
        return read_header_checked(NamedBytes(upload.getvalue(), _upload_name(what)), what=what)


def read_csv_upload(
    upload: Upload,
    *,
    limit_mb: float = DEFAULT_CSV_LIMIT_MB,
    what: str = "CSV",
    max_rows: int = MAX_CSV_ROWS,
    id_columns: Sequence[str] = ID_COLUMNS,
) -> pd.DataFrame:
    """Parse an uploaded CSV with the library's checks and the dashboard's bounds; no type coercion yet.

    Plain, gzip, bz2 or xz content (by content, whatever the name); UTF-8 with or without a
    BOM, or UTF-16 with a BOM; comma-separated only; duplicate column names found in
    O(columns). Messages name the upload as ``the uploaded <what>`` (never a server path).

    Args:
        upload: An object with ``.size`` and ``.getvalue()`` (``st.UploadedFile``).
        limit_mb: Size limit of the upload itself, re-checked on the server.
        what: What the file is, for messages.
        max_rows: Most data rows.
        id_columns: Columns read as text, if present.

    Returns:
        The table, shape ``(n_rows, n_columns)`` with ``1 <= n_rows <= max_rows``.

    Raises:
        InputValidationError: Too big (upload or decompressed text), too many rows, empty,
            binary, not text, not comma-separated, repeated columns or unparseable rows.
    """
    check_size(upload, limit_mb, what)
    source = NamedBytes(upload.getvalue(), _upload_name(what))
    return read_csv_checked(source, id_columns=id_columns, what=what, limits=upload_limits(max_rows))


def check_numeric_columns(df: pd.DataFrame, columns: list[str], what: str = "CSV") -> pd.DataFrame:
    """Coerce ``columns`` to float; a non-numeric or infinite entry raises an error naming row and column.

    Empty cells become NaN (imputed later by the model's standardiser).

    Raises:
        InputValidationError: Names the first offending column, row (as a spreadsheet shows it:
            the header is row 1) and value.
    """
    out = df.copy()
    for col in columns:
        raw = out[col]
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputValidationError(
                f"the uploaded {what}: row {row + 2}, column '{col}': value {str(raw.iloc[row])!r} is not a number. "
                "Fix: use a number or leave the cell empty"
            )
        inf = np.isinf(num.to_numpy(dtype=float, na_value=np.nan))
        if inf.any():
            row = int(np.flatnonzero(inf)[0])
            raise InputValidationError(
                f"the uploaded {what}: row {row + 2}, column '{col}': value {str(raw.iloc[row])!r} is infinite. "
                "Fix: use a finite number or leave the cell empty"
            )
        out[col] = num.astype(float)
    return out
