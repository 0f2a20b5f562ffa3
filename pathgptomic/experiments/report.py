r"""Benchmark report: summary tables, paired tests, figures and ``report.md``.

Per-row statistics and the paired Wilcoxon test (with its formula) are described in
:mod:`pathgptomic.experiments.report_tables`.

Baselines: a Cox row counts as *converged* only when every one of its cells finished with
status ``ok``; a row with any ``not_converged`` cell is shown flagged and excluded from every
claim. The automatic reading compares each deep row with the strongest converged baseline
(highest mean C-index), names it, and gives the paired test over the shared cells.

The jobs live in their own modules and are re-exported here: summary tables and paired
tests in :mod:`pathgptomic.experiments.report_tables`, the automatic reading in
:mod:`pathgptomic.experiments.report_reading`, the figures in
:mod:`pathgptomic.experiments.report_figures`. This module writes the files
(:func:`write_report`: ``report.md`` and ``summary.csv``).
"""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pathgptomic.experiments.report_figures import _cindex_png as _cindex_png
from pathgptomic.experiments.report_figures import _figures
from pathgptomic.experiments.report_figures import _rho_png as _rho_png
from pathgptomic.experiments.report_reading import _reading, baseline_reading, gradmod_evidence, strongest_baseline
from pathgptomic.experiments.report_reading import _versus as _versus
from pathgptomic.experiments.report_tables import (
    _HEADER,
    _ablation_table,
    _cell,
    _row_line,
    paired_wilcoxon,
    paired_wilcoxon_summary,
    pairing_unit,
    summarize,
)
from pathgptomic.experiments.report_tables import _ms as _ms
from pathgptomic.experiments.report_tables import _p as _p
from pathgptomic.experiments.rows import (
    ABLATION_FUSIONS,
    BASELINE_ROWS,
    RNA_ENCODERS,
)

__all__ = [
    "GBMLGG_REFERENCES",
    "PAPER_FIGURES",
    "baseline_reading",
    "environment_info",
    "gradmod_evidence",
    "paired_wilcoxon",
    "paired_wilcoxon_summary",
    "strongest_baseline",
    "summarize",
    "write_report",
]

#: The paper's headline C-indices (Path-GPTomic, best configuration; 15-fold CV on real WSIs).
PAPER_FIGURES = {"TCGA-GBMLGG": 0.848, "TCGA-KIRC": 0.754}
#: Reference figures on TCGA-GBMLGG's 5 PORPOISE splits (data-set reference values; reproduced in benchmarks/results/tcga_genomic.md).
GBMLGG_REFERENCES = (
    ("penalized Cox, 10 RNA PCs + CNV + mut (penalizer 0.1)", "0.827 ± 0.018"),
    ("the same + age", "0.851 ± 0.017"),
    ("penalized Cox, 20 PCs of all genomic features (penalizer 0.5)", "0.779 ± 0.035"),
    ("age alone (all patients)", "0.766"),
    ("MCAT (slides + genomics), published", "0.817 ± 0.021"),
    ("attention-MIL on slides alone, published", "0.787 ± 0.028"),
)


