"""Is the risk scale honest? Out-of-fold calibration of bundles built with the CLI defaults.

For each cohort the script runs ``cross_validate`` with the configuration the CLI builds
from its defaults (plus the given extra flags), then measures, out of fold:

* **new (what bundles do now)**: the calibration slope + Breslow baseline on centred
  out-of-fold risks, *cross-fitted* (the calibration that predicts fold k never saw fold k);
* **anchor (version 0)**: the Breslow baseline fitted on the final model's in-sample risks,
  applied to the raw out-of-fold risks — what bundles did before.

Reported per cohort: per-fold C-index, in-sample C-index of the final model, spread of the
out-of-fold θ, mean |predicted − Kaplan–Meier| survival over risk quartiles at 12/36/60
months, calibration-in-the-large, share of patients with S(60) outside [0.02, 0.98], and
the integrated Brier score against the Kaplan–Meier-only null model. Targets (issue #9):
IBS below the null, mean |error| at 36 and 60 months <= 0.10, <= 20 % extreme S(60).

Cohorts: the shipped synthetic demo cohort, and the real TCGA-GBMLGG genomics on the
shared 5 splits (skipped with a reason when ``../shared/data`` is absent).

Usage::

    python benchmarks/bench_calibration.py [--cohorts demo,gbmlgg] [--extra "--early-stopping"] [--out FILE]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "tcga_gbmlgg"
TIMES = (12.0, 36.0, 60.0)

#: CLI arguments per cohort (besides --out, which the parser requires).
COHORTS = {
    "demo": ["--cohort", "demo", "--fusion", "gradmod", "--folds", "5", "--image-encoder", "test_resnet", "--max-patches", "16"],
    "gbmlgg": [
        "--cohort",
        str(DATA / "tcga_gbmlgg_all_clean.csv.gz"),
        "--splits",
        str(DATA / "splits_5fold"),
        "--fusion",
        "genomic",
        "--blocks",
        "cnv,mut",
    ],
}


def _anchor_v0(result, cohort) -> tuple[np.ndarray, np.ndarray]:
    """Version 0: Breslow on the final model's in-sample risks, applied to raw out-of-fold risks."""
    from pathgptomic.evaluation import BreslowBaseline
    from pathgptomic.training.trainer import predict_inputs

    final = result.final
    train = predict_inputs(final.model, final.scaling.transform(result.features))["risk"].to_numpy(float)
    baseline = BreslowBaseline().fit(train, cohort.time, cohort.event)
    oof = result.predictions
    surv = baseline.survival_function(oof["risk"].to_numpy(float), times=list(TIMES)).to_numpy().T
    return surv, train


