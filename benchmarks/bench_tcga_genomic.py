"""Real TCGA-GBMLGG: the deep genomic-only branch vs penalized Cox, on the shared 5 splits.

Computed in one run, on the same 5 PORPOISE/MCAT splits (../shared/data/tcga_gbmlgg):

1. penalized Cox (lifelines, penalizer 0.1) on the first 10 principal components of the
   RNA-seq block + the CNV and mutation columns (reference 0.827 ± 0.018), the same + age
   (reference 0.851 ± 0.017), and + age + sex (the runner's "+ clinical" row);
2. the deep genomic-only model (PathGPTomic ``fusion="genomic"``: SNN on CNV + mutations,
   SNN on RNA-seq, MLP-B, Cox head) with the runner's fixed settings over several seeds
   (version 0's model: every RNA gene, no linear skip path; the current CLI defaults are
   measured by ``bench_genomic_defaults.py``);
3. the same deep model with its variant chosen per outer fold by **inner validation**:
   a few variants fixed in advance are each trained on 80 % of the training fold and
   scored on the other 20 % (never on the evaluation fold); the best is retrained on the
   whole training fold and evaluated once.

Writes ``benchmarks/results/tcga_genomic.md``; the runner's cells go to
``benchmarks/results/tcga_gbmlgg_genomic`` (shared with the ``pathgptomic benchmark`` run).

Usage::

    python benchmarks/bench_tcga_genomic.py [--seeds 3] [--epochs 20]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data" / "tcga_gbmlgg"

#: Variants fixed in advance (name -> TrainConfig overrides); chosen per fold by inner validation.
VARIANTS = {
    "default (20 ep, wd 1e-4, dropout 0.25)": {},
    "strong regularisation (wd 1e-3, dropout 0.5)": {"weight_decay": 1e-3, "dropout": 0.5},
    "short training (8 epochs)": {"epochs": 8},
    "slow + long (lr 2e-4, 40 epochs)": {"lr": 2e-4, "epochs": 40},
}


def _config(base_epochs: int, seed: int, **over):
    from pathgptomic.nn.fusion import ModelConfig
    from pathgptomic.training.features import FeatureSettings
    from pathgptomic.training.trainer import TrainConfig

    dropout = over.pop("dropout", 0.25)
    epochs = over.pop("epochs", base_epochs)
    return TrainConfig(
        model=ModelConfig(fusion="genomic", dropout=dropout, linear_skip=False),
        features=FeatureSettings(use_images=False),
        epochs=epochs,
        seed=seed,
        **over,
    )


def _picks(picks: list[str]) -> str:
    counts = pd.Series([_short(p) for p in picks]).value_counts()
    return ", ".join(f"{k} {v}x" for k, v in counts.items())


def _short(name: str) -> str:
    return name.split(" (")[0]


def _cidx(model_out, time_, event_):
    from pathgptomic.evaluation import concordance_index

    return float(concordance_index(model_out["risk"].to_numpy(), time_, event_))


def inner_selected(cohort, folds, base_epochs: int, seed: int) -> tuple[list[float], list[str]]:
    """Outer-fold C-index of the variant picked by inner validation, and the picks."""
    from pathgptomic.data import inner_validation_split
    from pathgptomic.training.features import FeatureSettings, compute_cohort_features
    from pathgptomic.training.trainer import predict_inputs, train_model

    feats = compute_cohort_features(cohort, FeatureSettings(use_images=False), need_images=False, show_progress=False)
    t, e = np.asarray(cohort.time, float), np.asarray(cohort.event, int)
    scores, picks = [], []
    for k, (tr, te) in enumerate(folds):
        a, b = inner_validation_split(e[tr], fraction=0.2, seed=seed + k)
        fit_idx, val_idx = tr[a], tr[b]
        inner = {}
        for name, over in VARIANTS.items():
            tm = train_model(feats, t, e, fit_idx, _config(base_epochs, seed, **over), fold=k)
            inner[name] = _cidx(predict_inputs(tm.model, tm.scaling.transform(feats.subset(val_idx))), t[val_idx], e[val_idx])
        best = max(inner, key=inner.get)
        tm = train_model(feats, t, e, tr, _config(base_epochs, seed, **VARIANTS[best]), fold=k)
        scores.append(_cidx(predict_inputs(tm.model, tm.scaling.transform(feats.subset(te))), t[te], e[te]))
        picks.append(best)
        shown = ", ".join(f"{_short(n)} {v:.3f}" for n, v in inner.items())
        print(f"fold {k}: inner-val {shown} -> {_short(best)}; test {scores[-1]:.3f}", flush=True)
    return scores, picks


def main(argv: list[str] | None = None) -> int:
    import torch

    from pathgptomic.data import read_split_files, read_tcga
    from pathgptomic.evaluation import concordance_index
    from pathgptomic.experiments.baselines import fit_predict_cox_pca
    from pathgptomic.experiments.report import _ms, environment_info, summarize
    from pathgptomic.experiments.runner import BenchmarkSettings, run_benchmark

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--csv", default=str(DATA / "tcga_gbmlgg_all_clean.csv.gz"))
    ap.add_argument("--splits", default=str(DATA / "splits_5fold"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "tcga_gbmlgg_genomic"))
    ap.add_argument("--md", default=str(ROOT / "benchmarks" / "results" / "tcga_genomic.md"))
    ap.add_argument("--skip-inner", action="store_true", help="skip the inner-validation variant selection")
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    command = "python benchmarks/bench_tcga_genomic.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    cohort = read_tcga(args.csv)
    folds = read_split_files(args.splits, cohort.ids)
    t, e = np.asarray(cohort.time, float), np.asarray(cohort.event, int)

    # 1. Cox references, same run, same splits
    age_only = replace(cohort, blocks={**cohort.blocks, "clinical": cohort.blocks["clinical"][["age"]]})
    cox = {}
    for name, coh, clin in (("Cox: 10 RNA PCs + CNV + mut", cohort, False), ("Cox: the same + age", age_only, True)):
        cox[name] = [concordance_index(fit_predict_cox_pca(coh, tr, te, clinical=clin).risk, t[te], e[te]) for tr, te in folds]
    age_c = concordance_index(cohort.blocks["clinical"]["age"].to_numpy(), t, e)

    # 2. deep genomic rows through the runner (shared cells with the pathgptomic benchmark run)
    settings = BenchmarkSettings(
        suite="baselines",
        seeds=list(range(args.seeds)),
        splits_dir=args.splits,
        epochs=args.epochs,
        rows=["cox_pca", "cox_pca_clinical", "genomic_snn", "genomic_scgpt", "genomic_scgpt_smooth"],
    )
    run = run_benchmark(cohort, settings, args.out, command=command.strip(), write_report=False)
    s = summarize(run.results, run.rows).set_index("config")

    # 3. inner-validation-selected variant (every seed)
    inner_scores, picks, inner_s = [], [], float("nan")
    if not args.skip_inner:
        t0 = time.perf_counter()
        for seed in range(args.seeds):
            sc, pk = inner_selected(cohort, folds, args.epochs, seed=seed)
            inner_scores += sc
            picks += pk
        inner_s = time.perf_counter() - t0

    ref = 0.827
    g = s.loc["genomic_snn"]
    lines = [
        "# TCGA-GBMLGG genomics: deep genomic branch vs penalized Cox (shared 5 splits)",
        "",
        f"Real data: {cohort.n} patients, {cohort.n_events} events (`tcga_gbmlgg_all_clean.csv.gz`, 5 PORPOISE/MCAT "
        "splits). Everything below was computed in this run; C-index mean ± sd (ddof = 1) over folds (x seeds for the "
        "deep rows). The README's references quote the sd over the same 5 folds.",
        "",
        "Command (from the repository root):",
        "",
        "```",
        command.strip(),
        "```",
        "",
        "| Model | C-index | cells | reference (../shared/data/README.md) |",
        "|---|---|---|---|",
    ]
    refs = {"Cox: 10 RNA PCs + CNV + mut": "0.827 ± 0.018", "Cox: the same + age": "0.851 ± 0.017"}
    for name, vals in cox.items():
        lines.append(f"| {name} (penalizer 0.1) | {_ms(np.mean(vals), np.std(vals, ddof=1))} | {len(vals)} | {refs[name]} |")
    c2 = s.loc["cox_pca_clinical"]
    lines.append(f"| Cox: the same + age + sex (runner row) | {_ms(c2['cindex_mean'], c2['cindex_sd'])} | {c2['n_cells']} | — |")
    lines.append(f"| age alone (all patients) | {age_c:.3f} | 1 | 0.766 |")
    for key, label in (
        ("genomic_snn", "Deep genomic branch (SNN RNA), fixed settings"),
        ("genomic_scgpt", "Deep genomic branch, frozen scGPT RNA features"),
        ("genomic_scgpt_smooth", "Deep genomic branch, scGPT + MLP-A RNA features"),
    ):
        r = s.loc[key]
        val = _ms(r["cindex_mean"], r["cindex_sd"]) if r["n_cells"] else f"not available: {str(r['reason'])[:160]}"
        lines.append(f"| {label} | {val} | {r['n_cells']} | — |")
    if inner_scores:
        lines.append(
            f"| Deep genomic branch (SNN RNA), variant chosen by inner validation ({args.seeds} seeds) | "
            f"{_ms(np.mean(inner_scores), np.std(inner_scores, ddof=1))} | {len(inner_scores)} | — |"
        )
    cox_main = float(np.mean(cox["Cox: 10 RNA PCs + CNV + mut"]))
    best_deep = max([g["cindex_mean"]] + ([float(np.mean(inner_scores))] if inner_scores else []))
    lines += [
        "",
        "## Reading",
        "",
        f"- Same-run penalized Cox on 10 RNA PCs + CNV + mut: {cox_main:.3f} (reference {ref}).",
        f"- The deep genomic branch with the fixed settings reaches {g['cindex_mean']:.3f} ± {g['cindex_sd']:.3f}: "
        + (
            f"it **beats** the Cox baseline by {g['cindex_mean'] - cox_main:.3f}."
            if g["cindex_mean"] > cox_main
            else f"it **falls short** of the same-run Cox baseline by {cox_main - g['cindex_mean']:.3f} "
            f"(and of the 0.827 reference by {ref - g['cindex_mean']:.3f})."
        ),
    ]
    for key, label in (("genomic_scgpt", "frozen scGPT RNA features"), ("genomic_scgpt_smooth", "scGPT + MLP-A features")):
        r = s.loc[key]
        if r["n_cells"]:
            d = r["cindex_mean"] - cox_main
            lines.append(
                f"- The same deep branch with {label} instead of the RNA SNN: {r['cindex_mean']:.3f} ± "
                f"{r['cindex_sd']:.3f} ({'+' if d >= 0 else '−'}{abs(d):.3f} vs the same-run Cox; demo-size "
                "scGPT checkpoint, see models/scgpt-demo)."
            )
    if inner_scores:
        lines.append(
            f"- What was tried: {len(VARIANTS)} variants fixed in advance ({'; '.join(VARIANTS)}), one chosen per outer "
            f"fold by inner validation (80/20 split of the training fold, stratified by event), then retrained on the "
            f"whole training fold: {np.mean(inner_scores):.3f} ± {np.std(inner_scores, ddof=1):.3f} "
            f"(picks over folds x seeds: {_picks(picks)}; {inner_s / 60:.1f} min). "
            + (
                f"Best SNN-RNA deep result is {cox_main - best_deep:.3f} below the Cox baseline."
                if best_deep < cox_main
                else f"Best SNN-RNA deep result is {best_deep - cox_main:.3f} above the Cox baseline."
            )
        )
    sc = [(s.loc[k, "cindex_mean"], k) for k in ("genomic_scgpt", "genomic_scgpt_smooth") if s.loc[k, "n_cells"]]
    if sc and max(sc)[0] >= cox_main:
        lines.append(
            f"- Overall: with frozen scGPT RNA features the deep branch matches the Cox baseline "
            f"({max(sc)[0]:.3f} vs {cox_main:.3f}, a difference well inside one fold-sd); with the RNA SNN it falls short."
        )
    lines += [
        "- Likely reasons for the gap (not tested here): 455 training patients for a 1,544-d RNA input; the linear model on 10 PCs is a "
        "strong low-variance baseline here, and the deep branch is trained for a fixed, CPU-sized number of epochs "
        "without tuning on the evaluation folds.",
        f"- Deep rows: {args.epochs} epochs (variants as listed), batch 32, Adam lr 5e-4, weight decay 1e-4, dropout "
        f"0.25, no early stopping, {args.seeds} seeds; CPU only (no GPU in this session).",
        "",
        "## Environment",
        "",
        *[f"- {k}: {v}" for k, v in environment_info().items()],
        "",
    ]
    Path(args.md).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
