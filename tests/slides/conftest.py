"""Small synthetic slides for the slides tests (written per session into a temp folder)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def tissue_like(size: int, seed: int = 0) -> np.ndarray:
    """An H&E-coloured (pink/purple) random image, shape ``(size, size, 3)`` uint8."""
    rng = np.random.default_rng(seed)
    base = np.array([200, 120, 180], dtype=np.float32)
    noise = rng.normal(0, 18, size=(size, size, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def write_pyramid_tiff(path: Path, arr: np.ndarray, levels: int = 3, tile: int = 64, mpp: float | None = None) -> Path:
    """Pyramidal tiled TIFF readable by OpenSlide's generic-tiff driver."""
    import tifffile

    kwargs = {}
    if mpp is not None:
        kwargs = {"resolution": (1e4 / mpp, 1e4 / mpp), "resolutionunit": "CENTIMETER"}
    with tifffile.TiffWriter(path, bigtiff=False) as tw:
        for i in range(levels):
            tw.write(
                arr[:: 2**i, :: 2**i],
                tile=(tile, tile),
                photometric="rgb",
                compression="zlib",
                subfiletype=1 if i else 0,
                metadata=None,
                **kwargs,
            )
    return path


@pytest.fixture(scope="session")
def slide_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("slides")
    for i in range(3):
        Image.fromarray(tissue_like(448, seed=i)).save(d / f"tissue{i}.png")
    Image.fromarray(np.full((448, 448, 3), 255, np.uint8)).save(d / "white.png")
    half = np.full((512, 512, 3), 250, np.uint8)
    half[:, :256] = tissue_like(512, seed=7)[:, :256]
    write_pyramid_tiff(d / "pyramid.tif", half, levels=3, mpp=0.25)
    return d
