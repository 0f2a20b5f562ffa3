"""Slide figures: tissue mask and tiles over the thumbnail, per-tile scores as a heatmap.

Coordinates follow ``pathgptomic.slides.tiling.TilingResult``: ``coords`` are the
top-left corners of the tiles in level-0 pixels, columns ``x, y``; ``patch_size`` is a
tile's footprint in level-0 pixels (``TilingResult.step``); ``downsample`` is level-0
pixels per thumbnail pixel, one number or ``(sx, sy)`` (``TilingResult.mask_downsample``
when the thumbnail is the mask's). A level-0 point ``(X, Y)`` is drawn at thumbnail pixel
``(X / sx, Y / sy)``.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import plotly.graph_objects as go

from pathgptomic.errors import InputValidationError


@dataclass(frozen=True)
class TileGrid:
    """Per-tile scores on the tile lattice, placed in thumbnail pixels.

    Attributes:
        z: Scores, shape ``(rows, cols)``; NaN where there is no tile (mean when two
            tiles fall in one cell).
        x0: Thumbnail x of the centre of column 0.
        y0: Thumbnail y of the centre of row 0.
        dx: Cell width in thumbnail pixels.
        dy: Cell height in thumbnail pixels.
    """

    z: np.ndarray
    x0: float
    y0: float
    dx: float
    dy: float


def _scale(downsample: float | Sequence[float]) -> tuple[float, float]:
    if np.ndim(downsample) == 0:
        sx = sy = float(downsample)  # type: ignore[arg-type]
    else:
        vals = [float(v) for v in downsample]  # type: ignore[union-attr]
        if len(vals) != 2:
            raise InputValidationError(f"downsample must be one number or (sx, sy), got {downsample!r}.")
        sx, sy = vals
    if not (sx > 0 and sy > 0):
        raise InputValidationError(f"downsample must be > 0, got {downsample!r}.")
    return sx, sy


def _coords(coords: Any, n: int | None = None) -> np.ndarray:
    c = np.asarray(coords, dtype=float)
    if c.ndim != 2 or c.shape[1] != 2:
        raise InputValidationError(f"coords must have shape (n, 2) (x, y in level-0 pixels), got {c.shape}.")
    if n is not None and c.shape[0] != n:
        raise InputValidationError(f"Dimension mismatch: 'coords' has {c.shape[0]} tiles but 'scores' has {n}.")
    return c


def tile_score_grid(coords: Any, scores: Any, patch_size: float, downsample: float | Sequence[float]) -> TileGrid:
    """Place per-tile scores on the tile lattice (the data step of the heatmap).

    Cell of tile ``i``: ``col = round((x_i − min x) / patch_size)``, ``row = round((y_i −
    min y) / patch_size)``.

    Args:
        coords: Tile corners, shape ``(n, 2)``, level-0 ``x, y``.
        scores: One score per tile, shape ``(n,)`` (NaN allowed).
        patch_size: Tile footprint in level-0 pixels (> 0).
        downsample: Level-0 pixels per thumbnail pixel.

    Returns:
        The :class:`TileGrid`.
    """
    s = np.asarray(scores, dtype=float).ravel()
    c = _coords(coords, s.size)
    if not patch_size > 0:
        raise InputValidationError(f"patch_size must be > 0 level-0 pixels, got {patch_size!r}.")
    sx, sy = _scale(downsample)
    if s.size == 0:
        return TileGrid(np.full((0, 0), np.nan), 0.0, 0.0, patch_size / sx, patch_size / sy)
    xmin, ymin = c[:, 0].min(), c[:, 1].min()
    col = np.rint((c[:, 0] - xmin) / patch_size).astype(int)
    row = np.rint((c[:, 1] - ymin) / patch_size).astype(int)
    total = np.zeros((row.max() + 1, col.max() + 1))
    count = np.zeros_like(total)
    ok = np.isfinite(s)
    np.add.at(total, (row[ok], col[ok]), s[ok])
    np.add.at(count, (row[ok], col[ok]), 1)
    with np.errstate(invalid="ignore"):
        z = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return TileGrid(
        z=z,
        x0=(xmin + patch_size / 2) / sx,
        y0=(ymin + patch_size / 2) / sy,
        dx=patch_size / sx,
        dy=patch_size / sy,
    )


def tile_outlines(coords: Any, patch_size: float, downsample: float | Sequence[float]) -> tuple[list[float | None], list[float | None]]:
    """Tile rectangles as one polyline in thumbnail pixels (None separates tiles).

    Returns:
        ``(xs, ys)``: 6 entries per tile (4 corners, the first again, None).
    """
    c = _coords(coords)
    sx, sy = _scale(downsample)
    xs: list[float | None] = []
    ys: list[float | None] = []
    for x, y in c:
        x0, y0, x1, y1 = x / sx, y / sy, (x + patch_size) / sx, (y + patch_size) / sy
        xs.extend([x0, x1, x1, x0, x0, None])
        ys.extend([y0, y0, y1, y1, y0, None])
    return xs, ys


def _image_trace(thumbnail: Any) -> go.Image:
    """The thumbnail as a PNG data URI (small JSON, unlike a nested list of pixels)."""
    from PIL import Image  # Pillow is a core dependency

    arr = np.asarray(thumbnail)
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise InputValidationError(f"thumbnail must be an (h, w, 3) RGB array, got shape {arr.shape}.")
    if arr.dtype != np.uint8:
        arr = np.clip(arr * (255.0 if arr.max() <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    uri = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
    return go.Image(source=uri, name="slide", hoverinfo="skip")


def _layout(fig: go.Figure, thumbnail: Any, title: str) -> go.Figure:
    h, w = np.asarray(thumbnail).shape[:2]
    fig.update_xaxes(visible=False, range=[0, w], constrain="domain")
    fig.update_yaxes(visible=False, range=[h, 0], scaleanchor="x", constrain="domain")
    fig.update_layout(title=title, template="plotly_white", margin={"l": 10, "r": 10, "t": 50, "b": 10}, legend={"orientation": "h"})
    return fig


def slide_tiles_figure(
    thumbnail: Any,
    mask: Any | None,
    coords: Any,
    patch_size: float,
    downsample: float | Sequence[float],
    *,
    mask_opacity: float = 0.3,
    title: str = "Tissue mask and tiles",
) -> go.Figure:
    """The slide thumbnail with the tissue mask shaded and the tiles outlined.

    Args:
        thumbnail: RGB thumbnail, shape ``(h, w, 3)``.
        mask: Tissue mask, shape ``(h_m, w_m)`` bool (resampled to the thumbnail by
            nearest neighbour when sizes differ), or None.
        coords: Tile corners, shape ``(n, 2)``, level-0 ``x, y``.
        patch_size: Tile footprint in level-0 pixels.
        downsample: Level-0 pixels per thumbnail pixel.
        mask_opacity: Opacity of the mask overlay.
        title: Figure title.

    Returns:
        Figure with traces: image, mask overlay (when a mask is given), tile outlines.
    """
    fig = go.Figure(_image_trace(thumbnail))
    h, w = np.asarray(thumbnail).shape[:2]
    if mask is not None:
        m = np.asarray(mask).astype(bool)
        if m.ndim != 2:
            raise InputValidationError(f"mask must be a 2-D boolean array, got shape {m.shape}.")
        if m.shape != (h, w):
            rows = np.minimum((np.arange(h) * m.shape[0] / h).astype(int), m.shape[0] - 1)
            cols = np.minimum((np.arange(w) * m.shape[1] / w).astype(int), m.shape[1] - 1)
            m = m[np.ix_(rows, cols)]
        fig.add_trace(
            go.Heatmap(
                z=np.where(m, 1.0, np.nan),
                x0=0.5,
                dx=1,
                y0=0.5,
                dy=1,
                opacity=mask_opacity,
                colorscale=[[0, "#2ca02c"], [1, "#2ca02c"]],
                showscale=False,
                hoverinfo="skip",
                name="tissue mask",
            )
        )
    xs, ys = tile_outlines(coords, patch_size, downsample)
    fig.add_trace(
        go.Scatter(x=xs, y=ys, mode="lines", line={"color": "#1f3b73", "width": 1}, name=f"tiles ({len(xs) // 6})", hoverinfo="skip")
    )
    return _layout(fig, thumbnail, title)


def tile_heatmap_figure(
    thumbnail: Any,
    coords: Any,
    patch_size: float,
    downsample: float | Sequence[float],
    scores: Any,
    *,
    score_name: str = "attribution",
    diverging: bool | None = None,
    opacity: float = 0.55,
    title: str | None = None,
) -> go.Figure:
    """Per-tile scores (IG or attention) as a heatmap over the slide thumbnail.

    Args:
        thumbnail: RGB thumbnail, shape ``(h, w, 3)``.
        coords: Tile corners, shape ``(n, 2)``, level-0 ``x, y``.
        patch_size: Tile footprint in level-0 pixels.
        downsample: Level-0 pixels per thumbnail pixel.
        scores: One score per tile, shape ``(n,)``.
        score_name: Colour-bar title.
        diverging: Red–blue scale centred on 0 (signed IG: red raises risk); default:
            when any score is negative. Otherwise a sequential scale (attention).
        opacity: Heatmap opacity.
        title: Figure title.

    Returns:
        Figure with two traces: the image and the heatmap.
    """
    grid = tile_score_grid(coords, scores, patch_size, downsample)
    s = np.asarray(scores, dtype=float)
    signed = bool(np.nanmin(s) < 0) if diverging is None and s.size else bool(diverging)
    fig = go.Figure(_image_trace(thumbnail))
    heat: dict[str, Any] = {"colorscale": "RdBu_r", "zmid": 0.0} if signed else {"colorscale": "Viridis"}
    fig.add_trace(
        go.Heatmap(
            z=grid.z,
            x0=grid.x0,
            dx=grid.dx,
            y0=grid.y0,
            dy=grid.dy,
            opacity=opacity,
            colorbar={"title": {"text": score_name}},
            name=score_name,
            hovertemplate=f"{score_name}=%{{z:.3g}}<extra></extra>",
            **heat,
        )
    )
    return _layout(fig, thumbnail, title or f"Per-tile {score_name}")
