"""Slides and ROIs: reading, tissue tiling, patch features.

``open_slide``, ``detect_format``, ``TilingConfig`` and ``tile_slide`` are importable from
here; feature extraction (which imports torch) lives in :mod:`pathgptomic.slides.features`.
The names load on first use (PEP 562), so ``pathgptomic --help``, which imports
:mod:`pathgptomic.slides.cli`, reads neither numpy nor Pillow.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pathgptomic import lazy_exports

if TYPE_CHECKING:
    from pathgptomic.slides.reader import (
        CorruptSlideError,
        EmptySlideError,
        Slide,
        SlideNotFoundError,
        SlideTooLargeError,
        SlideTooSmallError,
        UnsupportedSlideError,
        detect_format,
        open_slide,
    )
    from pathgptomic.slides.tiling import TilingConfig, TilingResult, tile_slide, tissue_mask

#: Public name → submodule defining it.
_LAZY: dict[str, str] = {
    **dict.fromkeys(
        (
            "CorruptSlideError",
            "EmptySlideError",
            "Slide",
            "SlideNotFoundError",
            "SlideTooLargeError",
            "SlideTooSmallError",
            "UnsupportedSlideError",
            "detect_format",
            "open_slide",
        ),
        "reader",
    ),
    **dict.fromkeys(("TilingConfig", "TilingResult", "tile_slide", "tissue_mask"), "tiling"),
}

__all__ = [
    "CorruptSlideError",
    "EmptySlideError",
    "Slide",
    "SlideNotFoundError",
    "SlideTooLargeError",
    "SlideTooSmallError",
    "TilingConfig",
    "TilingResult",
    "UnsupportedSlideError",
    "detect_format",
    "open_slide",
    "tile_slide",
    "tissue_mask",
]

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
