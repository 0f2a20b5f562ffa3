"""Model bundles: a directory holding everything needed to predict, explain and audit.

Layout (docs/ARCHITECTURE.md, "Model bundle"), written atomically (temporary sibling folder, then ``rename``):

``config.json``
    Format version, library version, the full :class:`~pathgptomic.training.trainer.TrainConfig`,
    feature names per input, the fitted normalisation statistics, encoder names and
    checkpoint hashes, the cohort description and the command that built it.
``weights.safetensors``
    The model's state dict.
``image_encoder.safetensors``
    The frozen patch encoder's weights when it was randomly initialised (so predictions
    on new slides reproduce the training features exactly).
``folds/fold_<k>.safetensors``, ``folds/fold_<k>.json``
    Each cross-validation fold model with its scaling and centre (for the uncertainty band).
``metrics.json``, ``history.csv``, ``epochs.csv``, ``predictions.csv``, ``baseline_hazard.csv``
    Per-fold metrics, summary and calibration report; per-step and per-epoch logs;
    out-of-fold and in-sample risks; the Breslow baseline fitted on the calibrated
    out-of-fold risks (written only for cross-validated bundles).
``README.md``
    Model card (:mod:`pathgptomic.training.model_card`).

**How a bundle predicts** (docs/ARCHITECTURE.md, "Risk scale"): the final model's θ is
centred and multiplied by the calibration slope learned on out-of-fold risks
(:mod:`pathgptomic.evaluation.calibration`), so ``risk`` is a log hazard ratio on the
scale the model achieves on unseen patients; the range over the final and fold models is the band.
"""

from __future__ import annotations

import json
import logging
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from pathgptomic import __version__
from pathgptomic.data.cohort import Cohort
from pathgptomic.data.readers import BLOCK_SUFFIXES
from pathgptomic.errors import BundleError, DataQualityWarning, InputValidationError, PathGPTomicError
from pathgptomic.evaluation.calibration import DEFAULT_TIMES, RiskCalibration, median_survival_time
from pathgptomic.evaluation.curves import BreslowBaseline
from pathgptomic.nn.fusion import ModelInputs, PathGPTomic
from pathgptomic.training.applicability import DEFAULT_MIN_COVERAGE, audit_inputs, column_block
from pathgptomic.training.bundle_discovery import list_bundles
from pathgptomic.training.bundle_save import BUNDLE_FORMAT_VERSION, save_bundle
from pathgptomic.training.features import CohortFeatures, FeatureScaling, compute_cohort_features
from pathgptomic.training.trainer import TrainConfig, predict_inputs
from pathgptomic.validators import check_time

logger = logging.getLogger(__name__)

__all__ = ["BUNDLE_FORMAT_VERSION", "Bundle", "FoldModel", "list_bundles", "load_bundle", "save_bundle", "survival_column"]

#: Files every bundle has.
REQUIRED_FILES = ("config.json", "weights.safetensors", "predictions.csv")
#: Largest input width a bundle may declare (a larger one is a corrupt config).
MAX_INPUT_DIM = 1_000_000


def survival_column(t: float) -> str:
    """Name of the output column holding :math:`\\hat S(t)`: ``survival_12`` for 12 months."""
    return f"survival_{float(t):g}"


@dataclass
class FoldModel:
    """One cross-validation fold model of a bundle, with its own scaling and centre."""

    model: PathGPTomic
    scaling: FeatureScaling
    centre: float


