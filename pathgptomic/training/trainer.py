"""Training and cross-validation of :class:`~pathgptomic.nn.fusion.PathGPTomic`.

One optimisation step (``fusion="gradmod"``)::

    θ, W^G·G, W^P·P, b = model(batch)
    loss = cox_ph_loss(θ, time, event)                 # mean over events
    loss.backward()
    GradientModulator.step(...)   # ρ^G, ρ^P → scale genomic grads by k^G, image grads by k^P
    optimizer.step()                                   # Adam; the head (W, b) is never scaled

For ``concat`` the same ρ values are computed and logged but nothing is scaled, so the two
runs can be compared step by step.

**Adam and gradient scaling.** Adam divides each update by a running RMS of the gradient,
so a constant factor on a branch's gradients cancels exactly and a slowly varying k^m is
largely cancelled (on the demo cohort, α = 1: mean |Δθ| against concat 0.12 with gradient
scaling alone, 0.18 with step-size scaling; α = 3: 0.27 vs 0.44). With
``optimizer="adam"`` and ``modulate_step_size=True`` (default) the trainer therefore also
scales that branch's learning rate for the step by the same k^m, which is what a gradient
scale does under SGD; with ``optimizer="sgd"`` the gradient scaling alone is exact and the
learning rate is left alone. Early stopping, when on, watches an inner validation
split carved from the training fold — never the evaluation fold, whose C-index is the
honest estimate. The per-epoch C-index on the evaluation fold is *logged for monitoring
only* and never used to pick anything.
"""

from __future__ import annotations

import logging
import time as _time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from pathgptomic.data.cohort import Cohort
from pathgptomic.data.columns import block_of_column
from pathgptomic.errors import InputValidationError
from pathgptomic.nn.fusion import ModelConfig, ModelInputs, PathGPTomic
from pathgptomic.training.balance import BalanceConfig, GradientModulator
from pathgptomic.training.config import (  # noqa: F401 - re-exported: the trainer's public names
    TrainConfig,
    resolve_block_projections,
    resolve_device,
    resolve_image_normalisation,
)
from pathgptomic.training.cox import cox_ph_loss
from pathgptomic.training.features import CohortFeatures, FeatureScaling, compute_cohort_features
from pathgptomic.training.steps import EarlyStopping, WeightAverage, as_float, make_optimizer, modulated_step

logger = logging.getLogger(__name__)

#: Columns of the per-step log (``history.csv``).
HISTORY_COLUMNS = [
    "fold",
    "epoch",
    "step",
    "loss",
    "n_events",
    "rho_g",
    "rho_p",
    "coef_g",
    "coef_p",
    "grad_norm_g",
    "grad_norm_p",
    "modulated",
]
#: Columns of the per-epoch log (``epochs.csv``).
EPOCH_COLUMNS = [
    "fold",
    "epoch",
    "train_loss",
    "val_cindex",
    "val_cindex_genomic",
    "val_cindex_image",
    "inner_val_cindex",
]


@dataclass
class TrainedModel:
    """A fitted model with the scaling fitted on its training patients."""

    model: PathGPTomic
    scaling: FeatureScaling
    history: pd.DataFrame
    epochs: pd.DataFrame
    best_epoch: int
    train_seconds: float
    train_ids: np.ndarray
    n_imputed: int = 0


def _batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    perm = torch.randperm(n, generator=generator)
    chunks = list(perm.split(batch_size))
    if len(chunks) > 1 and len(chunks[-1]) < 2:
        chunks[-2] = torch.cat([chunks[-2], chunks[-1]])
        chunks.pop()
    return chunks


@torch.no_grad()
def predict_inputs(model: PathGPTomic, inputs: ModelInputs, device: torch.device | None = None) -> pd.DataFrame:
    """Eval-mode forward pass.

    Returns:
        DataFrame with columns ``risk``, ``genomic_term``, ``image_term``, ``bias`` (one row
        per patient, in input order).
    """
    device = device or next(model.parameters()).device
    was_training = model.training
    model.eval()
    out = model(inputs.to(device))
    model.train(was_training)
    return pd.DataFrame(
        {
            "risk": out.theta.float().cpu().numpy(),
            "genomic_term": out.genomic_term.float().cpu().numpy(),
            "image_term": out.image_term.float().cpu().numpy(),
            "bias": float(out.bias.detach().cpu()),
        }
    )


