"""The ``pathgptomic`` command line.

Subcommands: ``demo``, ``train``, ``cv``, ``predict``, ``evaluate`` (here), plus those
registered by subpackages (``tile``, ``extract`` from :mod:`pathgptomic.slides`;
``smooth``, ``embed-rna`` from :mod:`pathgptomic.genomics`; ``benchmark``,
``semisynthetic`` from :mod:`pathgptomic.experiments`). Every user error exits with
status 2 and a one-paragraph message; crashes exit with status 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence

from pathgptomic.errors import PathGPTomicError
from pathgptomic.schema import (
    DEFAULT_IMAGE_ENCODER,
    DEFAULT_RNA_COMPONENTS,
    DEMO_N_PATIENTS,
    DEMO_SEED,
    FUSION_MODES,
    POOLINGS,
    RNA_ENCODERS,
)

if TYPE_CHECKING:  # numpy/pandas are imported where used: `pathgptomic --help` stays light
    import pandas as pd

logger = logging.getLogger(__name__)

#: Subpackage modules exposing ``register(subparsers)``.
PLUGIN_MODULES = ("pathgptomic.slides.cli", "pathgptomic.genomics.cli", "pathgptomic.experiments.cli")


def load_cohort_arg(value: str, *, for_prediction: bool = False):
    """``demo`` or a path → Cohort (:func:`pathgptomic.data.demo.resolve_cohort`)."""
    from pathgptomic.data.demo import resolve_cohort

    return resolve_cohort(value, for_prediction=for_prediction)


def demo_cohort_path() -> Path:
    """The demo cohort folder (:func:`pathgptomic.data.demo.demo_cohort_path`)."""
    from pathgptomic.data.demo import demo_cohort_path as _path

    return _path()


# ----------------------------------------------------------------------------- train / cv
def _add_training_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cohort", default="demo", help="'demo' (synthetic demo cohort), a TCGA-layout CSV(.gz) or a generic-layout folder")
    p.add_argument("--out", required=True, help="bundle folder to write (must not exist unless --overwrite)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing bundle folder")
    p.add_argument("--fusion", default="gradmod", choices=FUSION_MODES)
    p.add_argument(
        "--rna-encoder",
        default="snn",
        choices=RNA_ENCODERS,
        help="RNA input: SNN on expression (Exp. 1), frozen scGPT (Exp. 2-3) or scGPT + MLP-A (Exp. 4-6)",
    )
    p.add_argument("--scgpt-dir", default=None, help="scGPT checkpoint folder (default: $PATHGPTOMIC_SCGPT_DIR or models/scgpt-demo)")
    p.add_argument("--mlp-a", default=None, help="MLP-A file for --rna-encoder scgpt_smooth")
    p.add_argument("--blocks", default="cnv,mut", help="blocks for the CNV/mutation SNN (comma list of cnv,mut)")
    p.add_argument(
        "--rna-components",
        type=int,
        default=DEFAULT_RNA_COMPONENTS,
        help="with --rna-encoder snn and more RNA-seq genes than patients: project RNA-seq onto this many principal "
        "components fitted on the training patients (0 = feed every gene; default %(default)s)",
    )
    p.add_argument(
        "--cnv-mut-components",
        type=int,
        default=DEFAULT_RNA_COMPONENTS,
        help="with more CNV + mutation columns than patients: project them onto this many principal components "
        "fitted on the training patients (0 = feed every column; default %(default)s)",
    )
    p.add_argument(
        "--no-linear-skip",
        action="store_true",
        help="drop the linear path from the genomic inputs to G (G = MLP-B([G1 ‖ G2]) only, as in the paper)",
    )
    p.add_argument("--clinical", action="store_true", help="also feed clinical covariates (age, sex) to the genomic SNN")
    p.add_argument(
        "--image-encoder",
        default=DEFAULT_IMAGE_ENCODER,
        help="timm or project encoder name for patch features (e.g. t2t_vit_14, test_resnet)",
    )
    p.add_argument(
        "--image-weights", default=None, help="local weights file for the image encoder (default: frozen random init, saved in the bundle)"
    )
    p.add_argument(
        "--finetune-encoder",
        action="store_true",
        help="train the patch encoder end to end on tile pixels (the paper's setting) instead of frozen cached features",
    )
    p.add_argument("--ties", default="breslow", choices=["breslow", "efron"], help="Cox partial likelihood ties method")
    p.add_argument("--pooling", default="mean", choices=POOLINGS, help="patch pooling: mean or gated-attention MIL")
    p.add_argument("--patch-size", type=int, default=224)
    p.add_argument("--mpp", type=float, default=0.5, help="target microns per pixel of the tiles")
    p.add_argument("--assumed-mpp", type=float, default=0.5, help="microns per pixel assumed when an image has no metadata")
    p.add_argument("--max-patches", type=int, default=64, help="cap on patches per slide (deterministic sampling)")
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--dropout", type=float, default=0.25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--early-stopping", action="store_true", help="stop on an inner validation split of the training fold")
    p.add_argument("--patience", type=int, default=10)
    p.add_argument(
        "--average-fraction",
        type=float,
        default=None,
        help="keep the mean of the weights of the last F share of the epochs (stochastic weight averaging); 0 = the last "
        "epoch's weights; default 2/3 for runs of at least 30 epochs, else 0",
    )
    p.add_argument("--alpha", type=float, default=1.0, help="modulation strength α in k = min(1 - tanh(α(ρ-1)), 1)")
    p.add_argument("--balance-start", type=int, default=0, help="first epoch with gradient modulation")
    p.add_argument("--balance-end", type=int, default=None, help="epoch where modulation stops (exclusive)")
    p.add_argument("--ge-noise", action="store_true", help="OGM-GE generalisation-enhancement noise")
    p.add_argument(
        "--log-balance", action="store_true", help="with --fusion concat, also compute and log ρ^G/ρ^P every step (costs ~18%% of an epoch)"
    )
    p.add_argument("--optimizer", default="adam", choices=["adam", "sgd"], help="Adam (default) or SGD with momentum 0.9")
    p.add_argument(
        "--no-step-size-modulation",
        action="store_true",
        help="with Adam, scale only the gradients (Adam's normalisation then cancels most of the modulation)",
    )
    p.add_argument("--cache-dir", default=None, help="feature cache folder (default ~/.cache/pathgptomic)")
    p.add_argument("--live-dir", default=None, help="write progress.json / history.csv / epochs.csv here while training")
    p.add_argument("--name", default=None, help="display name of the bundle")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")


def config_from_args(args: argparse.Namespace):
    """Build a :class:`TrainConfig` from parsed CLI arguments."""
    from pathgptomic.nn.fusion import ModelConfig
    from pathgptomic.training.balance import BalanceConfig
    from pathgptomic.training.features import FeatureSettings
    from pathgptomic.training.trainer import TrainConfig

    blocks = tuple(b.strip() for b in args.blocks.split(",") if b.strip())
    return TrainConfig(
        model=ModelConfig(
            fusion=args.fusion,
            rna_encoder=args.rna_encoder,
            image_pooling=args.pooling,
            dropout=args.dropout,
            image_finetune=args.finetune_encoder,
            image_encoder=args.image_encoder,
            rna_components=getattr(args, "rna_components", DEFAULT_RNA_COMPONENTS),
            cnv_mut_components=getattr(args, "cnv_mut_components", DEFAULT_RNA_COMPONENTS),
            linear_skip=not getattr(args, "no_linear_skip", False),
        ),
        features=FeatureSettings(
            genomic_blocks=blocks,
            use_clinical=args.clinical,
            rna_encoder=args.rna_encoder,
            scgpt_dir=args.scgpt_dir,
            mlp_a=args.mlp_a,
            image_encoder=args.image_encoder,
            image_encoder_weights=args.image_weights,
            patch_size=args.patch_size,
            target_mpp=args.mpp,
            assumed_mpp=args.assumed_mpp,
            max_patches=args.max_patches,
            cache_dir=args.cache_dir,
        ),
        balance=BalanceConfig(
            enabled=True, alpha=args.alpha, start_epoch=args.balance_start, end_epoch=args.balance_end, ge_noise=args.ge_noise
        ),
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        seed=args.seed,
        device=args.device,
        early_stopping=args.early_stopping,
        patience=args.patience,
        average_fraction=args.average_fraction,
        ties=args.ties,
        optimizer=args.optimizer,
        modulate_step_size=not args.no_step_size_modulation,
        log_balance=getattr(args, "log_balance", False),
    )


def _print_summary(result, title: str) -> None:
    from pathgptomic.training.model_card import inputs_statement

    print(f"\ninputs: {inputs_statement(result.config.to_dict())}".replace("**", ""))
    folds = result.folds
    if len(folds):
        table = folds[["fold", "n_train", "n_test", "cindex", "cindex_genomic", "cindex_image", "best_epoch"]].copy()
        table["fold"] = table["fold"] + 1
        print(f"\n{title}\n" + table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        s = result.summary
        import pandas as pd

        empty = pd.Series(dtype=float)
        imputed = int(folds.get("n_imputed_train", empty).sum() + folds.get("n_imputed_test", empty).sum())
        if imputed:
            print(f"\nmissing feature values imputed with training-fold medians: {imputed} (see metrics.json per fold)")
        print(
            f"\nC-index (mean ± sd over {s['n_folds']} folds): fused {s['cindex_mean']:.3f} ± {s['cindex_sd']:.3f} | "
            f"genomic branch alone {s['cindex_genomic_mean']:.3f} ± {s['cindex_genomic_sd']:.3f} | "
            f"image branch alone {s['cindex_image_mean']:.3f} ± {s['cindex_image_sd']:.3f}"
        )


def _run_training(args: argparse.Namespace, *, crossval: bool) -> int:
    from pathgptomic.training.bundle import save_bundle
    from pathgptomic.training.live import LiveLog
    from pathgptomic.training.trainer import cross_validate, fit

    cfg = config_from_args(args)
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        raise PathGPTomicError(f"{out} already exists; choose another --out folder or pass --overwrite")
    cohort = load_cohort_arg(args.cohort)
    folds = None
    n_folds = args.folds if crossval else 0
    if crossval and args.splits:
        from pathgptomic.data import read_split_files

        folds = read_split_files(args.splits, cohort.ids)
        n_folds = len(folds)
    live = LiveLog(args.live_dir, n_folds=n_folds, n_epochs=cfg.epochs) if args.live_dir else None
    show = not args.no_progress
    print(f"cohort: {cohort.source} — {cohort.n} patients, {cohort.n_events} events", file=sys.stderr)
    if crossval:
        result = cross_validate(cohort, cfg, folds=folds, n_folds=n_folds, callback=live, show_progress=show)
    else:
        result = fit(cohort, cfg, callback=live, show_progress=show)
    from_cli = sys.argv[0].endswith(("pathgptomic", "__main__.py"))
    command = "pathgptomic " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if from_cli else ""
    path = save_bundle(result, out, cohort=cohort, command=args.command_line or command, name=args.name, overwrite=args.overwrite)
    if live:
        live.progress("done", f"bundle written to {path}", bundle=str(path))
    _print_summary(result, f"{cfg.model.fusion} on {cohort.source}")
    print(f"\nbundle: {path}")
    return 0


# ----------------------------------------------------------------------------- other commands
def cmd_demo(args: argparse.Namespace) -> int:
    from pathgptomic.data import write_demo_cohort

    path = write_demo_cohort(Path(args.out), n_patients=args.n_patients, seed=args.seed, layout=args.layout)
    print(f"synthetic demo cohort ({args.n_patients} patients, seed {args.seed}, {args.layout} layout) written to {path}")
    return 0


def _parse_times(text: str) -> list[float]:
    """The ``--times`` of ``predict``: comma-separated numbers, each checked by :func:`~pathgptomic.validators.check_time` (finite, > 0).

    Raises:
        InputValidationError: Text that is not a list of numbers, or a time that is not positive
            (the message names ``--times`` and the first bad value).
    """
    from pathgptomic.errors import InputValidationError
    from pathgptomic.validators import check_time

    try:
        times = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputValidationError(
            f"--times must be comma-separated numbers in the cohort's time unit (months in the TCGA layout), got {text!r}"
        ) from None
    if not times:
        raise InputValidationError(f"--times must list at least one time (in the cohort's time unit), got {text!r}")
    fix = f"give --times as positive times in the cohort's unit (months in the TCGA layout), e.g. --times 12,36,60 (got {text!r})."
    return check_time(times, name="--times", lower="positive", fix=fix).tolist()


def cmd_predict(args: argparse.Namespace) -> int:
    import warnings

    from pathgptomic.data.export import csv_text
    from pathgptomic.errors import PathGPTomicWarning
    from pathgptomic.training.bundle import load_bundle

    times = _parse_times(args.times)
    bundle = load_bundle(args.bundle)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PathGPTomicWarning)
        cohort = load_cohort_arg(args.cohort, for_prediction=True)
        pred = bundle.predict(cohort, times=times, min_coverage=args.min_coverage, show_progress=not args.no_progress)
    for msg in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, PathGPTomicWarning)):
        print(f"warning: {msg}", file=sys.stderr)
    if cohort.meta.get("has_outcomes", True):
        pred.insert(1, "time", cohort.time)
        pred.insert(2, "event", cohort.event)
    refused = int((pred["status"] != "ok").sum())
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(csv_text(pred))
        print(
            f"{len(pred) - refused} predictions written to {args.out}"
            + (f"; {refused} patient(s) refused for insufficient data (see the 'reason' column)" if refused else "")
        )
    else:
        shown = ["patient_id", "status", "risk", "risk_low", "risk_high", "percentile", "risk_group"]
        shown += [c for c in pred.columns if c.startswith("survival_") and not c.endswith(("_low", "_high"))]
        shown += ["median_survival", "n_imputed", "reason"]
        print(pred[shown].to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


def _read_predictions(path: str) -> pd.DataFrame:
    import numpy as np
    import pandas as pd

    from pathgptomic.errors import InputValidationError

    try:
        df = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputValidationError(f"{path}: cannot read predictions CSV ({exc})") from exc
    missing = [c for c in ("time", "event", "risk") if c not in df.columns]
    if missing:
        raise InputValidationError(
            f"{path}: missing column(s) {missing}; a predictions file needs time, event and risk "
            "(as written by 'pathgptomic predict' or a bundle's predictions.csv)"
        )
    scored = df["status"].astype(str) == "ok" if "status" in df.columns else pd.Series(True, index=df.index)
    for col in ("time", "event", "risk"):
        bad = pd.to_numeric(df[col], errors="coerce").isna() & scored
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise InputValidationError(f"{path}: row {row}, column '{col}': value {df[col].iloc[row - 2]!r} is not a number")
    return df


def cmd_evaluate(args: argparse.Namespace) -> int:
    from pathgptomic.evaluation import evaluate_predictions, format_report

    df = _read_predictions(args.predictions)
    scheme = [float(x) for x in args.cutoffs.split(",")] if args.cutoffs else args.groups
    report = evaluate_predictions(df, groups=scheme, n_boot=args.n_boot, seed=args.seed)
    print(format_report(report))
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2, default=str))
    return 0


# ----------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (core commands + registered plugins)."""
    parser = argparse.ArgumentParser(
        prog="pathgptomic",
        description="Path-GPTomic: multimodal (H&E + genomics) survival models with balanced training. "
        "Research use only — not for diagnosis.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log INFO messages")
    sub = parser.add_subparsers(dest="cmd", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "demo",
        help="write the synthetic demo cohort to a folder",
        description="Write the deterministic synthetic demo cohort (omics CSV, H&E-like images, true risks).",
    )
    p.add_argument("--out", required=True)
    p.add_argument("--n-patients", type=int, default=DEMO_N_PATIENTS)
    p.add_argument("--seed", type=int, default=DEMO_SEED)
    p.add_argument("--layout", choices=["tcga", "generic"], default="tcga")
    p.set_defaults(func=cmd_demo)

    for name, cv in (("train", False), ("cv", True)):
        p = sub.add_parser(
            name,
            help="fit one model on all patients and write a bundle"
            if not cv
            else "cross-validate, fit a final model on all patients, write a bundle with out-of-fold predictions",
            description=(
                "Cross-validation (stratified k-fold or PORPOISE split files), then a final fit on all patients; writes a model bundle."
                if cv
                else "Fit one model on every patient; writes a model bundle."
            ),
        )
        _add_training_args(p)
        if cv:
            p.add_argument("--folds", type=int, default=15, help="number of stratified folds (paper: 15)")
            p.add_argument("--splits", default=None, help="folder of PORPOISE split files splits_K.csv (train,val)")
        p.add_argument("--command-line", default="", help=argparse.SUPPRESS)
        p.set_defaults(func=lambda a, _cv=cv: _run_training(a, crossval=_cv))

    p = sub.add_parser(
        "predict",
        help="bundle + new patients → risk, survival and band CSV",
        description="Score new patients with a model bundle: calibrated risk (log hazard ratio vs the "
        "average training patient) with its band over fold models, survival probabilities, median "
        "survival, percentile, risk group, coverage per block; outcome columns are optional.",
    )
    p.add_argument("--bundle", required=True)
    p.add_argument("--cohort", required=True, help="'demo', a TCGA-layout CSV or a generic-layout folder")
    p.add_argument("--out", default=None, help="CSV to write (default: print)")
    p.add_argument(
        "--times",
        default="12,36,60",
        help="times for the survival_<t> columns, in the cohort's time unit (months in the TCGA layout), "
        "comma separated (default 12,36,60)",
    )
    p.add_argument(
        "--min-coverage",
        type=float,
        default=0.5,
        help="minimum fraction of a needed block's features measured; below it a patient gets "
        "'insufficient data' instead of a risk (default 0.5)",
    )
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser(
        "evaluate",
        help="predictions → C-index (pooled and per fold), risk groups, calibration",
        description="Evaluate a predictions CSV (columns time, event, risk; optional patient_id, fold, "
        "split, survival_<t>): C-index pooled and per fold, risk groups cut on these risks with "
        "median survival and hazard ratios, calibration when the table allows it.",
    )
    p.add_argument("--predictions", required=True)
    p.add_argument("--groups", choices=["median", "tertiles"], default="median")
    p.add_argument("--cutoffs", default=None, help="custom risk cut-offs, comma separated")
    p.add_argument("--n-boot", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the report as JSON")
    p.set_defaults(func=cmd_evaluate)

    for module in PLUGIN_MODULES:
        try:
            mod = importlib.import_module(module)
        except ImportError as exc:
            if exc.name and module.startswith(exc.name):
                continue
            raise
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return int(func(args) or 0)
    except PathGPTomicError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
