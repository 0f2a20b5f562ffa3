"""Upload handling: size re-check, type by content, private temp files, safe CSV parsing.

Plain Python (no Streamlit import) so it can be unit-tested; pages pass ``UploadedFile`` objects
(anything with ``.size`` and ``.getvalue()``). Uploaded bytes are never unpickled; model weights
are never accepted.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np
import pandas as pd

from pathgptomic.errors import InputValidationError

#: Default per-file limit in MB for slides/ROIs and for CSVs (server.maxUploadSize caps both).
DEFAULT_SLIDE_LIMIT_MB = int(os.environ.get("PATHGPTOMIC_MAX_SLIDE_MB", "500"))
DEFAULT_CSV_LIMIT_MB = int(os.environ.get("PATHGPTOMIC_MAX_CSV_MB", "50"))
#: Most rows accepted in an uploaded CSV.
MAX_CSV_ROWS = 20_000

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


@contextlib.contextmanager
def private_temp_file(data: bytes, suffix: str) -> Iterator[Path]:
    """Write ``data`` to a fresh private temp folder (mode 0700) under a generated name.

    The client's file name is never used. The folder is removed on exit.

    Args:
        data: File content.
        suffix: Safe suffix chosen from the sniffed type (e.g. ``".tiff"``).

    Yields:
        Path of the written file.
    """
    folder = Path(tempfile.mkdtemp(prefix="pgt-upload-"))
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

    Uses :func:`pathgptomic.slides.detect_format` when the slides package provides it, else
    Pillow for PNG/JPEG.

    Raises:
        InputValidationError: The file is not a supported slide or image.
    """
    kind = None
    try:
        from pathgptomic.slides import detect_format  # type: ignore[attr-defined]
    except ImportError:
        detect_format = None
    if detect_format is not None:
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


def read_csv_upload(upload: Upload, *, limit_mb: float = DEFAULT_CSV_LIMIT_MB, what: str = "CSV",
                    max_rows: int = MAX_CSV_ROWS) -> pd.DataFrame:
    """Parse an uploaded CSV with limits (size, rows, text encoding); no type coercion yet.

    Raises:
        InputValidationError: Too big, not text, not CSV, empty or too many rows.
    """
    check_size(upload, limit_mb, what)
    data = upload.getvalue()
    if b"\x00" in data[:8192]:
        raise InputValidationError(f"the uploaded {what} is binary, not a CSV text file")
    try:
        df = pd.read_csv(io.BytesIO(data), nrows=max_rows + 1, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise InputValidationError(f"the uploaded {what} is not a readable CSV: {exc}") from exc
    if df.empty:
        raise InputValidationError(f"the uploaded {what} has a header but no data rows")
    if len(df) > max_rows:
        raise InputValidationError(f"the uploaded {what} has more than {max_rows} rows; split it")
    import csv

    header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8", errors="replace")]), [])
    header = [h.strip() for h in header]
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise InputValidationError(f"the uploaded {what} repeats column(s) {dup}; keep one of each")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def check_numeric_columns(df: pd.DataFrame, columns: list[str], what: str = "CSV") -> pd.DataFrame:
    """Coerce ``columns`` to float; a non-numeric entry raises an error naming column and row.

    Empty cells become NaN (imputed later by the model's standardiser).

    Raises:
        InputValidationError: Names the first offending column, row (1-based, after the header)
            and value.
    """
    out = df.copy()
    for col in columns:
        raw = out[col]
        num = pd.to_numeric(raw, errors="coerce")
        bad = num.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputValidationError(
                f"column '{col}' of the {what} has a non-numeric value {str(raw.iloc[row])!r} in data row "
                f"{row + 1}; use a number or leave the cell empty"
            )
        if np.isinf(num.to_numpy(dtype=float, na_value=np.nan)).any():
            raise InputValidationError(f"column '{col}' of the {what} contains an infinite value; fix it")
        out[col] = num.astype(float)
    return out
