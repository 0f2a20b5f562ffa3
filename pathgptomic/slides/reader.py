"""One interface over whole-slide images (OpenSlide) and plain images (Pillow).

Whole-slide formats (Aperio ``.svs``, Hamamatsu ``.ndpi``, MIRAX ``.mrxs``, Leica ``.scn``,
Philips/generic tiled TIFF, DICOM, ...) are read through ``openslide-python`` with the
``openslide-bin`` wheel; exported regions (PNG, JPEG, plain strip TIFF, BMP) through
Pillow. Both appear as a :class:`Slide` with the same attributes and methods.

The format is decided from the file's *content* (magic bytes, then
``OpenSlide.detect_format``), never from its name: a text file renamed ``.svs`` is
refused with a message saying so. Every failure is a subclass of
:class:`pathgptomic.errors.SlideError` whose message names the file, what is wrong and
what to do.

Coordinates follow OpenSlide: ``location`` is the top-left corner ``(x, y)`` in level-0
pixels, ``size`` is ``(width, height)`` in pixels *of the requested level*.

This module holds :class:`Slide` and :func:`open_slide`; format detection is in
:mod:`pathgptomic.slides.formats`, the error classes in :mod:`pathgptomic.slides.errors`,
µm/px parsing in :mod:`pathgptomic.slides.metadata`, the plain-image size limit and header
checks in :mod:`pathgptomic.slides.limits` and the conversion to RGB in
:mod:`pathgptomic.slides.pixels`. Their public names are importable from here.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from pathlib import Path
from typing import Any, Literal, Self, overload

import numpy as np
from PIL import Image

from pathgptomic.errors import SlideError
from pathgptomic.slides.errors import (
    CorruptSlideError,
    EmptySlideError,
    SlideNotFoundError,
    SlideTooLargeError,
    SlideTooSmallError,
    UnsupportedSlideError,
)
from pathgptomic.slides.formats import (
    PILLOW_FORMATS,  # noqa: F401 - re-exported
    _check_path,
    _looks_like_text,
    _magic,
    _openslide_vendor,
    _pillow_kind,
    detect_format,
)
from pathgptomic.slides.limits import DEFAULT_MAX_IMAGE_PIXELS, _check_tiff_extent, _max_pixels, _open_pillow
from pathgptomic.slides.metadata import (
    OPAQUE_VENDORS,  # noqa: F401 - re-exported
    PLAUSIBLE_MPP,
    _may_be_transparent,
    _parse_mpp_openslide,
    _parse_mpp_tiff,
    _plausible_mpp,
)
from pathgptomic.slides.pixels import _decode_plain, _opaque_rgb, _pil_rgba_to_rgb

logger = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_MAX_IMAGE_PIXELS",
    "PLAUSIBLE_MPP",
    "CorruptSlideError",
    "EmptySlideError",
    "Slide",
    "SlideNotFoundError",
    "SlideTooLargeError",
    "SlideTooSmallError",
    "UnsupportedSlideError",
    "detect_format",
    "open_slide",
]


def _lowlevel_read() -> Any:
    """openslide-python's low-level ``_read_region(osr, buf, x, y, level, w, h)`` on little-endian machines, else None."""
    if sys.byteorder != "little":
        return None
    try:
        from openslide import lowlevel
    except (ImportError, OSError):  # pragma: no cover - openslide-python and openslide-bin are dependencies
        return None
    return getattr(lowlevel, "_read_region", None)


_LOWLEVEL_READ = _lowlevel_read()


