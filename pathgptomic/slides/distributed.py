"""Feature extraction under ``torchrun``: slides sharded by rank into one shared cache.

Run on one machine with 4 GPUs::

    torchrun --nproc_per_node=4 -m pathgptomic.slides.distributed \\
        --manifest slides.csv --cache-dir /shared/cache --encoder t2t_vit_14 --weights t2t.pth

or across nodes with torchrun's usual ``--nnodes/--node_rank/--rdzv_*`` options; the cache
folder must be visible to every node. Each rank takes every ``world_size``-th slide of the
sorted, de-duplicated slide list (backend ``nccl`` with CUDA, ``gloo`` on CPU), extracts
it with :func:`pathgptomic.slides.features.extract_slide_features` (cache entries are
written atomically, so ranks never see each other's half-written files) and appends one
JSON line per slide to ``<log-dir>/rank<r>.jsonl``. A final barrier makes every rank wait
for the others; rank 0 then prints a summary. Without ``torchrun`` it runs as a single
process (rank 0 of 1).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Sequence

from pathgptomic.data.manifest import read_slide_manifest as read_manifest
from pathgptomic.errors import PathGPTomicError

logger = logging.getLogger(__name__)

__all__ = ["main", "read_manifest", "shard"]


def shard(paths: Sequence[str], rank: int, world_size: int) -> list[str]:
    """This rank's slides: every ``world_size``-th of the sorted unique paths, from ``rank``."""
    unique = sorted(set(paths))
    return unique[rank::world_size]


def build_parser() -> argparse.ArgumentParser:
    """Arguments of the distributed extraction entry point."""
    p = argparse.ArgumentParser(
        prog="python -m pathgptomic.slides.distributed",
        description="Extract patch features for a slide manifest, one process per GPU/CPU slot under torchrun.",
    )
    p.add_argument("--manifest", required=True, help="CSV with columns patient_id,path")
    p.add_argument("--cache-dir", required=True, help="shared feature cache folder")
    p.add_argument("--log-dir", default=None, help="per-rank JSONL logs (default: <cache-dir>/_logs)")
    p.add_argument("--encoder", default="resnet18")
    p.add_argument("--weights", default=None, help="local encoder weights file")
    p.add_argument("--seed", type=int, default=0, help="seed of a random-init encoder")
    p.add_argument("--patch-size", type=int, default=224)
    p.add_argument("--target-mpp", type=float, default=0.5)
    p.add_argument("--assumed-mpp", type=float, default=0.5)
    p.add_argument("--max-patches", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--num-workers", type=int, default=0)
    p.add_argument("--backend", choices=["auto", "gloo", "nccl"], default="auto")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for a user error)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    import torch
    import torch.distributed as dist

    from pathgptomic.slides.features import EncoderSpec, extract_slide_features
    from pathgptomic.slides.tiling import TilingConfig

    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = torch.cuda.is_available()
    backend = args.backend if args.backend != "auto" else ("nccl" if use_cuda else "gloo")
    if use_cuda:
        torch.cuda.set_device(local_rank % torch.cuda.device_count())
        device = torch.device("cuda", torch.cuda.current_device())
    else:
        device = torch.device("cpu")
    initialised = False
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group(backend=backend)
        initialised = True
    try:
        manifest = read_manifest(args.manifest)
        tiling = TilingConfig(
            patch_size=args.patch_size, target_mpp=args.target_mpp, assumed_mpp=args.assumed_mpp, max_patches=args.max_patches
        )
        spec = EncoderSpec(args.encoder, args.weights, False, args.seed)
        mine = shard([sp for paths in manifest.values() for sp in paths], rank, world_size)
        log_dir = Path(args.log_dir) if args.log_dir else Path(args.cache_dir) / "_logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log_path = log_dir / f"rank{rank}.jsonl"
        failures = 0
        with open(log_path, "a", encoding="utf-8") as log:
            for sp in mine:
                t0 = time.perf_counter()
                try:
                    sf = extract_slide_features(
                        sp,
                        spec,
                        tiling=tiling,
                        cache_dir=args.cache_dir,
                        device=device,
                        batch_size=args.batch_size,
                        num_workers=args.num_workers,
                        show_progress=not args.no_progress,
                    )
                    rec = {
                        "rank": rank,
                        "slide": sp,
                        "entry": sf.cache_path.name,
                        "n": int(len(sf.features)),
                        "from_cache": sf.from_cache,
                        "seconds": round(time.perf_counter() - t0, 3),
                    }
                except PathGPTomicError as exc:
                    failures += 1
                    rec = {"rank": rank, "slide": sp, "error": str(exc)}
                    print(f"rank {rank}: {exc}", file=sys.stderr)
                log.write(json.dumps(rec) + "\n")
                log.flush()
        if initialised:
            dist.barrier()
        if rank == 0:
            print(
                f"extracted {len(set(sp for paths in manifest.values() for sp in paths))} slides "
                f"on {world_size} process(es) into {args.cache_dir}"
            )
        return 2 if failures else 0
    except PathGPTomicError as exc:
        print(f"error (rank {rank}): {exc}", file=sys.stderr)
        return 2
    finally:
        if initialised:
            dist.destroy_process_group()


if __name__ == "__main__":
    raise SystemExit(main())
