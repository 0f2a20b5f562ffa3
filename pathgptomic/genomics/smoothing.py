"""MLP-A smoothing pre-training with mix-up on single cells (paper §2.1).

Each training example is a pair of cells ``(i, j)`` mixed in expression space with
:math:`\\lambda \\sim U[0, 1]`:

.. math::

    \\tilde x = \\lambda x_i + (1-\\lambda) x_j,\\qquad
    \\tilde t = \\lambda t_i + (1-\\lambda) t_j,\\qquad
    \\hat p = \\mathrm{softmax}(C\\,\\mathrm{MLP_A}(\\mathrm{scGPT}(\\tilde x)))

with :math:`t` one-hot cell types, the scGPT encoder frozen, MLP-A = three ``Linear`` + ReLU
layers of width 128 and :math:`C` a linear classifier. Pure cells (:math:`\\lambda = 1`) are
part of the training set too. Loss (``loss=``):

* ``"soft_ce"`` (default): :math:`L = -\\frac{1}{B}\\sum_b \\sum_c \\tilde t_{bc}\\log \\hat p_{bc}`
  — the mix-up target as a distribution; its minimiser is :math:`\\hat p = \\tilde t`, so the
  predicted probabilities estimate the mixing proportion.
* ``"mse"``: :math:`L = \\frac{1}{BC}\\sum_b\\sum_c(\\hat p_{bc} - \\tilde t_{bc})^2`.

Because the encoder is frozen, the pairs are drawn once (``n_pairs``, seeded) and embedded
once; every step then samples its batch from this pool plus the pure training cells.

Validation on held-out cells (a stratified ``val_fraction``, never seen in training):

* pure-cell accuracy: :math:`\\frac{1}{n}\\sum_k [\\arg\\max_c \\hat p_{kc} = y_k]`;
* mixing-proportion MAE on ``n_val_pairs`` mixed pairs of cells of different types:
  :math:`\\frac{1}{m}\\sum |\\hat\\lambda - \\lambda|` with
  :math:`\\hat\\lambda = \\hat p_{t_i} / (\\hat p_{t_i} + \\hat p_{t_j})`
  (also reported: the raw :math:`|\\hat p_{t_i} - \\lambda|`, and for reference the MAE of the
  constant guess :math:`\\hat\\lambda = 0.5`, about 0.25),

for the mix-up model and for the same MLP trained the same number of steps on pure cells only.
The MLP-A output (the 128-d hidden vector) is the smoothed genomic feature G2.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from pathgptomic.errors import CheckpointError, InputValidationError
from pathgptomic.genomics.datasets import CellData
from pathgptomic.genomics.embed import embed_matrix, resolve_device
from pathgptomic.genomics.scgpt import LoadedScGPT
from pathgptomic.hashing import file_sha256

logger = logging.getLogger(__name__)

MLP_A_FORMAT_VERSION = 1
LOSSES = ("soft_ce", "mse")
#: Fewest genes of the single-cell data that must be in the scGPT vocabulary.
MIN_VOCAB_GENES = 50


class MLPA(nn.Module):
    r"""MLP-A: fixed input standardisation, then ``n_layers`` × (``Linear`` → ReLU → Dropout).

    .. math::

        \mathrm{MLP_A}(z) = f_3(f_2(f_1((z - \mu) / s))),\qquad f_k(u) = \mathrm{ReLU}(W_k u + b_k)

    :math:`\mu` (shape ``(E,)``) and the single scale :math:`s` are buffers set from the
    training embeddings (:meth:`set_input_stats`; default 0 and 1). They are needed because
    scGPT ``<cls>`` embeddings of one data set share a large common component (cosine
    similarity near 1 for the small demo model), which a plain MLP fits poorly; one global
    scale keeps the geometry of the embedding space.

    Args:
        in_dim: scGPT embedding width ``E``.
        hidden: Width of every layer (128 in the paper).
        n_layers: Number of layers (3 in the paper).
        dropout: Dropout after each activation (training only).
    """

    def __init__(self, in_dim: int, hidden: int = 128, n_layers: int = 3, dropout: float = 0.1) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        d = in_dim
        for _ in range(n_layers):
            layers += [nn.Linear(d, hidden), nn.ReLU(), nn.Dropout(dropout)]
            d = hidden
        self.net = nn.Sequential(*layers)
        self.register_buffer("input_mean", torch.zeros(in_dim))
        self.register_buffer("input_scale", torch.ones(1))
        self.in_dim, self.hidden, self.n_layers = in_dim, hidden, n_layers

    def set_input_stats(self, embeddings: np.ndarray) -> None:
        r"""Set :math:`\mu` = column means and :math:`s` = mean column standard deviation of ``embeddings`` ``(n, E)``."""
        e = np.asarray(embeddings, dtype=np.float64)
        scale = float(e.std(axis=0).mean()) or 1.0
        self.input_mean.copy_(torch.from_numpy(e.mean(axis=0)).float())
        self.input_scale.fill_(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, E)`` → ``(B, hidden)``."""
        return self.net((x - self.input_mean) / self.input_scale)