class Slide:
    """A readable slide or plain image; open it with :func:`open_slide`.

    Attributes:
        path: The file.
        format: Detected format (see :func:`detect_format`).
        backend: ``"openslide"`` or ``"pillow"``.
        dimensions: Level-0 size ``(width, height)`` in pixels.
        level_count: Number of pyramid levels (1 for plain images).
        level_dimensions: ``(width, height)`` per level.
        level_downsamples: Downsample factor of each level relative to level 0.
        mpp: Microns per pixel at level 0 (mean of x and y), or ``None`` when the file
            does not say (or states a value outside :data:`PLAUSIBLE_MPP`).
        properties: Format metadata (OpenSlide properties, or Pillow info).
        has_alpha: Whether regions inside the image can be transparent (an OpenSlide vendor
            with gaps between scanned areas, or a TIFF with an extra alpha sample); only then
            is every patch checked for transparency and composited onto white.
    """

    def __init__(self, path: Path, fmt: str, backend: str) -> None:
        self.path = path
        self.format = fmt
        self.backend = backend
        self.dimensions: tuple[int, int] = (0, 0)
        self.level_count = 1
        self.level_dimensions: tuple[tuple[int, int], ...] = ()
        self.level_downsamples: tuple[float, ...] = ()
        self.mpp: float | None = None
        self.properties: dict[str, str] = {}
        self.has_alpha = False
        self._osr: Any = None
        self._array: np.ndarray | None = None

    # ------------------------------------------------------------------ context
    def close(self) -> None:
        """Release the file handle / decoded pixels (idempotent)."""
        if self._osr is not None:
            try:
                self._osr.close()
            finally:
                self._osr = None
        self._array = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        mpp = "unknown" if self.mpp is None else f"{self.mpp:.4g}"
        return f"Slide({str(self.path)!r}, format={self.format!r}, dimensions={self.dimensions}, levels={self.level_count}, mpp={mpp})"

    def __getstate__(self) -> dict[str, Any]:  # picklable for DataLoader workers: reopened lazily
        state = self.__dict__.copy()
        state["_osr"] = None
        state["_array"] = None
        return state

    # ------------------------------------------------------------------ geometry
    def get_best_level_for_downsample(self, downsample: float) -> int:
        """Index of the coarsest level whose downsample is <= ``downsample`` (at least 0)."""
        best = 0
        for i, d in enumerate(self.level_downsamples):
            if d <= downsample * (1 + 1e-6):
                best = i
        return best

    # ------------------------------------------------------------------ pixels
    def _ensure_open(self) -> None:
        if self.backend == "openslide" and self._osr is None:
            import openslide

            try:
                self._osr = openslide.OpenSlide(str(self.path))
            except Exception as exc:
                raise CorruptSlideError(f"slide {self.path} can no longer be opened: {exc}") from exc
        elif self.backend == "pillow" and self._array is None:
            self._array = _decode_plain(self.path, None, self.dimensions[0] * self.dimensions[1])

    @overload
    def read_region(self, location: tuple[int, int], level: int, size: tuple[int, int], *, as_array: Literal[True] = ...) -> np.ndarray: ...

    @overload
    def read_region(self, location: tuple[int, int], level: int, size: tuple[int, int], *, as_array: Literal[False]) -> Image.Image: ...

    def read_region(
        self, location: tuple[int, int], level: int, size: tuple[int, int], *, as_array: bool = True
    ) -> np.ndarray | Image.Image:
        """Read a rectangle of pixels.

        Args:
            location: Top-left ``(x, y)`` in level-0 pixel coordinates.
            level: Pyramid level to read from (``0 <= level < level_count``).
            size: ``(width, height)`` in pixels of ``level``.
            as_array: Return a ``uint8`` array of shape ``(height, width, 3)`` (default)
                or an RGB ``PIL.Image``.

        Returns:
            RGB pixels; areas outside the image are white.

        Raises:
            SlideError: For an invalid level or size, or when the file cannot be decoded
                (``CorruptSlideError``).
        """
        if not 0 <= level < self.level_count:
            raise SlideError(f"{self.path}: level {level} does not exist (this slide has {self.level_count} levels)")
        w, h = int(size[0]), int(size[1])
        if w <= 0 or h <= 0:
            raise SlideError(f"{self.path}: region size must be positive, got {size}")
        self._ensure_open()
        x, y = int(location[0]), int(location[1])
        if self.backend == "openslide" and not self.has_alpha and self._inside(x, y, level, w, h):
            arr = self._read_opaque(x, y, level, w, h)
        elif self.backend == "openslide":
            try:
                img = self._osr.read_region((x, y), level, (w, h))
            except Exception as exc:
                raise CorruptSlideError(
                    f"slide {self.path} could not be read at {(x, y)} level {level}: {exc}; "
                    "the file is probably truncated or damaged, re-export or re-copy it"
                ) from exc
            arr = _pil_rgba_to_rgb(img)
        else:
            arr = self._crop_plain(x, y, w, h)
        return arr if as_array else Image.fromarray(arr)

    def _read_opaque(self, x: int, y: int, level: int, w: int, h: int) -> np.ndarray:
        """RGB pixels of a region known to be opaque, without the RGBA ``PIL.Image`` round trip.

        OpenSlide fills a buffer of premultiplied ARGB words (bytes B, G, R, A on little-endian
        machines); for opaque pixels premultiplied equals straight colour, so RGB is a byte view
        of it. Falls back to the public ``read_region`` when the low-level call is unavailable.
        """
        try:
            if _LOWLEVEL_READ is None:
                return _opaque_rgb(self._osr.read_region((x, y), level, (w, h)))
            buf = (ctypes.c_uint32 * (w * h))()
            _LOWLEVEL_READ(self._osr._osr, buf, x, y, level, w, h)
        except Exception as exc:  # noqa: BLE001 - openslide.OpenSlideError and friends
            raise CorruptSlideError(
                f"slide {self.path} could not be read at {(x, y)} level {level}: {exc}; "
                "the file is probably truncated or damaged, re-export or re-copy it"
            ) from exc
        return np.frombuffer(buf, dtype=np.uint8).reshape(h, w, 4)[..., 2::-1].copy()

    def _inside(self, x: int, y: int, level: int, w: int, h: int) -> bool:
        """Whether the region lies inside level 0 (OpenSlide fills the outside with transparency)."""
        d = self.level_downsamples[level]
        return x >= 0 and y >= 0 and x + w * d <= self.dimensions[0] and y + h * d <= self.dimensions[1]

    def _crop_plain(self, x: int, y: int, w: int, h: int) -> np.ndarray:
        assert self._array is not None
        W, H = self.dimensions
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, W), min(y + h, H)
        if x0 == x and y0 == y and x1 == x + w and y1 == y + h:
            return np.ascontiguousarray(self._array[y : y + h, x : x + w])
        out = np.full((h, w, 3), 255, dtype=np.uint8)
        if x1 > x0 and y1 > y0:
            out[y0 - y : y1 - y, x0 - x : x1 - x] = self._array[y0:y1, x0:x1]
        return out

    def thumbnail(self, max_size: int = 1024) -> Image.Image:
        """An RGB thumbnail whose longer side is at most ``max_size`` (never upsampled).

        Args:
            max_size: Longest side of the result in pixels.

        Returns:
            RGB ``PIL.Image`` preserving the aspect ratio.

        Raises:
            CorruptSlideError: When the pixels cannot be decoded.
        """
        W, H = self.dimensions
        scale = min(1.0, max_size / max(W, H))
        tw, th = max(1, round(W * scale)), max(1, round(H * scale))
        self._ensure_open()
        if self.backend == "openslide":
            try:
                img = self._osr.get_thumbnail((tw, th))
            except Exception as exc:
                raise CorruptSlideError(
                    f"slide {self.path}: thumbnail could not be decoded ({exc}); the file is probably truncated or damaged"
                ) from exc
            return img.convert("RGB")
        assert self._array is not None
        img = Image.fromarray(self._array)
        if (tw, th) != (W, H):
            img = img.resize((tw, th), Image.Resampling.BOX)
        return img


