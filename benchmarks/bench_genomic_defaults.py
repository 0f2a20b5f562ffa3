"""The deep genomic branch with the CLI defaults vs variants, TCGA-GBMLGG, shared 5 splits, several seeds.

Every row is ``pathgptomic cv --fusion genomic`` on the PORPOISE/MCAT splits with the CLI's
defaults plus the row's flags, run in this one process (so contention hits all rows
alike); each cell is the mean C-index over the 5 folds, rows report the mean over seeds.
The reference bar (penalized Cox on 10 RNA PCs + CNV + mutations, fitted per fold) is
0.827 ± 0.018 (`benchmarks/results/tcga_genomic.md`). Nothing is chosen on evaluation
folds inside a run; the default (``--rna-components 32`` with the high-dimensional rule of
:func:`pathgptomic.training.config.resolve_block_projections`) was chosen among the rows here.

Usage::

    python benchmarks/bench_genomic_defaults.py [--seeds 0,1,2] [--out FILE]
"""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "tcga_gbmlgg"

#: Row label -> extra CLI flags (besides the cohort, splits and --fusion genomic).
VARIANTS: dict[str, str] = {
    "CLI defaults (RNA projected on 32 PCs)": "",
    "every RNA gene into the SNN (v0 default)": "--rna-components 0",
    "10 PCs": "--rna-components 10",
    "64 PCs": "--rna-components 64",
    "32 PCs + weight decay 1e-3, dropout 0.5": "--weight-decay 1e-3 --dropout 0.5",
    "every gene + early stopping (inner split)": "--rna-components 0 --early-stopping",
}


@functools.cache
def _cohort_and_folds() -> tuple[Any, list]:
    """TCGA-GBMLGG and its shared 5 splits, read once per process."""
    from pathgptomic.cli import load_cohort_arg
    from pathgptomic.data import read_split_files

    cohort = load_cohort_arg(str(DATA / "tcga_gbmlgg_all_clean.csv.gz"))
    return cohort, read_split_files(str(DATA / "splits_5fold"), cohort.ids)


def run(flags: str, seed: int) -> tuple[float, list[float], float]:
    """``pathgptomic cv --fusion genomic --seed SEED <flags>`` on the shared splits: (mean C-index, per fold, seconds)."""
    from pathgptomic.cli import build_parser, config_from_args
    from pathgptomic.training.trainer import cross_validate

    cohort, folds = _cohort_and_folds()
    argv = ["cv", "--cohort", "unused", "--fusion", "genomic", "--seed", str(seed), "--out", "unused", *shlex.split(flags)]
    start = time.perf_counter()
    res = cross_validate(cohort, config_from_args(build_parser().parse_args(argv)), folds=folds, final_fit=False, show_progress=False)
    return res.summary["cindex_mean"], res.folds["cindex"].tolist(), time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variants", default=",".join(str(i) for i in range(len(VARIANTS))), help="indices of VARIANTS to run (default all)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "genomic_defaults.md"))
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (needs ../shared/data)")
        return 0
    seeds = [int(s) for s in args.seeds.split(",")]
    picked = [list(VARIANTS.items())[int(i)] for i in args.variants.split(",")]
    lines = [
        "# Deep genomic branch: CLI defaults and variants (TCGA-GBMLGG, shared 5 splits)",
        "",
        f"`python benchmarks/bench_genomic_defaults.py --seeds {args.seeds}` ({time.strftime('%Y-%m-%d')}, "
        "2-core CPU, one torch thread). Cell = mean C-index over the 5 folds; bar: penalized Cox on 10 RNA "
        "PCs + CNV + mutations 0.827 ± 0.018.",
        "",
        "| variant | flags | " + " | ".join(f"seed {s}" for s in seeds) + " | mean over seeds | s/run |",
        "|---|---|" + "---|" * len(seeds) + "---|---|",
    ]
    for label, flags in picked:
        cells, secs = [], []
        for seed in seeds:
            c, folds, s = run(flags, seed)
            cells.append(c)
            secs.append(s)
            print(f"{label} seed {seed}: {c:.4f} folds {np.round(folds, 3).tolist()} ({s:.0f} s)", flush=True)
        lines.append(
            f"| {label} | `{flags or '(none)'}` | "
            + " | ".join(f"{c:.3f}" for c in cells)
            + f" | **{np.mean(cells):.3f}** | {np.mean(secs):.0f} |"
        )
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
