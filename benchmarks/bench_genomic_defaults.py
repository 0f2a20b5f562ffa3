"""The deep genomic branch with the CLI defaults vs variants, TCGA-GBMLGG, shared 5 splits, several seeds.

Every row is ``pathgptomic cv --fusion genomic`` on the PORPOISE/MCAT splits with the CLI's
defaults plus the row's flags, run in this one process (so contention hits all rows
alike); each cell is the mean C-index over the 5 folds, rows report the mean over seeds.
The reference bar (penalized Cox on 10 RNA PCs + CNV + mutations, fitted per fold) is
0.823 ± 0.015 (`benchmarks/results/tcga_gbmlgg_genomic/report.md`). Nothing is chosen on
evaluation folds inside a run; the defaults (``--rna-components 32`` with the
high-dimensional rule of :func:`pathgptomic.training.config.resolve_block_projections`,
weight averaging over the last 2/3 of the epochs, the genomic branch's linear skip path)
were chosen among the rows here, the last two over 15 seeds (``--seeds 0,...,14 --variants 0,1``)
because 3 seeds of one setting already spread over 0.013.

Usage::

    python benchmarks/bench_genomic_defaults.py [--seeds 0,1,2] [--variants 0,1,...] [--ensemble K] [--out FILE]
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

#: Row label -> extra CLI flags (besides the cohort, splits and --fusion genomic). Rows measured before
#: weight averaging or the linear skip path became defaults carry ``--average-fraction 0`` / ``--no-linear-skip``
#: so that they keep their meaning.
VARIANTS: dict[str, str] = {
    "CLI defaults (32 RNA PCs; linear skip path; weights averaged over the last 2/3 of the epochs)": "",
    "no linear skip path (the default until the skip path)": "--no-linear-skip",
    "no skip path, last epoch's weights (the default until weight averaging)": "--no-linear-skip --average-fraction 0",
    "no skip path, weights averaged over every epoch": "--no-linear-skip --average-fraction 1",
    "no skip path, 40 epochs, weights averaged over the last 20": "--no-linear-skip --epochs 40 --average-fraction 0.5",
    "every RNA gene into the SNN (v0 default), last epoch": "--no-linear-skip --rna-components 0 --average-fraction 0",
    "10 PCs, no skip path, last epoch": "--no-linear-skip --rna-components 10 --average-fraction 0",
    "64 PCs, no skip path, last epoch": "--no-linear-skip --rna-components 64 --average-fraction 0",
    "32 PCs + weight decay 1e-3, dropout 0.5, no skip path, last epoch": "--no-linear-skip --weight-decay 1e-3 --dropout 0.5 --average-fraction 0",
    "every gene + early stopping (inner split), no skip path": "--no-linear-skip --rna-components 0 --early-stopping",
    "frozen scGPT features (paper Exp. 2, shipped demo checkpoint), no skip path": "--no-linear-skip --rna-encoder scgpt",
    "batch 64, no skip path": "--no-linear-skip --batch-size 64",
    "batch 128 + lr 1e-3, no skip path": "--no-linear-skip --batch-size 128 --lr 1e-3",
    "linear skip path + frozen scGPT features": "--rna-encoder scgpt",
}


@functools.cache
def _cohort_and_folds() -> tuple[Any, list]:
    """TCGA-GBMLGG and its shared 5 splits, read once per process."""
    from pathgptomic.cli import load_cohort_arg
    from pathgptomic.data import read_split_files

    cohort = load_cohort_arg(str(DATA / "tcga_gbmlgg_all_clean.csv.gz"))
    return cohort, read_split_files(str(DATA / "splits_5fold"), cohort.ids)


def run(flags: str, seed: int) -> tuple[float, list[float], float, np.ndarray]:
    """``pathgptomic cv --fusion genomic --seed SEED <flags>`` on the shared splits.

    Returns:
        Mean C-index over folds, per-fold C-indices, seconds, and every patient's out-of-fold
        risk in cohort order, shape ``(n,)``.
    """
    from pathgptomic.cli import build_parser, config_from_args
    from pathgptomic.training.trainer import cross_validate

    cohort, folds = _cohort_and_folds()
    argv = ["cv", "--cohort", "unused", "--fusion", "genomic", "--seed", str(seed), "--out", "unused", *shlex.split(flags)]
    start = time.perf_counter()
    res = cross_validate(cohort, config_from_args(build_parser().parse_args(argv)), folds=folds, final_fit=False, show_progress=False)
    risk = res.predictions.set_index("patient_id").loc[list(cohort.ids), "risk"].to_numpy(dtype=float)
    return res.summary["cindex_mean"], res.folds["cindex"].tolist(), time.perf_counter() - start, risk


def ensemble_cindex(risks: list[np.ndarray]) -> float:
    """Mean over the shared folds of the C-index of the members' averaged out-of-fold risks."""
    from pathgptomic.evaluation import fold_cindex

    cohort, folds = _cohort_and_folds()
    risk = np.mean(risks, axis=0)
    t, e = np.asarray(cohort.time, dtype=float), np.asarray(cohort.event, dtype=int)
    return float(np.mean([fold_cindex(risk[te], t[te], e[te]) for _, te in folds]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--variants", default=",".join(str(i) for i in range(len(VARIANTS))), help="indices of VARIANTS to run (default all)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "genomic_defaults.md"))
    ap.add_argument(
        "--ensemble", type=int, default=1, help="also report ensembles of K models: risks averaged over disjoint groups of K seeds"
    )
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (needs ../shared/data)")
        return 0
    seeds = [int(s) for s in args.seeds.split(",")]
    picked = [list(VARIANTS.items())[int(i)] for i in args.variants.split(",")]
    lines = [
        "# Deep genomic branch: CLI defaults and variants (TCGA-GBMLGG, shared 5 splits)",
        "",
        f"`python benchmarks/bench_genomic_defaults.py --seeds {args.seeds} --variants {args.variants}"
        f"{f' --ensemble {args.ensemble}' if args.ensemble > 1 else ''}"
        f"{'' if Path(args.out).name == 'genomic_defaults.md' else f' --out benchmarks/results/{Path(args.out).name}'}` "
        f"({time.strftime('%Y-%m-%d')}, "
        "2-core CPU, one torch thread). Cell = mean C-index over the 5 folds; bar: the penalized-Cox baseline "
        "(10 RNA PCs + CNV + mutations, `benchmarks/results/tcga_gbmlgg_genomic/report.md`) 0.823 ± 0.015.",
        "",
        "| variant | flags | per seed ("
        + ", ".join(map(str, seeds))
        + ") | mean ± sd over seeds | s/run |"
        + (f" ensembles of {args.ensemble} (seeds in order) |" if args.ensemble > 1 else ""),
        "|---|---|---|---|---|" + ("---|" if args.ensemble > 1 else ""),
    ]
    for label, flags in picked:
        cells, secs, risks = [], [], []
        for seed in seeds:
            c, folds, s, risk = run(flags, seed)
            cells.append(c)
            secs.append(s)
            risks.append(risk)
            print(f"{label} seed {seed}: {c:.4f} folds {np.round(folds, 3).tolist()} ({s:.0f} s)", flush=True)
        lines.append(
            f"| {label} | `{flags or '(none)'}` | "
            + ", ".join(f"{c:.3f}" for c in cells)
            + f" | **{np.mean(cells):.3f}** ± {np.std(cells, ddof=1) if len(cells) > 1 else 0.0:.3f} | {np.mean(secs):.0f} |"
            + (_ensembles(risks, args.ensemble) if args.ensemble > 1 else "")
        )
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)
    return 0


def _ensembles(risks: list[np.ndarray], k: int) -> str:
    """Table cell: the C-index of each disjoint group of ``k`` consecutive seeds' averaged risks, and their mean."""
    groups = [ensemble_cindex(risks[i : i + k]) for i in range(0, len(risks) - k + 1, k)]
    return " " + ", ".join(f"{g:.3f}" for g in groups) + (f" (mean **{np.mean(groups):.3f}**)" if groups else "—") + " |"


if __name__ == "__main__":
    raise SystemExit(main())