def labelled_predictions(
    pred: pd.DataFrame, ids: np.ndarray, time: np.ndarray, event: np.ndarray, *, fold: int, split: str
) -> pd.DataFrame:
    """Prefix :func:`predict_inputs` rows with ``patient_id, time, event``; append ``fold, split``.

    ``split`` is ``"oof"`` (out-of-fold: the patient's fold model never saw them) or
    ``"train"`` (in-sample risks of a model fitted on these patients).
    """
    pred = pred.copy()
    pred.insert(0, "patient_id", np.asarray(ids))
    pred.insert(1, "time", np.asarray(time, dtype=float))
    pred.insert(2, "event", np.asarray(event, dtype=int))
    pred["fold"] = fold
    pred["split"] = split
    return pred


def branch_cindices(pred: pd.DataFrame, cfg: ModelConfig, time: np.ndarray, event: np.ndarray) -> dict[str, float]:
    """Fused and per-branch C-index of held-out predictions (:func:`~pathgptomic.evaluation.fold_cindex`); NaN for an absent branch."""
    from pathgptomic.evaluation import fold_cindex

    c = {"cindex": fold_cindex(pred["risk"].to_numpy(), time, event)}
    separable = cfg.fusion != "kronecker"  # the Kronecker product has no per-branch terms (NaN by design)
    c["cindex_genomic"] = fold_cindex(pred["genomic_term"].to_numpy(), time, event) if cfg.uses_genomics and separable else float("nan")
    c["cindex_image"] = fold_cindex(pred["image_term"].to_numpy(), time, event) if cfg.uses_images and separable else float("nan")
    return c


def train_model(
    feats: CohortFeatures,
    time: np.ndarray,
    event: np.ndarray,
    train_idx: np.ndarray,
    cfg: TrainConfig,
    *,
    fold: int = 0,
    monitor_idx: np.ndarray | None = None,
    callback: Callable[[str, dict[str, Any]], None] | None = None,
    show_progress: bool = False,
) -> TrainedModel:
    """Fit one model on patients ``train_idx``.

    Args:
        feats: Fold-independent features of the whole cohort.
        time: Follow-up times of the whole cohort, shape ``(n,)``.
        event: Event indicators of the whole cohort, shape ``(n,)``.
        train_idx: Positions of the training patients.
        cfg: Training configuration, used as given: the input projections are *not* resolved
            here (call :func:`~pathgptomic.training.config.resolve_block_projections` once per
            cohort first, as :func:`cross_validate`, :func:`fit` and the benchmark runner do, so
            that every model of a cohort shares one architecture).
        fold: Fold number written into the logs.
        monitor_idx: Positions of the evaluation fold; its per-epoch C-indices are logged
            for monitoring only (never used for stopping or selection).
        callback: Called as ``callback("step" | "epoch", row)`` after each step / epoch.
        show_progress: Show a tqdm bar over epochs.

    Returns:
        The fitted model, its scaling and logs.
    """
    device = resolve_device(cfg.device)
    previous_threads = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(cfg.cpu_threads)
    try:
        return _train_model(
            feats, time, event, train_idx, cfg, device, fold=fold, monitor_idx=monitor_idx, callback=callback, show_progress=show_progress
        )
    finally:
        torch.set_num_threads(previous_threads)


