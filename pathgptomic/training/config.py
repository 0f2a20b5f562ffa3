"""The training configuration and how it is resolved for a cohort.

:class:`TrainConfig` holds everything that defines a run and is saved verbatim in a
bundle. Before training, :func:`resolve_block_projections` and
:func:`resolve_image_normalisation` return a *new* configuration adapted to the cohort
(input projections only for high-dimensional blocks; measured tile statistics for
end-to-end encoder training); the configuration passed in is never changed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

import torch

from pathgptomic.errors import ConfigError
from pathgptomic.nn.fusion import ModelConfig
from pathgptomic.schema import check_average_fraction, effective_average_fraction
from pathgptomic.training.balance import BalanceConfig
from pathgptomic.training.features import CohortFeatures, FeatureSettings


@dataclass
class TrainConfig:
    """Everything that defines a training run (saved verbatim in the bundle).

    Attributes:
        model: Architecture (fusion mode, widths, pooling).
        features: Inputs (blocks, RNA encoder, image encoder, tiling).
        balance: Gradient modulation settings (used when ``model.fusion == "gradmod"``).
        epochs: Training epochs per fold.
        batch_size: Patients per step (the paper's Cox batches: 32).
        lr: Adam learning rate.
        weight_decay: Adam weight decay (L2).
        seed: Seed for initialisation, batching and splits.
        device: ``"cpu"``, ``"cuda"`` or ``None`` (CUDA when available).
        early_stopping: Stop on the inner validation C-index (split from the training fold).
        patience: Epochs without inner-validation improvement before stopping.
        val_fraction: Size of the inner validation split.
        ties: Cox ties method, ``"breslow"`` or ``"efron"``.
        optimizer: ``"adam"`` (default) or ``"sgd"`` (momentum 0.9, as OGM-GE).
        modulate_step_size: With Adam, also scale each branch's learning rate by its
            coefficient for the step (see the module docstring); ignored for SGD.
        cpu_threads: Torch intra-op threads while training on the CPU. The fusion model
            is small and latency-bound: one thread is ~15× faster than two on a loaded
            2-core machine (measured), so the default is 1.
        average_fraction: Keep as the trained model the mean of the weights after each of
            the last ``round(average_fraction · epochs)`` epochs (at least one; stochastic
            weight averaging) instead of the last epoch's weights; 0 = off; ``None`` = the
            default rule, 2/3 for runs of at least 30 epochs and off for shorter ones
            (:func:`pathgptomic.schema.effective_average_fraction`). Ignored with early
            stopping, which picks the best inner-validation epoch instead.
        log_balance: Compute and log ρ^G, ρ^P and the branch gradient norms at every
            step even when nothing is modulated (``concat``), for side-by-side
            comparison with ``gradmod``. Off by default: the computation costs ~18 % of
            a concat epoch. ``gradmod`` always computes them (it needs them).
    """

    model: ModelConfig = field(default_factory=ModelConfig)
    features: FeatureSettings = field(default_factory=FeatureSettings)
    balance: BalanceConfig = field(default_factory=BalanceConfig)
    epochs: int = 30
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 1e-4
    seed: int = 0
    device: str | None = None
    early_stopping: bool = False
    patience: int = 10
    val_fraction: float = 0.15
    ties: str = "breslow"
    optimizer: str = "adam"
    modulate_step_size: bool = True
    cpu_threads: int = 1
    log_balance: bool = False
    average_fraction: float | None = None

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if self.batch_size < 2:
            raise ConfigError(f"batch_size must be >= 2 (the Cox loss compares patients), got {self.batch_size}")
        if self.lr <= 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if self.weight_decay < 0:
            raise ConfigError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if not 0.05 <= self.val_fraction <= 0.5:
            raise ConfigError(f"val_fraction must lie in [0.05, 0.5], got {self.val_fraction}")
        if self.optimizer not in ("adam", "sgd"):
            raise ConfigError(f"optimizer must be 'adam' or 'sgd', got {self.optimizer!r}")
        check_average_fraction(self.average_fraction)
        if self.cpu_threads < 1:
            raise ConfigError(f"cpu_threads must be >= 1, got {self.cpu_threads}")
        if self.ties not in ("breslow", "efron"):
            raise ConfigError(f"ties must be 'breslow' or 'efron', got {self.ties!r}")
        if self.model.rna_encoder != self.features.rna_encoder:
            self.model.rna_encoder = self.features.rna_encoder
        if self.model.image_finetune:
            self.model.image_encoder = self.features.image_encoder

    @property
    def averaged_epochs(self) -> int:
        """Number of final epochs whose weights are averaged (0: the last epoch's weights are kept)."""
        fraction = effective_average_fraction(self.average_fraction, self.epochs)
        if self.early_stopping or fraction <= 0:
            return 0
        return max(1, round(fraction * self.epochs))

    def final_weights(self) -> str:
        """Which weights the trained model keeps, in words (model cards and benchmark reports)."""
        n = self.averaged_epochs
        if n:
            return f"the mean of the weights after each of the last {n} epoch{'s' if n != 1 else ''} (weight averaging)"
        return "the weights of the best inner-validation epoch" if self.early_stopping else "the last epoch's weights"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe nested dict."""
        d = asdict(self)
        d["model"] = self.model.to_dict()
        d["features"]["genomic_blocks"] = list(self.features.genomic_blocks)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TrainConfig":
        """Inverse of :meth:`to_dict` (unknown keys are refused with a message)."""
        d = dict(d)
        try:
            # bundles written before the CNV/mutation projection or the linear skip path existed had neither
            model = ModelConfig(**{"cnv_mut_components": 0, "linear_skip": False, **d.pop("model", {})})
            features = FeatureSettings(**d.pop("features", {}))
            balance = BalanceConfig(**d.pop("balance", {}))
            # ... nor weight averaging: their final models are the last epoch's weights
            return cls(model=model, features=features, balance=balance, **{"average_fraction": 0.0, **d})
        except TypeError as exc:
            raise ConfigError(f"training configuration has an unknown or missing field: {exc}") from exc


def resolve_device(device: str | None) -> torch.device:
    """``device`` or CUDA when available, else CPU."""
    if device:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ConfigError(f"device {device!r} requested but CUDA is not available; use --device cpu")
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_image_normalisation(cfg: TrainConfig, features: CohortFeatures) -> TrainConfig:
    """The configuration with the tile pixels' channel statistics, for end-to-end encoder training.

    With ``model.image_finetune`` the model normalises raw tile pixels itself, with the mean
    and standard deviation per channel measured on the cohort's tiles
    (``features.info["image_mean"/"image_std"]``); they are part of the model, so they are
    written into the (new) configuration that the bundle saves. Returns ``cfg`` unchanged otherwise.

    Raises:
        ConfigError: ``image_finetune`` without tile pixels.
    """
    if not cfg.model.image_finetune:
        return cfg
    if not features.pixels:
        raise ConfigError("image_finetune needs tile pixels: compute features with pixels=True")
    model = replace(cfg.model, image_mean=tuple(features.info["image_mean"]), image_std=tuple(features.info["image_std"]))
    return replace(cfg, model=model)


def resolve_block_projections(cfg: TrainConfig, features: CohortFeatures) -> TrainConfig:
    """The configuration to train with: input projections kept only for high-dimensional inputs.

    ``model.rna_components`` (RNA-seq block, SNN encoder) applies when the RNA-seq block has
    more than :data:`~pathgptomic.schema.PROJECTION_MIN_RATIO` times as many features as the
    cohort has patients (p > n, where an SNN over every column over-fits); otherwise it is set
    to 0. The same rule is applied to each block of the CNV/mutation input (``cnv``, ``mut``):
    a wide block is reduced to ``model.cnv_mut_components`` PCs, the others pass unchanged
    (``cnv_mut_projected_blocks`` and the resulting ``cnv_mut_width`` are recorded). Decided
    once per cohort, so every fold model and the final model share one architecture. Returns
    a new config (``cfg`` is not changed).
    """
    from pathgptomic.data.columns import block_of_column
    from pathgptomic.schema import PROJECTION_MIN_RATIO

    n = len(features.ids)
    model = cfg.model
    if model.rna_encoder != "snn" or features.rna.shape[1] <= PROJECTION_MIN_RATIO * n:
        model = replace(model, rna_components=0)
    blocks = [block_of_column(str(c)) for c in features.cnv_mut.columns]
    widths = {b: blocks.count(b) for b in dict.fromkeys(blocks) if b is not None}
    wide = tuple(b for b, w in widths.items() if w > PROJECTION_MIN_RATIO * n) if model.cnv_mut_components > 0 else ()
    if wide:
        width = sum(min(model.cnv_mut_components, widths[b]) for b in wide) + sum(1 for b in blocks if b not in wide)
        model = replace(model, cnv_mut_projected_blocks=wide, cnv_mut_width=width)
    else:
        model = replace(model, cnv_mut_projected_blocks=(), cnv_mut_width=0)
    return cfg if model == cfg.model else replace(cfg, model=model)