def run_cohort(name: str, extra: list[str], seed: int) -> dict:
    from pathgptomic.cli import build_parser, config_from_args, load_cohort_arg
    from pathgptomic.data import read_split_files
    from pathgptomic.evaluation import concordance_index
    from pathgptomic.evaluation.calibration import calibration_report, km_survival_at, out_of_fold_calibration
    from pathgptomic.training.trainer import cross_validate

    argv = ["cv", *COHORTS[name], "--seed", str(seed), "--out", "unused", *extra]
    args = build_parser().parse_args(argv)
    cfg = config_from_args(args)
    cohort = load_cohort_arg(args.cohort)
    folds = read_split_files(args.splits, cohort.ids) if getattr(args, "splits", None) else None
    start = time.perf_counter()
    result = cross_validate(cohort, cfg, folds=folds, n_folds=args.folds, show_progress=False)
    seconds = time.perf_counter() - start
    oof = result.predictions.reset_index(drop=True)
    centre = result.centres[oof["fold"].to_numpy(int)]
    x = (oof["risk"] - centre).to_numpy(float)
    new = out_of_fold_calibration(oof["risk"], centre, oof["time"], oof["event"], oof["fold"], TIMES)
    v0_surv, train_risk = _anchor_v0(result, cohort)
    km = km_survival_at(oof["time"].to_numpy(float), oof["event"].to_numpy(int), TIMES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        v0 = calibration_report(v0_surv, np.tile(km, (len(oof), 1)), oof["time"], oof["event"], TIMES)
    from pathgptomic.evaluation.calibration import RiskCalibration

    slope = RiskCalibration.fit(x, oof["time"], oof["event"]).slope
    return {
        "cohort": name,
        "command": "pathgptomic " + shlex.join(argv),
        "seconds": seconds,
        "cindex_folds": result.summary["cindex_mean"],
        "cindex_folds_sd": result.summary["cindex_sd"],
        "cindex_in_sample": float(concordance_index(train_risk, cohort.time, cohort.event)),
        "theta_oof_range": (float(oof["risk"].min()), float(oof["risk"].max())),
        "slope": slope,
        "new": new,
        "v0": v0,
    }


def _row(label: str, rep: dict) -> str:
    mae = rep["mean_abs_error"]
    citl = rep["calibration_in_the_large"]
    ext = rep["extreme_share"]
    ibs = f"{rep['ibs']:.3f} vs {rep['ibs_null']:.3f}" if np.isfinite(rep.get("ibs", np.nan)) else "n/a"
    return (
        f"| {label} | {mae['12.0']:.3f} / {mae['36.0']:.3f} / {mae['60.0']:.3f} | "
        f"{citl['36.0']:+.3f} / {citl['60.0']:+.3f} | {ext['60.0']:.1%} | {ibs} |"
    )


def report(results: list[dict]) -> str:
    lines = [
        "# Calibration of the risk scale (out of fold)",
        "",
        "Produced by `python benchmarks/bench_calibration.py` "
        f"({time.strftime('%Y-%m-%d')}, 2-core CPU). Targets (issue #9): IBS below the Kaplan–Meier null, "
        "mean |predicted − observed| S at 36 and 60 months <= 0.10 over risk quartiles, <= 20 % of patients with "
        "S(60) outside [0.02, 0.98]. *new* = calibration slope + Breslow baseline on centred out-of-fold risks, "
        "cross-fitted (what bundles do); *v0* = Breslow on the final model's in-sample risks applied to raw "
        "out-of-fold risks (the previous behaviour, the anchor).",
        "",
    ]
    for r in results:
        lines += [
            f"## {r['cohort']}",
            "",
            f"`{r['command']}` ({r['seconds']:.0f} s)",
            "",
            f"- C-index per fold {r['cindex_folds']:.3f} ± {r['cindex_folds_sd']:.3f}; final model in-sample "
            f"{r['cindex_in_sample']:.3f}; out-of-fold θ from {r['theta_oof_range'][0]:.1f} to "
            f"{r['theta_oof_range'][1]:.1f}; calibration slope β = {r['slope']:.3f}",
            "",
            "| method | mean abs. error 12 / 36 / 60 | calibration-in-the-large 36 / 60 | S(60) extreme | IBS vs null |",
            "|---|---|---|---|---|",
            _row("new", r["new"]),
            _row("v0 (anchor)", r["v0"]),
            "",
            "Predicted vs observed (Kaplan–Meier) by risk quartile, new:",
            "",
            "| quartile | time | n | predicted | observed |",
            "|---|---|---|---|---|",
        ]
        lines += [f"| {t['quartile']} | {t['time']:g} | {t['n']} | {t['predicted']:.3f} | {t['observed']:.3f} |" for t in r["new"]["table"]]
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cohorts", default="demo,gbmlgg")
    ap.add_argument("--extra", default="", help="extra CLI training flags, e.g. '--early-stopping'")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "calibration.md"))
    args = ap.parse_args()
    results = []
    for name in args.cohorts.split(","):
        if name == "gbmlgg" and not DATA.is_dir():
            print(f"skipping gbmlgg: {DATA} is absent (needs ../shared/data)")
            continue
        print(f"running {name} …", flush=True)
        results.append(run_cohort(name, shlex.split(args.extra), args.seed))
    text = report(results)
    Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
