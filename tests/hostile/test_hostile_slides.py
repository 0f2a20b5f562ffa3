"""Hostile slide and image files: each gets a specific, actionable error or a correct result.

| case | expected outcome |
|---|---|
| PNG header claiming 250 Mpx (decompression bomb) | ``SlideTooLargeError`` naming the size and the fix; CLI exit 2, no traceback |
| PNG header claiming 150 Mpx | ``SlideTooLargeError`` (project limit 100 Mpx) |
| plain TIFF, resolution tag 1 px/cm (10,000 µm/px) | warning, mpp ignored, tiled at the assumed 0.5 µm/px (16 patches, not a million) |
| pyramidal TIFF, resolution tag 1 px/cm | same, through OpenSlide |
| settings that would explode the grid or upsample 40x | ``SlideError`` / ``ConfigError`` before any patch is made |
| truncated plain and pyramidal TIFF | ``CorruptSlideError`` ("truncated or damaged") |
| text file named ``.svs`` | ``UnsupportedSlideError`` ("text file") |
| zero-byte file | ``EmptySlideError`` |
| 1x1 image | opens; tiling raises ``SlideTooSmallError`` |
| 16-bit grayscale PNG | scaled to 8 bits (not clipped to white) |
| CMYK JPEG, RGBA PNG, palette PNG with transparency | correct RGB (transparent areas white) |
| Aperio ``MPP = 0.499`` in the ImageDescription (tiled and strip TIFF) | ``mpp == 0.499`` |
"""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pathgptomic.errors import ConfigError, DataQualityWarning, SlideError
from pathgptomic.slides import (
    CorruptSlideError,
    EmptySlideError,
    SlideTooLargeError,
    SlideTooSmallError,
    TilingConfig,
    UnsupportedSlideError,
    open_slide,
    tile_slide,
)

APERIO = "Aperio Image Library v12.0.15\r\n1024x1024 [0,0 1024x1024] (256x256) JPEG/RGB Q=70|AppMag = 20|MPP = 0.4990"


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width x height`` RGB pixels (no pixel data): a few dozen bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b""))
    return path


