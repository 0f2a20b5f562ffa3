"""Model bundles: a directory holding everything needed to predict, explain and audit.

Layout (DESIGN.md §3), written atomically (temporary sibling folder, then ``rename``):

``config.json``
    Format version, library version, the full :class:`~pathgptomic.training.trainer.TrainConfig`,
    feature names per input, the fitted normalisation statistics, encoder names and
    checkpoint hashes, the cohort description and the command that built it.
``weights.safetensors``
    The model's state dict.
``image_encoder.safetensors``
    The frozen patch encoder's weights when it was randomly initialised (so predictions
    on new slides reproduce the training features exactly).
``metrics.json``, ``history.csv``, ``epochs.csv``, ``predictions.csv``, ``baseline_hazard.csv``
    Per-fold metrics and summary; per-step and per-epoch logs; out-of-fold and in-sample
    risks; the Breslow baseline cumulative hazard of the final model.
``README.md``
    Model card.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from pathgptomic import __version__
from pathgptomic.data.cohort import Cohort
from pathgptomic.errors import BundleError, InputValidationError
from pathgptomic.hashing import file_sha256
from pathgptomic.nn.fusion import ModelInputs, PathGPTomic
from pathgptomic.training.features import CohortFeatures, FeatureScaling, compute_cohort_features
from pathgptomic.training.trainer import CVResult, TrainConfig, labelled_predictions, predict_inputs

logger = logging.getLogger(__name__)

BUNDLE_FORMAT_VERSION = 1
REQUIRED_FILES = ("config.json", "weights.safetensors", "predictions.csv", "baseline_hazard.csv")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    return str(obj)


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, default=_json_default, allow_nan=True))


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

    Args:
        result: Output of :func:`~pathgptomic.training.trainer.cross_validate` or ``fit``.
        path: Destination folder (must not exist unless ``overwrite``).
        cohort: The cohort the model was trained on (for the description and baseline).
        command: The exact command line that produced the bundle (for the model card).
        name: Display name (default: the folder name).
        overwrite: Replace an existing bundle at ``path`` (atomically).

    Returns:
        The bundle path.

    Raises:
        BundleError: No final model, or ``path`` exists and ``overwrite`` is false.
    """
    from safetensors.torch import save_file

    from pathgptomic.evaluation import BreslowBaseline, bootstrap_cindex

    if result.final is None:
        raise BundleError("this result has no final model (cross_validate(..., final_fit=False)); refit with final_fit=True")
    dest = Path(path)
    if dest.exists() and not overwrite:
        raise BundleError(f"{dest} already exists; choose another --out folder or pass overwrite")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        cfg = result.config
        final = result.final
        feats = result.features
        state = {k: v.detach().cpu().contiguous() for k, v in final.model.state_dict().items()}
        save_file(state, str(tmp / "weights.safetensors"))

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

        train_pred = result.predictions[result.predictions["split"] == "train"]
        if train_pred.empty:  # cross_validate keeps only out-of-fold rows; fit() already has these
            train_pred = labelled_predictions(predict_inputs(final.model, final.scaling.transform(feats)), cohort.ids,
                                              cohort.time, cohort.event, fold=-1, split="train")
        oof = result.predictions[result.predictions["split"] == "oof"]
        predictions = pd.concat([oof, train_pred], ignore_index=True)
        predictions.to_csv(tmp / "predictions.csv", index=False)

        baseline = BreslowBaseline().fit(train_pred["risk"].to_numpy(), train_pred["time"].to_numpy(), train_pred["event"].to_numpy())
        baseline.to_frame().to_csv(tmp / "baseline_hazard.csv", index=False)
        result.history.to_csv(tmp / "history.csv", index=False)
        result.epochs.to_csv(tmp / "epochs.csv", index=False)

        metrics: dict[str, Any] = {"summary": result.summary, "folds": result.folds.to_dict(orient="records")}
        if len(oof):
            ci = bootstrap_cindex(oof["risk"].to_numpy(), oof["time"].to_numpy(), oof["event"].to_numpy(), n_boot=500)
            metrics["oof_cindex"] = {"c": ci.c, "lower": ci.lower, "upper": ci.upper}
        _write_json(tmp / "metrics.json", metrics)

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
        _write_json(tmp / "config.json", config)
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