def open_slide(
    path: str | os.PathLike[str],
    *,
    max_pixels: int | None = None,
    validate: bool = True,
    cache_bytes: int | None = None,
) -> Slide:
    """Open a whole-slide image or plain image file.

    Args:
        path: The file. Its content decides the reader, not its extension.
        max_pixels: Decompression-bomb limit for plain images, in pixels (default
            :data:`DEFAULT_MAX_IMAGE_PIXELS` or env ``PATHGPTOMIC_MAX_IMAGE_PIXELS``).
            Plain images are decoded into memory; pyramidal slides are read lazily.
        validate: Decode the smallest pyramid level once (catches most truncated files
            at open time instead of half-way through tiling).
        cache_bytes: Give an OpenSlide slide its own tile cache of this size instead of
            OpenSlide's process-wide shared cache.

    Returns:
        An open :class:`Slide` (use it as a context manager or call ``close()``).

    Raises:
        SlideNotFoundError: Missing path.
        EmptySlideError: Zero-byte file.
        UnsupportedSlideError: Text or unknown content (e.g. a text file named ``.svs``).
        CorruptSlideError: Truncated or damaged file.
        SlideTooLargeError: A plain image above ``max_pixels``.
    """
    p = _check_path(path)
    if p.stat().st_size == 0:
        raise EmptySlideError(f"slide file {p} is empty (0 bytes); the upload or copy did not complete, copy it again")
    head = _magic(p, 512)
    kind = _pillow_kind(head)
    vendor = None if kind in ("png", "jpeg", "bmp") else _openslide_vendor(p)
    if vendor is not None:
        slide = _open_openslide(p, vendor, validate)
        if cache_bytes is not None and hasattr(slide._osr, "set_cache"):
            import openslide

            slide._osr.set_cache(openslide.OpenSlideCache(int(cache_bytes)))
        return slide
    if kind is not None:
        return _open_plain(p, kind, _max_pixels(max_pixels))
    if _looks_like_text(head):
        raise UnsupportedSlideError(
            f"{p} is a text file, not a slide or image (despite its extension {p.suffix!r}); "
            "supported: SVS, NDPI, MRXS, SCN, tiled TIFF, DICOM and other OpenSlide formats, PNG, JPEG, TIFF"
        )
    raise UnsupportedSlideError(
        f"{p} is not a recognised slide or image format (first bytes {head[:8]!r}); "
        "supported: SVS, NDPI, MRXS, SCN, tiled TIFF, DICOM and other OpenSlide formats, PNG, JPEG, TIFF"
    )


