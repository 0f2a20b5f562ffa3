"""Run the benchmark grid: rows x seeds x folds, resumable, one CSV row per finished cell.

A *cell* is one (configuration, seed, fold). Each finished cell is appended to
``results.csv`` at once, so an interrupted run loses at most the cell in progress; a
rerun into the same folder skips every cell already ``ok`` or ``not_converged`` (a
baseline whose lifelines fit did not converge within its caps: deterministic, so not
retried, and excluded from every claim of the report) and retries the others (rows that
were "not available" are retried too, e.g. once scGPT features exist).

Folds: with ``splits_dir`` the same split files for every seed (the seed then only
changes initialisation and batching); with ``n_folds`` a stratified k-fold drawn with
each seed (repeated cross-validation). Hyper-parameters are fixed before the run
(:class:`BenchmarkSettings`) and never chosen on the evaluation folds.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from pathgptomic.data.cohort import Cohort
from pathgptomic.errors import ConfigError, PathGPTomicError
from pathgptomic.experiments.baselines import (
    STATUS_NOT_CONVERGED,
    CoxBaselineConfig,
    fit_predict_baseline,
)
from pathgptomic.experiments.rows import BenchmarkRow, rows_for_suite
from pathgptomic.schema import check_average_fraction, effective_average_fraction

logger = logging.getLogger(__name__)

STATUS_OK = "ok"
STATUS_NA = "not available"
STATUS_FAILED = "failed"
#: Statuses of finished cells (not rerun on resume).
FINAL_STATUSES = (STATUS_OK, STATUS_NOT_CONVERGED)

RESULT_COLUMNS = [
    "config",
    "label",
    "suite",
    "kind",
    "fusion",
    "rna_encoder",
    "seed",
    "fold",
    "status",
    "reason",
    "cindex",
    "cindex_genomic",
    "cindex_image",
    "train_seconds",
    "n_train",
    "n_test",
    "best_epoch",
    "finished_at",
    "penalizer",
]
#: Columns of the per-step logs kept for the ρ figures.
CURVE_COLUMNS = ["fold", "epoch", "step", "loss", "rho_g", "rho_p", "coef_g", "coef_p", "grad_norm_g", "grad_norm_p", "modulated"]


@dataclass
class BenchmarkSettings:
    """Everything that defines a benchmark run (written to ``benchmark.json``).

    Attributes:
        suite: ``paper-ablation``, ``baselines`` or ``all``.
        seeds: Seeds (each gives one model initialisation / batching, and with
            ``n_folds`` its own fold draw).
        n_folds: Stratified folds when no ``splits_dir`` is given.
        splits_dir: Folder of PORPOISE split files ``splits_K.csv``.
        epochs: Training epochs of every deep model (fixed, no selection on test folds).
        batch_size, lr, weight_decay, dropout: Optimiser / model settings of every deep row.
        early_stopping: Stop on an inner validation split of the training fold.
        average_fraction: Share of the final epochs whose weights are averaged into the
            evaluated model (``TrainConfig.average_fraction``; 0 = the last epoch's weights,
            ``None`` = the default rule).
        alpha: Gradient-modulation strength of the ``gradmod`` rows.
        linear_skip: Deep rows have the genomic branch's linear skip path
            (``ModelConfig.linear_skip``; ``False`` = the paper's networks only).
        image_encoder: Frozen patch encoder (timm / project name).
        image_weights: Local weights of the encoder (``None``: seeded random init).
        max_patches: Patches per slide.
        patch_size: Tile side in pixels.
        cache_dir: Feature cache folder.
        device: ``cpu`` / ``cuda`` / ``None`` (CUDA when available).
        cox: Penalized Cox baseline settings (design, penalizer selection, caps).
        rows: Restrict to these row keys (``None`` = the whole suite).
        scgpt_dir, mlp_a: scGPT checkpoint folder and MLP-A file (``None``: defaults).
    """

    suite: str = "all"
    seeds: list[int] = field(default_factory=lambda: [0])
    n_folds: int = 5
    splits_dir: str | None = None
    epochs: int = 30
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 1e-4
    dropout: float = 0.25
    early_stopping: bool = False
    average_fraction: float | None = None
    alpha: float = 1.0
    linear_skip: bool = True
    image_encoder: str = "resnet18"
    image_weights: str | None = None
    max_patches: int = 64
    patch_size: int = 224
    cache_dir: str | None = None
    device: str | None = None
    cox: CoxBaselineConfig = field(default_factory=CoxBaselineConfig)
    rows: list[str] | None = None
    scgpt_dir: str | None = None
    mlp_a: str | None = None

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ConfigError("give at least one seed (--seeds S runs seeds 0..S-1)")
        if self.splits_dir is None and self.n_folds < 2:
            raise ConfigError(f"--folds must be >= 2, got {self.n_folds}")
        if self.epochs < 1:
            raise ConfigError(f"--epochs must be >= 1, got {self.epochs}")
        check_average_fraction(self.average_fraction, "--average-fraction")
        if isinstance(self.cox, dict):
            self.cox = CoxBaselineConfig(**self.cox)

    def fingerprint_dict(self) -> dict[str, Any]:
        """Settings that change a cell's result (seeds, suite, rows, device, cache excluded)."""
        d = asdict(self)
        for k in ("seeds", "suite", "rows", "device", "cache_dir"):
            d.pop(k)
        d["average_fraction"] = effective_average_fraction(d["average_fraction"], d["epochs"])
        if not d["average_fraction"] or d["early_stopping"]:  # no averaging: folders from before it existed keep their fingerprint
            d.pop("average_fraction")
        if not d["linear_skip"]:  # the same for folders from before the linear skip path
            d.pop("linear_skip")
        d["cox"] = {k: list(v) if isinstance(v, tuple) else v for k, v in d["cox"].items()}
        if d["splits_dir"]:
            d["splits_dir"] = str(Path(d["splits_dir"]).name)
        return d


@dataclass
class BenchmarkRun:
    """What :func:`run_benchmark` did.

    Attributes:
        out_dir: The output folder.
        results: All cells (``results.csv`` after the run, last row per cell).
        n_run: Cells computed in this call.
        n_reused: Cells found finished and skipped.
        rows: The rows of the suite, in report order.
    """

    out_dir: Path
    results: pd.DataFrame
    n_run: int
    n_reused: int
    rows: list[BenchmarkRow]


def cohort_fingerprint(cohort: Cohort) -> str:
    """Short hash of a cohort's ids, outcomes and block shapes."""
    h = hashlib.sha256()
    h.update("|".join(map(str, cohort.ids)).encode())
    h.update(np.asarray(cohort.time, dtype=float).round(6).tobytes())
    h.update(np.asarray(cohort.event, dtype=np.int64).tobytes())
    h.update(json.dumps({k: list(v.shape) for k, v in sorted(cohort.blocks.items())}).encode())
    return h.hexdigest()[:16]


def load_results(out_dir: Path) -> pd.DataFrame:
    """``results.csv`` of ``out_dir`` (empty frame when absent), last row per cell."""
    path = Path(out_dir) / "results.csv"
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    df = pd.read_csv(path, keep_default_na=True).reindex(columns=RESULT_COLUMNS)
    df["reason"] = df["reason"].fillna("")
    return df.drop_duplicates(["config", "seed", "fold"], keep="last").reset_index(drop=True)


def _append(path: Path, row: dict[str, Any]) -> None:
    frame = pd.DataFrame([{c: row.get(c, np.nan) for c in RESULT_COLUMNS}])
    header = not path.is_file() or path.stat().st_size == 0
    with open(path, "a", newline="") as fh:
        frame.to_csv(fh, header=header, index=False, lineterminator="\n")
        fh.flush()


def _rewrite(path: Path, df: pd.DataFrame) -> None:
    tmp = path.with_suffix(".csv.tmp")
    df.reindex(columns=RESULT_COLUMNS).to_csv(tmp, index=False, lineterminator="\n")
    tmp.replace(path)


def _folds(cohort: Cohort, settings: BenchmarkSettings, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    from pathgptomic.data import read_split_files, stratified_kfold

    if settings.splits_dir:
        return read_split_files(settings.splits_dir, cohort.ids)
    return stratified_kfold(cohort.event, n_folds=settings.n_folds, seed=seed)


class _FeatureStore:
    """Fold-independent features per (RNA encoder, images), computed once, failures remembered."""

    def __init__(self, cohort: Cohort, settings: BenchmarkSettings, show_progress: bool) -> None:
        self.cohort = cohort
        self.settings = settings
        self.show_progress = show_progress
        self._cache: dict[tuple[str, bool], Any] = {}

    def feature_settings(self, rna_encoder: str):
        from pathgptomic.training.features import FeatureSettings

        s = self.settings
        return FeatureSettings(
            rna_encoder=rna_encoder,
            scgpt_dir=s.scgpt_dir,
            mlp_a=s.mlp_a,
            image_encoder=s.image_encoder,
            image_encoder_weights=s.image_weights,
            max_patches=s.max_patches,
            patch_size=s.patch_size,
            cache_dir=s.cache_dir,
        )

    def get(self, rna_encoder: str, images: bool) -> Any:
        """Features, or an ``Exception`` saying why they cannot be computed."""
        from pathgptomic.training.features import compute_cohort_features

        key = (rna_encoder, images)
        if key in self._cache:
            return self._cache[key]
        if not images and not isinstance(self._cache.get((rna_encoder, True)), (Exception, type(None))):
            return self._cache[(rna_encoder, True)]
        if images and not self.cohort.has_images:
            result: Any = PathGPTomicError("the cohort has no images (no slide/image paths), so the image branch cannot run")
        else:
            try:
                result = compute_cohort_features(
                    self.cohort,
                    self.feature_settings(rna_encoder),
                    need_images=images,
                    device=self.settings.device,
                    show_progress=self.show_progress,
                )
            except (PathGPTomicError, ImportError, OSError, RuntimeError, KeyError, ValueError) as exc:
                logger.warning("features (rna=%s, images=%s) not available: %s", rna_encoder, images, exc)
                result = exc
        self._cache[key] = result
        return result


def _reason(exc: BaseException, row: BenchmarkRow) -> str:
    msg = " ".join(str(exc).split())
    if isinstance(exc, ImportError):
        return f"{row.rna_encoder} RNA features cannot be imported ({type(exc).__name__}: {msg})"
    return f"{type(exc).__name__}: {msg}" if not isinstance(exc, PathGPTomicError) else msg


def _train_config(row: BenchmarkRow, settings: BenchmarkSettings, features_settings: Any, seed: int, feats: Any):
    from pathgptomic.nn.fusion import ModelConfig
    from pathgptomic.training.balance import BalanceConfig
    from pathgptomic.training.config import TrainConfig, resolve_block_projections

    cfg = TrainConfig(
        model=ModelConfig(fusion=row.fusion, rna_encoder=row.rna_encoder, dropout=settings.dropout, linear_skip=settings.linear_skip),
        features=features_settings,
        balance=BalanceConfig(enabled=True, alpha=settings.alpha),
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        lr=settings.lr,
        weight_decay=settings.weight_decay,
        seed=seed,
        device=settings.device,
        early_stopping=settings.early_stopping,
        average_fraction=settings.average_fraction,
        log_balance=row.fusion == "concat",  # ρ / k / gradient norms for the concat-vs-gradmod figures and evidence
    )
    # the same architecture rule as `pathgptomic cv` (input projections only for high-dimensional blocks)
    return resolve_block_projections(cfg, feats)


def _run_deep_cell(row, feats, store, cohort, settings, seed, k, tr, te, out_dir) -> dict[str, Any]:
    from pathgptomic.training.trainer import branch_cindices, predict_inputs, train_model

    time = np.asarray(cohort.time, dtype=float)
    event = np.asarray(cohort.event, dtype=int)
    cfg = _train_config(row, settings, store.feature_settings(row.rna_encoder), seed, feats)
    tm = train_model(feats, time, event, np.asarray(tr), cfg, fold=k, monitor_idx=np.asarray(te))
    pred = predict_inputs(tm.model, tm.scaling.transform(feats.subset(te)))
    t_te, e_te = time[te], event[te]
    curves = out_dir / "curves" / row.key
    curves.mkdir(parents=True, exist_ok=True)
    ep = tm.epochs.assign(seed=seed)
    ep.to_csv(curves / f"seed{seed}_fold{k}_epochs.csv", index=False, lineterminator="\n")
    if row.fusion in ("concat", "gradmod"):
        tm.history.reindex(columns=CURVE_COLUMNS).assign(seed=seed).to_csv(
            curves / f"seed{seed}_fold{k}_history.csv", index=False, lineterminator="\n", float_format="%.6g"
        )
    return {
        **branch_cindices(pred, cfg.model, t_te, e_te),  # the trainer's rule (no branch terms for Kronecker)
        "train_seconds": tm.train_seconds,
        "best_epoch": tm.best_epoch,
    }


def _run_cox_cell(row, cohort, settings, tr, te) -> dict[str, Any]:
    """One baseline cell; a non-converged fit gives status ``not_converged`` and no C-index."""
    from pathgptomic.evaluation import fold_cindex

    res = fit_predict_baseline(cohort, tr, te, row.baseline, settings.cox)
    out = {
        "status": res.status,
        "reason": res.reason,
        "cindex_image": np.nan,
        "train_seconds": res.seconds,
        "best_epoch": np.nan,
        "penalizer": res.penalizer,
        "cindex": np.nan,
        "cindex_genomic": np.nan,
    }
    if res.converged:
        c = fold_cindex(res.risk, np.asarray(cohort.time, dtype=float)[te], np.asarray(cohort.event, dtype=int)[te])
        out.update(cindex=c, cindex_genomic=c if row.baseline != "clinical" else np.nan)
    return out


def _check_settings(out_dir: Path, settings: BenchmarkSettings, cohort: Cohort, command: str) -> None:
    path = out_dir / "benchmark.json"
    current = {"settings": settings.fingerprint_dict(), "cohort": cohort_fingerprint(cohort)}
    if path.is_file():
        saved = json.loads(path.read_text())
        old = {"settings": saved.get("settings"), "cohort": saved.get("cohort")}
        if old != current and (out_dir / "results.csv").is_file():
            diff = [k for k in current["settings"] if (old["settings"] or {}).get(k) != current["settings"][k]]
            if old["cohort"] != current["cohort"]:
                diff.append("cohort")
            raise ConfigError(
                f"{out_dir} holds results of a different benchmark (differs in: {', '.join(diff) or 'settings'}); "
                "resume only with the same cohort and settings, or choose another --out folder."
            )
        commands = saved.get("commands", [])
    else:
        commands = []
    if command:
        commands.append({"command": command, "started": datetime.now(timezone.utc).isoformat(timespec="seconds")})
    full = {**current, "cohort_source": cohort.source, "commands": commands, "all_settings": _jsonable(asdict(settings))}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(full, indent=2))
    tmp.replace(path)


def _jsonable(d: Any) -> Any:
    return json.loads(json.dumps(d, default=lambda o: list(o) if isinstance(o, tuple) else str(o)))


def run_benchmark(
    cohort: Cohort,
    settings: BenchmarkSettings,
    out_dir: str | Path,
    *,
    command: str = "",
    show_progress: bool = True,
    write_report: bool = True,
) -> BenchmarkRun:
    """Run (or resume) the benchmark and write ``results.csv``, ``report.md`` and figures.

    Args:
        cohort: The patients.
        settings: The run's settings (fixed in advance).
        out_dir: Output folder (created; reused when resuming).
        command: The exact command line, recorded in the report.
        show_progress: Show a tqdm bar over cells.
        write_report: Write ``report.md`` and the figures at the end.

    Returns:
        A :class:`BenchmarkRun`.

    Raises:
        ConfigError: ``out_dir`` holds results of another cohort or other settings.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = rows_for_suite(settings.suite, only=settings.rows)
    _check_settings(out, settings, cohort, command)
    path = out / "results.csv"
    previous = load_results(out)
    done = previous[previous["status"].isin(FINAL_STATUSES)]
    on_disk = pd.read_csv(path, nrows=0).columns.tolist() if path.is_file() and path.stat().st_size else RESULT_COLUMNS
    if len(previous) != len(done) or on_disk != RESULT_COLUMNS or (path.is_file() and len(pd.read_csv(path)) != len(done)):
        _rewrite(path, done)  # unfinished / unavailable cells are retried; an older column layout is rewritten
    finished = {(str(r.config), int(r.seed), int(r.fold)) for r in done.itertuples()}
    folds_by_seed = {s: _folds(cohort, settings, s) for s in settings.seeds}
    cells = [(row, seed, k) for seed in settings.seeds for row in rows for k in range(len(folds_by_seed[seed]))]
    todo = [c for c in cells if (c[0].key, c[1], c[2]) not in finished]
    n_reused = len(cells) - len(todo)
    store = _FeatureStore(cohort, settings, show_progress)
    n_run = 0
    cox_done: dict[tuple[str, str], dict[str, Any]] = {}
    bar = tqdm(todo, desc="benchmark cells", disable=not show_progress)
    for row, seed, k in bar:
        bar.set_postfix_str(f"{row.key} seed {seed} fold {k}")
        tr, te = folds_by_seed[seed][k]
        base = {
            "config": row.key,
            "label": row.label,
            "suite": row.suite,
            "kind": row.kind,
            "fusion": row.fusion or "",
            "rna_encoder": row.rna_encoder,
            "seed": seed,
            "fold": k,
            "n_train": len(tr),
            "n_test": len(te),
            "reason": "",
        }
        result: dict[str, Any]
        if row.kind == "cox":
            # a baseline is deterministic given its training fold: with split files every seed has the
            # same folds, so the first seed's result is reused (same numbers, a fraction of the time)
            same_fold = (row.key, hashlib.sha1(np.asarray(tr).tobytes() + b"|" + np.asarray(te).tobytes()).hexdigest())
            if same_fold in cox_done:
                result = {**cox_done[same_fold], "train_seconds": 0.0}  # reused: no compute spent on this cell
            else:
                try:
                    result = {"status": STATUS_OK, **_run_cox_cell(row, cohort, settings, tr, te)}
                except PathGPTomicError as exc:
                    result = {"status": STATUS_NA if "clinical" in str(exc) else STATUS_FAILED, "reason": _reason(exc, row)}
                cox_done[same_fold] = dict(result)
        else:
            feats = store.get(row.rna_encoder, row.needs_images)
            if isinstance(feats, BaseException):
                result = {"status": STATUS_NA, "reason": _reason(feats, row)}
            else:
                try:
                    result = {"status": STATUS_OK, **_run_deep_cell(row, feats, store, cohort, settings, seed, k, tr, te, out)}
                except PathGPTomicError as exc:
                    result = {"status": STATUS_FAILED, "reason": _reason(exc, row)}
        result["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        _append(path, {**base, **result})
        n_run += 1
    results = load_results(out)
    # the report covers this invocation's seeds and rows (a folder may hold more from other calls)
    results = results[results["seed"].astype(int).isin(settings.seeds) & results["config"].isin([r.key for r in rows])]
    run = BenchmarkRun(out, results.reset_index(drop=True), n_run, n_reused, rows)
    if write_report:
        from pathgptomic.experiments.report import write_report as _write

        _write(run, cohort, settings, command=command)
    logger.info("benchmark: %d cells run, %d reused -> %s", n_run, n_reused, out)
    return run


def settings_from_json(path: str | Path) -> BenchmarkSettings:
    """The settings recorded in a ``benchmark.json`` (for re-writing a report)."""
    d = json.loads(Path(path).read_text())["all_settings"]
    # runs from before weight averaging or the linear skip path existed had neither
    return BenchmarkSettings(**{"average_fraction": 0.0, "linear_skip": False, **d})


__all__ = [
    "FINAL_STATUSES",
    "RESULT_COLUMNS",
    "STATUS_FAILED",
    "STATUS_NA",
    "STATUS_NOT_CONVERGED",
    "STATUS_OK",
    "BenchmarkRun",
    "BenchmarkSettings",
    "cohort_fingerprint",
    "load_results",
    "run_benchmark",
    "settings_from_json",
]
