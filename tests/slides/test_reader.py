"""Slide reader: OpenSlide and Pillow behind one interface, errors that name the problem."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pathgptomic.errors import SlideError
from pathgptomic.slides import (
    CorruptSlideError,
    EmptySlideError,
    SlideNotFoundError,
    SlideTooLargeError,
    UnsupportedSlideError,
    detect_format,
    open_slide,
)


def test_pyramidal_tiff_opens_through_openslide(slide_dir: Path) -> None:
    path = slide_dir / "pyramid.tif"
    assert detect_format(path) == "generic-tiff"
    with open_slide(path) as s:
        assert s.backend == "openslide"
        assert s.level_count == 3
        assert s.dimensions == (512, 512)
        assert s.level_dimensions == ((512, 512), (256, 256), (128, 128))
        assert s.level_downsamples == pytest.approx((1.0, 2.0, 4.0))
        assert s.mpp == pytest.approx(0.25, rel=1e-3)
        region = s.read_region((0, 0), 1, (64, 32))
        assert region.shape == (32, 64, 3) and region.dtype == np.uint8
        # left half is tissue-coloured, right half near-white
        assert region[:, :20].mean() < 220
        assert s.read_region((400, 0), 0, (64, 64)).min() >= 240
        thumb = s.thumbnail(100)
        assert max(thumb.size) == 100 and thumb.mode == "RGB"
        assert s.get_best_level_for_downsample(3.0) == 1


def test_png_opens_through_pillow(slide_dir: Path) -> None:
    path = slide_dir / "tissue0.png"
    assert detect_format(path) == "png"
    with open_slide(path) as s:
        assert s.backend == "pillow" and s.level_count == 1
        assert s.dimensions == (448, 448)
        assert s.mpp is None
        expected = np.asarray(Image.open(path).convert("RGB"))
        np.testing.assert_array_equal(s.read_region((10, 20), 0, (30, 40)), expected[20:60, 10:40])
        # outside the image is white padding, not an error
        edge = s.read_region((440, 440), 0, (16, 16))
        assert edge.shape == (16, 16, 3) and (edge[8:, 8:] == 255).all()
        assert isinstance(s.read_region((0, 0), 0, (8, 8), as_array=False), Image.Image)


def test_truncated_file_raises_corrupt(slide_dir: Path, tmp_path: Path) -> None:
    for name in ("pyramid.tif", "tissue0.png"):
        data = (slide_dir / name).read_bytes()
        bad = tmp_path / f"cut_{name}"
        bad.write_bytes(data[: len(data) // 2])
        with pytest.raises(CorruptSlideError, match=str(bad.name)):
            open_slide(bad)


def test_text_renamed_svs_raises_unsupported(tmp_path: Path) -> None:
    bad = tmp_path / "notes.svs"
    bad.write_text("patient notes, not a slide\n")
    assert detect_format(bad) is None
    with pytest.raises(UnsupportedSlideError, match="text file"):
        open_slide(bad)


def test_zero_byte_raises_empty(tmp_path: Path) -> None:
    bad = tmp_path / "empty.svs"
    bad.touch()
    assert detect_format(bad) is None
    with pytest.raises(EmptySlideError, match="0 bytes"):
        open_slide(bad)


def test_missing_and_binary_garbage(tmp_path: Path) -> None:
    with pytest.raises(SlideNotFoundError):
        open_slide(tmp_path / "nope.svs")
    junk = tmp_path / "junk.ndpi"
    junk.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(UnsupportedSlideError):
        open_slide(junk)


def test_decompression_bomb_guard(slide_dir: Path) -> None:
    with pytest.raises(SlideTooLargeError, match="decompression-bomb"):
        open_slide(slide_dir / "tissue0.png", max_pixels=1000)


def test_errors_are_slide_errors() -> None:
    for cls in (CorruptSlideError, EmptySlideError, UnsupportedSlideError, SlideTooLargeError):
        assert issubclass(cls, SlideError)


def test_bad_level_and_size(slide_dir: Path) -> None:
    with open_slide(slide_dir / "tissue0.png") as s:
        with pytest.raises(SlideError, match="level 3"):
            s.read_region((0, 0), 3, (8, 8))
        with pytest.raises(SlideError, match="positive"):
            s.read_region((0, 0), 0, (0, 8))