def _open_openslide(p: Path, vendor: str, validate: bool) -> Slide:
    import openslide

    try:
        osr = openslide.OpenSlide(str(p))
    except Exception as exc:
        raise CorruptSlideError(
            f"slide {p} was detected as {vendor!r} but OpenSlide cannot open it ({exc}); "
            "the file is probably truncated or damaged (or a multi-file format missing its companion files)"
        ) from exc
    slide = Slide(p, vendor, "openslide")
    slide._osr = osr
    try:
        slide.dimensions = tuple(int(v) for v in osr.dimensions)  # type: ignore[assignment]
        slide.level_count = int(osr.level_count)
        slide.level_dimensions = tuple((int(w), int(h)) for w, h in osr.level_dimensions)
        slide.level_downsamples = tuple(float(d) for d in osr.level_downsamples)
        slide.properties = dict(osr.properties)
        slide.mpp = _plausible_mpp(_parse_mpp_openslide(osr.properties), p)
        slide.has_alpha = _may_be_transparent(p, vendor, slide.properties)
        if min(slide.dimensions) <= 0:
            raise CorruptSlideError(f"slide {p} reports an empty level 0 {slide.dimensions}")
        if validate:
            lw, lh = slide.level_dimensions[-1]
            lvl = slide.level_count - 1
            if lw * lh <= 4096 * 4096:
                osr.read_region((0, 0), lvl, (lw, lh))
            else:
                osr.read_region((0, 0), lvl, (min(lw, 512), min(lh, 512)))
    except SlideError:
        slide.close()
        raise
    except Exception as exc:
        slide.close()
        raise CorruptSlideError(
            f"slide {p} opened but its pixels cannot be decoded ({exc}); the file is probably truncated or damaged, re-copy or re-export it"
        ) from exc
    return slide


def _open_plain(p: Path, kind: str, limit: int) -> Slide:
    try:
        img = _open_pillow(p)
    except (OSError, ValueError, SyntaxError) as exc:
        raise CorruptSlideError(
            f"image {p} looks like {kind.upper()} but cannot be read ({exc}); the file is probably truncated or damaged"
        ) from exc
    with img:
        w, h = img.size
        if w * h > limit:
            raise SlideTooLargeError(
                f"plain image {p} is {w}x{h} = {w * h:,} pixels, above the limit of {limit:,} pixels "
                "(decompression-bomb guard); convert it to a pyramidal tiled TIFF (e.g. `vips tiffsave "
                "--tile --pyramid`) or raise the limit with max_pixels / PATHGPTOMIC_MAX_IMAGE_PIXELS"
            )
        if w <= 0 or h <= 0:
            raise CorruptSlideError(f"image {p} has an empty size {w}x{h}")
        if kind == "tiff":
            _check_tiff_extent(p, img)
        mpp = _plausible_mpp(_parse_mpp_tiff(img), p) if kind == "tiff" else None
        info = {str(k): str(v) for k, v in img.info.items() if isinstance(v, (str, int, float, tuple))}
    slide = Slide(p, kind, "pillow")
    slide.dimensions = (int(w), int(h))
    slide.level_count = 1
    slide.level_dimensions = ((int(w), int(h)),)
    slide.level_downsamples = (1.0,)
    slide.mpp = mpp
    slide.properties = info
    slide._array = _decode_plain(p, kind, w * h)
    return slide
