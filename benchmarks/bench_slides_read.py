"""Tiling + patch reading throughput vs a bare OpenSlide ``read_region`` loop.

Builds a pyramidal tiled TIFF (generic-tiff, zlib, 256² tiles, 0.25 µm/px) from the real
TCGA ROIs (mirrored to the requested size), then times

* ``ours``: ``open_slide`` → ``tile_slide`` (thumbnail + tissue mask + grid) → every patch
  through ``Slide.read_region`` as an RGB ``uint8`` array (what feature extraction reads);
* ``bare``: ``openslide.OpenSlide.read_region`` over the same coordinates, level and size
  (RGBA PIL images, no conversion);

and prints patches/s of each and the ratio (target >= 0.8).

Usage: python benchmarks/bench_slides_read.py [--size 4096] [--repeats 3] [--roi-dir ../shared/data/roi]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image


def build_slide(path: Path, roi_dir: Path | None, size: int) -> None:
    import tifffile

    rois = sorted(roi_dir.glob("*.png")) if roi_dir and roi_dir.is_dir() else []
    if rois:
        tiles = [np.asarray(Image.open(p).convert("RGB")) for p in rois]
    else:
        rng = np.random.default_rng(0)
        tiles = [np.clip(rng.normal((200, 120, 180), 20, (1024, 1024, 3)), 0, 255).astype(np.uint8)]
    canvas = np.full((size, size, 3), 245, np.uint8)
    k = 0
    for y in range(0, size, 1024):
        for x in range(0, size, 1024):
            if (x // 1024 + y // 1024) % 3 == 2:
                continue  # leave some background
            t = tiles[k % len(tiles)]
            k += 1
            canvas[y:y + 1024, x:x + 1024] = t[: size - y, : size - x]
    with tifffile.TiffWriter(path, bigtiff=False) as tw:
        level, i = canvas, 0
        while True:
            tw.write(level, tile=(256, 256), photometric="rgb", compression="zlib", subfiletype=1 if i else 0,
                     metadata=None, resolution=(1e4 / 0.25, 1e4 / 0.25), resolutionunit="CENTIMETER")
            if min(level.shape[:2]) <= 512:
                break
            level = level[::2, ::2]
            i += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=4096, help="level-0 side of the synthetic slide in pixels")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--roi-dir", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "roi"))
    ap.add_argument("--target-mpp", type=float, default=0.25, help="0.25 reads level 0; 0.5 reads level 1")
    args = ap.parse_args()

    import openslide

    from pathgptomic.slides import TilingConfig, open_slide, tile_slide

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.tif"
        build_slide(path, Path(args.roi_dir), args.size)
        cfg = TilingConfig(target_mpp=args.target_mpp)
        ours_t, bare_t, tile_t = [], [], []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            with open_slide(path, cache_bytes=64 << 20) as s:  # private caches: no cross-run reuse
                r = tile_slide(s, cfg)
                t1 = time.perf_counter()
                for x, y in r.coords:
                    s.read_region((int(x), int(y)), r.level, (r.read_size, r.read_size))
            t2 = time.perf_counter()
            ours_t.append(t2 - t0)
            tile_t.append(t1 - t0)
            osr = openslide.OpenSlide(str(path))
            osr.set_cache(openslide.OpenSlideCache(64 << 20))
            t0 = time.perf_counter()
            for x, y in r.coords:
                osr.read_region((int(x), int(y)), r.level, (r.read_size, r.read_size))
            bare_t.append(time.perf_counter() - t0)
            osr.close()
        n = r.n
        ours, bare = n / np.median(ours_t), n / np.median(bare_t)
        print(f"slide {args.size}x{args.size} generic-tiff zlib 256² tiles, {n} patches of {r.read_size}px "
              f"at level {r.level} (target {args.target_mpp} µm/px), repeats={args.repeats}")
        print(f"machine: {platform.processor() or platform.machine()}, python {platform.python_version()}, "
              f"openslide {openslide.__library_version__}")
        print(f"tiling (open+thumbnail+mask+grid): {np.median(tile_t) * 1e3:.0f} ms")
        print(f"ours (tiling + read as RGB arrays): {ours:.1f} patches/s")
        print(f"bare openslide read_region loop:    {bare:.1f} patches/s")
        read_only = n / (np.median(ours_t) - np.median(tile_t))
        print(f"ratio ours/bare: {ours / bare:.2f} (target >= 0.8); reading alone: {read_only:.1f} patches/s, "
              f"ratio {read_only / bare:.2f}")


if __name__ == "__main__":
    main()