def model_card(config: dict[str, Any], metrics: dict[str, Any]) -> str:
    """Markdown model card from a bundle's config and metrics."""
    tc = config["train_config"]
    s = metrics.get("summary", {})
    lines = [
        f"# Model bundle `{config['name']}`",
        "",
        "**Research use only — not for diagnosis.**",
        "",
        f"- Created: {config['created']} with pathgptomic {config['library_version']} (bundle format {config['format_version']})",
        f"- Fusion: `{tc['model']['fusion']}`; RNA encoder: `{tc['features']['rna_encoder']}`; image encoder: "
        f"`{config['image_encoder']['name']}`",
        f"- Cohort: {config['cohort']['source']} ({config['cohort']['n_patients']} patients, "
        f"{config['cohort']['n_events']} events, time in {config['cohort']['time_unit']})"
        + (" — **synthetic**" if config["cohort"].get("synthetic") else "")
        + (" — **semi-synthetic**" if config["cohort"].get("semi_synthetic") else ""),
        f"- Training: {tc['epochs']} epochs, batch {tc['batch_size']}, lr {tc['lr']}, weight decay "
        f"{tc['weight_decay']}, seed {tc['seed']}",
    ]
    if config["feature_info"].get("scgpt_checkpoint_hash"):
        lines.append(f"- scGPT checkpoint sha256: `{config['feature_info']['scgpt_checkpoint_hash']}`")
    if s.get("n_folds"):
        lines += [
            "",
            f"## Cross-validation ({s['n_folds']} folds)",
            "",
            "| score | C-index mean ± sd |",
            "|---|---|",
            f"| fused θ | {s.get('cindex_mean', float('nan')):.3f} ± {s.get('cindex_sd', float('nan')):.3f} |",
            f"| genomic branch alone (W^G·G) | {s.get('cindex_genomic_mean', float('nan')):.3f} ± {s.get('cindex_genomic_sd', float('nan')):.3f} |",
            f"| image branch alone (W^P·P) | {s.get('cindex_image_mean', float('nan')):.3f} ± {s.get('cindex_image_sd', float('nan')):.3f} |",
        ]
    if config.get("command"):
        lines += ["", "## Reproduce", "", "```bash", config["command"], "```"]
    lines += [
        "",
        "## Files",
        "",
        "config.json, weights.safetensors, metrics.json, history.csv (per step: loss, ρ^G, ρ^P, k^G, k^P, "
        "gradient norms), epochs.csv (per epoch: validation C-index fused / genomic / image), predictions.csv "
        "(out-of-fold and in-sample risks), baseline_hazard.csv (Breslow).",
        "",
    ]
    return "\n".join(lines)


