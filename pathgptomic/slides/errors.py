"""The slide errors: one :class:`~pathgptomic.errors.SlideError` subclass per way a file can fail.

Raised by :func:`pathgptomic.slides.reader.open_slide` and the tiling; each message names the
file, what is wrong and what to do. Importable from :mod:`pathgptomic.slides` and
:mod:`pathgptomic.slides.reader` too.
"""

from __future__ import annotations

from pathgptomic.errors import SlideError

__all__ = [
    "CorruptSlideError",
    "EmptySlideError",
    "SlideNotFoundError",
    "SlideTooLargeError",
    "SlideTooSmallError",
    "UnsupportedSlideError",
]


class UnsupportedSlideError(SlideError):
    """The file is not an image or slide format this project can read."""


class CorruptSlideError(SlideError):
    """The file looks like a supported format but is truncated or damaged."""


class EmptySlideError(SlideError):
    """The file has zero bytes."""


class SlideNotFoundError(SlideError, FileNotFoundError):
    """The path does not exist or is not a regular file."""


class SlideTooSmallError(SlideError):
    """The image is smaller than one patch."""


class SlideTooLargeError(SlideError):
    """A plain image is larger than the decompression-bomb limit."""
