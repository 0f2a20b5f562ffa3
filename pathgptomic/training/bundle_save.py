"""Writing a model bundle: final and fold models, calibration, metrics, model card — atomically.

The bundle is written into a hidden temporary sibling folder and renamed into place, so
an interrupted save leaves no half bundle; hidden temporaries older than
:data:`STALE_TEMP_SECONDS` (a save killed with SIGKILL) are removed by the next save to
the same destination. The layout is described in :mod:`pathgptomic.training.bundle`.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import tempfile
import time as _time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from pathgptomic import __version__
from pathgptomic.data.cohort import Cohort
from pathgptomic.errors import BundleError
from pathgptomic.evaluation.calibration import RiskCalibration, out_of_fold_calibration
from pathgptomic.hashing import file_sha256
from pathgptomic.training.applicability import feature_ranges
from pathgptomic.training.model_card import model_card
from pathgptomic.training.trainer import CVResult, TrainedModel, labelled_predictions, predict_inputs

logger = logging.getLogger(__name__)

#: Version of the bundle layout; :func:`~pathgptomic.training.bundle.load_bundle` refuses others.
BUNDLE_FORMAT_VERSION = 2
#: A hidden temporary bundle folder older than this (seconds) was left by a killed save.
STALE_TEMP_SECONDS = 3600


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON (numpy scalars and arrays converted)."""
    path.write_text(json.dumps(data, indent=2, default=_json_default, allow_nan=True))


def _clean_stale_temps(dest: Path) -> list[Path]:
    """Remove hidden ``.<name>.*`` folders beside ``dest`` left by a killed save (older than an hour)."""
    removed = []
    if not dest.parent.is_dir():
        return removed
    now = _time.time()
    for p in dest.parent.glob(f".{dest.name}.*"):
        try:
            if p.is_dir() and now - p.stat().st_mtime > STALE_TEMP_SECONDS:
                shutil.rmtree(p)
                removed.append(p)
        except OSError:
            continue
    if removed:
        logger.warning(
            "removed %d stale temporary bundle folder(s) left by an interrupted save: %s", len(removed), ", ".join(p.name for p in removed)
        )
    return removed


def _save_fold_models(folder: Path, models: list[TrainedModel], centres: np.ndarray) -> None:
    from safetensors.torch import save_file

    folder.mkdir()
    for k, (tm, centre) in enumerate(zip(models, centres)):
        state = {n: v.detach().cpu().contiguous() for n, v in tm.model.state_dict().items()}
        save_file(state, str(folder / f"fold_{k}.safetensors"))
        write_json(folder / f"fold_{k}.json", {"scaling": tm.scaling.to_dict(), "centre": float(centre)})


def _calibrated_predictions(result: CVResult, cohort: Cohort) -> tuple[pd.DataFrame, RiskCalibration | None]:
    """Out-of-fold and in-sample rows with ``risk`` = calibrated log hazard ratio; the calibration."""
    final = result.final
    train_pred = result.predictions[result.predictions["split"] == "train"]
    if train_pred.empty:  # cross_validate keeps only out-of-fold rows
        train_pred = labelled_predictions(
            predict_inputs(final.model, final.scaling.transform(result.features)),
            cohort.ids,
            cohort.time,
            cohort.event,
            fold=-1,
            split="train",
        )
    train_pred = train_pred.assign(centre=result.final_centre)
    oof = result.predictions[result.predictions["split"] == "oof"]
    calibration = None
    if len(oof) and len(result.centres):
        oof = oof.assign(centre=result.centres[oof["fold"].to_numpy(dtype=int)])
        calibration = RiskCalibration.fit(oof["risk"] - oof["centre"], oof["time"], oof["event"])
    slope = calibration.slope if calibration is not None else 1.0
    rows = pd.concat([oof, train_pred], ignore_index=True)
    rows = rows.rename(columns={"risk": "theta"})
    rows.insert(3, "risk", slope * (rows["theta"] - rows["centre"]))
    return rows, calibration