@dataclass
class Bundle:
    """A loaded model bundle (see the module docstring for the files)."""

    path: Path
    config: dict[str, Any]
    model: PathGPTomic
    scaling: FeatureScaling
    train_config: TrainConfig
    metrics: dict[str, Any]
    history: pd.DataFrame
    epochs: pd.DataFrame
    predictions: pd.DataFrame
    baseline: BreslowBaseline | None
    card: str
    feature_names: dict[str, list[str]] = field(default_factory=dict)
    calibration: RiskCalibration | None = None
    fold_models: list[FoldModel] = field(default_factory=list)

    @property
    def name(self) -> str:
        """Display name."""
        return str(self.config.get("name", self.path.name))

    @property
    def final_centre(self) -> float:
        """Mean θ of the final model over its training cohort (the location of its risk scale)."""
        cal = self.config.get("calibration") or {}
        if "final_centre" in cal:
            return float(cal["final_centre"])
        train = self.predictions[self.predictions["split"] == "train"]
        return float(train["theta"].mean()) if len(train) else 0.0

    @property
    def reference_risk(self) -> np.ndarray:
        """Risks of the training patients that new patients are compared with, shape ``(n,)``.

        The out-of-fold risks (each from a model that never saw the patient) when the
        bundle was cross-validated, else the final model's in-sample risks.
        """
        for split in ("oof", "train"):
            rows = self.predictions.loc[self.predictions["split"] == split, "risk"]
            if len(rows):
                return rows.to_numpy(dtype=float)
        return np.zeros(0)

    @property
    def train_risk(self) -> np.ndarray:
        """Alias of :attr:`reference_risk` (cut-offs and percentiles use it)."""
        return self.reference_risk

    @property
    def model_columns(self) -> list[str]:
        """Tabular input columns whose raw values the model reads (suffixed: ``TP53_cnv``, ``age``)."""
        rna = self.feature_names.get("rna", []) if self.train_config.features.rna_encoder == "snn" else []
        return list(self.feature_names.get("cnv_mut", [])) + list(rna)

    @property
    def required_blocks(self) -> tuple[str, ...]:
        """Blocks a patient must have measured (coverage ≥ the threshold) to be scored."""
        if not self.train_config.model.uses_genomics:
            return ()
        blocks = {column_block(c) for c in self.model_columns} - {"clinical"}
        if self.train_config.features.rna_encoder in ("scgpt", "scgpt_smooth"):
            blocks.add("rnaseq")
        return tuple(sorted(blocks))

    def _settings(self):
        settings = replace(self.train_config.features, cache_dir=None)
        enc = self.config.get("image_encoder", {})
        if enc.get("weights_file"):
            settings = replace(settings, image_encoder_weights=str(self.path / enc["weights_file"]))
        return settings

    def features(self, cohort: Cohort, *, show_progress: bool = False) -> CohortFeatures:
        """Fold-independent features of ``cohort`` computed as at training time.

        Missing genomic blocks are tolerated here (their columns are imputed with the
        training medians); an image model still needs slides.
        """
        settings = self._settings()
        present = tuple(b for b in settings.genomic_blocks if b in cohort.blocks)
        settings = replace(settings, genomic_blocks=present, use_clinical=settings.use_clinical and "clinical" in cohort.blocks)
        if settings.rna_encoder == "snn" and "rnaseq" not in cohort.blocks:
            feats = compute_cohort_features(
                cohort,
                replace(settings, rna_encoder="none"),
                need_images=self.train_config.model.uses_images,
                pixels=self.train_config.model.image_finetune,
                show_progress=show_progress,
            )
            feats.rna = pd.DataFrame(index=cohort.ids, columns=self.feature_names["rna"], dtype=np.float32)
            return feats
        return compute_cohort_features(
            cohort,
            settings,
            need_images=self.train_config.model.uses_images,
            pixels=self.train_config.model.image_finetune,
            show_progress=show_progress,
        )

    def _check_names_match(self, cohort: Cohort) -> None:
        for key in ("cnv_mut", "rna"):
            names = set(self.feature_names.get(key, []))
            if not names or (key == "rna" and self.train_config.features.rna_encoder != "snn"):
                continue
            blocks = {column_block(c) for c in names} - {"clinical"}
            given = [f"{g}{BLOCK_SUFFIXES.get(b, '')}" for b in blocks for g in cohort.blocks.get(b, pd.DataFrame()).columns]
            if given and not names.intersection(given):
                raise InputValidationError(
                    f"none of the {len(given)} {'/'.join(sorted(blocks))} columns of the input match the model's "
                    f"features (e.g. the model expects {sorted(names)[:3]}, the input has {given[:3]}); check the gene "
                    "names and the suffixes (_cnv, _mut, _rnaseq), or download the model's omics template."
                )

    def prepare_inputs(self, cohort: Cohort, *, show_progress: bool = False) -> ModelInputs:
        """Model tensors for ``cohort`` (normalised with the final model's training statistics)."""
        self._check_names_match(cohort)
        return self.scaling.transform(self.features(cohort, show_progress=show_progress))

    def risk_group(self, risk: np.ndarray, scheme: str = "tertiles") -> np.ndarray:
        """Group of each risk by ``scheme`` cut-offs of :attr:`reference_risk` (low / intermediate / high).

        Empty strings when the reference risks do not separate patients (e.g. a calibration
        slope of 0: the model ranks no better than chance out of fold).
        """
        from pathgptomic.errors import ConfigError
        from pathgptomic.evaluation import assign_risk_groups, risk_cutoffs

        try:
            return assign_risk_groups(risk, risk_cutoffs(self.reference_risk, scheme))
        except ConfigError:
            return np.full(len(risk), "", dtype=object)

    def _score(self, cohort: Cohort, times: Sequence[float], show_progress: bool) -> pd.DataFrame:
        """Risk, band, survival and decomposition of patients that can be scored."""
        feats = self.features(cohort, show_progress=show_progress)
        cpu = torch.device("cpu")
        pred = predict_inputs(self.model, self.scaling.transform(feats), cpu).rename(columns={"risk": "theta"})
        x = pred["theta"].to_numpy(dtype=float) - self.final_centre
        xk = (
            np.column_stack(
                [predict_inputs(f.model, f.scaling.transform(feats), cpu)["risk"].to_numpy(float) - f.centre for f in self.fold_models]
            )
            if self.fold_models
            else x[:, None]
        )
        cal = self.calibration
        slope = cal.slope if cal is not None else 1.0
        # band: range over the final model and every fold model (always holds the point estimate)
        x_low, x_high = np.minimum(x, xk.min(axis=1)), np.maximum(x, xk.max(axis=1))
        out = pd.DataFrame({"risk": slope * x, "risk_low": slope * x_low, "risk_high": slope * x_high})
        for t in times:
            col = survival_column(t)
            if cal is None:
                out[col] = out[f"{col}_low"] = out[f"{col}_high"] = np.nan
                continue
            s_t = cal.survival(np.column_stack([x, x_high, x_low]).ravel(), [t])[:, 0].reshape(-1, 3)
            out[col], out[f"{col}_low"], out[f"{col}_high"] = s_t[:, 0], s_t[:, 1], s_t[:, 2]
        if cal is not None:
            out["median_survival"] = median_survival_time(cal, x)
            out["median_survival_low"] = median_survival_time(cal, x_high)
            out["median_survival_high"] = median_survival_time(cal, x_low)
        else:
            out["median_survival"] = out["median_survival_low"] = out["median_survival_high"] = np.nan
        ref = np.sort(self.reference_risk)
        out["percentile"] = 100.0 * np.searchsorted(ref, out["risk"].to_numpy(), side="right") / max(len(ref), 1)
        out["risk_group"] = self.risk_group(out["risk"].to_numpy()) if len(ref) else ""
        return pd.concat([out, pred[["theta", "genomic_term", "image_term", "bias"]]], axis=1)

    def predict(
        self,
        cohort: Cohort,
        *,
        times: Sequence[float] = DEFAULT_TIMES,
        min_coverage: float = DEFAULT_MIN_COVERAGE,
        show_progress: bool = False,
    ) -> pd.DataFrame:
        """Score new patients: calibrated risk, survival, band, decomposition, coverage and refusals.

        Each patient is scored on its own inputs only: the same patient gets the same
        numbers alone or in any batch. Every warning (unused columns, absent features,
        out-of-range values, refusals) is emitted as a
        :class:`~pathgptomic.errors.DataQualityWarning` and listed in ``attrs["warnings"]``.

        Args:
            cohort: Patients, typically read with ``read_cohort(path, for_prediction=True)``.
            times: Times (in the training cohort's unit, months for TCGA) for ``survival_<t>``.
            min_coverage: Minimum measured fraction of each needed block (see
                :mod:`pathgptomic.training.applicability`).
            show_progress: Progress bars for feature extraction.

        Returns:
            One row per patient, in input order: ``patient_id``, ``status`` (``ok`` or
            ``insufficient_data``), ``reason``; ``risk`` (log hazard ratio vs the average
            training patient, calibrated), ``risk_low``/``risk_high`` (the range over the
            final model and the cross-validation fold models: model uncertainty);
            ``survival_<t>`` with ``_low``/``_high`` (from the same range);
            ``median_survival`` (NaN = not reached within the training follow-up) with its
            band (``_low`` NaN too when even the highest risk does not reach it);
            ``percentile`` (share 0–100 of the training patients' out-of-fold risks
            at or below) and ``risk_group`` (tertiles of those risks); ``theta``,
            ``genomic_term``, ``image_term``, ``bias`` (the model's raw
            θ = W^G·G + W^P·P + b); ``coverage_<block>`` and ``n_imputed``. Scores are NaN
            and the group empty for ``insufficient_data`` rows.

        Raises:
            InputValidationError: Infinite or absurd values, or columns that match none
                of the model's features.
        """
        times = check_time(list(times), name="times", lower="positive", fix="ask for survival at positive times, e.g. 12, 36, 60.").tolist()
        self._check_names_match(cohort)
        audit = audit_inputs(
            cohort,
            self.model_columns,
            self.config.get("feature_ranges") or {},
            required_blocks=self.required_blocks,
            needs_slides=self.train_config.model.uses_images,
            min_coverage=min_coverage,
        )
        if self.calibration is not None and self.calibration.slope == 0:
            audit.warnings.append(
                f"bundle {self.name} does not rank patients out of fold (calibration slope 0): every "
                "patient gets the cohort's average survival and no risk group."
            )
        if self.calibration is None:
            audit.warnings.append(
                f"bundle {self.name} was fitted without cross-validation: its risk is uncalibrated "
                "and no survival probabilities are given; train it with 'pathgptomic cv'."
            )
        for msg in audit.warnings:
            warnings.warn(msg, DataQualityWarning, stacklevel=2)
        ok = (audit.insufficient == "").to_numpy()
        head = pd.DataFrame(
            {
                "patient_id": np.asarray(cohort.ids, dtype=str),
                "status": np.where(ok, "ok", "insufficient_data"),
                "reason": audit.insufficient.to_numpy(),
            }
        )
        if ok.any():
            from pathgptomic.slides.encoding import resolve_cpu_threads, torch_cpu_threads

            with torch_cpu_threads(resolve_cpu_threads()):  # one thread unless $PATHGPTOMIC_CPU_THREADS says otherwise
                scored = self._score(cohort.subset(np.flatnonzero(ok)), times, show_progress)
            scored.index = np.flatnonzero(ok)
            body = scored.reindex(range(cohort.n))
            body["risk_group"] = body["risk_group"].fillna("")
        else:
            body = self._score_columns(times)
        out = pd.concat([head, body.reset_index(drop=True)], axis=1)
        out = pd.concat([out, audit.coverage.reset_index(drop=True), audit.n_imputed.reset_index(drop=True)], axis=1)
        out.attrs["warnings"] = list(audit.warnings)
        return out

    def _score_columns(self, times: Sequence[float]) -> pd.DataFrame:
        cols = ["risk", "risk_low", "risk_high"]
        for t in times:
            c = survival_column(t)
            cols += [c, f"{c}_low", f"{c}_high"]
        cols += [
            "median_survival",
            "median_survival_low",
            "median_survival_high",
            "percentile",
            "risk_group",
            "theta",
            "genomic_term",
            "image_term",
            "bias",
        ]
        return pd.DataFrame(np.nan, index=range(0), columns=cols)