def _train_model(
    feats: CohortFeatures,
    time: np.ndarray,
    event: np.ndarray,
    train_idx: np.ndarray,
    cfg: TrainConfig,
    device: torch.device,
    *,
    fold: int,
    monitor_idx: np.ndarray | None,
    callback: Callable[[str, dict[str, Any]], None] | None,
    show_progress: bool,
) -> TrainedModel:
    from pathgptomic.data import inner_validation_split
    from pathgptomic.evaluation import fold_cindex

    start = _time.perf_counter()
    torch.manual_seed(cfg.seed + 1000 * fold)
    train_idx = np.asarray(train_idx)
    fit_idx, inner_idx = train_idx, None
    if cfg.early_stopping:
        a, b = inner_validation_split(event[train_idx], fraction=cfg.val_fraction, seed=cfg.seed + fold)
        fit_idx, inner_idx = train_idx[a], train_idx[b]
    if event[fit_idx].sum() < 1:
        raise InputValidationError(f"fold {fold}: the training patients have no events; use fewer folds.")

    cfg = resolve_image_normalisation(cfg, feats)
    scaling = FeatureScaling().fit(feats.subset(fit_idx))
    inputs = scaling.transform(feats.subset(fit_idx)).to(device)
    n_imputed = sum(inputs.extras["n_imputed"].values())
    if n_imputed:
        logger.info("fold %d: %d missing feature values imputed with training medians", fold, n_imputed)
    t_fit = torch.as_tensor(time[fit_idx], dtype=torch.float32, device=device)
    e_fit = torch.as_tensor(event[fit_idx], dtype=torch.float32, device=device)
    monitor_inputs = scaling.transform(feats.subset(monitor_idx)) if monitor_idx is not None and len(monitor_idx) else None
    inner_inputs = scaling.transform(feats.subset(inner_idx)) if inner_idx is not None else None

    model = PathGPTomic(cfg.model, inputs.cnv_mut.shape[1], inputs.rna.shape[1], feats.image_dim if cfg.model.uses_images else 0).to(device)
    if model.genomic_branch is not None:
        blocks = [block_of_column(str(c)) for c in feats.cnv_mut.columns]
        model.genomic_branch.fit_projections(inputs.cnv_mut, inputs.rna, blocks)
    optimizer = make_optimizer(cfg, model)
    balance = cfg.balance if cfg.model.fusion == "gradmod" else BalanceConfig(**{**asdict(cfg.balance), "enabled": False})
    use_terms = cfg.model.fusion == "gradmod" or (cfg.model.fusion == "concat" and cfg.log_balance)
    modulator = GradientModulator(model.genomic_parameters(), model.image_parameters(), balance) if use_terms else None
    generator = torch.Generator().manual_seed(cfg.seed + 1000 * fold)
    autocast = device.type == "cuda"

    history: list[dict[str, Any]] = []
    epochs: list[dict[str, Any]] = []
    stopper = EarlyStopping(cfg.patience, cfg.epochs - 1)
    averager = WeightAverage()
    step = 0
    bar = tqdm(range(cfg.epochs), desc=f"fold {fold}", leave=False, disable=not show_progress)
    for epoch in bar:
        model.train()
        losses = []
        for idx in _batches(len(fit_idx), cfg.batch_size, generator):
            idx = idx.to(device)
            batch = inputs.index(idx)
            with torch.autocast(device_type="cuda", dtype=torch.bfloat16, enabled=autocast):
                out = model(batch)
            theta = out.theta.float()
            loss = cox_ph_loss(theta, t_fit[idx], e_fit[idx], ties=cfg.ties)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            stats = modulated_step(cfg, optimizer, modulator, out, t_fit[idx], e_fit[idx], epoch)
            row = {
                "fold": fold,
                "epoch": epoch,
                "step": step,
                "loss": float(loss.detach()),
                "n_events": int(e_fit[idx].sum().item()),
                **{k: as_float(stats.get(k)) for k in HISTORY_COLUMNS[5:]},
            }
            history.append(row)
            losses.append(row["loss"])
            step += 1
            if callback:
                callback("step", row)
        erow: dict[str, Any] = {"fold": fold, "epoch": epoch, "train_loss": float(np.mean(losses))}
        if epoch >= cfg.epochs - cfg.averaged_epochs:
            averager.update(model)
        if monitor_inputs is not None:
            c = branch_cindices(predict_inputs(model, monitor_inputs, device), cfg.model, time[monitor_idx], event[monitor_idx])
            erow.update(val_cindex=c["cindex"], val_cindex_genomic=c["cindex_genomic"], val_cindex_image=c["cindex_image"])
        if inner_inputs is not None:
            ci = fold_cindex(predict_inputs(model, inner_inputs, device)["risk"].to_numpy(), time[inner_idx], event[inner_idx])
            erow["inner_val_cindex"] = ci
            stop = stopper.update(ci, model, epoch)
        epochs.append({k: erow.get(k, float("nan")) for k in EPOCH_COLUMNS})
        if callback:
            callback("epoch", epochs[-1])
        bar.set_postfix(loss=f"{erow['train_loss']:.3f}", c=f"{erow.get('val_cindex', float('nan')):.3f}")
        if inner_inputs is not None and stop:
            logger.info("fold %d: early stop at epoch %d (best inner-val epoch %d)", fold, epoch, stopper.best_epoch)
            break
    best_epoch = len(epochs) - 1
    if averager.apply(model, lambda: (inputs.index(i.to(device)) for i in _batches(len(fit_idx), cfg.batch_size, generator))):
        logger.info("fold %d: weights averaged over the last %d epochs", fold, averager.count)
    if inner_inputs is not None:
        restored = stopper.restore(model)
        best_epoch = best_epoch if restored is None else restored
    model.eval()
    return TrainedModel(
        model,
        scaling,
        pd.DataFrame(history, columns=HISTORY_COLUMNS),
        pd.DataFrame(epochs, columns=EPOCH_COLUMNS),
        best_epoch,
        _time.perf_counter() - start,
        np.asarray(feats.ids)[train_idx],
        n_imputed,
    )


