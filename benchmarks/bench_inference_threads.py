"""CPU inference thread policy: 1 vs 2 torch threads for patch encoding and scGPT embedding.

Both candidates run in the same process, interleaved (order alternating per repeat), so
load from other users of the machine affects both alike. Each is measured

* with the machine as it is ("as found"), and
* with ``--busy`` extra busy-loop processes (a stand-in for another user's job; on a
  2-core machine one busy process takes one core).

Workloads:

* extraction: ``extract_slide_features`` (tiling + reading + encoder, cold cache in a
  temporary folder) on the first ``--slides`` demo-cohort images with the demo bundle's
  encoder (``test_resnet``, seeded random init, 16 patches per image);
* scGPT: ``embed_matrix`` with the shipped demo checkpoint on ``--samples`` random samples
  of ``--genes`` expressed genes.

Reported: median seconds per workload and the ratio t(2 threads) / t(1 thread)
(> 1 means one thread is faster).

Usage::

    python benchmarks/bench_inference_threads.py --slides 12 --samples 32 --repeats 3 --busy 1 \
        --out benchmarks/results/inference_threads.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _report import write_report  # noqa: E402 - benchmarks/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def extraction_workload(n_slides: int) -> Callable[[int], float]:
    """A function ``threads -> seconds`` extracting ``n_slides`` demo images from a cold cache."""
    from pathgptomic.slides.features import EncoderSpec, extract_slide_features
    from pathgptomic.slides.tiling import TilingConfig

    images = sorted((REPO / "assets" / "demo_cohort" / "images").glob("*.png"))[:n_slides]
    if not images:
        raise SystemExit("no demo images under assets/demo_cohort/images; run `pathgptomic demo --out assets/demo_cohort`")
    spec = EncoderSpec("test_resnet", seed=0)
    spec.build()  # model construction is not part of the timing
    tiling = TilingConfig(max_patches=16)

    def run(threads: int) -> float:
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            for path in images:
                extract_slide_features(path, spec, tiling=tiling, cache_dir=cache, device="cpu", show_progress=False, cpu_threads=threads)
            return time.perf_counter() - t0

    return run


def scgpt_workload(n_samples: int, n_genes: int) -> Callable[[int], float]:
    """A function ``threads -> seconds`` embedding ``n_samples`` random samples with the demo scGPT."""
    import numpy as np

    from pathgptomic.genomics.embed import embed_matrix
    from pathgptomic.genomics.scgpt import load_scgpt

    loaded = load_scgpt(REPO / "models" / "scgpt-demo")
    rng = np.random.default_rng(0)
    genes = rng.choice(len(loaded.vocab) - 3, n_genes, replace=False)
    x = rng.negative_binomial(2, 0.3, (n_samples, n_genes)).astype(float)

    def run(threads: int) -> float:
        t0 = time.perf_counter()
        embed_matrix(loaded, x, genes, batch_size=8, device="cpu", show_progress=False, cpu_threads=threads, max_length=n_genes + 1)
        return time.perf_counter() - t0

    return run


def measure(workloads: dict[str, Callable[[int], float]], repeats: int) -> dict[str, dict[int, list[float]]]:
    """Seconds per workload and thread count, 1 and 2 threads interleaved (order alternating)."""
    out: dict[str, dict[int, list[float]]] = {name: {1: [], 2: []} for name in workloads}
    for rep in range(repeats):
        for threads in (1, 2) if rep % 2 == 0 else (2, 1):
            for name, run in workloads.items():
                out[name][threads].append(run(threads))
    return out


def start_busy(n: int) -> list[subprocess.Popen]:
    """``n`` single-core busy-loop processes (another user's job)."""
    return [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
        p.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slides", type=int, default=12)
    ap.add_argument("--samples", type=int, default=32)
    ap.add_argument("--genes", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--busy", type=int, default=1, help="busy-loop processes in the contended condition (0 = skip it)")
    ap.add_argument("--out", default=None, help="write a Markdown report here")
    a = ap.parse_args()

    import torch

    default_threads = torch.get_num_threads()
    workloads = {
        f"extraction ({a.slides} demo images, test_resnet)": extraction_workload(a.slides),
        f"scGPT demo embedding ({a.samples} samples x {a.genes} genes)": scgpt_workload(a.samples, a.genes),
    }
    for run in workloads.values():  # warm-up: imports, first-call allocations
        run(1)
    conditions = [("as found", 0)] + ([(f"+{a.busy} busy process(es)", a.busy)] if a.busy else [])
    rows = []
    for label, busy in conditions:
        procs = start_busy(busy)
        try:
            load0 = os.getloadavg()[0]
            res = measure(workloads, a.repeats)
        finally:
            stop(procs)
        for name, by_threads in res.items():
            t1, t2 = statistics.median(by_threads[1]), statistics.median(by_threads[2])
            rows.append((label, name, t1, t2, t2 / t1, load0))
            print(f"{label:>22} | {name:<50} | 1 thread {t1:7.2f} s | 2 threads {t2:7.2f} s | t2/t1 {t2 / t1:5.2f}", flush=True)
    assert torch.get_num_threads() == default_threads, "the caller's thread count was not restored"
    if a.out:
        write_report(
            a.out,
            "CPU inference threads: 1 vs 2 torch threads",
            [
                f"torch {torch.__version__} (default {default_threads} threads). Each cell: median of {a.repeats} runs; "
                "1 and 2 threads interleaved in the same process."
            ],
            ["condition", "workload", "1 thread (s)", "2 threads (s)", "t(2) / t(1)", "load avg at start"],
            [[c, n, f"{t1:.2f}", f"{t2:.2f}", f"{r:.2f}", f"{ld:.1f}"] for c, n, t1, t2, r, ld in rows],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