def _corrupt(path: Path, what: str, exc: BaseException | str) -> BundleError:
    return BundleError(
        f"bundle file {path.parent.name}/{path.name} {what} ({exc}); the bundle is damaged: copy the whole folder again or retrain it."
    )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _corrupt(path, "is not valid JSON", exc) from exc
    if not isinstance(data, dict):
        raise _corrupt(path, "does not hold a JSON object", type(data).__name__)
    return data


def _load_weights(model: PathGPTomic, path: Path) -> PathGPTomic:
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own SafetensorError (and OSError)
        raise _corrupt(path, "cannot be read", exc) from exc
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise _corrupt(path, "does not match config.json", str(exc).splitlines()[0]) from exc
    return model.eval()


def _read_table(path: Path, required: Sequence[str] = ()) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame()
    try:
        df = pd.read_csv(path)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise _corrupt(path, "is not a readable CSV", exc) from exc
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise _corrupt(path, f"lacks column(s) {missing}", "written by another version?")
    return df


def _check_dims(config: dict[str, Any], root: Path) -> dict[str, int]:
    dims = config["input_dims"]
    out = {}
    for key in ("cnv_mut", "rna", "image"):
        value = dims.get(key) if isinstance(dims, dict) else None
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_INPUT_DIM:
            raise _corrupt(
                root / "config.json", f"declares an impossible input width {key}={value!r}", f"expected an integer in [0, {MAX_INPUT_DIM}]"
            )
        out[key] = value
    names = config["feature_names"]
    for key in ("cnv_mut", "rna"):
        if len(names.get(key, [])) != out[key]:
            raise _corrupt(root / "config.json", f"lists {len(names.get(key, []))} {key} feature names", f"input_dims says {out[key]}")
    return out


