"""Fusion modes on the synthetic demo cohort: does gradmod train the image branch better?

Runs (or resumes) the benchmark runner on the shipped synthetic demo cohort
(assets/demo_cohort, 200 patients) for the rows genomic-only, image-only, concat,
kronecker and gradmod (SNN RNA encoder), 5 seeds x 5 stratified folds (drawn per seed),
and writes ``benchmarks/results/fusion_synthetic.md``: fused C-index and the image-branch-
alone C-index (W^P·P) under concat vs gradmod, mean ± sd over the 25 cells, paired
Wilcoxon tests, and the ceilings given by the simulation's true risk.

The cells are shared with ``benchmarks/results/synthetic`` (same settings), so running
``pathgptomic benchmark --cohort demo --suite all ... --out benchmarks/results/synthetic``
first makes this script only read results.

Usage::

    python benchmarks/bench_fusion_synthetic.py [--epochs 20] [--seeds 5] [--folds 5]
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROWS = ["genomic_snn", "image", "concat_snn", "kronecker_snn", "gradmod_snn"]


def _true_risk_ceilings(cohort, seeds: list[int], n_folds: int) -> dict[str, tuple[float, float]]:
    """C-index of the simulation's true log-hazard parts on the same test folds (mean, sd)."""
    from pathgptomic.data import stratified_kfold
    from pathgptomic.evaluation import concordance_index

    truth = cohort.meta["truth"]
    out = {}
    for col in ("true_risk", "genomic_part", "image_part"):
        vals = []
        for s in seeds:
            for _, te in stratified_kfold(cohort.event, n_folds=n_folds, seed=s):
                vals.append(concordance_index(truth[col].to_numpy()[te], cohort.time[te], cohort.event[te]))
        out[col] = (float(np.mean(vals)), float(np.std(vals, ddof=1)))
    return out


