"""Patch reading through ``Slide.read_region`` vs a bare OpenSlide ``read_region`` loop, same run.

Builds a pyramidal JPEG-tiled TIFF (OpenSlide generic-tiff, 256² tiles, YCbCr JPEG quality 90,
0.25 µm/px, levels down to 512 px) from the real TCGA ROIs when ``--roi-dir`` has them (else
H&E-coloured noise), with every third 1024² block left as background. Tiles the slide once
(``tile_slide``, reported separately), then, per repeat and in rotating order, reads every
patch of the grid with

* ``bare``: ``openslide.OpenSlide.read_region`` (RGBA ``PIL.Image``, no conversion) — the anchor;
* ``ours``: ``Slide.read_region`` → RGB ``uint8`` array (what feature extraction reads);
* ``ours, alpha check on every patch``: the same with ``has_alpha`` forced on, i.e. the
  previous behaviour (``getextrema`` over each patch, composite when not opaque).

Each reader has its own handle with a private 64 MiB OpenSlide cache; they take turns every 25
patches (rotating order), so load from other users of the machine falls on all alike.
Reported: median patches/s and the ratio to ``bare`` (goal >= 0.9).

Usage::

    python benchmarks/bench_slides_read.py --size 16384 --repeats 5 --out benchmarks/results/slides_read.md
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import write_report  # noqa: E402 - benchmarks/ is on sys.path when run as a script
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
CACHE_BYTES = 64 << 20


def _canvas(roi_dir: Path | None, size: int) -> np.ndarray:
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
            canvas[y : y + 1024, x : x + 1024] = t[: min(1024, size - y), : min(1024, size - x)]
    return canvas


def _jpeg_tiles(arr: np.ndarray, tile: int = 256):
    """Each tile of ``arr`` (edge tiles padded) as a baseline 4:4:4 JPEG."""
    for y in range(0, arr.shape[0], tile):
        for x in range(0, arr.shape[1], tile):
            t = np.zeros((tile, tile, 3), np.uint8)
            part = arr[y : y + tile, x : x + tile]
            t[: part.shape[0], : part.shape[1]] = part
            buf = io.BytesIO()
            Image.fromarray(t).save(buf, format="JPEG", quality=90, subsampling=0)
            yield buf.getvalue()


def build_slide(path: Path, roi_dir: Path | None, size: int) -> None:
    """Write the JPEG-tiled pyramid (tiles are encoded with Pillow, so no imagecodecs is needed)."""
    import tifffile
    import tifffile._imagecodecs as fallback_codecs

    if not hasattr(fallback_codecs, "jpeg_encode"):  # tifffile only looks the encoder up; tiles come encoded
        fallback_codecs.jpeg_encode = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("tiles are pre-encoded"))
    level, i = _canvas(roi_dir, size), 0
    with tifffile.TiffWriter(path, bigtiff=size > 16384) as tw:
        while True:
            tw.write(
                _jpeg_tiles(level),
                shape=level.shape,
                dtype=np.uint8,
                tile=(256, 256),
                photometric="ycbcr",
                subsampling=(1, 1),
                compression="jpeg",
                subfiletype=1 if i else 0,
                metadata=None,
                resolution=(1e4 / 0.25 / 2**i, 1e4 / 0.25 / 2**i),
                resolutionunit="CENTIMETER",
            )
            if min(level.shape[:2]) <= 512:
                break
            level = np.ascontiguousarray(level[::2, ::2])
            i += 1


def time_loops(path: Path, coords: np.ndarray, level: int, size: int, repeats: int, block: int = 25) -> dict[str, list[float]]:
    """Seconds per full pass over ``coords`` for each reader.

    The readers take turns every ``block`` patches (order rotating), so a burst of load from
    other users falls on all of them alike; each keeps its own handle and private cache.
    """
    import openslide

    from pathgptomic.slides import open_slide

    osr = openslide.OpenSlide(str(path))
    osr.set_cache(openslide.OpenSlideCache(CACHE_BYTES))
    ours = open_slide(path, cache_bytes=CACHE_BYTES)
    checked = open_slide(path, cache_bytes=CACHE_BYTES)
    checked.has_alpha = True  # the previous behaviour: getextrema over every patch
    readers = {
        "bare": lambda x, y: osr.read_region((x, y), level, (size, size)),
        "ours": lambda x, y: ours.read_region((x, y), level, (size, size)),
        "ours, alpha check on every patch": lambda x, y: checked.read_region((x, y), level, (size, size)),
    }
    names = list(readers)
    out: dict[str, list[float]] = {k: [] for k in names}
    try:
        for rep in range(repeats + 1):  # the first pass warms file and tile caches and is not reported
            total = dict.fromkeys(names, 0.0)
            for i, start in enumerate(range(0, len(coords), block)):
                chunk = [(int(x), int(y)) for x, y in coords[start : start + block]]
                k0 = (rep + i) % len(names)
                for k in names[k0:] + names[:k0]:
                    t0 = time.perf_counter()
                    for x, y in chunk:
                        readers[k](x, y)
                    total[k] += time.perf_counter() - t0
            if rep:
                for k in names:
                    out[k].append(total[k])
    finally:
        osr.close()
        ours.close()
        checked.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=int, default=16384, help="level-0 side of the synthetic slide in pixels")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--roi-dir", default=str(REPO.parent / "shared" / "data" / "roi"))
    ap.add_argument("--target-mpp", type=float, default=0.25, help="0.25 reads level 0; 0.5 reads level 1")
    ap.add_argument("--out", default=None, help="write a Markdown report here")
    args = ap.parse_args()

    import openslide

    from pathgptomic.slides import TilingConfig, open_slide, tile_slide

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.tif"
        build_slide(path, Path(args.roi_dir), args.size)
        t0 = time.perf_counter()
        with open_slide(path) as s:
            fmt, has_alpha = s.format, s.has_alpha
            r = tile_slide(s, TilingConfig(target_mpp=args.target_mpp))
        tiling_s = time.perf_counter() - t0
        times = time_loops(path, r.coords, r.level, r.read_size, args.repeats)
    rate = {k: r.n / statistics.median(v) for k, v in times.items()}
    head = (
        f"slide {args.size}² {fmt} (JPEG 256² tiles, has_alpha={has_alpha}), {r.n} patches of {r.read_size} px "
        f"at level {r.level} (target {args.target_mpp} µm/px); tiling {tiling_s * 1e3:.0f} ms; median of {args.repeats}"
    )
    print(head)
    for k, v in rate.items():
        print(f"{k:<34} {v:8.1f} patches/s   ratio to bare {v / rate['bare']:.2f}")
    if args.out:
        write_report(
            args.out,
            "Patch reading vs a bare OpenSlide loop",
            [
                f"openslide {openslide.__library_version__}. {head}.",
                "Readers take turns every 25 patches (rotating order), each with its own handle and a private 64 MiB "
                "OpenSlide cache; first pass (cache warm-up) not reported.",
            ],
            ["reader", "patches/s", "ratio to bare OpenSlide"],
            [[k, f"{v:.1f}", f"{v / rate['bare']:.2f}"] for k, v in rate.items()],
        )


if __name__ == "__main__":
    main()
