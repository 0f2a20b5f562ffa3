"""Does fusion beat genomics alone on semi-synthetic GBMLGG? A paired patient bootstrap on held-out risks.

A fold-level Wilcoxon test has 5 pairs on the shared splits (its smallest two-sided p is 0.0625) and
15 noisy pairs with 15-fold CV (about 12 events per test fold), so it cannot resolve a gain of the size
the images can add at most (the oracle Cox gain, `semisynthetic_oracle.md`). This script measures the
same comparison with the patients as the unit: for each seed it runs ``pathgptomic cv`` (CLI defaults,
shared 5 splits) for the fused model and for genomics alone, keeps every patient's out-of-fold risk,
and bootstraps patients *within each test fold* (the same resample for both models and every seed).
The statistic is the mean over seeds and folds of C(fused) − C(genomic) (Harrell, lifelines); the
two-sided p-value is twice the smaller bootstrap tail around 0, the interval the 2.5–97.5 % percentiles.

Usage::

    python benchmarks/bench_fusion_bootstrap.py --cohort /tmp/semisyn [--seeds 0,1,2] [--fusion gradmod] [--boot 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ROOT.parent / "shared" / "data" / "tcga_gbmlgg" / "splits_5fold"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohort", default="/tmp/semisyn")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--fusion", default="gradmod")
    ap.add_argument("--boot", type=int, default=2000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "fusion_bootstrap.md"))
    args = ap.parse_args()
    if not SPLITS.is_dir() or not Path(args.cohort).is_dir():
        print(f"skipped: needs {SPLITS} and the semi-synthetic cohort at {args.cohort} (see semisynthetic_oracle.md)")
        return 0
    from lifelines.utils import concordance_index

    from pathgptomic.cli import build_parser, config_from_args
    from pathgptomic.data import read_cohort, read_split_files
    from pathgptomic.training.trainer import cross_validate

    cohort = read_cohort(args.cohort)
    folds = read_split_files(str(SPLITS), cohort.ids)
    seeds = [int(s) for s in args.seeds.split(",")]
    risks: dict[tuple[str, int], dict[str, float]] = {}
    for fusion in ("genomic", args.fusion):
        for seed in seeds:
            argv = ["cv", "--cohort", args.cohort, "--fusion", fusion, "--image-encoder", "test_resnet", "--max-patches", "4"]
            res = cross_validate(
                cohort,
                config_from_args(build_parser().parse_args([*argv, "--seed", str(seed), "--out", "unused"])),
                folds=folds,
                final_fit=False,
                show_progress=False,
            )
            risks[(fusion, seed)] = dict(zip(res.predictions["patient_id"].astype(str), res.predictions["risk"].astype(float)))
            print(fusion, seed, round(float(res.summary["cindex_mean"]), 4), flush=True)
    ids = [str(i) for i in cohort.ids]
    t, e = np.asarray(cohort.time, dtype=float), np.asarray(cohort.event, dtype=int)
    test_sets = [np.asarray(te) for _, te in folds]
    # each run's out-of-fold risks aligned with the cohort's patients once, indexed by position below
    aligned = {key: np.array([r[p] for p in ids]) for key, r in risks.items()}

    def stat(samples: list[np.ndarray]) -> float:
        diffs = []
        for seed in seeds:
            rf, rg = aligned[(args.fusion, seed)], aligned[("genomic", seed)]
            for te in samples:
                diffs.append(concordance_index(t[te], -rf[te], e[te]) - concordance_index(t[te], -rg[te], e[te]))
        return float(np.mean(diffs))

    observed = stat(test_sets)
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    boot = np.array([stat([rng.choice(te, size=len(te), replace=True) for te in test_sets]) for _ in range(args.boot)])
    p = min(1.0, 2 * min((boot <= 0).mean(), (boot >= 0).mean()))
    lo, hi = np.percentile(boot, [2.5, 97.5])
    text = "\n".join(
        [
            f"# Semi-synthetic GBMLGG: {args.fusion} vs genomic only, paired patient bootstrap",
            "",
            f"`python benchmarks/bench_fusion_bootstrap.py --cohort {args.cohort} --seeds {args.seeds} --fusion {args.fusion} "
            f"--boot {args.boot}{'' if Path(args.out).name == 'fusion_bootstrap.md' else f' --out benchmarks/results/{Path(args.out).name}'}` "
            f"({time.strftime('%Y-%m-%d')}; CLI defaults, shared 5 splits, `test_resnet`, 4 patches per image).",
            "",
            f"- Mean over {len(seeds)} seeds × {len(folds)} folds of C({args.fusion}) − C(genomic only): **{observed:+.4f}**",
            f"- Paired bootstrap over patients within each test fold ({args.boot} resamples, {time.perf_counter() - start:.0f} s): "
            f"95 % interval [{lo:+.4f}, {hi:+.4f}], two-sided p = {p:.4f}"
            + (f" (none of the {args.boot} resamples reached 0: p < {2 / args.boot:.4f})" if p == 0 else ""),
            "",
            "Oracle gains over Cox on genomics (`semisynthetic_oracle.md`, same splits): +0.019 with the images' true latent at noise sd 0.5, +0.027 with the exact age (noise sd 0).",
            "",
        ]
    )
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
