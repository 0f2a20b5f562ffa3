"""Tissue detection and patch grids."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pathgptomic.errors import ConfigError
from pathgptomic.slides import SlideTooSmallError, TilingConfig, open_slide, tile_slide, tissue_mask
from pathgptomic.slides.tiling import write_coords_csv, write_mask, write_preview


def test_tissue_found_on_real_rois(roi_dir: Path) -> None:
    rois = sorted(roi_dir.glob("*.png"))
    assert len(rois) >= 3
    for p in rois:
        with open_slide(p) as s:
            r = tile_slide(s, TilingConfig(thumbnail_size=512))
        assert r.mpp_assumed and r.mpp == 0.5
        assert r.mask.mean() > 0.8, p.name
        assert r.n == 16, p.name  # 1024² at 0.5 µm/px → a 4×4 grid of 224 px patches, all tissue


def test_blank_white_rejected(slide_dir: Path) -> None:
    with open_slide(slide_dir / "white.png") as s:
        r = tile_slide(s)
    assert r.n == 0 and not r.mask.any() and r.n_candidates == 4


def test_demo_sized_png_gives_four_patches(slide_dir: Path) -> None:
    with open_slide(slide_dir / "tissue0.png") as s:
        r = tile_slide(s)
    assert r.n == 4 and r.level == 0 and r.read_size == 224
    assert sorted(map(tuple, r.coords.tolist())) == [(0, 0), (0, 224), (224, 0), (224, 224)]


def test_pyramid_uses_coarser_level_and_half_tissue(slide_dir: Path) -> None:
    # 0.25 µm/px slide, patches at 0.5 µm/px: 448-px footprint read at level 1 as 224 px
    with open_slide(slide_dir / "pyramid.tif") as s:
        r = tile_slide(s, TilingConfig(patch_size=64))
    assert not r.mpp_assumed and r.mpp == pytest.approx(0.25, rel=1e-3)
    assert r.step == 128 and r.level == 1 and r.read_size == 64
    assert r.n_candidates == 16
    assert r.n == 8  # only the left (tissue) half
    assert (r.coords[:, 0] < 256).all()


def test_pen_marks_rejected() -> None:
    img = np.full((200, 200, 3), 245, np.uint8)
    img[:, :100] = (200, 120, 180)  # pink tissue
    img[:, 100:] = (30, 160, 60)  # green ink
    mask = tissue_mask(img)
    assert mask[:, :90].mean() > 0.95
    assert mask[:, 110:].mean() < 0.05


def test_max_patches_deterministic(roi_dir: Path) -> None:
    p = sorted(roi_dir.glob("*.png"))[0]
    with open_slide(p) as s:
        a = tile_slide(s, TilingConfig(max_patches=5, seed=1, thumbnail_size=256))
        b = tile_slide(s, TilingConfig(max_patches=5, seed=1, thumbnail_size=256))
        c = tile_slide(s, TilingConfig(max_patches=5, seed=2, thumbnail_size=256))
    assert a.n == 5 and a.n_tissue == 16
    np.testing.assert_array_equal(a.coords, b.coords)
    assert not np.array_equal(a.coords, c.coords)


def test_too_small_raises(tmp_path: Path) -> None:
    p = tmp_path / "small.png"
    Image.fromarray(np.full((100, 100, 3), 128, np.uint8)).save(p)
    with open_slide(p) as s, pytest.raises(SlideTooSmallError, match="smaller than one patch"):
        tile_slide(s)


def test_config_validation() -> None:
    with pytest.raises(ConfigError):
        TilingConfig(tissue_threshold=1.5)
    with pytest.raises(ConfigError):
        TilingConfig(target_mpp=0)


def test_outputs_written(slide_dir: Path, tmp_path: Path) -> None:
    with open_slide(slide_dir / "tissue1.png") as s:
        r = tile_slide(s)
    prev = write_preview(r, tmp_path / "prev.png")
    mask = write_mask(r, tmp_path / "mask.png")
    csv = write_coords_csv(r, tmp_path / "coords.csv")
    assert Image.open(prev).size == (448, 448)
    assert Image.open(mask).size == (448, 448)
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("x,y,level") and len(lines) == 1 + r.n
