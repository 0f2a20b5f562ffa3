"""What the semi-synthetic images can add at most: penalized Cox on genomics + the images' true latent.

The semi-synthetic cohort's images are drawn from a latent u = z(age) + σε (``truth/image_latent.csv``).
A model that read u perfectly from the images could do no better (to first order) than a Cox model on
the genomic design + u; the same with the exact standardised age z is the ceiling at σ = 0. Every fit
is the benchmark's genomic penalized Cox (:class:`pathgptomic.experiments.baselines.CoxBaselineConfig`
defaults, fitted on each training fold of the shared 5 splits) with u or z added as a clinical column.

Usage::

    pathgptomic semisynthetic --tcga ../shared/data/tcga_gbmlgg/tcga_gbmlgg_all_clean.csv.gz \\
        --covariate age --noise 0.5 --seed 0 --image-size 448 --out /tmp/semisyn
    python benchmarks/bench_semisynthetic_oracle.py --cohort /tmp/semisyn [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ROOT.parent / "shared" / "data" / "tcga_gbmlgg" / "splits_5fold"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohort", default="/tmp/semisyn", help="a folder written by `pathgptomic semisynthetic`")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "semisynthetic_oracle.md"))
    args = ap.parse_args()
    if not SPLITS.is_dir() or not (Path(args.cohort) / "truth" / "image_latent.csv").is_file():
        print(f"skipped: needs {SPLITS} and a semi-synthetic cohort at {args.cohort} (see the usage)")
        return 0
    from lifelines.utils import concordance_index

    from pathgptomic.data import read_cohort, read_split_files
    from pathgptomic.experiments.baselines import CoxBaselineConfig, fit_predict_cox

    c = read_cohort(args.cohort)
    truth = pd.read_csv(Path(args.cohort) / "truth" / "image_latent.csv", dtype={"patient_id": str}).set_index("patient_id")
    truth = truth.loc[[str(i) for i in c.ids]]
    folds = read_split_files(str(SPLITS), c.ids)
    t, e = np.asarray(c.time, dtype=float), np.asarray(c.event, dtype=int)
    cfg = CoxBaselineConfig()
    info = c.meta.get("semi_synthetic_info", {})
    rows = [
        ("genomic", None, "genomic"),
        ("image latent u alone", "image_latent", "clinical"),
        ("genomic + image latent u (what a perfect image reader could add)", "image_latent", "genomic_clinical"),
        ("exact standardised age z alone", "age_z", "clinical"),
        ("genomic + exact age z (the ceiling at noise 0)", "age_z", "genomic_clinical"),
    ]
    lines = [
        "# Semi-synthetic GBMLGG: how much the images can add (oracle Cox)",
        "",
        f"`python benchmarks/bench_semisynthetic_oracle.py --cohort {args.cohort}` ({time.strftime('%Y-%m-%d')}); cohort noise sd "
        f"{info.get('noise', '?')}, corr(age, latent) {info.get('corr_covariate_latent', float('nan')):.3f}. Penalized Cox "
        f"({cfg.describe()}); the clinical block holds only `is_female` plus the added column. Shared 5 splits.",
        "",
        "| design | per-fold C-index | mean |",
        "|---|---|---|",
    ]
    for label, col, inputs in rows:
        cc = c
        if col is not None:
            clin = c.blocks["clinical"][[]].copy() if inputs == "clinical" else c.blocks["clinical"].copy()
            clin[col] = truth[col].to_numpy()
            cc = replace(c, blocks={**c.blocks, "clinical": clin})
        scores = []
        for tr, te in folds:
            r = fit_predict_cox(cc, tr, te, inputs=inputs, config=cfg)
            scores.append(concordance_index(t[te], -r.risk, e[te]) if r.converged else float("nan"))
        print(label, np.round(scores, 3).tolist(), flush=True)
        lines.append(f"| {label} | {', '.join(f'{s:.3f}' for s in scores)} | **{np.mean(scores):.3f}** |")
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
