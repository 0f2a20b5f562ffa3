"""Tissue detection and patch grids at a requested magnification.

The tissue mask is computed on a thumbnail:

1. HSV saturation ``S`` of every thumbnail pixel; threshold
   ``t = clip(otsu(S), min_saturation, max_saturation)``. Clipping keeps Otsu from
   splitting an all-tissue region of interest in two (it then has no background class)
   and from calling faint noise on a blank slide tissue.
2. Pen marks and debris are removed: pixels whose hue lies in the green/blue band
   (``pen_hue_range``, H&E stains are pink to purple) with saturation above
   ``pen_min_saturation``, and very dark pixels (value below ``dark_value``).
3. Morphological clean-up: binary closing then opening with a disk, removal of objects
   and holes smaller than ``min_object_fraction`` of the thumbnail.

Patches form a non-overlapping grid at ``target_mpp`` µm/px; a patch is kept when the
fraction of tissue under it is at least ``tissue_threshold``. When the slide does not
state its resolution, ``assumed_mpp`` is used and the result says so.
"""

from __future__ import annotations

import functools
import logging
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from pathgptomic.errors import ConfigError, SlideError
from pathgptomic.slides.reader import PLAUSIBLE_MPP, Slide, SlideTooSmallError

logger = logging.getLogger(__name__)

#: Most grid cells one slide may have (a 100,000² px slide at 0.25 µm/px has about 50,000 at
#: 0.5 µm/px); more means the resolution settings are wrong, not that the slide is large.
MAX_GRID_CELLS = 2_000_000

#: Largest upsampling of a patch: a slide more than this many times coarser than ``target_mpp``
#: has too little detail per patch to be tiled at that resolution.
MAX_UPSAMPLING = 8.0

__all__ = ["TilingConfig", "TilingResult", "tile_slide", "tissue_mask", "write_coords_csv", "write_preview"]