def load_bundle(path: str | Path) -> Bundle:
    """Load a bundle directory (weights via safetensors; nothing is unpickled).

    Raises:
        BundleError: Missing or damaged files (each named), unknown format version or
            weights inconsistent with the configuration.
    """
    root = Path(path)
    if not root.is_dir():
        raise BundleError(f"{root.name} is not a model bundle folder")
    missing = [f for f in REQUIRED_FILES if not (root / f).is_file()]
    if missing:
        raise BundleError(f"bundle {root.name} is incomplete: missing {', '.join(missing)}; retrain or copy the whole folder")
    config = _read_json(root / "config.json")
    version = config.get("format_version")
    if version != BUNDLE_FORMAT_VERSION:
        raise BundleError(
            f"bundle {root.name} has format version {version!r}; this pathgptomic ({__version__}) reads version "
            f"{BUNDLE_FORMAT_VERSION}. Retrain it with this version or use a matching pathgptomic."
        )
    absent = [k for k in ("train_config", "input_dims", "feature_names", "scaling") if k not in config]
    if absent:
        raise _corrupt(root / "config.json", f"lacks key(s) {absent}", "incomplete configuration")
    try:
        tc = TrainConfig.from_dict(config["train_config"])
        scaling = FeatureScaling.from_dict(config["scaling"])
    except (PathGPTomicError, TypeError, KeyError, ValueError, AttributeError) as exc:
        raise _corrupt(root / "config.json", "holds an invalid training configuration or scaling", exc) from exc
    tc.device = "cpu"
    dims = _check_dims(config, root)

    def build() -> PathGPTomic:
        return PathGPTomic(tc.model, dims["cnv_mut"], dims["rna"], dims["image"])

    model = _load_weights(build(), root / "weights.safetensors")
    predictions = _read_table(root / "predictions.csv", ("patient_id", "risk", "split"))
    if not pd.to_numeric(predictions["risk"], errors="coerce").notna().all():
        raise _corrupt(root / "predictions.csv", "has non-numeric risks", "column 'risk'")
    cal_cfg = config.get("calibration")
    calibration = None
    baseline = None
    if cal_cfg:
        table = _read_table(root / "baseline_hazard.csv")
        if table.empty:
            raise _corrupt(root / "baseline_hazard.csv", "is missing or empty", "needed for survival curves")
        try:
            baseline = BreslowBaseline.from_frame(table)
        except BundleError as exc:
            raise _corrupt(root / "baseline_hazard.csv", "is not a valid baseline hazard table", exc) from exc
        calibration = RiskCalibration.from_parts(cal_cfg, baseline)
    folds = []
    for k in range(int(cal_cfg.get("n_fold_models", 0)) if cal_cfg else 0):
        meta = _read_json(root / "folds" / f"fold_{k}.json")
        try:
            fold_scaling = FeatureScaling.from_dict(meta["scaling"])
        except (PathGPTomicError, KeyError, TypeError) as exc:
            raise _corrupt(root / "folds" / f"fold_{k}.json", "holds no valid scaling", exc) from exc
        folds.append(
            FoldModel(_load_weights(build(), root / "folds" / f"fold_{k}.safetensors"), fold_scaling, float(meta.get("centre", 0.0)))
        )
    metrics = _read_json(root / "metrics.json") if (root / "metrics.json").is_file() else {}
    return Bundle(
        path=root,
        config=config,
        model=model,
        scaling=scaling,
        train_config=tc,
        metrics=metrics,
        history=_read_table(root / "history.csv"),
        epochs=_read_table(root / "epochs.csv"),
        predictions=predictions.astype({"patient_id": str}),
        baseline=baseline,
        card=(root / "README.md").read_text() if (root / "README.md").is_file() else "",
        feature_names=config["feature_names"],
        calibration=calibration,
        fold_models=folds,
    )
