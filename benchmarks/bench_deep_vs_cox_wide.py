"""The deep genomic branch (CLI defaults) against the penalized-Cox baseline on real and widened GBMLGG.

Cohorts (TCGA-GBMLGG from ../shared/data, shared 5 splits, everything fitted on the training fold):
``real`` (30 CNV columns), ``wide`` (CNV widened to 1,000 columns of copy-number noise,
:func:`pathgptomic.experiments.wide.widen_cnv`, seed 0) and ``wide, fewer events`` (the same with
every censored patient and 94 event patients, :func:`pathgptomic.experiments.wide.keep_events`).
Rows: ``pathgptomic cv --fusion genomic`` with the CLI defaults (seeds 0, 1, 2; the wide CNV block is
reduced to 32 training-fold PCs by the p > n rule, the 16 mutation columns pass unchanged) and the
benchmark's genomic penalized Cox (:class:`pathgptomic.experiments.baselines.CoxBaselineConfig` defaults,
penalizer chosen by inner CV). Prints the Markdown report and writes it to ``--out``.

Usage::

    python benchmarks/bench_deep_vs_cox_wide.py [--seeds 0,1,2] [--cohorts real,wide,fewer] [--extra="FLAGS" ...] [--out FILE]

``--extra=FLAGS`` (repeatable; with "=", since the flags start with ``--``) adds one deep row per cohort with those CLI flags on top of the
defaults (a variant, e.g. ``--extra="--rna-components 8 --cnv-mut-components 8"``); ``--extra=""``
is the defaults themselves; without ``--extra`` only the defaults are run.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "tcga_gbmlgg"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--cohorts", default="real,wide,fewer")
    ap.add_argument("--extra", action="append", help="`pathgptomic cv` flags of one deep variant (repeatable; default: the defaults only)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "deep_vs_cox_wide.md"))
    args = ap.parse_args()
    if not DATA.is_dir():
        print(f"skipped: {DATA} is absent (needs ../shared/data)")
        return 0
    from lifelines.utils import concordance_index

    from pathgptomic.cli import build_parser, config_from_args
    from pathgptomic.data import read_cohort, read_split_files
    from pathgptomic.experiments.baselines import CoxBaselineConfig, fit_predict_cox
    from pathgptomic.experiments.wide import keep_events, widen_cnv
    from pathgptomic.training.trainer import cross_validate

    seeds = [int(s) for s in args.seeds.split(",")]
    real = read_cohort(str(DATA / "tcga_gbmlgg_all_clean.csv.gz"))
    wide = widen_cnv(real, 1000, seed=0)
    all_cohorts = {"real": real, "wide": wide, "fewer": keep_events(wide, 94, seed=0)}
    labels = {"real": "real (30 CNV columns)", "wide": "wide (1,000 CNV columns)", "fewer": "wide, fewer events (94 events)"}
    cox_cfg = CoxBaselineConfig()
    lines = [
        "# Deep genomic branch vs penalized Cox on real and widened TCGA-GBMLGG",
        "",
        f"`{_command(args)}` ({time.strftime('%Y-%m-%d')}, 2-core CPU, "
        "one torch thread). Shared 5 splits; cell = mean C-index over the 5 folds (lifelines, Harrell).",
        "",
        f"- Cox: {cox_cfg.describe()}.",
        "- Deep: `pathgptomic cv --fusion genomic` with the CLI defaults (RNA-seq and any CNV/mutation block with more "
        "columns than patients each reduced to 32 training-fold PCs; linear skip path from the genomic inputs to G; "
        "30 epochs, weights averaged over the last 20; no early stopping), plus the row's flags.",
        "",
        "| cohort | penalized Cox (penalizers chosen) | deep flags | deep, "
        + ", ".join(f"seed {s}" for s in seeds)
        + " | deep, mean over seeds | deep − Cox |",
        "|---|---|---|---|---|---|",
    ]
    for name in args.cohorts.split(","):
        c = all_cohorts[name]
        folds = read_split_files(str(DATA / "splits_5fold"), c.ids)
        t, e = np.asarray(c.time, dtype=float), np.asarray(c.event, dtype=int)
        cox, pens = [], []
        for tr, te in folds:
            r = fit_predict_cox(c, tr, te, inputs="genomic", config=cox_cfg)
            cox.append(concordance_index(t[te], -r.risk, e[te]) if r.converged else float("nan"))
            pens.append(r.penalizer)
        print(name, "cox", np.round(cox, 3).tolist(), pens, flush=True)
        cm = float(np.mean(cox))
        for extra in args.extra or [""]:
            deep = []
            for seed in seeds:
                argv = ["cv", "--cohort", "demo", "--fusion", "genomic", "--seed", str(seed), "--out", "unused", *shlex.split(extra)]
                res = cross_validate(
                    c, config_from_args(build_parser().parse_args(argv)), folds=folds, final_fit=False, show_progress=False
                )
                deep.append(float(res.summary["cindex_mean"]))
                print(
                    name,
                    repr(extra),
                    "deep seed",
                    seed,
                    round(deep[-1], 4),
                    np.round(res.folds["cindex"].to_numpy(), 3).tolist(),
                    flush=True,
                )
            dm = float(np.mean(deep))
            lines.append(
                f"| {labels[name]} | {cm:.3f} ± {np.std(cox, ddof=1):.3f} ({', '.join(f'{p:g}' for p in pens)}) | "
                f"`{extra or '(defaults)'}` | " + ", ".join(f"{d:.3f}" for d in deep) + f" | **{dm:.3f}** | {dm - cm:+.3f} |"
            )
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)
    return 0


def _command(args: argparse.Namespace) -> str:
    """The command that reproduces this report (options at their defaults left out)."""
    parts = ["python", "benchmarks/bench_deep_vs_cox_wide.py", "--seeds", args.seeds]
    if args.cohorts != "real,wide,fewer":
        parts += ["--cohorts", args.cohorts]
    parts += [f"--extra={extra}" for extra in args.extra or []]  # "=": the flags start with "--"
    if Path(args.out).name != "deep_vs_cox_wide.md":
        parts += ["--out", f"benchmarks/results/{Path(args.out).name}"]
    return shlex.join(parts)


if __name__ == "__main__":
    sys.exit(main())
