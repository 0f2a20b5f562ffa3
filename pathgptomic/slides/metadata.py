"""Slide metadata: microns per pixel and whether a slide can hold transparent pixels.

µm/px comes from OpenSlide's ``openslide.mpp-x``/``-y`` properties, or for a plain TIFF from an
Aperio ImageDescription or a centimetre resolution tag; a value outside :data:`PLAUSIBLE_MPP`
is treated as absent, with a :class:`~pathgptomic.errors.DataQualityWarning`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pathgptomic.errors import DataQualityWarning
from pathgptomic.slides.limits import _open_pillow

__all__ = ["OPAQUE_VENDORS", "PLAUSIBLE_MPP"]

#: Microns per pixel a real scan or export can have: 0.05 (beyond any optical objective) to
#: 20 (a 0.5x overview). A file stating a value outside this range (e.g. a TIFF resolution tag
#: of 1 px/cm = 10,000 µm/px) is treated as stating none: the tiling's assumed µm/px is used
#: and a :class:`~pathgptomic.errors.DataQualityWarning` names the value and the fix.
PLAUSIBLE_MPP = (0.05, 20.0)

#: OpenSlide vendors whose pyramids cover the whole level-0 rectangle with opaque pixels (no
#: alpha channel); other vendors (MIRAX, Leica, Philips, DICOM, ...) can have transparent gaps.
OPAQUE_VENDORS = frozenset({"aperio", "generic-tiff", "hamamatsu", "trestle"})


def _parse_mpp_openslide(props: Any) -> float | None:
    vals = []
    for key in ("openslide.mpp-x", "openslide.mpp-y"):
        try:
            v = float(props[key])
        except (KeyError, TypeError, ValueError):
            continue
        if np.isfinite(v) and v > 0:
            vals.append(v)
    return float(np.mean(vals)) if vals else None


def _parse_mpp_tiff(img: Image.Image) -> float | None:
    """µm/px of a plain TIFF: Aperio's ``MPP = x`` in the ImageDescription, else a centimetre resolution tag.

    Only a physical unit (centimetre) is trusted in the resolution tags; inch "dpi" of exported
    images is screen density.
    """
    try:
        tags = img.tag_v2  # type: ignore[attr-defined]
        unit = tags.get(296)
        xres = tags.get(282)
        description = tags.get(270)
    except AttributeError:
        return None
    aperio = _aperio_mpp(description)
    if aperio is not None:
        return aperio
    if unit == 3 and xres:
        try:
            res = float(xres)
        except (TypeError, ValueError, ZeroDivisionError):
            return None
        if res > 0:
            return 10_000.0 / res
    return None


def _aperio_mpp(description: Any) -> float | None:
    """``MPP`` of an Aperio ImageDescription (``Aperio Image Library ...|MPP = 0.2520|AppMag = 40``)."""
    if not isinstance(description, str) or not description.startswith("Aperio"):
        return None
    for field in description.split("|")[1:]:
        key, _, value = field.partition("=")
        if key.strip() == "MPP":
            try:
                return float(value)
            except ValueError:
                return None
    return None


def _plausible_mpp(mpp: float | None, path: Path) -> float | None:
    """``mpp`` when inside :data:`PLAUSIBLE_MPP`, else ``None`` with a :class:`DataQualityWarning`."""
    if mpp is None or not np.isfinite(mpp):
        return None
    lo, hi = PLAUSIBLE_MPP
    if lo <= mpp <= hi:
        return float(mpp)
    warnings.warn(
        f"{path} states {mpp:.6g} µm per pixel, outside the plausible {lo:g}–{hi:g} µm/px of a scan or export "
        "(a wrong resolution tag); it is ignored and the assumed µm/px is used instead. "
        "If you know the resolution, pass it with --slide-mpp (TilingConfig.mpp_override).",
        DataQualityWarning,
        stacklevel=3,
    )
    return None


def _may_be_transparent(path: Path, vendor: str, properties: dict[str, str]) -> bool:
    """Whether an OpenSlide slide can return transparent pixels inside its level-0 rectangle."""
    if vendor not in OPAQUE_VENDORS or "openslide.bounds-width" in properties:
        return True
    if vendor == "hamamatsu":
        return False
    try:  # TIFF-based: an extra (alpha) sample makes transparency possible
        with _open_pillow(path) as img:
            tags = img.tag_v2  # type: ignore[attr-defined]
            return int(tags.get(277, 3)) > 3 or 338 in tags
    except Exception:  # noqa: BLE001 - unreadable header: be careful, check every patch
        return True