@dataclass(frozen=True)
class TilingConfig:
    """How patches are cut from a slide.

    Attributes:
        patch_size: Side of a patch in pixels at ``target_mpp`` (224 by default).
        target_mpp: Resolution of patches in µm/px (0.5 ≈ 20x objective).
        assumed_mpp: Resolution assumed when the file does not state one (plain PNG/JPEG
            exports usually do not). 0.5 treats such images as 20x regions (the TCGA ROI
            convention); override it when you know better.
        mpp_override: Use this µm/px even when the file states one (``None`` = trust file).
        tissue_threshold: Minimum tissue fraction under a patch, in ``[0, 1]``.
        max_patches: Cap on patches per slide (``None`` = all); a seeded random subset,
            returned in grid order.
        seed: Seed of that subset.
        thumbnail_size: Largest longest side of the thumbnail the mask is computed on.
        mask_pixels_per_patch: The thumbnail is only as large as needed for this many mask
            pixels along a patch side (at least 512 px, at most ``thumbnail_size``), which
            keeps tiling fast on small slides without coarsening large ones.
        min_saturation: Lower clip of the Otsu saturation threshold.
        max_saturation: Upper clip of the Otsu saturation threshold.
        pen_hue_range: Hue band (HSV, in ``[0, 1]``) treated as pen ink (green/blue).
        pen_min_saturation: Saturation above which that hue band counts as ink.
        dark_value: HSV value below which a pixel is treated as ink/debris.
        min_object_fraction: Smallest kept tissue object / filled hole, as a fraction of
            the thumbnail area.
    """

    patch_size: int = 224
    target_mpp: float = 0.5
    assumed_mpp: float = 0.5
    mpp_override: float | None = None
    tissue_threshold: float = 0.5
    max_patches: int | None = None
    seed: int = 0
    thumbnail_size: int = 2048
    mask_pixels_per_patch: int = 16
    min_saturation: float = 0.04
    max_saturation: float = 0.10
    pen_hue_range: tuple[float, float] = (0.15, 0.62)
    pen_min_saturation: float = 0.25
    dark_value: float = 0.12
    min_object_fraction: float = 0.0005

    def __post_init__(self) -> None:
        if int(self.patch_size) < 8:
            raise ConfigError(f"TilingConfig.patch_size must be >= 8 pixels, got {self.patch_size}")
        lo, hi = PLAUSIBLE_MPP
        for name in ("target_mpp", "assumed_mpp"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise ConfigError(f"TilingConfig.{name} must be a positive number of µm/px, got {v!r}")
            if not lo <= v <= hi:
                raise ConfigError(
                    f"TilingConfig.{name} = {v:g} µm/px is outside the plausible {lo:g}–{hi:g} µm/px "
                    "(0.25 ≈ 40x, 0.5 ≈ 20x, 1 ≈ 10x objective)"
                )
        if self.mpp_override is not None and not (math.isfinite(self.mpp_override) and lo <= self.mpp_override <= hi):
            raise ConfigError(
                f"TilingConfig.mpp_override (--slide-mpp) must be None or within the plausible "
                f"{lo:g}–{hi:g} µm/px, got {self.mpp_override!r}"
            )
        if not 0.0 <= self.tissue_threshold <= 1.0:
            raise ConfigError(f"TilingConfig.tissue_threshold must be in [0, 1], got {self.tissue_threshold}")
        if self.max_patches is not None and int(self.max_patches) < 1:
            raise ConfigError(f"TilingConfig.max_patches must be >= 1 or None, got {self.max_patches}")
        if int(self.thumbnail_size) < 16:
            raise ConfigError(f"TilingConfig.thumbnail_size must be >= 16, got {self.thumbnail_size}")
        if not 0 <= self.min_saturation <= self.max_saturation <= 1:
            raise ConfigError(
                f"TilingConfig needs 0 <= min_saturation <= max_saturation <= 1, got {self.min_saturation}, {self.max_saturation}"
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (used in cache keys)."""
        d = asdict(self)
        d["pen_hue_range"] = list(self.pen_hue_range)
        return d


@dataclass
class TilingResult:
    """Patch grid of one slide.

    Attributes:
        coords: Top-left corners in level-0 pixels, shape ``(n, 2)`` int64, columns ``x, y``.
        level: Pyramid level patches are read from.
        read_size: Side, in pixels of ``level``, of the region read per patch (resized to
            ``patch_size`` when different).
        patch_size: Side of a patch after resizing.
        step: Grid step (= patch footprint) in level-0 pixels.
        mask: Tissue mask on the thumbnail, shape ``(h_t, w_t)`` bool.
        mask_downsample: ``(sx, sy)`` level-0 pixels per mask pixel.
        tissue_fraction: Tissue fraction under each kept patch, shape ``(n,)`` float.
        mpp: µm/px at level 0 that was used.
        mpp_assumed: True when ``mpp`` came from the configuration, not the file.
        target_mpp: µm/px of patches.
        dimensions: Level-0 ``(width, height)``.
        n_candidates: Grid cells before tissue filtering and sampling.
        n_tissue: Cells passing the tissue threshold (before ``max_patches``).
        thumbnail: The thumbnail the mask was computed on, shape ``(h_t, w_t, 3)`` uint8.
        path: Slide path.
    """

    coords: np.ndarray
    level: int
    read_size: int
    patch_size: int
    step: int
    mask: np.ndarray
    mask_downsample: tuple[float, float]
    tissue_fraction: np.ndarray
    mpp: float
    mpp_assumed: bool
    target_mpp: float
    dimensions: tuple[int, int]
    n_candidates: int
    n_tissue: int
    thumbnail: np.ndarray = field(repr=False)
    path: str = ""

    @property
    def n(self) -> int:
        """Number of patches."""
        return len(self.coords)


def tissue_mask(thumbnail: np.ndarray | Image.Image, cfg: TilingConfig = TilingConfig()) -> np.ndarray:
    """Tissue mask of an RGB thumbnail (see the module docstring for the method).

    HSV is computed directly from the 8-bit channels (``V = max``,
    ``S = (max - min) / max``; hue only where needed) and the morphology uses square structuring
    elements (separable min/max filters), so a 2048² thumbnail takes well under a second.

    Args:
        thumbnail: RGB image, shape ``(h, w, 3)`` uint8.
        cfg: Thresholds.

    Returns:
        Boolean mask, shape ``(h, w)``, True = tissue.
    """
    from scipy import ndimage
    from skimage import morphology
    from skimage.filters import threshold_otsu

    rgb = np.asarray(thumbnail)
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"thumbnail must have shape (h, w, 3), got {rgb.shape}")
    rgb = rgb[..., :3]
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    mx = np.maximum(np.maximum(r, g), b)  # much faster than rgb.max(axis=2) on a 3-wide axis
    mn = np.minimum(np.minimum(r, g), b)
    val = mx.astype(np.float32) / 255.0
    sat = np.where(mx > 0, (mx - mn).astype(np.float32) / np.maximum(mx, 1).astype(np.float32), 0.0).astype(np.float32)
    sat_s = sat  # the morphological clean-up below removes speckle
    try:
        otsu = float(threshold_otsu(sat_s)) if float(sat_s.max() - sat_s.min()) > 1e-6 else 1.0
    except ValueError:
        otsu = 1.0
    thr = float(np.clip(otsu, cfg.min_saturation, cfg.max_saturation))
    mask = sat_s > thr
    pen = val < cfg.dark_value
    cand = sat > cfg.pen_min_saturation
    if cand.any():
        hue = _hue(rgb[cand], mx[cand], mn[cand])
        lo, hi = cfg.pen_hue_range
        ink = np.zeros_like(pen)
        ink[cand] = (hue >= lo) & (hue <= hi)
        pen |= ink
    if pen.any():
        pen = ndimage.maximum_filter(pen, size=3, mode="nearest")
    mask &= ~pen
    h, w = mask.shape
    size = 2 * max(1, round(min(h, w) / 256)) + 1
    mask = ndimage.minimum_filter(ndimage.maximum_filter(mask, size=size, mode="nearest"), size=size, mode="nearest")
    mask = ndimage.maximum_filter(ndimage.minimum_filter(mask, size=size, mode="nearest"), size=size, mode="nearest")
    min_size = max(4, int(cfg.min_object_fraction * h * w))
    if _has_max_size():
        mask = morphology.remove_small_objects(mask, max_size=min_size)
        mask = morphology.remove_small_holes(mask, max_size=min_size)
    else:  # scikit-image < 0.26
        mask = morphology.remove_small_objects(mask, min_size=min_size)
        mask = morphology.remove_small_holes(mask, area_threshold=min_size)
    logger.debug("tissue mask: otsu=%.3f threshold=%.3f pen=%.4f tissue=%.4f", otsu, thr, pen.mean(), mask.mean())
    return np.asarray(mask, dtype=bool)


def _hue(rgb: np.ndarray, mx: np.ndarray, mn: np.ndarray) -> np.ndarray:
    """HSV hue in ``[0, 1)`` of pixels ``rgb`` (shape ``(k, 3)`` uint8) with max/min ``mx``/``mn``."""
    r, g, b = (rgb[:, i].astype(np.float32) for i in range(3))
    d = np.maximum((mx - mn).astype(np.float32), 1e-6)
    mxf = mx.astype(np.float32)
    hue = np.where(mxf == r, (g - b) / d, np.where(mxf == g, 2.0 + (b - r) / d, 4.0 + (r - g) / d))
    return (hue / 6.0) % 1.0


@functools.cache
def _has_max_size() -> bool:
    """Whether scikit-image's ``remove_small_objects`` takes ``max_size`` (>= 0.26); looked up once."""
    import inspect

    from skimage import morphology

    return "max_size" in inspect.signature(morphology.remove_small_objects).parameters


def _box_sums(mask: np.ndarray) -> np.ndarray:
    integral = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=np.int64)
    integral[1:, 1:] = np.cumsum(np.cumsum(mask, axis=0, dtype=np.int64), axis=1)
    return integral


def tile_slide(slide: Slide, cfg: TilingConfig = TilingConfig()) -> TilingResult:
    """Tissue patches of ``slide`` on a grid at ``cfg.target_mpp``.

    Args:
        slide: An open slide.
        cfg: Tiling settings.

    Returns:
        The patch grid; ``n == 0`` when no patch has enough tissue (a warning is logged).

    Raises:
        SlideTooSmallError: When the image is smaller than one patch at this resolution.
    """
    if cfg.mpp_override is not None:
        mpp, assumed = float(cfg.mpp_override), False
    elif slide.mpp is not None:
        mpp, assumed = float(slide.mpp), False
    else:
        mpp, assumed = float(cfg.assumed_mpp), True
        logger.info("%s states no µm/px; assuming %.3g (set TilingConfig.assumed_mpp / --mpp)", slide.path, mpp)
    ds = cfg.target_mpp / mpp  # level-0 pixels per patch pixel
    step = max(1, int(round(cfg.patch_size * ds)))
    W, H = slide.dimensions
    if W < step or H < step:
        raise SlideTooSmallError(
            f"{slide.path} is {W}x{H} px, smaller than one patch ({cfg.patch_size} px at {cfg.target_mpp} µm/px = "
            f"{step} px at the slide's {mpp:.3g} µm/px{' (assumed)' if assumed else ''}); "
            "use a smaller patch size, or a different --mpp / target_mpp"
        )
    _check_grid(slide, cfg, mpp, assumed, ds, step)
    level = slide.get_best_level_for_downsample(ds)
    read_size = max(1, int(round(step / slide.level_downsamples[level])))

    side = min(int(cfg.thumbnail_size), max(512, math.ceil(cfg.mask_pixels_per_patch * max(W, H) / step)))
    thumb = np.asarray(slide.thumbnail(side).convert("RGB"))
    mask = tissue_mask(thumb, cfg)
    mh, mw = mask.shape
    sx, sy = W / mw, H / mh

    nx, ny = W // step, H // step
    gx, gy = np.meshgrid(np.arange(nx) * step, np.arange(ny) * step)
    coords = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.int64)
    integral = _box_sums(mask)
    x0 = np.clip(np.floor(coords[:, 0] / sx).astype(int), 0, mw - 1)
    y0 = np.clip(np.floor(coords[:, 1] / sy).astype(int), 0, mh - 1)
    x1 = np.clip(np.ceil((coords[:, 0] + step) / sx).astype(int), x0 + 1, mw)
    y1 = np.clip(np.ceil((coords[:, 1] + step) / sy).astype(int), y0 + 1, mh)
    sums = integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]
    frac = sums / ((x1 - x0) * (y1 - y0))
    keep = np.flatnonzero(frac >= max(cfg.tissue_threshold, 1e-9))
    n_tissue = int(keep.size)
    if cfg.max_patches is not None and keep.size > cfg.max_patches:
        rng = np.random.default_rng(cfg.seed)
        keep = np.sort(rng.choice(keep, size=int(cfg.max_patches), replace=False))
    if keep.size == 0:
        logger.warning("%s: no patch has >= %.0f%% tissue (background, blank or pen only)", slide.path, 100 * cfg.tissue_threshold)
    return TilingResult(
        coords=coords[keep],
        level=int(level),
        read_size=int(read_size),
        patch_size=int(cfg.patch_size),
        step=int(step),
        mask=mask,
        mask_downsample=(float(sx), float(sy)),
        tissue_fraction=frac[keep].astype(np.float32),
        mpp=mpp,
        mpp_assumed=assumed,
        target_mpp=float(cfg.target_mpp),
        dimensions=(int(W), int(H)),
        n_candidates=int(coords.shape[0]),
        n_tissue=n_tissue,
        thumbnail=thumb,
        path=str(slide.path),
    )