@dataclass
class Bundle:
    """A loaded model bundle (see module docstring for the files)."""

    path: Path
    config: dict[str, Any]
    model: PathGPTomic
    scaling: FeatureScaling
    train_config: TrainConfig
    metrics: dict[str, Any]
    history: pd.DataFrame
    epochs: pd.DataFrame
    predictions: pd.DataFrame
    baseline: Any
    card: str
    feature_names: dict[str, list[str]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """Display name."""
        return str(self.config.get("name", self.path.name))

    @property
    def train_risk(self) -> np.ndarray:
        """Risks of the final model on its own training patients, shape ``(n_train,)``."""
        return self.predictions.loc[self.predictions["split"] == "train", "risk"].to_numpy(dtype=float)

    def _settings(self):
        settings = replace(self.train_config.features, cache_dir=None)
        enc = self.config.get("image_encoder", {})
        if enc.get("weights_file"):
            settings = replace(settings, image_encoder_weights=str(self.path / enc["weights_file"]))
        return settings

    def features(self, cohort: Cohort, *, show_progress: bool = False) -> CohortFeatures:
        """Fold-independent features of ``cohort`` computed as at training time.

        Missing genomic blocks are tolerated here (their columns are imputed with the
        training medians and counted in ``n_imputed``); an image model still needs slides.
        """
        settings = self._settings()
        present = tuple(b for b in settings.genomic_blocks if b in cohort.blocks)
        settings = replace(settings, genomic_blocks=present, use_clinical=settings.use_clinical and "clinical" in cohort.blocks)
        if settings.rna_encoder == "snn" and "rnaseq" not in cohort.blocks:
            feats = compute_cohort_features(cohort, replace(settings, rna_encoder="none"),
                                            need_images=self.train_config.model.uses_images,
                                            pixels=self.train_config.model.image_finetune, show_progress=show_progress)
            feats.rna = pd.DataFrame(index=cohort.ids, columns=self.feature_names["rna"], dtype=np.float32)
            return feats
        return compute_cohort_features(
            cohort, settings, need_images=self.train_config.model.uses_images,
            pixels=self.train_config.model.image_finetune, show_progress=show_progress,
        )

    def prepare_inputs(self, cohort: Cohort, *, show_progress: bool = False) -> ModelInputs:
        """Model tensors for ``cohort`` (normalised with the bundle's training statistics)."""
        feats = self.features(cohort, show_progress=show_progress)
        for key, frame in (("cnv_mut", feats.cnv_mut), ("rna", feats.rna)):
            names = self.feature_names[key]
            unknown = [c for c in frame.columns if c not in names]
            if names and len(unknown) == frame.shape[1] and frame.shape[1] > 0:
                raise InputValidationError(
                    f"none of the {frame.shape[1]} {key} columns of the input match the model's features "
                    f"(e.g. {names[:3]}); check the column names and suffixes (_cnv, _mut, _rnaseq)."
                )
        inputs = self.scaling.transform(feats)
        inputs.extras["n_imputed"] = dict(self.scaling.last_imputed_)
        return inputs

    def predict(self, cohort: Cohort, *, show_progress: bool = False) -> pd.DataFrame:
        """Risk per patient with its decomposition and training-cohort percentile.

        Returns:
            DataFrame with columns ``patient_id, risk, genomic_term, image_term, bias,
            percentile, n_imputed``; ``percentile`` is the share (0–100) of training
            patients with a lower risk.
        """
        inputs = self.prepare_inputs(cohort, show_progress=show_progress)
        pred = predict_inputs(self.model, inputs, torch.device("cpu"))
        train = np.sort(self.train_risk)
        pred["percentile"] = 100.0 * np.searchsorted(train, pred["risk"].to_numpy(), side="right") / max(len(train), 1)
        pred["n_imputed"] = int(sum(inputs.extras.get("n_imputed", {}).values())) if len(pred) == 1 else np.nan
        pred.insert(0, "patient_id", np.asarray(cohort.ids))
        return pred


def load_bundle(path: str | Path) -> Bundle:
    """Load a bundle directory (weights via safetensors; nothing is unpickled).

    Raises:
        BundleError: Missing files, unknown format version or inconsistent weights.
    """
    from safetensors.torch import load_file

    from pathgptomic.evaluation import BreslowBaseline

    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"{root} is not a model bundle folder")
    missing = [f for f in REQUIRED_FILES if not (root / f).is_file()]
    if missing:
        raise BundleError(f"bundle {root} is incomplete: missing {', '.join(missing)}; retrain or copy the whole folder")
    try:
        config = json.loads((root / "config.json").read_text())
    except json.JSONDecodeError as exc:
        raise BundleError(f"{root / 'config.json'} is not valid JSON ({exc})") from exc
    version = config.get("format_version")
    if version != BUNDLE_FORMAT_VERSION:
        raise BundleError(
            f"bundle {root} has format version {version!r}; this pathgptomic ({__version__}) reads version "
            f"{BUNDLE_FORMAT_VERSION}. Retrain it with this version or use a matching pathgptomic."
        )
    tc = TrainConfig.from_dict(config["train_config"])
    tc.device = "cpu"
    dims = config["input_dims"]
    model = PathGPTomic(tc.model, dims["cnv_mut"], dims["rna"], dims["image"])
    try:
        model.load_state_dict(load_file(str(root / "weights.safetensors")))
    except RuntimeError as exc:
        raise BundleError(f"{root / 'weights.safetensors'} does not match config.json: {exc}") from exc
    model.eval()
    read = lambda name: pd.read_csv(root / name) if (root / name).is_file() else pd.DataFrame()  # noqa: E731
    metrics = json.loads((root / "metrics.json").read_text()) if (root / "metrics.json").is_file() else {}
    return Bundle(
        path=root,
        config=config,
        model=model,
        scaling=FeatureScaling.from_dict(config["scaling"]),
        train_config=tc,
        metrics=metrics,
        history=read("history.csv"),
        epochs=read("epochs.csv"),
        predictions=read("predictions.csv").astype({"patient_id": str}),
        baseline=BreslowBaseline.from_frame(read("baseline_hazard.csv")),
        card=(root / "README.md").read_text() if (root / "README.md").is_file() else "",
        feature_names=config["feature_names"],
    )


def list_bundles(*roots: str | Path) -> list[Path]:
    """Bundle folders (holding ``config.json``) directly in, or one level below, ``roots``."""
    found: list[Path] = []
    for root in roots:
        root = Path(root)
        if not root.is_dir():
            continue
        candidates = [root] + sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        for c in candidates:
            if (c / "config.json").is_file() and (c / "weights.safetensors").is_file():
                found.append(c)
            elif c is not root:
                found += [d for d in sorted(c.iterdir()) if d.is_dir() and (d / "config.json").is_file()
                          and (d / "weights.safetensors").is_file() and not d.name.startswith(".")]
    seen: set[Path] = set()
    return [p for p in found if not (p.resolve() in seen or seen.add(p.resolve()))]
