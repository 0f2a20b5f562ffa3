"""Sanity benchmark: does the scGPT RNA feature carry survival signal on real TCGA-GBMLGG?

Not the paper's Exp. 1/2/4 (those train the fusion model's genomic branch; the lead runs them
with the trainer). Here every feature set gets the same simple, leak-free model per shared
split: standardise on the training patients, 10 principal components fitted on them, a
penalised Cox model (lifelines, penalizer 0.1), C-index on the validation patients; mean ±
sd over the 5 PORPOISE splits. Feature sets: the RNA z-scores themselves, frozen scGPT
embeddings (default fixed gene set; and the official per-sample gene sampling at
max_length 1200) and scGPT + MLP-A, all with the chosen checkpoint (default: the demo model).

Usage::

    python benchmarks/bench_scgpt_cindex.py [--scgpt-dir models/scgpt-demo] [--cache-dir DIR] [--device cpu]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "tcga_gbmlgg"


def cindex_pca_cox(x: np.ndarray, time_: np.ndarray, event: np.ndarray, folds, n_pcs: int = 10) -> list[float]:
    """Per-fold validation C-index of penalised Cox on training-fold PCs."""
    from lifelines import CoxPHFitter
    from lifelines.utils import concordance_index
    from sklearn.decomposition import PCA

    out = []
    for tr, te in folds:
        mu, sd = x[tr].mean(0), x[tr].std(0) + 1e-8
        z = (x - mu) / sd
        pcs = PCA(n_pcs, random_state=0).fit(z[tr]).transform(z)
        df = pd.DataFrame(pcs[tr])
        df["T"], df["E"] = time_[tr], event[tr]
        risk = CoxPHFitter(penalizer=0.1).fit(df, "T", "E").predict_partial_hazard(pd.DataFrame(pcs[te])).to_numpy()
        out.append(concordance_index(time_[te], -risk, event[te]))  # lifelines: higher = longer survival
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scgpt-dir", default=str(REPO / "models" / "scgpt-demo"))
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--device", default="cpu")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "scgpt_cindex_pca_cox.md"))
    a = p.parse_args()
    import torch

    torch.set_num_threads(a.threads)
    warnings.filterwarnings("ignore")
    sys.path.insert(0, str(REPO))
    from pathgptomic.data import read_cohort, read_split_files
    from pathgptomic.genomics import rna_features

    cohort = read_cohort(DATA / "tcga_gbmlgg_all_clean.csv.gz")
    folds = read_split_files(DATA / "splits_5fold", cohort.ids)
    common = dict(scgpt_folder=a.scgpt_dir, cache_dir=a.cache_dir, device=a.device, show_progress=False, use_autocast=False)
    sets: dict[str, tuple[np.ndarray, float]] = {"RNA z-scores (1,544 genes)": (cohort.blocks["rnaseq"].to_numpy(), 0.0)}
    runs = [
        ("scGPT, fixed gene set (default)", dict(mode="scgpt")),
        ("scGPT, official per-sample sampling (max_length 1200)", dict(mode="scgpt", max_length=1200)),
        ("scGPT + MLP-A (default gene set)", dict(mode="scgpt_smooth")),
    ]
    hashes = {}
    for name, kw in runs:
        t0 = time.perf_counter()
        f = rna_features(cohort, **common, **kw)
        sets[name] = (f.matrix, time.perf_counter() - t0)
        hashes["checkpoint"] = f.checkpoint_hash
        if f.mlp_a_hash:
            hashes["mlp_a"] = f.mlp_a_hash
    lines = [
        "# scGPT RNA features on TCGA-GBMLGG: 10 PCs + penalised Cox, 5 shared splits",
        "",
        f"- Command: `{' '.join(['python benchmarks/bench_scgpt_cindex.py', *sys.argv[1:]])}`",
        f"- Date: {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')}; torch {torch.__version__}, device {a.device}, "
        f"{a.threads} thread(s), fp32",
        f"- scGPT folder: `{os.path.relpath(a.scgpt_dir, REPO)}`, checkpoint sha256 `{hashes.get('checkpoint', '')[:16]}…`"
        + (f", MLP-A sha256 `{hashes['mlp_a'][:16]}…`" if "mlp_a" in hashes else ""),
        f"- Cohort: {cohort.n} patients, {cohort.n_events} deaths; model per split: standardise on training patients → 10 PCs "
        "(fitted on them) → lifelines CoxPHFitter(penalizer=0.1) → validation C-index.",
        "- Not the paper's Exp. 1/2/4 (those train the fusion model's genomic branch); a check that the frozen features carry signal.",
        "",
        "| features | dim | C-index mean ± sd | per split | embedding time (s, 0 = cached) |",
        "|---|---:|---|---|---:|",
    ]
    for name, (x, secs) in sets.items():
        cs = cindex_pca_cox(x, cohort.time, cohort.event, folds)
        print(name, np.round(cs, 3))
        lines.append(f"| {name} | {x.shape[1]} | {np.mean(cs):.3f} ± {np.std(cs):.3f} | {', '.join(f'{c:.3f}' for c in cs)} | {secs:.0f} |")
    lines.append("")
    Path(a.out).write_text("\n".join(lines))
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