@dataclass
class CVResult:
    """Outcome of :func:`cross_validate`.

    Attributes:
        predictions: Out-of-fold rows ``patient_id, time, event, risk, genomic_term,
            image_term, bias, fold, split``.
        folds: One row per fold: ``fold, n_train, n_test, cindex, cindex_genomic,
            cindex_image, best_epoch, train_seconds, n_imputed_train, n_imputed_test``
            (missing feature values filled with the fold's training medians).
        summary: Mean and sd of the fold metrics.
        history: Per-step log of all folds (and of the final fit, fold = -1).
        epochs: Per-epoch log of all folds.
        final: The model fitted on all patients (``None`` when ``final_fit=False``).
        features: The cohort's fold-independent features.
        config: The configuration used.
        fold_models: The model of each fold, in fold order (empty for :func:`fit`).
        centres: Mean risk θ of each fold model over *all* the cohort's patients, shape
            ``(n_folds,)``: the location that puts the fold models on one scale
            (:mod:`pathgptomic.evaluation.calibration`). No outcome enters it.
        final_centre: The same mean for the final model (NaN without one).
    """

    predictions: pd.DataFrame
    folds: pd.DataFrame
    summary: dict[str, float]
    history: pd.DataFrame
    epochs: pd.DataFrame
    final: TrainedModel | None
    features: CohortFeatures
    config: TrainConfig
    fold_models: list[TrainedModel] = field(default_factory=list)
    centres: np.ndarray = field(default_factory=lambda: np.zeros(0))
    final_centre: float = float("nan")


def risk_centre(trained: TrainedModel, features: CohortFeatures) -> float:
    """Mean risk θ of ``trained`` over every patient of ``features`` (no outcome used)."""
    return float(predict_inputs(trained.model, trained.scaling.transform(features))["risk"].mean())


def summarize_folds(folds: pd.DataFrame) -> dict[str, float]:
    """Mean and sample sd (ddof=1) of every C-index column over folds.

    A fold whose C-index is undefined (no event among its test patients, or NaN/infinite
    risks of a diverged model; :func:`~pathgptomic.evaluation.fold_cindex`) cannot enter
    the mean; it is not dropped silently: ``n_folds_defined_<col>`` then says over how
    many folds the mean was taken. (A constant risk is defined: 0.5.)
    """
    out: dict[str, float] = {"n_folds": int(len(folds))}
    for col in ("cindex", "cindex_genomic", "cindex_image"):
        vals = folds[col].astype(float)
        out[f"{col}_mean"] = float(vals.mean()) if vals.notna().any() else float("nan")
        out[f"{col}_sd"] = float(vals.std(ddof=1)) if vals.notna().sum() > 1 else float("nan")
        if vals.notna().any() and vals.isna().any():
            out[f"n_folds_defined_{col}"] = int(vals.notna().sum())
    return out


