"""Slides and ROIs: reading, tissue tiling, patch features.

``open_slide``, ``detect_format``, ``TilingConfig`` and ``tile_slide`` are importable from
here; feature extraction (which imports torch) lives in :mod:`pathgptomic.slides.features`.
"""

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
