"""Cached tissue mask / tile grid of a slide, for the Predict thumbnail and the Explain heatmap."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import streamlit as st

from components import analysis as A

#: Longest side of the images kept in the cache (a WSI thumbnail can be 2048 px).
MAX_SIDE = 1024


def _shrink(image: np.ndarray) -> tuple[np.ndarray, float]:
    """``image`` resized so its longest side is at most :data:`MAX_SIDE`; returns (image, factor)."""
    from PIL import Image

    h, w = image.shape[:2]
    factor = max(h, w) / MAX_SIDE
    if factor <= 1.0:
        return image, 1.0
    size = (max(1, round(w / factor)), max(1, round(h / factor)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS)), factor


def file_mtime(path: str) -> float:
    """Modification time of ``path`` (0 when unreadable); part of the cache key."""
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


@st.cache_data(show_spinner=False, max_entries=32)
def tiling_summary(path: str, mtime: float, bundle_key: str, _bundle: Any) -> dict:
    """Tile ``path`` with the bundle's tiling settings (cached per file, mtime and bundle).

    Returns:
        ``preview`` (thumbnail with mask and tiles), ``thumbnail`` (plain), ``downsample``
        (level-0 px per returned-image px, ``(sx, sy)``), ``step`` (tile footprint, level-0 px),
        ``n_tiles``, ``n_tissue``, ``mpp``, ``mpp_assumed``, ``dimensions``.
    """
    from pathgptomic.slides import open_slide, tile_slide
    from pathgptomic.slides.tiling import render_preview

    with open_slide(path) as slide:
        result = tile_slide(slide, A.tiling_config(_bundle))
    preview, f = _shrink(np.asarray(render_preview(result)))
    thumb, _ = _shrink(np.asarray(result.thumbnail))
    sx, sy = result.mask_downsample
    return {
        "preview": preview,
        "thumbnail": thumb,
        "downsample": (sx * f, sy * f),
        "step": int(result.step),
        "n_tiles": result.n,
        "n_tissue": int(result.n_tissue),
        "mpp": float(result.mpp),
        "mpp_assumed": bool(result.mpp_assumed),
        "dimensions": tuple(result.dimensions),
    }