def save_bundle(
    result: CVResult,
    path: str | Path,
    *,
    cohort: Cohort,
    command: str = "",
    name: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``result`` (which must hold a final model) as a bundle directory at ``path``.

    Cross-validated results also store their fold models, the calibration learned from the
    out-of-fold risks (:class:`~pathgptomic.evaluation.calibration.RiskCalibration`), its
    cross-fitted calibration report (``metrics.json`` and model card) and the training
    range of every feature (:func:`~pathgptomic.training.applicability.feature_ranges`).

    Args:
        result: Output of :func:`~pathgptomic.training.trainer.cross_validate` or ``fit``.
        path: Destination folder (must not exist unless ``overwrite``).
        cohort: The cohort the model was trained on (for the description and ranges).
        command: The exact command line that produced the bundle (for the model card).
        name: Display name (default: the folder name).
        overwrite: Replace an existing bundle at ``path`` (atomically).

    Returns:
        The bundle path.

    Raises:
        BundleError: No final model, or ``path`` exists and ``overwrite`` is false.
    """
    from safetensors.torch import save_file

    from pathgptomic.evaluation import bootstrap_cindex, concordance_index

    if result.final is None:
        raise BundleError("this result has no final model (cross_validate(..., final_fit=False)); refit with final_fit=True")
    dest = Path(path)
    if dest.exists() and not overwrite:
        raise BundleError(f"{dest.name} already exists; choose another --out folder or pass overwrite")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_temps(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        cfg = result.config
        final = result.final
        feats = result.features
        state = {k: v.detach().cpu().contiguous() for k, v in final.model.state_dict().items()}
        save_file(state, str(tmp / "weights.safetensors"))
        if result.fold_models:
            _save_fold_models(tmp / "folds", result.fold_models, result.centres)

        encoder_file = None
        settings = cfg.features
        if cfg.model.uses_images and not cfg.model.image_finetune:
            from pathgptomic.training.features import seeded_encoder_weights

            src = Path(settings.image_encoder_weights) if settings.image_encoder_weights else seeded_encoder_weights(settings)
            if settings.image_encoder_weights is None:
                shutil.copyfile(src, tmp / "image_encoder.safetensors")
                encoder_file = "image_encoder.safetensors"
            encoder_hash = file_sha256(src)
        else:
            encoder_hash = None

        predictions, calibration = _calibrated_predictions(result, cohort)
        predictions.to_csv(tmp / "predictions.csv", index=False)
        if calibration is not None:
            calibration.baseline.to_frame().to_csv(tmp / "baseline_hazard.csv", index=False)
        result.history.to_csv(tmp / "history.csv", index=False)
        result.epochs.to_csv(tmp / "epochs.csv", index=False)

        metrics: dict[str, Any] = {"summary": result.summary, "folds": result.folds.to_dict(orient="records")}
        train_rows = predictions[predictions["split"] == "train"]
        if train_rows["event"].sum() > 0:
            metrics["in_sample_cindex"] = float(concordance_index(train_rows["theta"], train_rows["time"], train_rows["event"]))
        oof = predictions[predictions["split"] == "oof"]
        if len(oof):
            ci = bootstrap_cindex(oof["risk"].to_numpy(), oof["time"].to_numpy(), oof["event"].to_numpy(), n_boot=500)
            metrics["oof_cindex"] = {"c": ci.c, "lower": ci.lower, "upper": ci.upper, "pooled": True}
        if calibration is not None:
            metrics["calibration"] = out_of_fold_calibration(oof["theta"], oof["centre"], oof["time"], oof["event"], oof["fold"])
        write_json(tmp / "metrics.json", metrics)

        model_cols = list(feats.cnv_mut.columns) + (list(feats.rna.columns) if settings.rna_encoder == "snn" else [])
        config = {
            "format_version": BUNDLE_FORMAT_VERSION,
            "library_version": __version__,
            "name": name or dest.name,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "command": command,
            "train_config": cfg.to_dict(),
            "feature_names": {"cnv_mut": list(feats.cnv_mut.columns), "rna": list(feats.rna.columns)},
            "input_dims": {
                "cnv_mut": int(feats.cnv_mut.shape[1]),
                "rna": int(feats.rna.shape[1]),
                "image": int(feats.image_dim if cfg.model.uses_images else 0),
            },
            "scaling": final.scaling.to_dict(),
            "feature_ranges": feature_ranges(pd.concat([feats.cnv_mut, feats.rna], axis=1)[model_cols].astype(float)),
            "calibration": None
            if calibration is None
            else {
                **calibration.to_dict(),
                "final_centre": float(result.final_centre),
                "n_fold_models": len(result.fold_models),
                "method": "calibration slope + Breslow baseline on centred out-of-fold risks",
            },
            "feature_info": feats.info,
            "image_encoder": {
                "name": settings.image_encoder if cfg.model.uses_images else None,
                "weights_file": encoder_file,
                "weights_path": settings.image_encoder_weights,
                "weights_sha256": encoder_hash,
            },
            "cohort": {
                "source": cohort.source,
                "n_patients": cohort.n,
                "n_events": cohort.n_events,
                "time_unit": cohort.time_unit,
                "semi_synthetic": bool(cohort.meta.get("semi_synthetic", False)),
                "synthetic": bool(cohort.meta.get("synthetic", False)),
            },
            "machine": {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform()},
        }
        write_json(tmp / "config.json", config)
        (tmp / "README.md").write_text(model_card(config, metrics))
        if dest.exists():
            old = dest.with_name(f".{dest.name}.old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