def _tissue(size: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.clip(np.array([200, 120, 180]) + rng.normal(0, 18, (size, size, 3)), 0, 255).astype(np.uint8)


def _pyramid(path: Path, arr: np.ndarray, *, levels: int = 3, resolution: float | None = None, description: str | None = None) -> Path:
    """Tiled pyramidal TIFF (OpenSlide generic-tiff, or aperio with an Aperio description)."""
    import tifffile

    kw: dict = {"resolution": (resolution, resolution), "resolutionunit": "CENTIMETER"} if resolution else {}
    with tifffile.TiffWriter(path) as tw:
        for i in range(levels):
            tw.write(
                arr[:: 2**i, :: 2**i],
                tile=(64, 64),
                photometric="rgb",
                compression="zlib",
                subfiletype=1 if i else 0,
                metadata=None,
                description=description if i == 0 else None,
                **kw,
            )
    return path


def _strip_tiff(path: Path, arr: np.ndarray, *, resolution: float | None = None, description: str | None = None) -> Path:
    import tifffile

    kw: dict = {"resolution": (resolution, resolution), "resolutionunit": "CENTIMETER"} if resolution else {}
    tifffile.imwrite(path, arr, photometric="rgb", metadata=None, description=description, **kw)
    return path


# ----------------------------------------------------------------------------- decompression bombs
@pytest.mark.parametrize(("megapixels", "width", "height"), [(150, 15_000, 10_000), (250, 20_000, 12_500)])
def test_bomb_png_gets_the_project_error_with_size_and_fix(tmp_path: Path, megapixels: int, width: int, height: int) -> None:
    path = _png_header_only(tmp_path / "bomb.png", width, height)
    with pytest.raises(SlideTooLargeError, match=rf"{megapixels},000,000 pixels.*limit of 100,000,000.*pyramidal tiled TIFF"):
        open_slide(path)


def test_bomb_png_through_the_cli_is_an_error_line_not_a_traceback(tmp_path: Path) -> None:
    path = _png_header_only(tmp_path / "bomb.png", 20_000, 12_500)
    res = subprocess.run(
        [sys.executable, "-m", "pathgptomic", "tile", str(path), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 2, res.stderr
    assert "Traceback" not in res.stderr and "DecompressionBombError" not in res.stderr
    assert res.stderr.startswith("error:") and "250,000,000 pixels" in res.stderr


# ----------------------------------------------------------------------------- resolution metadata
def test_plain_tiff_with_1_px_per_cm_is_tiled_at_the_assumed_mpp(tmp_path: Path) -> None:
    path = _strip_tiff(tmp_path / "one_px_per_cm.tif", _tissue(1024), resolution=1.0)
    with pytest.warns(DataQualityWarning, match=r"10000 µm per pixel.*--slide-mpp"):
        slide = open_slide(path)
    with slide:
        assert slide.mpp is None
        r = tile_slide(slide, TilingConfig())
    assert r.mpp_assumed and r.mpp == 0.5
    assert r.n_candidates == 16 and r.n <= 16  # 1024 / 224 = 4 per side, not 1,048,576 one-pixel patches


def test_pyramidal_tiff_with_1_px_per_cm_is_tiled_at_the_assumed_mpp(tmp_path: Path) -> None:
    path = _pyramid(tmp_path / "one_px_per_cm_pyramid.tif", _tissue(1024), resolution=1.0)
    with pytest.warns(DataQualityWarning, match="outside the plausible"):
        slide = open_slide(path)
    with slide:
        assert slide.backend == "openslide" and slide.mpp is None
        assert tile_slide(slide, TilingConfig()).n_candidates == 16


def test_grid_explosion_and_absurd_upsampling_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathgptomic.slides import tiling

    path = tmp_path / "tissue.png"
    Image.fromarray(_tissue(1024)).save(path)
    with open_slide(path) as slide:
        with pytest.raises(SlideError, match=r"40.0x coarser.*--slide-mpp"):
            tile_slide(slide, TilingConfig(assumed_mpp=20.0, target_mpp=0.5))
        monkeypatch.setattr(tiling, "MAX_GRID_CELLS", 100)
        with pytest.raises(SlideError, match=r"would give 16,384 patch positions \(limit 100\)"):
            tile_slide(slide, TilingConfig(patch_size=8, target_mpp=0.5))
    with pytest.raises(ConfigError, match="mpp_override.*plausible"):
        TilingConfig(mpp_override=10_000.0)


@pytest.mark.parametrize("layout", ["tiled", "strip"])
def test_aperio_mpp_in_the_image_description_is_read(tmp_path: Path, layout: str) -> None:
    arr = _tissue(512)
    path = (
        _pyramid(tmp_path / "aperio.svs", arr, description=APERIO)
        if layout == "tiled"
        else _strip_tiff(tmp_path / "aperio_strip.tif", arr, description=APERIO)
    )
    with open_slide(path) as slide:
        assert slide.format == ("aperio" if layout == "tiled" else "tiff")
        assert slide.mpp == pytest.approx(0.499)


# ----------------------------------------------------------------------------- broken files
def test_truncated_tiffs_are_corrupt(tmp_path: Path) -> None:
    for name, writer in (("strip.tif", _strip_tiff), ("pyramid.tif", _pyramid)):
        path = writer(tmp_path / name, _tissue(512))
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if name == "strip.tif" else data[: -len(data) // 3])
        with (
            pytest.raises((CorruptSlideError, UnsupportedSlideError), match="truncated|damaged|not a recognised"),
            open_slide(path) as slide,
        ):
            slide.read_region((0, 0), 0, (512, 512))


def test_text_named_svs_and_zero_byte_files(tmp_path: Path) -> None:
    text = tmp_path / "slide.svs"
    text.write_text("patient_id,path\nA,slide.svs\n")
    with pytest.raises(UnsupportedSlideError, match=r"text file.*'\.svs'"):
        open_slide(text)
    empty = tmp_path / "empty.tif"
    empty.write_bytes(b"")
    with pytest.raises(EmptySlideError, match="0 bytes"):
        open_slide(empty)


def test_one_pixel_image_opens_but_cannot_be_tiled(tmp_path: Path) -> None:
    path = tmp_path / "dot.png"
    Image.new("RGB", (1, 1), (200, 100, 180)).save(path)
    with open_slide(path) as slide:
        assert slide.dimensions == (1, 1)
        with pytest.raises(SlideTooSmallError, match="smaller than one patch"):
            tile_slide(slide, TilingConfig())


# ----------------------------------------------------------------------------- unusual pixel formats
def test_16_bit_grayscale_png_is_scaled_not_clipped(tmp_path: Path) -> None:
    values = np.array([[0, 257 * 64], [257 * 128, 65535]], dtype=np.uint16).repeat(32, 0).repeat(32, 1)
    path = tmp_path / "gray16.png"
    Image.fromarray(values).save(path)
    with open_slide(path) as slide:
        arr = slide.read_region((0, 0), 0, (64, 64))
    assert arr.dtype == np.uint8 and arr.shape == (64, 64, 3)
    assert arr[0, 0].tolist() == [0, 0, 0] and arr[0, 63].tolist() == [64] * 3
    assert arr[63, 0].tolist() == [128] * 3 and arr[63, 63].tolist() == [255] * 3


def test_cmyk_rgba_and_palette_images_give_correct_rgb(tmp_path: Path) -> None:
    cmyk = tmp_path / "cmyk.jpg"
    Image.new("RGB", (64, 64), (200, 40, 120)).convert("CMYK").save(cmyk, quality=95)
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[:, :32] = (200, 40, 120, 255)  # left opaque, right fully transparent
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    pal = Image.new("P", (64, 64), 0)
    pal.putpalette([255, 0, 255] + [0, 128, 0] * 255)
    pal.paste(1, (32, 0, 64, 64))
    pal.save(tmp_path / "palette.png", transparency=0)  # index 0 (magenta, left half) transparent
    with open_slide(cmyk) as s:
        assert np.abs(s.read_region((0, 0), 0, (64, 64)).astype(int) - (200, 40, 120)).max() < 12
    with open_slide(tmp_path / "rgba.png") as s:
        arr = s.read_region((0, 0), 0, (64, 64))
        assert arr[:, :32].reshape(-1, 3).tolist()[0] == [200, 40, 120] and (arr[:, 32:] == 255).all()
    with open_slide(tmp_path / "palette.png") as s:
        arr = s.read_region((0, 0), 0, (64, 64))
        assert (arr[:, :32] == 255).all() and (arr[:, 32:] == (0, 128, 0)).all()
