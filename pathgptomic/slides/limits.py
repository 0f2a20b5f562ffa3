"""Checks on a plain image's header before any pixel is decoded.

The decompression-bomb limit (:data:`DEFAULT_MAX_IMAGE_PIXELS`, per call or
``PATHGPTOMIC_MAX_IMAGE_PIXELS``) is the project's own: Pillow is opened with its check off
(:func:`_open_pillow`) so that a too-large image gets a
:class:`~pathgptomic.slides.errors.SlideTooLargeError` saying what to do, and a TIFF whose
strips point past the end of the file is refused as truncated before it is decoded.
"""

from __future__ import annotations

import logging
import os
import threading
import warnings
from pathlib import Path

from PIL import Image

from pathgptomic.slides.errors import CorruptSlideError

logger = logging.getLogger(__name__)

__all__ = ["DEFAULT_MAX_IMAGE_PIXELS"]

#: Largest plain (non-pyramidal) image, in pixels, that is decoded into memory
#: (about 300 MB as RGB). Override per call (``max_pixels=``) or with the environment
#: variable ``PATHGPTOMIC_MAX_IMAGE_PIXELS``. Pyramidal slides are never fully decoded
#: and are not limited.
DEFAULT_MAX_IMAGE_PIXELS = 100_000_000

_PIL_LOCK = threading.Lock()


def _max_pixels(max_pixels: int | None) -> int:
    if max_pixels is not None:
        return int(max_pixels)
    env = os.environ.get("PATHGPTOMIC_MAX_IMAGE_PIXELS")
    if env:
        try:
            return int(float(env))
        except ValueError:
            logger.warning("ignoring PATHGPTOMIC_MAX_IMAGE_PIXELS=%r (not a number)", env)
    return DEFAULT_MAX_IMAGE_PIXELS


def _open_pillow(path: Path) -> Image.Image:
    """``Image.open`` (header only) with Pillow's decompression-bomb check off.

    Every caller compares the header's size with the project's own limit
    (:func:`~pathgptomic.slides.reader._open_plain`) before any pixel is decoded, so a too-large image gets a
    :class:`SlideTooLargeError` saying what to do instead of Pillow's ``DecompressionBombError``.
    """
    with _PIL_LOCK:
        old = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            return Image.open(path)
        finally:
            Image.MAX_IMAGE_PIXELS = old


def _check_tiff_extent(p: Path, img: Image.Image) -> None:
    """Refuse a TIFF whose first image's strips/tiles point past the end of the file."""
    try:
        tags = img.tag_v2  # type: ignore[attr-defined]
        offsets = tags.get(324) or tags.get(273)
        counts = tags.get(325) or tags.get(279)
    except AttributeError:
        return
    if not offsets or not counts:
        return
    offsets = offsets if isinstance(offsets, (tuple, list)) else (offsets,)
    counts = counts if isinstance(counts, (tuple, list)) else (counts,)
    end = max(int(o) + int(c) for o, c in zip(offsets, counts))
    size = p.stat().st_size
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns "Corrupt EXIF data" before failing
            n_frames = int(getattr(img, "n_frames", 1))  # walks the IFD chain
            img.seek(0)
    except Exception as exc:
        raise CorruptSlideError(f"TIFF {p} has a broken directory chain ({exc}); it is probably truncated, copy it again") from exc
    logger.debug("%s: plain TIFF with %d pages", p, n_frames)
    if end > size:
        raise CorruptSlideError(
            f"TIFF {p} is truncated: its image data runs to byte {end:,} but the file has {size:,} bytes; copy or export it again"
        )
