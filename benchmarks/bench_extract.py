"""Patch-encoder throughput (patches/s) and peak memory for feature extraction.

For each encoder: build it (random init, no download), run ``--warmup`` batches, then time
``--batches`` forward passes of ``--batch-size`` 224² patches under ``torch.inference_mode``
(fp32; with ``--dtypes fp32,bf16`` also bf16 autocast, CUDA only). Peak memory is
``torch.cuda.max_memory_allocated`` on CUDA and the process's peak RSS on CPU.

With ``--slide`` it also runs the whole extraction path (tiling, DataLoader, encoder) on
that slide with ``extract_slide_features`` (cache in a temp folder) and reports its patches/s.

Usage:
    python benchmarks/bench_extract.py --device cpu --batch-size 16 --batches 3 --threads 2
    python benchmarks/bench_extract.py --device cuda --batch-size 256 --dtypes fp32,bf16
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import resource
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="t2t_vit_7,t2t_vit_14,resnet50")
    ap.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--batches", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--dtypes", default="fp32", help="comma list of fp32,bf16,fp16 (autocast, CUDA only)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads on CPU")
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--slide", default=None, help="also time the full extraction path on this slide")
    ap.add_argument("--workers", type=int, default=0, help="DataLoader workers for --slide")
    args = ap.parse_args()

    import torch

    from pathgptomic.nn.encoders import load_encoder

    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.threads:
        torch.set_num_threads(args.threads)
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else None
    print(f"# bench_extract {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")
    print(
        f"machine: {platform.machine()} {platform.processor()}, torch {torch.__version__}, device {device}"
        f"{' (' + gpu + ')' if gpu else ''}, threads {torch.get_num_threads()}, batch {args.batch_size}"
    )
    print("| model | dtype | params (M) | dim | patches/s | ms/batch | peak memory |")
    print("|---|---|---|---|---|---|---|")
    dtypes = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        enc = load_encoder(name)
        model = enc.model.to(device).eval()
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
        n_params = sum(p.numel() for p in model.parameters()) / 1e6
        size = enc.transform.size
        for dname in [d.strip() for d in args.dtypes.split(",") if d.strip()]:
            amp = dtypes[dname]
            if amp is not None and device.type != "cuda":
                print(f"| {name} | {dname} | {n_params:.1f} | {enc.num_features} | (autocast only on CUDA) | | |")
                continue
            x = torch.randn(args.batch_size, 3, *size, device=device)
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            with torch.inference_mode(), torch.autocast(device.type, dtype=amp or torch.float32, enabled=amp is not None):
                for _ in range(args.warmup):
                    model(x)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                t0 = time.perf_counter()
                for _ in range(args.batches):
                    model(x)
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                elapsed = time.perf_counter() - t0
            rate = args.batches * args.batch_size / elapsed
            if device.type == "cuda":
                peak = f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f} MiB (CUDA)"
            else:
                peak = f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB (process RSS)"
            print(f"| {name} | {dname} | {n_params:.1f} | {enc.num_features} | {rate:.1f} | {1e3 * elapsed / args.batches:.0f} | {peak} |")
        if args.slide:
            from pathgptomic.slides.features import extract_slide_features

            with tempfile.TemporaryDirectory() as d:
                t0 = time.perf_counter()
                sf = extract_slide_features(
                    args.slide, enc, cache_dir=d, device=device, batch_size=args.batch_size, num_workers=args.workers, show_progress=False
                )
                el = time.perf_counter() - t0
            print(f"| {name} | full path on {args.slide} | | | {len(sf.features) / el:.1f} | ({len(sf.features)} patches, {el:.1f} s) | |")
        del model, enc
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
