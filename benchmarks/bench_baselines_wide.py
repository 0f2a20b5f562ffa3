"""Penalized-Cox baselines on wide copy-number data: the old design against the new one, same run.

Cohorts (TCGA-GBMLGG from ../shared/data, shared 5 splits, patient level):

- ``real``: GBMLGG as is (1,544 RNA-seq, 30 CNV, 16 mutation columns; 569 patients, 187 events);
- ``wide``: the same with the CNV block widened to ``--columns`` columns of copy-number noise
  (:func:`pathgptomic.experiments.wide.widen_cnv`: real -2..2 marginals, gene-block correlation,
  independent of survival);
- ``wide, fewer events``: ``wide`` restricted to every censored patient + ``--events`` random event
  patients (:func:`~pathgptomic.experiments.wide.keep_events`), ~75 events per training fold — the
  regime of the issue's real wide cohort.

Models, fitted on each training fold only:

- ``old``: the previous baseline — 10 RNA PCs + every raw CNV/mutation column, lifelines penalizer
  0.1, lifelines' Newton-Raphson defaults (500 steps); ConvergenceWarnings are *recorded* (the old code
  suppressed them and reported the cell as ok); a per-fold wall-clock cap ``--old-cap`` bounds the run;
- ``new``: :mod:`pathgptomic.experiments.baselines` defaults (per-block PCs, penalizer by inner CV,
  ConvergenceWarning = not converged, step and time caps) for the genomic, genomic + clinical,
  clinical-only and late-fusion baselines.

Writes ``<out>.csv`` (one row per cohort x model x fold) and ``<out>.md``.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/bench_baselines_wide.py [--columns 1000] [--events 94] [--old-cap 600]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "tcga_gbmlgg"

OLD_LABEL = "old: 10 RNA PCs + every raw column, penalizer 0.1"
NEW_MODELS = {
    "genomic": "new: genomic",
    "genomic_clinical": "new: genomic + clinical",
    "clinical": "new: clinical only",
    "late_fusion": "new: late fusion",
}


def _cohorts(columns: int, events: int) -> dict[str, object]:
    """The three cohorts (see the module docstring)."""
    from pathgptomic.data import read_tcga
    from pathgptomic.experiments.wide import keep_events, widen_cnv

    real = read_tcga(DATA / "tcga_gbmlgg_all_clean.csv.gz")
    wide = widen_cnv(real, columns, seed=0)
    return {"real": real, "wide": wide, "wide, fewer events": widen_cnv(keep_events(real, events, seed=0), columns, seed=0)}


def _old_cell(cohort, tr, te, cap: float) -> dict[str, object]:
    """The old baseline: fitted with lifelines' defaults, warnings recorded, a wall-clock cap."""
    from pathgptomic.evaluation import concordance_index
    from pathgptomic.experiments.baselines import CoxBaselineConfig, CoxNotConverged, design_matrices, fit_cox

    start = time.perf_counter()
    cfg = CoxBaselineConfig(max_raw_columns=None, penalizer=0.1)
    x_tr, x_te, _ = design_matrices(cohort, tr, te, "genomic", cfg)
    row: dict[str, object] = {"model": OLD_LABEL, "n_features": x_tr.shape[1], "penalizer": 0.1}
    try:
        fit = fit_cox(x_tr, cohort.time[tr], cohort.event[tr], 0.1, max_steps=500, deadline=start + cap, strict=False)
    except CoxNotConverged as exc:
        return {**row, "status": "not_converged", "reason": str(exc), "cindex": np.nan, "seconds": time.perf_counter() - start}
    return {
        **row,
        "status": "ok" if fit.converged else "not_converged",
        "reason": fit.warning,
        "cindex": concordance_index(x_te @ fit.beta, cohort.time[te], cohort.event[te]),
        "seconds": time.perf_counter() - start,
    }


def _new_cell(cohort, tr, te, inputs: str) -> dict[str, object]:
    from pathgptomic.evaluation import concordance_index
    from pathgptomic.experiments.baselines import CoxBaselineConfig, fit_predict_baseline

    res = fit_predict_baseline(cohort, tr, te, inputs, CoxBaselineConfig())
    c = concordance_index(res.risk, cohort.time[te], cohort.event[te]) if res.converged else np.nan
    return {
        "model": NEW_MODELS[inputs],
        "n_features": res.n_features,
        "penalizer": res.penalizer,
        "status": res.status,
        "reason": res.reason,
        "cindex": c,
        "seconds": res.seconds,
    }


def run(columns: int, events: int, old_cap: float) -> pd.DataFrame:
    """Every cohort x model x fold (one line each, printed as it finishes)."""
    from pathgptomic.data import read_split_files

    rows = []
    for name, cohort in _cohorts(columns, events).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # split ids absent from the reduced cohort
            folds = read_split_files(DATA / "splits_5fold", cohort.ids)
        for k, (tr, te) in enumerate(folds):
            base = {
                "cohort": name,
                "fold": k,
                "n_train": len(tr),
                "train_events": int(cohort.event[tr].sum()),
                "n_test": len(te),
                "cnv_columns": cohort.blocks["cnv"].shape[1],
            }
            cells = [_old_cell(cohort, tr, te, old_cap)] + [_new_cell(cohort, tr, te, i) for i in NEW_MODELS]
            for cell in cells:
                rows.append({**base, **cell})
                print(
                    f"{name:<20} fold {k} {cell['model']:<52} {cell['status']:<14} C {cell['cindex']:.3f} "
                    f"{cell['seconds']:7.1f} s  p={cell['n_features']}",
                    flush=True,
                )
    return pd.DataFrame(rows)


