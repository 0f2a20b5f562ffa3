"""``bootstrap_cindex`` at scale: this tree vs the previous implementation (anchor), same run.

The anchor is ``pathgptomic/evaluation/metrics.py`` of a git revision (default: the last commit
before the O(n log n) rewrite), loaded from ``git show`` into a private module. Data: a random
cohort per size with tied times (rounded to 0.1), tied risks (rounded to 0.01) and about 45 %
censoring. For each size the candidate runs ``--n-boot`` resamples; the anchor runs the same
number up to ``--anchor-max-rows`` rows, and ``--anchor-boot`` resamples above (its cost there
is one lifelines call per resample, linear in the count), scaled to ``--n-boot``. Reported:
seconds, the speed-up and the difference of the two C-index estimates.

Usage::

    python benchmarks/bench_cindex.py --rows 2826,4382,25000,100000 --n-boot 1000 \
        --out benchmarks/results/cindex_bootstrap.md
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _report import write_report  # noqa: E402 - benchmarks/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
ANCHOR_REV = "d1bc290"


def load_anchor(rev: str, tmp: Path):  # noqa: ANN201 - module
    """The metrics module of ``rev``, imported under a private name."""
    src = subprocess.run(
        ["git", "-C", str(REPO), "show", f"{rev}:pathgptomic/evaluation/metrics.py"], capture_output=True, text=True, check=True
    ).stdout
    path = tmp / "anchor_metrics.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("anchor_metrics", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["anchor_metrics"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def cohort(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t_event, t_cens = rng.exponential(10 * np.exp(-0.7 * x)), rng.exponential(14, n)
    time_ = np.round(np.minimum(t_event, t_cens), 1)
    return np.round(x + rng.normal(0, 1, n), 2), time_, t_event <= t_cens


def timed(fn, *args, **kw) -> tuple[float, object]:  # noqa: ANN001
    t0 = time.perf_counter()
    out = fn(*args, **kw)
    return time.perf_counter() - t0, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="2826,4382,25000,100000")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--anchor-rev", default=ANCHOR_REV)
    ap.add_argument("--anchor-max-rows", type=int, default=3000, help="largest size at which the anchor runs every resample")
    ap.add_argument("--anchor-boot", type=int, default=10, help="anchor resamples above --anchor-max-rows")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()

    from pathgptomic.evaluation import metrics

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        anchor = load_anchor(a.anchor_rev, Path(tmp))
        for n in [int(v) for v in a.rows.split(",")]:
            risk, t, e = cohort(n)
            nb_anchor = a.n_boot if n <= a.anchor_max_rows else a.anchor_boot
            t_old, old = timed(anchor.bootstrap_cindex, risk, t, e, n_boot=nb_anchor, seed=0)
            t_new, new = timed(metrics.bootstrap_cindex, risk, t, e, n_boot=a.n_boot, seed=0)
            t_old_scaled = t_old * a.n_boot / nb_anchor
            rows.append((n, a.n_boot, nb_anchor, t_old_scaled, t_new, t_old_scaled / t_new, abs(old.c - new.c), new.lower, new.upper))
            print(
                f"n={n:>7} anchor {t_old_scaled:9.1f} s ({nb_anchor} resamples measured) | new {t_new:7.2f} s | "
                f"speed-up {t_old_scaled / t_new:8.1f}x | |ΔC| {abs(old.c - new.c):.1e} | CI {new.lower:.4f}-{new.upper:.4f}",
                flush=True,
            )
    if a.out:
        write_report(
            a.out,
            "Bootstrap C-index at scale: O(n log n) vs the previous implementation",
            [
                f"Anchor: metrics.py at `{a.anchor_rev}` (pairwise matrices up to 4,000 rows, one lifelines call per resample above).",
                f"Anchor seconds for {a.n_boot} resamples: every resample measured up to {a.anchor_max_rows} rows; above "
                f"that {a.anchor_boot} resamples measured and scaled linearly (its per-resample cost is constant).",
            ],
            ["rows", "resamples", "anchor resamples measured", "anchor (s)", "new (s)", "speed-up", "abs C difference", "new 95% CI"],
            [
                [f"{n:,}", str(b), str(nb), f"{to:.1f}", f"{tn:.2f}", f"{r:.1f}x", f"{d:.1e}", f"{lo:.4f}–{hi:.4f}"]
                for n, b, nb, to, tn, r, d, lo, hi in rows
            ],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
