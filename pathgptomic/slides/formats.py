"""What a file is, decided from its content: magic bytes, then ``OpenSlide.detect_format``.

Never from its name: a text file renamed ``.svs`` is recognised as text.
:func:`detect_format` is importable from :mod:`pathgptomic.slides` and
:mod:`pathgptomic.slides.reader` too.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pathgptomic.slides.errors import SlideNotFoundError

logger = logging.getLogger(__name__)

__all__ = ["PILLOW_FORMATS", "detect_format"]

#: Plain-image formats handled by Pillow (names returned by :func:`detect_format`).
PILLOW_FORMATS = ("png", "jpeg", "tiff", "bmp")


def _magic(path: Path, n: int = 16) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(n)


def _pillow_kind(head: bytes) -> str | None:
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return "tiff"
    if head.startswith(b"BM"):
        return "bmp"
    return None


def _looks_like_text(head: bytes) -> bool:
    if not head:
        return False
    for cut in range(4):  # the sample may end inside a multi-byte character
        try:
            text = head[: len(head) - cut].decode("utf-8")
            break
        except UnicodeDecodeError:
            continue
    else:
        return False
    return all(ch.isprintable() or ch in "\r\n\t" for ch in text)


def _openslide_vendor(path: Path) -> str | None:
    try:
        import openslide
    except ImportError:  # pragma: no cover - openslide-python is a hard dependency
        logger.warning("openslide-python is not installed; whole-slide formats are unavailable")
        return None
    try:
        return openslide.OpenSlide.detect_format(str(path))
    except Exception as exc:  # noqa: BLE001 - OpenSlide raises several types on damaged files
        logger.debug("OpenSlide.detect_format failed on %s: %s", path, exc)
        return None


def _check_path(path: str | os.PathLike[str]) -> Path:
    p = Path(path)
    if not p.exists():
        raise SlideNotFoundError(f"slide file {p} does not exist; check the path (relative paths are resolved from {Path.cwd()})")
    if not p.is_file():
        raise SlideNotFoundError(f"slide path {p} is not a regular file (a MIRAX slide is opened through its .mrxs file)")
    return p


def detect_format(path: str | os.PathLike[str]) -> str | None:
    """Identify a slide or image file from its content.

    Args:
        path: File to inspect (only its first bytes are read, plus OpenSlide's own probe).

    Returns:
        The OpenSlide vendor name (``"aperio"``, ``"generic-tiff"``, ``"hamamatsu"``,
        ``"mirax"``, ...) for whole-slide formats, one of ``"png"``, ``"jpeg"``,
        ``"tiff"`` (plain, non-tiled TIFF) or ``"bmp"`` for plain images, or ``None``
        when the content is not recognised (including zero-byte and text files).

    Raises:
        SlideNotFoundError: When ``path`` does not exist or is not a file.
    """
    p = _check_path(path)
    head = _magic(p)
    if not head:
        return None
    kind = _pillow_kind(head)
    if kind in ("png", "jpeg", "bmp"):
        return kind
    vendor = _openslide_vendor(p)
    if vendor is not None:
        return vendor
    return kind  # plain TIFF or None
