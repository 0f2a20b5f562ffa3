"""Benchmark: scGPT embedding throughput (samples/s) and peak memory at sequence length 1200.

Models: the shipped demo model (``models/scgpt-demo``) and a whole-human-size model with
random weights (12 layers, width 512, 8 heads, FFN 512, vocabulary 60,697). Each sample has
1,199 expressed genes, so every sequence is exactly 1,200 tokens (``<cls>`` + 1,199).
Each configuration runs in a fresh subprocess; peak memory is the process's peak RSS
increase during embedding on CPU (``ru_maxrss``), or ``torch.cuda.max_memory_allocated``
on CUDA. On CUDA both fp32 and fp16 autocast are measured.

Usage::

    python benchmarks/bench_scgpt_embed.py [--device cpu|cuda] [--threads 1] [--out benchmarks/results/scgpt_embed.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SEQ_LEN = 1200


def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run_one(model: str, device: str, n_samples: int, batch_size: int, autocast: bool, threads: int) -> dict:
    """Embed ``n_samples`` sequences of length 1200 with one model; returns the measurements."""
    import numpy as np
    import torch

    sys.path.insert(0, str(REPO))
    from pathgptomic.genomics.embed import embed_matrix
    from pathgptomic.genomics.scgpt import LoadedScGPT, ScGPTConfig, ScGPTEncoder, load_scgpt
    from pathgptomic.genomics.vocab import build_vocab

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    if model == "demo":
        loaded = load_scgpt(REPO / "models" / "scgpt-demo")
    else:
        vocab = build_vocab([f"GENE{i}" for i in range(60694)])
        cfg = ScGPTConfig.from_args({"embsize": 512, "nheads": 8, "d_hid": 512, "nlayers": 12, "dropout": 0.2, "pad_value": -2})
        enc = ScGPTEncoder(cfg, len(vocab), vocab["<pad>"]).eval()
        for p in enc.parameters():
            p.requires_grad_(False)
        loaded = LoadedScGPT(model=enc, vocab=vocab, config=cfg, folder=Path("<random whole-human-size>"), checkpoint_hash="random")
    n_params = sum(p.numel() for p in loaded.model.parameters())
    n_genes = len(loaded.vocab) - 3
    rng = np.random.default_rng(0)
    genes = rng.choice(n_genes, SEQ_LEN - 1, replace=False)
    x = rng.negative_binomial(2, 0.3, (n_samples, SEQ_LEN - 1)).astype(float) + 1.0  # all expressed
    kw = dict(batch_size=batch_size, device=device, use_autocast=autocast, show_progress=False, max_length=SEQ_LEN)
    embed_matrix(loaded, x[:batch_size], genes, **kw)  # warm-up (also moves the model)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    rss0 = _rss_mb()
    peak0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    emb = embed_matrix(loaded, x, genes, **kw)
    if device == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    peak1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = {
        "model": model,
        "device": device,
        "autocast": autocast,
        "threads": threads,
        "n_samples": n_samples,
        "batch_size": batch_size,
        "seq_len": SEQ_LEN,
        "n_params": n_params,
        "seconds": round(dt, 3),
        "samples_per_s": round(n_samples / dt, 3),
        "finite": bool(np.isfinite(emb).all()),
    }
    if device == "cuda":
        out["peak_mem_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
        out["peak_kind"] = "torch.cuda.max_memory_allocated"
    else:
        out["peak_mem_mb"] = round(max(peak1, peak0) - rss0, 1)
        out["peak_process_rss_mb"] = round(peak1, 1)
        out["peak_kind"] = "peak RSS increase during embedding"
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--demo-samples", type=int, default=32)
    p.add_argument("--big-samples", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "scgpt_embed.md"))
    p.add_argument("--_one", default=None, help=argparse.SUPPRESS)
    a = p.parse_args()
    if a._one:
        model, autocast, n = a._one.split(",")
        print(json.dumps(run_one(model, a.device, int(n), a.batch_size, autocast == "1", a.threads)))
        return 0
    runs = []
    configs = [("demo", "0", a.demo_samples), ("whole-human-size", "0", a.big_samples)]
    if a.device == "cuda":
        configs += [("demo", "1", a.demo_samples), ("whole-human-size", "1", a.big_samples)]
    for model, ac, n in configs:
        cmd = [
            sys.executable,
            __file__,
            "--device",
            a.device,
            "--threads",
            str(a.threads),
            "--batch-size",
            str(a.batch_size),
            "--_one",
            f"{model},{ac},{n}",
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(json.dumps(r))
        runs.append(r)
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import torch

    cmdline = "python benchmarks/bench_scgpt_embed.py " + " ".join(sys.argv[1:])
    lines = [
        f"# scGPT embedding benchmark ({a.device})",
        "",
        f"- Command: `{cmdline.strip()}`",
        f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Machine: {cpu}, {os.cpu_count()} CPUs visible, shared with other users while measured "
        f"(load average {os.getloadavg()[0]:.1f} at the end), "
        f"torch {torch.__version__}, {a.threads} torch thread(s)"
        + (f", GPU {torch.cuda.get_device_name(0)}" if a.device == "cuda" and torch.cuda.is_available() else ""),
        f"- Input: every sample has {SEQ_LEN - 1} expressed genes → sequence length {SEQ_LEN} (`<cls>` + genes); "
        f"batch size {a.batch_size}; deterministic binning included in the timing.",
        "",
        "| model | params | device | autocast | samples | seconds | samples/s | peak memory (MB) |",
        "|---|---:|---|---|---:|---:|---:|---:|",
    ]
    for r in runs:
        lines.append(
            f"| {r['model']} | {r['n_params']:,} | {r['device']} | {'fp16' if r['autocast'] else 'fp32'} | {r['n_samples']} | "
            f"{r['seconds']} | {r['samples_per_s']} | {r['peak_mem_mb']} |"
        )
    lines += [
        "",
        f"Peak memory: {runs[0]['peak_kind']}.",
        "Parameters: encoder only (gene + value encoders and transformer); the released whole-human "
        "checkpoint has 51,330,049 including its decoder heads, which embedding does not use.",
        "The whole-human-size model has random weights (same cost as the real one).",
        "",
    ]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text("\n".join(lines))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