def cross_validate(
    cohort: Cohort,
    cfg: TrainConfig,
    *,
    folds: Sequence[tuple[np.ndarray, np.ndarray]] | None = None,
    n_folds: int = 15,
    final_fit: bool = True,
    features: CohortFeatures | None = None,
    callback: Callable[[str, dict[str, Any]], None] | None = None,
    show_progress: bool = True,
) -> CVResult:
    """K-fold cross-validation (stratified by event), then an optional fit on everyone.

    Args:
        cohort: The patients.
        cfg: Training configuration.
        folds: Explicit ``(train_idx, test_idx)`` pairs (e.g. from split files); default
            stratified k-fold with ``n_folds`` and ``cfg.seed``.
        n_folds: Number of folds when ``folds`` is not given (paper: 15).
        final_fit: Also fit a model on all patients (for a bundle).
        features: Precomputed :func:`compute_cohort_features` output (saves work when
            several configs share a cohort).
        callback: Progress callback, see :func:`train_model`; also gets
            ``("fold", {"fold", "n_folds"})`` at each fold start.
        show_progress: Show tqdm bars.

    Returns:
        A :class:`CVResult`.
    """
    from pathgptomic.data import stratified_kfold

    time = np.asarray(cohort.time, dtype=float)
    event = np.asarray(cohort.event, dtype=int)
    if folds is None:
        folds = stratified_kfold(event, n_folds=n_folds, seed=cfg.seed)
    if features is None:
        features = compute_cohort_features(
            cohort,
            cfg.features,
            need_images=cfg.model.uses_images,
            pixels=cfg.model.image_finetune,
            device=cfg.device,
            show_progress=show_progress,
        )
    cfg = resolve_image_normalisation(resolve_block_projections(cfg, features), features)
    rows, preds, hist, eps, models, centres = [], [], [], [], [], []
    for k, (tr, te) in enumerate(tqdm(folds, desc="folds", disable=not show_progress)):
        if callback:
            callback("fold", {"fold": k, "n_folds": len(folds)})
        tm = train_model(
            features, time, event, np.asarray(tr), cfg, fold=k, monitor_idx=np.asarray(te), callback=callback, show_progress=show_progress
        )
        test_inputs = tm.scaling.transform(features.subset(te))
        test_imputed = sum(test_inputs.extras["n_imputed"].values())
        pred = predict_inputs(tm.model, test_inputs)
        c = branch_cindices(pred, cfg.model, time[te], event[te])
        rows.append(
            {
                "fold": k,
                "n_train": len(tr),
                "n_test": len(te),
                **c,
                "best_epoch": tm.best_epoch,
                "train_seconds": tm.train_seconds,
                "n_imputed_train": tm.n_imputed,
                "n_imputed_test": test_imputed,
            }
        )
        preds.append(labelled_predictions(pred, np.asarray(cohort.ids)[te], time[te], event[te], fold=k, split="oof"))
        hist.append(tm.history)
        eps.append(tm.epochs)
        models.append(tm)
        centres.append(risk_centre(tm, features))
        rows[-1]["risk_centre"] = centres[-1]
    fold_df = pd.DataFrame(rows)
    final = None
    if final_fit:
        if callback:
            callback("fold", {"fold": -1, "n_folds": len(folds)})
        final = train_model(features, time, event, np.arange(cohort.n), cfg, fold=-1, callback=callback, show_progress=show_progress)
        hist.append(final.history)
        eps.append(final.epochs)
    return CVResult(
        pd.concat(preds, ignore_index=True),
        fold_df,
        summarize_folds(fold_df),
        pd.concat(hist, ignore_index=True),
        pd.concat(eps, ignore_index=True),
        final,
        features,
        cfg,
        fold_models=models,
        centres=np.asarray(centres, dtype=float),
        final_centre=risk_centre(final, features) if final is not None else float("nan"),
    )


def fit(
    cohort: Cohort,
    cfg: TrainConfig,
    *,
    features: CohortFeatures | None = None,
    callback: Callable[[str, dict[str, Any]], None] | None = None,
    show_progress: bool = True,
) -> CVResult:
    """Fit one model on every patient (no held-out estimate; predictions are in-sample).

    Returns a :class:`CVResult` with no folds, whose ``final`` is the fitted model.
    """
    time = np.asarray(cohort.time, dtype=float)
    event = np.asarray(cohort.event, dtype=int)
    if features is None:
        features = compute_cohort_features(
            cohort,
            cfg.features,
            need_images=cfg.model.uses_images,
            pixels=cfg.model.image_finetune,
            device=cfg.device,
            show_progress=show_progress,
        )
    cfg = resolve_image_normalisation(resolve_block_projections(cfg, features), features)
    final = train_model(features, time, event, np.arange(cohort.n), cfg, fold=-1, callback=callback, show_progress=show_progress)
    pred = labelled_predictions(
        predict_inputs(final.model, final.scaling.transform(features)), np.asarray(cohort.ids), time, event, fold=-1, split="train"
    )
    empty = pd.DataFrame(columns=["fold", "n_train", "n_test", "cindex", "cindex_genomic", "cindex_image", "best_epoch", "train_seconds"])
    return CVResult(pred, empty, {"n_folds": 0}, final.history, final.epochs, final, features, cfg, final_centre=float(pred["risk"].mean()))
