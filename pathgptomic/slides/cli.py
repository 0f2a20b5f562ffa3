"""``pathgptomic tile`` and ``pathgptomic extract``.

``register(subparsers)`` is wired into :mod:`pathgptomic.cli`; ``python -m
pathgptomic.slides.cli`` runs the two commands on their own.

* ``tile SLIDE [SLIDE ...] --out DIR`` writes, per slide, ``<stem>_mask.png`` (tissue
  mask at thumbnail resolution), ``<stem>_coords.csv`` (level-0 patch corners) and
  ``<stem>_preview.png`` (thumbnail + mask + patch boxes), and prints one summary line.
* ``extract --manifest slides.csv`` (columns ``patient_id,path``) or ``--cohort`` fills
  the feature cache, with progress bars, and optionally writes a per-patient summary CSV.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Sequence

from pathgptomic.errors import InputValidationError

__all__ = ["register", "main", "cmd_tile", "cmd_extract"]


def _add_tiling_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("tiling")
    g.add_argument("--patch-size", type=int, default=224, help="patch side in pixels at --mpp (default 224)")
    g.add_argument("--mpp", type=float, default=0.5, help="target microns per pixel of patches (0.5 ≈ 20x; default 0.5)")
    g.add_argument(
        "--assumed-mpp", type=float, default=0.5, help="µm/px assumed when the file states none, e.g. PNG/JPEG exports (default 0.5)"
    )
    g.add_argument("--slide-mpp", type=float, default=None, help="override the µm/px stated by the file")
    g.add_argument("--tissue-threshold", type=float, default=0.5, help="minimum tissue fraction per patch (default 0.5)")
    g.add_argument("--max-patches", type=int, default=None, help="cap per slide, seeded random subset (default: all)")
    g.add_argument("--seed", type=int, default=0, help="seed of the patch subset and of a random-init encoder")
    g.add_argument("--thumbnail-size", type=int, default=2048, help="longest thumbnail side for the tissue mask")
    g.add_argument("--max-pixels", type=int, default=None, help="decompression-bomb limit for plain images (pixels)")


def _tiling(args: argparse.Namespace) -> Any:
    from pathgptomic.slides.tiling import TilingConfig

    return TilingConfig(
        patch_size=args.patch_size,
        target_mpp=args.mpp,
        assumed_mpp=args.assumed_mpp,
        mpp_override=args.slide_mpp,
        tissue_threshold=args.tissue_threshold,
        max_patches=args.max_patches,
        seed=args.seed,
        thumbnail_size=args.thumbnail_size,
    )


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``tile`` and ``extract`` subcommands."""
    p = subparsers.add_parser(
        "tile",
        help="slide → tissue mask PNG + patch coordinates CSV + preview PNG",
        description="Detect tissue and lay a patch grid on each slide (SVS, NDPI, MRXS, tiled TIFF, PNG, JPEG...).",
    )
    p.add_argument("slides", nargs="+", help="slide or image files")
    p.add_argument("--out", required=True, help="output folder")
    _add_tiling_args(p)
    p.set_defaults(func=cmd_tile)

    p = subparsers.add_parser(
        "extract",
        help="slide manifest or cohort → cached patch features",
        description="Tile every slide and encode its patches into the on-disk feature cache (resumable).",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--manifest", help="CSV with columns patient_id,path (relative paths: from the CSV's folder)")
    src.add_argument("--cohort", help="'demo', a TCGA-layout CSV or a generic-layout folder with a slide manifest")
    p.add_argument(
        "--cache-dir", default=None, help="feature cache (default: $PATHGPTOMIC_CACHE_DIR/features or ~/.cache/pathgptomic/features)"
    )
    p.add_argument("--encoder", default="resnet18", help="t2t_vit_14, t2t_vit_7, or any timm model name (default resnet18)")
    p.add_argument("--weights", default=None, help="local encoder weights (.pth read weights_only, or .safetensors)")
    p.add_argument("--pretrained", action="store_true", help="opt in to timm's pretrained download (needs network)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=0, help="DataLoader worker processes reading patches")
    p.add_argument("--device", default=None, help="cuda, cuda:1, cpu (default: CUDA when available)")
    p.add_argument("--no-amp", action="store_true", help="disable autocast on CUDA")
    p.add_argument("--skip-bad", action="store_true", help="warn and skip unreadable slides instead of stopping")
    p.add_argument("--summary", default=None, help="write a per-patient summary CSV here")
    p.add_argument("--no-progress", action="store_true")
    _add_tiling_args(p)
    p.set_defaults(func=cmd_extract)


def cmd_tile(args: argparse.Namespace) -> int:
    """Run ``tile``."""
    from pathgptomic.slides.reader import open_slide
    from pathgptomic.slides.tiling import tile_slide, write_coords_csv, write_mask, write_preview

    cfg = _tiling(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for sp in args.slides:
        with open_slide(sp, max_pixels=args.max_pixels) as slide:
            r = tile_slide(slide, cfg)
        stem = Path(sp).stem
        files = {
            "mask": str(write_mask(r, out / f"{stem}_mask.png")),
            "coords": str(write_coords_csv(r, out / f"{stem}_coords.csv")),
            "preview": str(write_preview(r, out / f"{stem}_preview.png")),
        }
        print(
            json.dumps(
                {
                    "slide": sp,
                    "format": slide.format,
                    "dimensions": list(r.dimensions),
                    "mpp": r.mpp,
                    "mpp_assumed": r.mpp_assumed,
                    "level": r.level,
                    "read_size": r.read_size,
                    "patches": r.n,
                    "tissue_cells": r.n_tissue,
                    "grid_cells": r.n_candidates,
                    **files,
                }
            )
        )
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    """Run ``extract``."""
    from pathgptomic.slides.features import default_cache_dir, extract_cohort_features

    if args.manifest:
        from pathgptomic.data.manifest import read_slide_manifest

        slides: Any = read_slide_manifest(args.manifest)
    else:
        from pathgptomic.data.demo import resolve_cohort

        cohort = resolve_cohort(args.cohort)
        if not cohort.has_images:
            raise InputValidationError(f"cohort {args.cohort} lists no slides; add a slide manifest (patient_id,path)")
        slides = cohort
    cache_dir = Path(args.cache_dir) if args.cache_dir else default_cache_dir()
    feats = extract_cohort_features(
        slides,
        encoder=args.encoder,
        weights=args.weights,
        pretrained=args.pretrained,
        seed=args.seed,
        tiling=_tiling(args),
        cache_dir=cache_dir,
        device=args.device,
        batch_size=args.batch_size,
        num_workers=args.workers,
        show_progress=not args.no_progress,
        amp=not args.no_amp,
        on_error="skip" if args.skip_bad else "raise",
        max_pixels=args.max_pixels,
    )
    n_patches = sum(len(pf.features) for pf in feats.values())
    if args.summary:
        import pandas as pd

        rows = [
            {"patient_id": pid, "n_slides": len(pf.slide_paths), "n_patches": len(pf.features), "dim": pf.features.shape[1]}
            for pid, pf in feats.items()
        ]
        Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_csv(args.summary, index=False)
    print(f"{len(feats)} patients, {n_patches} patches, encoder {args.encoder}, cache {cache_dir}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pathgptomic.slides.cli {tile,extract} ...``."""
    from pathgptomic.errors import PathGPTomicError

    parser = argparse.ArgumentParser(prog="python -m pathgptomic.slides.cli")
    sub = parser.add_subparsers(dest="cmd", required=True)
    register(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PathGPTomicError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