def _summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per cohort x model: mean ± sd over converged folds, worst fold, slowest fold, not converged."""
    out = []
    for (cohort, model), g in df.groupby(["cohort", "model"], sort=False):
        ok = g[g["status"] == "ok"]
        c_all = g["cindex"].astype(float)
        out.append(
            {
                "cohort": cohort,
                "model": model,
                "p": int(g["n_features"].max()),
                "C-index (converged folds)": f"{ok['cindex'].mean():.3f} ± {ok['cindex'].std(ddof=1):.3f}" if len(ok) > 1 else "—",
                "folds ok": f"{len(ok)}/{len(g)}",
                "min fold C": f"{c_all.min():.3f}" if c_all.notna().any() else "—",
                "max s / fold": f"{g['seconds'].max():.1f}",
                "per-fold C (status)": ", ".join(
                    f"{c:.3f}" + ("" if s == "ok" else "*") if np.isfinite(c) else "—" for c, s in zip(c_all, g["status"])
                ),
                "penalizers": ", ".join(f"{p:g}" for p in g["penalizer"].astype(float)),
            }
        )
    return pd.DataFrame(out)


def _markdown(df: pd.DataFrame, command: str, wall: float) -> str:
    from pathgptomic.experiments.report import environment_info

    s = _summary(df)
    head = "| " + " | ".join(s.columns) + " |\n|" + "---|" * len(s.columns)
    table = "\n".join("| " + " | ".join(str(v) for v in r) + " |" for r in s.itertuples(index=False))
    nc = df[df["status"] != "ok"]
    notes = "\n".join(f"- {r.cohort}, fold {r.fold}, {r.model}: {r.status} — {r.reason}" for r in nc.itertuples()) or "- none"
    env = "\n".join(f"- {k}: {v}" for k, v in environment_info().items())
    return f"""# Penalized-Cox baselines on wide copy-number data: old vs new (same run)

Command (wall time {wall / 60:.1f} min on this machine):

```
{command}
```

TCGA-GBMLGG (../shared/data), shared 5 splits, patient level; everything fitted on the training fold
only. Cohorts: `real` (30 CNV columns), `wide` (CNV widened to {df["cnv_columns"].max()} columns with
copy-number noise: real -2..2 marginals, gene-block correlation, independent of survival —
`pathgptomic.experiments.wide.widen_cnv`, seed 0), `wide, fewer events` (the same on every censored
patient + a random subset of event patients, `keep_events`, seed 0: {int(df.loc[df["cohort"] == "wide, fewer events", "n_train"].mean())}
training patients and {int(df.loc[df["cohort"] == "wide, fewer events", "train_events"].mean())} events per fold on average).

- **old**: the previous baseline design (`pathgptomic/experiments/baselines.py`, then named `benchmark/`) — 10 RNA PCs + every raw CNV/mutation column,
  lifelines penalizer 0.1, Newton-Raphson up to 500 steps. The old code suppressed lifelines'
  ConvergenceWarning and counted every fold; here the warning is recorded and the fold marked `*`
  (its C-index is what the old code would have reported). Wall-clock cap per fold for this run only.
- **new**: `CoxBaselineConfig()` defaults — {_new_desc()}.

p = model inputs (for late fusion: the two first-stage risks). `*` = not converged (its C-index shown
for the old design only, as the old code would have counted it; the new code reports no C-index).

{head}
{table}

Cells that did not converge:

{notes}

## Environment

{env}
"""


def _new_desc() -> str:
    from pathgptomic.experiments.baselines import CoxBaselineConfig

    return CoxBaselineConfig().describe()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--columns", type=int, default=1000, help="CNV width of the wide cohorts")
    p.add_argument("--events", type=int, default=94, help="event patients kept in the 'fewer events' cohort")
    p.add_argument("--old-cap", type=float, default=600.0, help="seconds per fold for the old baseline")
    p.add_argument(
        "--out",
        default=str(ROOT / "benchmarks" / "results" / "baselines_wide"),
        help="output path without extension (.csv and .md are written)",
    )
    args = p.parse_args(argv)
    if not (DATA / "tcga_gbmlgg_all_clean.csv.gz").is_file():
        print(f"skipped: {DATA} not found (real TCGA-GBMLGG data needed)", file=sys.stderr)
        return 0
    command = "OMP_NUM_THREADS=1 python benchmarks/bench_baselines_wide.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    start = time.perf_counter()
    df = run(args.columns, args.events, args.old_cap)
    wall = time.perf_counter() - start
    out = Path(args.out)
    df.to_csv(out.with_suffix(".csv"), index=False, float_format="%.4f", lineterminator="\n")
    out.with_suffix(".md").write_text(_markdown(df, command.strip(), wall))
    print(_summary(df).to_string(index=False))
    print(f"wrote {out.with_suffix('.md')} and {out.with_suffix('.csv')} ({wall / 60:.1f} min)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