class SmoothingModel(nn.Module):
    """MLP-A followed by a linear classifier over cell types."""

    def __init__(self, in_dim: int, n_classes: int, hidden: int = 128, n_layers: int = 3, dropout: float = 0.1) -> None:
        super().__init__()
        self.mlp_a = MLPA(in_dim, hidden, n_layers, dropout)
        self.classifier = nn.Linear(hidden, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Embeddings ``(B, E)`` → logits ``(B, C)``."""
        return self.classifier(self.mlp_a(x))


@dataclass(frozen=True)
class SmoothingConfig:
    """Hyper-parameters of MLP-A pre-training.

    Attributes:
        loss: ``"soft_ce"`` (default) or ``"mse"``.
        n_pairs: Mixed training pairs drawn (and embedded) once.
        n_val_pairs: Mixed validation pairs of held-out cells of different types.
        val_fraction: Held-out cells per type (stratified).
        steps: Optimiser steps (both the mix-up and the baseline model).
        batch_size: Examples per step.
        lr: AdamW learning rate.
        weight_decay: AdamW weight decay.
        hidden: MLP-A width.
        n_layers: MLP-A depth.
        dropout: MLP-A dropout.
        max_length: scGPT sequence length (``<cls>`` included).
        standardize_input: Centre the embeddings and divide by one global scale
            (statistics of the training embeddings, stored in the MLP-A file).
        seed: Seed of splits, pairs, binning and initialisation.
    """

    loss: str = "soft_ce"
    n_pairs: int = 2000
    n_val_pairs: int = 300
    val_fraction: float = 0.2
    steps: int = 1500
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-4
    hidden: int = 128
    n_layers: int = 3
    dropout: float = 0.1
    max_length: int = 1200
    standardize_input: bool = True
    seed: int = 0


@dataclass
class SmoothingResult:
    """A trained MLP-A with its validation.

    Attributes:
        model: MLP-A + classifier (mix-up trained), eval mode, CPU.
        baseline: The same MLP trained without mix-up.
        cell_types: Class names in classifier order.
        metrics: ``{"mixup": {...}, "no_mixup": {...}}`` with ``pure_accuracy``,
            ``mix_mae`` (normalised), ``mix_mae_raw``, plus counts.
        meta: Metadata written next to the weights.
    """

    model: SmoothingModel
    baseline: SmoothingModel
    cell_types: list[str]
    metrics: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)


def stratified_holdout(labels: np.ndarray, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Train/validation indices with ``round(fraction * n_type)`` held out per type (≥1 when n_type ≥ 2)."""
    train, val = [], []
    for lab in sorted(set(labels.tolist())):
        idx = rng.permutation(np.nonzero(labels == lab)[0])
        k = int(round(fraction * len(idx)))
        if len(idx) >= 2:
            k = min(max(k, 1), len(idx) - 1)
        else:
            k = 0
        val.extend(idx[:k].tolist())
        train.extend(idx[k:].tolist())
    return np.sort(np.array(train, dtype=np.int64)), np.sort(np.array(val, dtype=np.int64))


def soft_target_loss(logits: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
    """Soft-target cross-entropy or MSE on probabilities (formulas in the module docstring)."""
    if kind == "soft_ce":
        return -(target * torch.log_softmax(logits, dim=1)).sum(dim=1).mean()
    if kind == "mse":
        return ((torch.softmax(logits, dim=1) - target) ** 2).mean()
    raise ValueError(f"loss must be one of {LOSSES}, got {kind!r}")


def _train(emb: np.ndarray, targets: np.ndarray, n_classes: int, cfg: SmoothingConfig, seed: int, device: torch.device) -> SmoothingModel:
    torch.manual_seed(seed)
    model = SmoothingModel(emb.shape[1], n_classes, cfg.hidden, cfg.n_layers, cfg.dropout)
    if cfg.standardize_input:
        model.mlp_a.set_input_stats(emb)
    model = model.to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    x = torch.from_numpy(emb.astype(np.float32)).to(device)
    y = torch.from_numpy(targets.astype(np.float32)).to(device)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(cfg.steps):
        idx = torch.randint(0, x.shape[0], (min(cfg.batch_size, x.shape[0]),), generator=gen).to(device)
        loss = soft_target_loss(model(x[idx]), y[idx], cfg.loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval().cpu()


def _evaluate(
    model: SmoothingModel, pure_emb: np.ndarray, pure_y: np.ndarray, mix_emb: np.ndarray, pairs: np.ndarray, lam: np.ndarray
) -> dict[str, float]:
    with torch.no_grad():
        p_pure = torch.softmax(model(torch.from_numpy(pure_emb)), dim=1).numpy()
        p_mix = torch.softmax(model(torch.from_numpy(mix_emb)), dim=1).numpy()
    acc = float((p_pure.argmax(1) == pure_y).mean()) if len(pure_y) else float("nan")
    pi = p_mix[np.arange(len(lam)), pairs[:, 0]]
    pj = p_mix[np.arange(len(lam)), pairs[:, 1]]
    lam_hat = pi / np.maximum(pi + pj, 1e-12)
    return {
        "pure_accuracy": round(acc, 4),
        "mix_mae": round(float(np.abs(lam_hat - lam).mean()), 4),
        "mix_mae_raw": round(float(np.abs(pi - lam).mean()), 4),
        "n_val_cells": int(len(pure_y)),
        "n_val_pairs": int(len(lam)),
    }


def train_mlp_a(
    loaded: LoadedScGPT,
    cells: CellData,
    config: SmoothingConfig = SmoothingConfig(),
    *,
    device: str | torch.device | None = None,
    show_progress: bool = True,
) -> SmoothingResult:
    """Pre-train MLP-A with mix-up on single cells and validate against a no-mix-up MLP.

    Args:
        loaded: The frozen scGPT checkpoint.
        cells: Single-cell expression (non-negative) with cell-type labels.
        config: Hyper-parameters.
        device: ``None`` = CUDA when available, else CPU.
        show_progress: Show tqdm bars while embedding.

    Returns:
        The trained model, the baseline and the validation metrics.

    Raises:
        InputValidationError: Fewer than 2 cell types, or too few genes in the vocabulary.
    """
    if config.loss not in LOSSES:
        raise InputValidationError(f"loss must be one of {LOSSES}, got {config.loss!r}")
    types = cells.cell_types
    if len(types) < 2:
        raise InputValidationError(f"{cells.source}: need at least 2 cell types for MLP-A pre-training, found {types}")
    dev = resolve_device(device)
    rng = np.random.default_rng(config.seed)
    gene_ids, coverage = loaded.vocab.map_genes(list(cells.genes))
    if coverage.n_found < MIN_VOCAB_GENES:
        raise InputValidationError(f"{cells.source}: {coverage}; at least {MIN_VOCAB_GENES} genes must be in the scGPT vocabulary")
    logger.info("MLP-A data %s: %s", cells.source, coverage)
    y = np.array([types.index(t) for t in cells.labels], dtype=np.int64)
    onehot = np.eye(len(types), dtype=np.float32)
    train, val = stratified_holdout(cells.labels, config.val_fraction, rng)
    x = cells.x.astype(np.float64)

    def emb(mat: np.ndarray) -> np.ndarray:
        return embed_matrix(
            loaded,
            mat,
            gene_ids,
            value_mode="counts",
            max_length=config.max_length,
            seed=config.seed,
            device=dev,
            show_progress=show_progress,
        )

    pure = emb(x)
    # training pairs: any two training cells, lambda ~ U[0, 1]
    pi = rng.choice(train, config.n_pairs)
    pj = rng.choice(train, config.n_pairs)
    lam = rng.random(config.n_pairs)
    mix = emb(lam[:, None] * x[pi] + (1 - lam[:, None]) * x[pj])
    mix_t = lam[:, None] * onehot[y[pi]] + (1 - lam[:, None]) * onehot[y[pj]]
    # validation pairs: held-out cells of different types
    vi = rng.choice(val, config.n_val_pairs * 4)
    vj = rng.choice(val, config.n_val_pairs * 4)
    ok = y[vi] != y[vj]
    vi, vj = vi[ok][: config.n_val_pairs], vj[ok][: config.n_val_pairs]
    vlam = rng.random(len(vi))
    vmix = emb(vlam[:, None] * x[vi] + (1 - vlam[:, None]) * x[vj])
    vpairs = np.stack([y[vi], y[vj]], axis=1)
    train_emb = np.concatenate([pure[train], mix])
    train_t = np.concatenate([onehot[y[train]], mix_t])
    model = _train(train_emb, train_t, len(types), config, config.seed, dev)
    baseline = _train(pure[train], onehot[y[train]], len(types), config, config.seed, dev)
    metrics = {
        "mixup": _evaluate(model, pure[val], y[val], vmix, vpairs, vlam),
        "no_mixup": _evaluate(baseline, pure[val], y[val], vmix, vpairs, vlam),
        "majority_class_accuracy": round(float(np.bincount(y[val]).max() / max(len(val), 1)), 4),
        "constant_half_mix_mae": round(float(np.abs(0.5 - vlam).mean()), 4),
    }
    logger.info("MLP-A validation: %s", metrics)
    meta = {
        "format_version": MLP_A_FORMAT_VERSION,
        "scgpt_checkpoint_hash": loaded.checkpoint_hash,
        "scgpt_folder": str(loaded.folder),
        "in_dim": int(pure.shape[1]),
        "hidden": config.hidden,
        "n_layers": config.n_layers,
        "dropout": config.dropout,
        "cell_types": types,
        "dataset": cells.source,
        "n_cells": int(len(y)),
        "gene_coverage": {"n_given": coverage.n_given, "n_found": coverage.n_found},
        "config": asdict(config),
        "metrics": metrics,
        "input": "L2-normalised scGPT <cls> embedding (value_mode counts, deterministic, seed=config.seed)",
        "output": "MLP-A hidden vector (the 'scgpt_smooth' genomic feature G2)",
    }
    return SmoothingResult(model=model, baseline=baseline, cell_types=types, metrics=metrics, meta=meta)


def metadata_path(weights: str | Path) -> Path:
    """The JSON metadata file beside an MLP-A weights file (``mlp_a.safetensors`` → ``mlp_a.json``)."""
    return Path(weights).with_suffix(".json")


def save_mlp_a(result: SmoothingResult, path: str | Path) -> Path:
    """Write ``path`` (safetensors: ``mlp_a.*`` and ``classifier.*``) and its JSON metadata atomically.

    Returns:
        The weights path.
    """
    from safetensors.torch import save_file

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in result.model.state_dict().items()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    save_file(state, tmp, metadata={"format": "pathgptomic-mlp-a", "format_version": str(MLP_A_FORMAT_VERSION)})
    os.replace(tmp, path)
    meta = dict(result.meta)
    meta["weights_sha256"] = file_sha256(path)
    mp = metadata_path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(meta, fh, indent=2)
    os.replace(tmp, mp)
    return path


@dataclass
class LoadedMLPA:
    """A loaded MLP-A file.

    Attributes:
        model: MLP-A + classifier, eval mode, frozen.
        meta: The JSON metadata.
        sha256: sha256 of the weights file.
        path: The weights file.
    """

    model: SmoothingModel
    meta: dict[str, Any]
    sha256: str
    path: Path

    def transform(self, embeddings: np.ndarray) -> np.ndarray:
        """MLP-A hidden output, shape ``(n, hidden)`` float32; NaN rows stay NaN."""
        emb = np.asarray(embeddings, dtype=np.float32)
        bad = ~np.isfinite(emb).all(axis=1)
        with torch.no_grad():
            out = self.model.mlp_a(torch.from_numpy(np.nan_to_num(emb))).numpy().astype(np.float32)
        out[bad] = np.nan
        return out


def load_mlp_a(path: str | Path, *, expected_checkpoint_hash: str | None = None) -> LoadedMLPA:
    """Read an MLP-A file written by :func:`save_mlp_a`.

    Args:
        path: The ``.safetensors`` file (its ``.json`` metadata must sit beside it).
        expected_checkpoint_hash: Refuse an MLP-A trained on another scGPT checkpoint.

    Raises:
        CheckpointError: Missing files, unknown format, or a checkpoint-hash mismatch.
    """
    from safetensors.torch import load_file

    path = Path(path)
    mp = metadata_path(path)
    if not path.is_file() or not mp.is_file():
        raise CheckpointError(f"MLP-A file {path} or its metadata {mp.name} is missing; train one with `pathgptomic smooth`")
    meta = json.loads(mp.read_text(encoding="utf-8"))
    if meta.get("format_version") != MLP_A_FORMAT_VERSION:
        raise CheckpointError(f"{mp}: unknown MLP-A format version {meta.get('format_version')!r} (this code reads {MLP_A_FORMAT_VERSION})")
    if expected_checkpoint_hash and meta.get("scgpt_checkpoint_hash") != expected_checkpoint_hash:
        raise CheckpointError(
            f"{path}: this MLP-A was trained on scGPT checkpoint {str(meta.get('scgpt_checkpoint_hash'))[:12]}… but the "
            f"embeddings come from {expected_checkpoint_hash[:12]}…; retrain it with `pathgptomic smooth --scgpt-folder <folder>`"
        )
    model = SmoothingModel(
        int(meta["in_dim"]), len(meta["cell_types"]), int(meta["hidden"]), int(meta["n_layers"]), float(meta.get("dropout", 0.0))
    )
    try:
        model.load_state_dict(load_file(str(path)), strict=True)
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not match the metadata in {mp.name} ({exc})") from exc
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return LoadedMLPA(model=model, meta=meta, sha256=file_sha256(path), path=path)
