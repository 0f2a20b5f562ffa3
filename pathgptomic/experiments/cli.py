"""``pathgptomic benchmark`` and ``pathgptomic semisynthetic``.

``register(subparsers)`` is wired into :mod:`pathgptomic.cli`.

* ``benchmark --cohort C --suite {paper-ablation,baselines,all} (--folds K | --splits DIR)
  --seeds S --epochs E --out DIR`` runs (or resumes) the benchmark grid and writes
  ``report.md``, ``results.csv``, ``summary.csv`` and figures into ``DIR``.
* ``semisynthetic --tcga CSV --covariate age --noise SD --seed S --out DIR`` writes a
  semi-synthetic cohort (real genomics + outcomes, synthetic images encoding the covariate).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

__all__ = ["register", "cmd_benchmark", "cmd_semisynthetic", "load_benchmark_cohort"]


def load_benchmark_cohort(value: str) -> Any:
    """``demo``, a semi-synthetic folder (meta marks it) or any cohort path."""
    from pathgptomic.data.demo import resolve_cohort
    from pathgptomic.experiments.semisynthetic import is_semisynthetic, read_semisynthetic

    if value != "demo" and is_semisynthetic(value):
        return read_semisynthetic(value)
    return resolve_cohort(value)


def _seeds(value: str) -> list[int]:
    try:
        if "," in value:
            return [int(v) for v in value.split(",") if v.strip()]
        n = int(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--seeds takes a count S (seeds 0..S-1) or a comma list, got {value!r}") from exc
    if n < 1:
        raise argparse.ArgumentTypeError(f"--seeds must be >= 1, got {n}")
    return list(range(n))


def _fraction(value: str) -> float:
    from pathgptomic.errors import ConfigError
    from pathgptomic.schema import check_average_fraction

    try:
        f = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--average-fraction takes a number in [0, 1], got {value!r}") from exc
    try:
        check_average_fraction(f, "--average-fraction")
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return f


def _seeds_text(seeds: list[int]) -> str:
    """``--seeds`` text that :func:`_seeds` reads back as ``seeds``: a count for 0..S-1, else a comma list
    (a single seed other than 0 keeps a trailing comma: ``"1,"``; ``"1"`` would mean one seed, seed 0)."""
    if seeds == list(range(len(seeds))):
        return str(len(seeds))
    return ",".join(map(str, seeds)) + ("," if len(seeds) == 1 else "")


def _command_line(args: argparse.Namespace) -> str:
    """The exact command, rebuilt from the parsed options (every option written out)."""
    parts = ["pathgptomic", "benchmark", "--cohort", args.cohort, "--suite", args.suite]
    parts += ["--splits", args.splits] if args.splits else ["--folds", str(args.folds)]
    parts += ["--seeds", _seeds_text(args.seeds)]
    parts += ["--epochs", str(args.epochs), "--out", args.out]
    for opt in (
        "batch_size",
        "lr",
        "weight_decay",
        "dropout",
        "average_fraction",
        "alpha",
        "image_encoder",
        "image_weights",
        "max_patches",
        "patch_size",
        "cache_dir",
        "device",
        "rows",
        "cox_components",
        "cox_penalizer",
        "scgpt_dir",
        "mlp_a",
        "threads",
    ):
        v = getattr(args, opt)
        if v is not None and v != _DEFAULTS.get(opt):
            parts += [f"--{opt.replace('_', '-')}", str(v)]
    if args.early_stopping:
        parts.append("--early-stopping")
    if args.no_linear_skip:
        parts.append("--no-linear-skip")
    return shlex.join(parts)


_DEFAULTS: dict[str, Any] = {
    "batch_size": 32,
    "lr": 5e-4,
    "weight_decay": 1e-4,
    "dropout": 0.25,
    "average_fraction": None,
    "alpha": 1.0,
    "image_encoder": "resnet18",
    "max_patches": 64,
    "patch_size": 224,
    "cox_components": 10,
    "cox_penalizer": None,
}


def cmd_benchmark(args: argparse.Namespace) -> int:
    """Run the benchmark (see module docstring)."""
    import torch

    from pathgptomic.experiments.baselines import CoxBaselineConfig
    from pathgptomic.experiments.report import summarize
    from pathgptomic.experiments.runner import BenchmarkSettings, run_benchmark

    if args.threads:
        torch.set_num_threads(args.threads)
    settings = BenchmarkSettings(
        suite=args.suite,
        seeds=args.seeds,
        n_folds=args.folds,
        splits_dir=args.splits,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        dropout=args.dropout,
        early_stopping=args.early_stopping,
        average_fraction=args.average_fraction,
        alpha=args.alpha,
        linear_skip=not args.no_linear_skip,
        image_encoder=args.image_encoder,
        image_weights=args.image_weights,
        max_patches=args.max_patches,
        patch_size=args.patch_size,
        cache_dir=args.cache_dir,
        device=args.device,
        cox=CoxBaselineConfig(n_components=args.cox_components, penalizer=args.cox_penalizer),
        rows=[r.strip() for r in args.rows.split(",") if r.strip()] if args.rows else None,
        scgpt_dir=args.scgpt_dir,
        mlp_a=args.mlp_a,
    )
    cohort = load_benchmark_cohort(args.cohort)
    print(f"cohort: {cohort.source} — {cohort.n} patients, {cohort.n_events} events", file=sys.stderr)
    run = run_benchmark(cohort, settings, args.out, command=_command_line(args), show_progress=not args.no_progress)
    from pathgptomic.experiments.report_tables import pairing_unit

    s = summarize(run.results, run.rows, pairing_unit(settings))
    print(f"\n{run.n_run} cell(s) computed, {run.n_reused} reused from {Path(args.out) / 'results.csv'}")
    for _, r in s.iterrows():
        if r["n_cells"]:
            print(
                f"  {r['label']:<52} C-index {r['cindex_mean']:.3f} ± {r['cindex_sd'] if r['cindex_sd'] == r['cindex_sd'] else 0:.3f}"
                f"  ({r['n_cells']} cells)"
            )
        else:
            print(f"  {r['label']:<52} not available: {str(r['reason'])[:90]}")
    print(f"report: {Path(args.out) / 'report.md'}")
    return 0


def cmd_semisynthetic(args: argparse.Namespace) -> int:
    """Build the semi-synthetic cohort (see module docstring)."""
    from pathgptomic.experiments.semisynthetic import build_semisynthetic_cohort

    cohort = build_semisynthetic_cohort(
        args.tcga,
        args.out,
        covariate=args.covariate,
        noise=args.noise,
        seed=args.seed,
        image_size=args.image_size,
        overwrite=args.overwrite,
        show_progress=not args.no_progress,
    )
    print(
        f"semi-synthetic cohort ({cohort.n} patients, {cohort.n_events} events; real genomics + outcomes, synthetic "
        f"images encoding '{args.covariate}' with noise sd {args.noise}) written to {args.out}"
    )
    return 0


def register(subparsers: Any) -> None:
    """Add the ``benchmark`` and ``semisynthetic`` subcommands."""
    p = subparsers.add_parser(
        "benchmark",
        help="reproduce the paper's tables: baselines + RNA encoder x fusion grid, with paired tests",
        description="Run baselines (penalized Cox on genomic PCs with/without clinical covariates, genomic-only SNN, "
        "image-only, Kronecker fusion) and the paper's ablation grid (RNA encoder snn/scgpt/scgpt_smooth x fusion "
        "concat/kronecker/gradmod) over folds x seeds. Writes report.md, results.csv (one row per cell), summary.csv "
        "and figures. Resumable: finished cells in OUT/results.csv are not rerun.",
    )
    p.add_argument("--cohort", required=True, help="'demo', a TCGA-layout CSV(.gz), a generic-layout or semi-synthetic folder")
    p.add_argument("--suite", choices=["paper-ablation", "baselines", "all"], default="all")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--folds", type=int, default=5, help="stratified folds, drawn per seed (default 5)")
    g.add_argument("--splits", default=None, help="folder of PORPOISE split files splits_K.csv (same for every seed)")
    p.add_argument("--seeds", type=_seeds, default=[0], help="number of seeds S (0..S-1) or a comma list (default 1)")
    p.add_argument("--epochs", type=int, default=30, help="training epochs of every deep row (fixed in advance)")
    p.add_argument("--out", required=True, help="output folder (reused to resume)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--dropout", type=float, default=0.25)
    p.add_argument("--alpha", type=float, default=1.0, help="gradient-modulation strength of the gradmod rows")
    p.add_argument("--early-stopping", action="store_true", help="stop on an inner validation split of each training fold")
    p.add_argument(
        "--no-linear-skip", action="store_true", help="deep rows without the genomic branch's linear skip path (the paper's networks only)"
    )
    p.add_argument(
        "--average-fraction",
        type=_fraction,
        default=None,
        help="evaluate the mean of the weights of the last F share of the epochs (0 = the last epoch's weights; "
        "default 2/3 for runs of at least 30 epochs, else 0)",
    )
    p.add_argument("--image-encoder", default="resnet18", help="frozen patch encoder (e.g. test_resnet for the demo)")
    p.add_argument("--image-weights", default=None, help="local weights of the encoder (default: seeded random init)")
    p.add_argument("--max-patches", type=int, default=64, help="patches per slide")
    p.add_argument("--patch-size", type=int, default=224)
    p.add_argument("--cache-dir", default=None, help="feature cache folder (default ~/.cache/pathgptomic)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--rows", default=None, help="comma list of row keys to run (default: the whole suite)")
    p.add_argument("--cox-components", type=int, default=10, help="principal components of the Cox baseline")
    p.add_argument(
        "--cox-penalizer",
        type=float,
        default=None,
        help="fixed lifelines L2 penalizer of the Cox baselines (default: chosen by inner cross-validation on each training fold)",
    )
    p.add_argument("--scgpt-dir", default=None, help="scGPT checkpoint folder (default: $PATHGPTOMIC_SCGPT_DIR or models/scgpt-demo)")
    p.add_argument("--mlp-a", default=None, help="MLP-A file for the scgpt_smooth rows")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (e.g. 1 on a shared machine)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=cmd_benchmark)

    p = subparsers.add_parser(
        "semisynthetic",
        help="build a semi-synthetic cohort: real TCGA genomics + outcomes, synthetic images",
        description="Semi-synthetic multimodal cohort: real genomics and survival from a TCGA-layout CSV, plus one "
        "synthetic H&E-like image per patient whose morphology encodes the standardised covariate (+ Gaussian noise). "
        "The covariate is removed from the clinical block. Deterministic by seed.",
    )
    p.add_argument("--tcga", required=True, help="TCGA-layout CSV(.gz), e.g. tcga_gbmlgg_all_clean.csv.gz")
    p.add_argument("--covariate", default="age", help="numeric clinical column the images encode (default age)")
    p.add_argument("--noise", type=float, default=0.5, help="sd of the Gaussian noise added to the standardised covariate")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--image-size", type=int, default=448, help="image side in pixels (default 448)")
    p.add_argument("--out", required=True, help="folder to write")
    p.add_argument("--overwrite", action="store_true", help="replace an existing folder")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_semisynthetic)