def _check_grid(slide: Slide, cfg: TilingConfig, mpp: float, assumed: bool, ds: float, step: int) -> None:
    """Refuse settings that would cut a slide into absurdly many or absurdly upsampled patches.

    Raises:
        SlideError: Upsampling above :data:`MAX_UPSAMPLING` or more than :data:`MAX_GRID_CELLS` cells.
    """
    W, H = slide.dimensions
    source = f"{mpp:.4g} µm/px{' (assumed)' if assumed else ''}"
    if ds < 1.0 / MAX_UPSAMPLING:
        raise SlideError(
            f"{slide.path} at {source} is {1 / ds:.1f}x coarser than the requested {cfg.target_mpp} µm/px patches "
            f"(each {cfg.patch_size} px patch would be upsampled from {step} px); check the slide's resolution "
            "(--slide-mpp) or request a coarser --mpp"
        )
    cells = (W // step) * (H // step)
    if cells > MAX_GRID_CELLS:
        raise SlideError(
            f"{slide.path}: {W}x{H} px at {source} would give {cells:,} patch positions (limit {MAX_GRID_CELLS:,}); "
            "the resolution is probably wrong — pass the right one with --slide-mpp, or a larger --patch-size / --mpp"
        )


def render_preview(result: TilingResult) -> Image.Image:
    """Thumbnail with the tissue mask tinted green and patch boxes outlined in blue.

    Args:
        result: A tiling result.

    Returns:
        RGB ``PIL.Image`` of the thumbnail's size.
    """
    from PIL import ImageDraw

    base = result.thumbnail.astype(np.float32)
    tint = np.array([0, 200, 0], dtype=np.float32)
    over = base.copy()
    over[result.mask] = 0.65 * base[result.mask] + 0.35 * tint
    img = Image.fromarray(np.clip(over, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    sx, sy = result.mask_downsample
    for x, y in result.coords:
        draw.rectangle([x / sx, y / sy, (x + result.step) / sx - 1, (y + result.step) / sy - 1], outline=(20, 60, 230), width=1)
    return img


def write_preview(result: TilingResult, path: str | os.PathLike[str]) -> Path:
    """Write :func:`render_preview` as PNG; returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    render_preview(result).save(p, format="PNG")
    return p


def write_mask(result: TilingResult, path: str | os.PathLike[str]) -> Path:
    """Write the tissue mask as a black/white PNG (thumbnail resolution); returns the path."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray((result.mask * 255).astype(np.uint8)).save(p, format="PNG")
    return p


def write_coords_csv(result: TilingResult, path: str | os.PathLike[str]) -> Path:
    """Write patch coordinates as CSV (``x,y,level,read_size,patch_size,tissue_fraction``)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "w", encoding="utf-8") as fh:
        fh.write("x,y,level,read_size,patch_size,tissue_fraction\n")
        fh.writelines(
            f"{int(x)},{int(y)},{result.level},{result.read_size},{result.patch_size},{float(f):.4f}\n"
            for (x, y), f in zip(result.coords, result.tissue_fraction)
        )
    return p