def main(argv: list[str] | None = None) -> int:
    import torch

    from pathgptomic.cli import load_cohort_arg
    from pathgptomic.experiments.report import _ms, _p, environment_info, paired_wilcoxon, summarize
    from pathgptomic.experiments.runner import BenchmarkSettings, run_benchmark

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "synthetic"))
    ap.add_argument("--md", default=str(ROOT / "benchmarks" / "results" / "fusion_synthetic.md"))
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    cohort = load_cohort_arg("demo")
    seeds = list(range(args.seeds))
    settings = BenchmarkSettings(
        suite="all", seeds=seeds, n_folds=args.folds, epochs=args.epochs, image_encoder="test_resnet", max_patches=4, rows=ROWS
    )
    command = "python benchmarks/bench_fusion_synthetic.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    run = run_benchmark(cohort, settings, args.out, command=command.strip(), write_report=False)
    s = summarize(run.results, run.rows).set_index("config")
    ceil = _true_risk_ceilings(cohort, seeds, args.folds)
    n_cells = int(s.loc["concat_snn", "n_cells"])
    truth = cohort.meta["truth"]
    img = paired_wilcoxon(run.results, "gradmod_snn", "concat_snn", value="cindex_image")
    fused = paired_wilcoxon(run.results, "gradmod_snn", "concat_snn")
    lines = [
        "# Fusion modes on the synthetic demo cohort (issue 2 benchmark)",
        "",
        f"Synthetic cohort (`assets/demo_cohort`, {cohort.n} patients, {cohort.n_events} events; simulated genomics, "
        f"H&E-like images and outcomes; true log-hazard = genomic part (sd {truth['genomic_part'].std():.2f}) + image "
        f"part (sd {truth['image_part'].std():.2f}) + unobserved noise (sd {truth['noise'].std():.2f})).",
        "",
        "Command (run from the repository root):",
        "",
        "```",
        command.strip(),
        "```",
        "",
        f"Protocol: {args.seeds} seeds x {args.folds} stratified folds (drawn per seed) = {n_cells} cells per row; "
        f"{args.epochs} epochs, batch 32, Adam lr 5e-4, weight decay 1e-4, dropout 0.25, no early stopping, gradmod "
        "α = 1 from epoch 0; frozen random-init `test_resnet` patch features (4 tiles of 224 px per image, "
        "mean pooling). All fixed in advance; no selection on the evaluation folds. CPU run (no GPU in this session); "
        "the cells are shared with `benchmarks/results/synthetic/`.",
        "",
        "| Model | C-index | image branch alone (W^P·P) | genomic branch alone (W^G·G) | cells |",
        "|---|---|---|---|---|",
    ]
    names = {
        "genomic_snn": "genomic only",
        "image": "image only",
        "concat_snn": "concat",
        "kronecker_snn": "kronecker",
        "gradmod_snn": "gradmod",
    }
    for key in ROWS:
        r = s.loc[key]
        lines.append(
            f"| {names[key]} | {_ms(r['cindex_mean'], r['cindex_sd'])} | "
            f"{_ms(r['cindex_image_mean'], r['cindex_image_sd'])} | "
            f"{_ms(r['cindex_genomic_mean'], r['cindex_genomic_sd'])} | {r['n_cells']} |"
        )
    lines += [
        f"| *true log-hazard (ceiling)* | {_ms(*ceil['true_risk'])} | {_ms(*ceil['image_part'])} (true image part) | "
        f"{_ms(*ceil['genomic_part'])} (true genomic part) | {n_cells} |",
        "",
        "## Reading",
        "",
    ]
    gi, ci = s.loc["gradmod_snn", "cindex_image_mean"], s.loc["concat_snn", "cindex_image_mean"]
    gf, cf = s.loc["gradmod_snn", "cindex_mean"], s.loc["concat_snn", "cindex_mean"]
    lines.append(
        f"- Image branch alone: gradmod {gi:.3f} vs concat {ci:.3f} (Δ {gi - ci:+.3f}, paired Wilcoxon p = "
        f"{_p(img['p'])} over {int(img['n'])} cells). "
        + (
            "gradmod trains the image branch better here."
            if gi - ci >= 0.005 and img["p"] < 0.05
            else "On this cohort gradmod does **not** train the image branch measurably better than concat."
            if gi - ci < 0.005
            else "gradmod's image branch is higher, but the difference is not significant at 0.05."
        )
    )
    lines.append(
        f"- Fused C-index: gradmod {gf:.3f} vs concat {cf:.3f} (Δ {gf - cf:+.3f}, p = {_p(fused['p'])}). "
        + (
            "gradmod lifts the fused C-index here."
            if gf - cf >= 0.005 and fused["p"] < 0.05
            else "gradmod does **not** lift the fused C-index measurably on this cohort."
            if gf - cf < 0.005
            else "gradmod is higher, but not significantly at 0.05."
        )
    )
    ki, gim = s.loc["kronecker_snn", "cindex_mean"], s.loc["image", "cindex_mean"]
    gg = s.loc["genomic_snn", "cindex_mean"]
    lines.append(
        f"- Unimodal: genomic only {gg:.3f}, image only {gim:.3f}; Kronecker fusion {ki:.3f}. "
        f"The ceilings (true risk on the same folds) show how much signal is left: "
        f"{ceil['true_risk'][0]:.3f} fused, {ceil['image_part'][0]:.3f} for the image part alone."
    )
    lines.append(
        "- How gradmod acts under Adam: Adam's per-parameter update m̂/√v̂ is invariant to a constant rescaling of "
        "the gradient, so the trainer scales each branch's gradients by k (the paper's rule) *and* that branch's "
        "learning rate by k for the step (`TrainConfig.modulate_step_size`, on by default; "
        "the gradmod cells here were run with it). With α = 1, k stays within about 0.85–1 on this "
        "cohort (`benchmarks/results/synthetic/figures/rho_concat_vs_gradmod_snn.png`), i.e. the modulation is "
        "mild because neither branch dominates strongly."
    )
    hist_files = sorted((Path(args.out) / "curves" / "gradmod_snn").glob("*_history.csv"))
    if hist_files:
        h = pd.concat([pd.read_csv(f) for f in hist_files], ignore_index=True)
        rho = float(np.exp(np.log(h["rho_g"].dropna()).mean()))
        dominant = "image" if rho < 1 else "genomic"
        lines.append(
            f"- Which branch dominates training here: the geometric mean of ρ^G over all gradmod steps is {rho:.3f} "
            f"(< 1 means the image branch's partial-likelihood score is the higher one), so the {dominant} branch "
            f"dominates on training batches and is the one slowed down (mean k^G {h['coef_g'].mean():.3f}, "
            f"mean k^P {h['coef_p'].mean():.3f}). "
            + (
                "This is the reverse of the paper's GBMLGG setting, where genomics dominates: on this cohort the "
                "image branch's colour/density features are quick to fit even though its true signal is weaker."
                if rho < 1
                else "This matches the paper's setting, where genomics dominates."
            )
        )
    lines += [
        "",
        "The paper's claim (gradmod balances the branches and lifts the fused C-index) is tested here only on "
        "synthetic data with a weak random-init image encoder and a reduced CPU budget; see "
        "`benchmarks/results/synthetic/report.md` for the full grid and the ρ curves.",
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
