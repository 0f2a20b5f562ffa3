"""Pixels to 8-bit RGB: OpenSlide's RGBA regions and decoded plain images.

Transparent areas are composited onto white; 16/32-bit and float single-channel images are
scaled into 0-255 instead of being clipped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from pathgptomic.errors import SlideError
from pathgptomic.slides.errors import CorruptSlideError
from pathgptomic.slides.limits import _open_pillow


def _opaque_rgb(img: Image.Image) -> np.ndarray:
    """RGB array of an RGBA region known to be opaque: the alpha channel is dropped, not inspected."""
    return np.asarray(img.convert("RGB"))


def _pil_rgba_to_rgb(img: Image.Image) -> np.ndarray:
    """RGB array of an OpenSlide RGBA region; the opaque case (almost always) stays in C."""
    if img.mode == "RGBA" and img.getextrema()[3][0] == 255:
        return np.asarray(img.convert("RGB"))
    return _rgba_to_rgb(np.asarray(img))


def _rgba_to_rgb(arr: np.ndarray) -> np.ndarray:
    """Composite non-premultiplied RGBA onto white (OpenSlide's transparent borders)."""
    if arr.ndim == 3 and arr.shape[2] == 4:
        alpha = arr[..., 3]
        if alpha.min() == 255:
            return np.ascontiguousarray(arr[..., :3])
        a = alpha[..., None].astype(np.float32) / 255.0
        rgb = arr[..., :3].astype(np.float32) * a + 255.0 * (1.0 - a)
        return np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=2)
    return np.ascontiguousarray(arr[..., :3])


def _decode_plain(path: Path, fmt: str | None, expected_pixels: int | None = None) -> np.ndarray:
    """RGB pixels of a plain image whose size was already checked against the limit."""
    try:
        with _open_pillow(path) as img:
            img.load()
            if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
                rgba = img.convert("RGBA")
                return _rgba_to_rgb(np.asarray(rgba))
            if img.mode.startswith(("I", "F")):
                return _high_depth_to_rgb(np.asarray(img))
            return np.asarray(img.convert("RGB"))
    except SlideError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise CorruptSlideError(
            f"image {path} could not be decoded ({exc}); the file is probably truncated or damaged, re-export it"
        ) from exc


def _high_depth_to_rgb(arr: np.ndarray) -> np.ndarray:
    """8-bit RGB of a single-channel 16/32-bit integer or float image (Pillow would clip it at 255).

    Integers are scaled by their type's range (16-bit: ``v / 257``; wider types by the image's
    maximum); floats in ``[0, 1]`` by 255, other floats by their maximum.
    """
    a = arr.astype(np.float64)
    if np.issubdtype(arr.dtype, np.integer):
        top = 65535.0 if arr.dtype.itemsize <= 2 or a.max(initial=0) <= 65535 else float(a.max())
    else:
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
        top = 1.0 if a.max(initial=0) <= 1.0 else float(a.max())
    gray = np.clip(np.rint(a / max(top, 1e-12) * 255.0), 0, 255).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=2)