def environment_info() -> dict[str, str]:
    """Versions of the main packages, machine and date (UTC)."""
    from importlib import metadata

    info = {"date (UTC)": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"), "python": sys.version.split()[0]}
    for pkg in ("pathgptomic", "torch", "timm", "numpy", "pandas", "scipy", "scikit-learn", "lifelines"):
        try:
            info[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            info[pkg] = "not installed"
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
        info["torch threads"] = str(torch.get_num_threads())
    except Exception:  # noqa: BLE001 - informational only
        gpu = "unknown"
    info["machine"] = f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} CPU cores, GPU: {gpu}"
    return info


def _compute_line(s: Any) -> str:
    try:
        import torch

        cuda = torch.cuda.is_available() and (s.device or "cuda").startswith("cuda")
    except Exception:  # noqa: BLE001
        cuda = False
    if cuda:
        return "- Compute: GPU."
    n_folds = "split-file" if s.splits_dir else str(s.n_folds)
    return (
        f"- Compute: CPU only — a **reduced grid**: {len(s.seeds)} seed(s) x {n_folds} folds, {s.epochs} epochs, "
        "small frozen image encoder and few patches per image (the paper: 15-fold CV, GPU, full-size encoders)."
    )


def _final_weights(settings: Any) -> str:
    """Which weights of a deep row's training are evaluated (the trainer's rule)."""
    from pathgptomic.training.config import TrainConfig

    if settings.early_stopping:
        return "early stopping on an inner validation split of the training fold"
    cfg = TrainConfig(epochs=settings.epochs, average_fraction=settings.average_fraction)
    return f"no early stopping; the evaluated model keeps {cfg.final_weights()}"


def _hyper_parameters(settings: Any, cohort: Any = None) -> list[str]:
    s = settings
    clin = list(cohort.blocks["clinical"].columns) if cohort is not None and "clinical" in cohort.blocks else []
    folds = f"split files {s.splits_dir}" if s.splits_dir else f"stratified {s.n_folds}-fold, drawn per seed"
    lines = [
        f"- Folds: {folds}; seeds: {', '.join(map(str, s.seeds))}.",
        f"- Deep rows (PathGPTomic): {s.epochs} epochs, batch {s.batch_size}, Adam lr {s.lr}, weight decay "
        f"{s.weight_decay}, dropout {s.dropout}, "
        + _final_weights(s)
        + f"; gradmod α = {s.alpha} from epoch 0; Cox partial likelihood (Breslow ties); default widths "
        "(SNN 64-48-32-32, MLP-B 128, G and P 32-d, mean patch pooling); genomic branch "
        + ("with the linear skip path (G = MLP-B([G1 ‖ G2]) + L·[x1 ‖ x2])." if s.linear_skip else "without the linear skip path."),
        f"- Image features: frozen `{s.image_encoder}` "
        + (f"(weights {s.image_weights})" if s.image_weights else "(seeded random init, weights saved in the cache)")
        + f", {s.patch_size}-px tiles, at most {s.max_patches} per slide, z-scored per training fold.",
        (
            f"- Penalized Cox baselines (lifelines, {' + '.join(('rnaseq', *s.cox.blocks))} blocks): {s.cox.describe()}. "
            f"Clinical covariates: {', '.join(clin) if clin else '(none in this cohort)'} — used by the 'genomic + "
            "clinical', 'clinical only' and late-fusion rows only; late fusion fits a Cox on the training fold's risks of "
            "the genomic and clinical Cox models and applies it to the test fold's. Scalers, PCA and penalizer are fitted "
            "on each training fold only."
        ),
        (
            "- What the models see: the deep rows (PathGPTomic) use genomics and/or images, **never the clinical "
            "covariates** in this benchmark; the Inputs column of every table says which inputs each row used."
        ),
        _compute_line(s),
        (
            "- All of the above were fixed before the run; nothing was chosen on the evaluation folds. The per-epoch "
            "evaluation-fold C-index in `curves/` is logged for monitoring only."
        ),
    ]
    return lines


def write_report(run: Any, cohort: Any, settings: Any, *, command: str = "") -> Path:
    """Write ``report.md``, ``summary.csv`` and the figures into ``run.out_dir``.

    Returns:
        Path of ``report.md``.
    """
    out = Path(run.out_dir)
    results = run.results
    pair_by = pairing_unit(settings)
    summary = summarize(results, run.rows, pair_by)
    summary.to_csv(out / "summary.csv", index=False, float_format="%.4f", lineterminator="\n")
    semi = bool(cohort.meta.get("semi_synthetic"))
    synthetic = cohort.true_risk is not None and not semi
    kind = "semi-synthetic (real TCGA genomics and outcomes + synthetic images)" if semi else ("synthetic" if synthetic else "real")
    prefix = "semi-synthetic " if semi and not str(cohort.source).lower().startswith("semi-synthetic") else ""
    title = f"# Benchmark report — {prefix}{cohort.source}"
    lines = [title, ""]
    if semi:
        sm = cohort.meta.get("semi_synthetic_info", {})
        lines += [
            (
                "> **Semi-synthetic cohort.** Genomics and survival outcomes are real (TCGA); the H&E-like images are "
                f"synthetic and their morphology encodes the standardised covariate `{sm.get('covariate', '?')}` "
                f"plus Gaussian noise (sd {sm.get('noise', '?')}), which was removed from the clinical block the "
                "genomic models see. Image results measure how well a model recovers a known, real prognostic "
                "signal from images — not performance on real slides."
            ),
            "",
            (
                "Rebuild the cohort (deterministic): `pathgptomic semisynthetic --tcga <path to "
                f"{sm.get('source_file', 'TCGA CSV')}> --covariate {sm.get('covariate', '?')} --noise {sm.get('noise', '?')} "
                f"--seed {sm.get('seed', '?')} --image-size {sm.get('image_size', '?')} --out <folder>` and pass that folder "
                "as --cohort."
            ),
            "",
        ]
    elif synthetic:
        lines += ["> **Synthetic cohort** (simulated genomics, images and outcomes; see `pathgptomic.data.synthetic`).", ""]
    n_ok = int((results["status"] == "ok").sum()) if len(results) else 0
    lines += [
        f"Cohort: {cohort.n} patients, {cohort.n_events} events ({kind}); blocks "
        + ", ".join(f"{k} {v.shape[1]}" for k, v in cohort.blocks.items())
        + f"; images: {'yes' if cohort.has_images else 'no'}.",
        (
            f"Suite `{settings.suite}`: {len(run.rows)} rows; {n_ok} finished cells "
            f"({run.n_run} computed in the last invocation, {run.n_reused} reused)."
        ),
        "",
        "## Command",
        "",
        "```",
        command or "(called from Python)",
        "```",
        "",
        "## Stated hyper-parameters (fixed in advance)",
        "",
        *_hyper_parameters(settings, cohort),
        "",
    ]
    base_keys = [r.key for r in BASELINE_ROWS]
    base = summary[summary["config"].isin(base_keys)]
    if len(base):
        lines += [
            "## Baselines",
            "",
            (
                "C-index mean ± sd over fold x seed cells; branch-alone columns are the "
                "C-index of W^G·G and W^P·P alone (— where the model has no such branch or it is not separable, "
                "as in Kronecker fusion); Δ and Wilcoxon p are paired against concat (SNN RNA encoder)"
                + (
                    ", one pair per test fold with each row's C-index averaged over the seeds (the seeds share the "
                    "split files' folds, so their cells are not independent pairs)"
                    if pair_by == "fold"
                    else ", one pair per fold × seed cell"
                )
                + ". The Cox "
                "rows show genomic, genomic + clinical and clinical-only inputs side by side; † marks a row with "
                "cells whose fit did not converge (its mean covers the converged cells only and enters no claim)."
            ),
            "",
            _HEADER,
            *[_row_line(s) for _, s in base.iterrows()],
            "",
        ]
    grid = summary[summary["config"].isin([f"{f}_{r}" for r in RNA_ENCODERS for f in ABLATION_FUSIONS])]
    if len(grid):
        lines += [
            "## Paper ablation (Table 3 layout): RNA encoder x fusion",
            "",
            "Fused C-index, mean ± sd:",
            "",
            _ablation_table(summary, "cindex"),
            "",
            "Image branch alone (W^P·P), mean ± sd:",
            "",
            _ablation_table(summary, "cindex_image"),
            "",
            "Every grid row in detail (Δ and Wilcoxon p against concat with the same RNA encoder):",
            "",
            _HEADER,
            *[_row_line(s) for _, s in grid.iterrows()],
            "",
        ]
    na = summary[summary["n_cells"] < summary["n_total"]]
    if len(na):
        lines += ["## Not available / failed / not converged rows", "", "| Row | status | reason |", "|---|---|---|"]
        for _, s in na.iterrows():
            lines.append(f"| {s['label']} | {s['status']} | {_cell(s['reason'])} |")
        lines.append("")
    reading = baseline_reading(summary, results, pair_by) + _reading(summary, out, results, pair_by)
    if reading:
        lines += ["## What was measured (read directly from the tables)", "", *reading, ""]
    lines += ["## Reference figures (not computed here)", ""]
    lines += [f"- Paper (Path-GPTomic, 15-fold CV, real WSIs, full scGPT): {k} {v:.3f}." for k, v in PAPER_FIGURES.items()]
    src = (str(cohort.source) + str(cohort.meta.get("file", "")) + str(cohort.meta.get("semi_synthetic_info", ""))).lower()
    if "gbmlgg" in src:
        lines += ["- TCGA-GBMLGG on the 5 PORPOISE splits (data-set reference values, sd over the 5 folds):"]
        lines += [f"  - {a}: {b}" for a, b in GBMLGG_REFERENCES]
    lines += [("- These figures use other protocols, encoders and hardware; compare the orders of magnitude, not the third decimal."), ""]
    lines += ["## Figures", "", *_figures(results, out, run.rows), ""]
    lines += [
        "## Files",
        "",
        ("- `results.csv`: one row per fold x seed x configuration (status, reason, C-indices, time)."),
        "- `summary.csv`: the tables above in machine-readable form.",
        (
            "- `curves/<row>/seed<S>_fold<K>_{epochs,history}.csv`: per-epoch evaluation-fold C-indices "
            "(monitoring only) and per-step ρ / k / gradient norms (concat and gradmod rows)."
        ),
        "- `benchmark.json`: the settings and every command that wrote into this folder.",
        "",
    ]
    lines += ["## Environment", "", *[f"- {k}: {v}" for k, v in environment_info().items()], ""]
    path = out / "report.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(path)
    return path
