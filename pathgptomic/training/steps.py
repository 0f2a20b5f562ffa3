"""Pieces of one training run: the optimiser, the (modulated) optimisation step and early stopping.

:func:`make_optimizer` builds Adam (default) or SGD over three parameter groups tagged
``genomic`` / ``image`` / ``head``; :func:`modulated_step` applies the balance rule of
docs/ARCHITECTURE.md ("Balance") after ``backward()`` — branch gradients scaled by
:math:`k^m = \\min(1 - \\tanh(\\alpha(\\rho^m - 1)), 1)` and, under Adam, the branch's step size
too (Adam's update is invariant to a constant gradient scale) — then steps the optimiser;
:class:`EarlyStopping` keeps the best inner-validation state; :class:`WeightAverage` averages the
weights of the last epochs (stochastic weight averaging).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import torch

from pathgptomic.nn.fusion import PathGPTomic
from pathgptomic.training.balance import GradientModulator
from pathgptomic.training.config import TrainConfig

#: Balance statistics logged when nothing is computed (``concat`` without ``log_balance``, unimodal models).
NO_BALANCE = {
    "rho_g": float("nan"),
    "rho_p": float("nan"),
    "grad_norm_g": float("nan"),
    "grad_norm_p": float("nan"),
    "coef_g": 1.0,
    "coef_p": 1.0,
    "modulated": False,
}


def make_optimizer(cfg: TrainConfig, model: PathGPTomic) -> torch.optim.Optimizer:
    """Adam or SGD (momentum 0.9) over the model's genomic, image and head parameter groups.

    Each group carries ``"branch"`` so :func:`modulated_step` can scale its step size.
    """
    groups = [
        {"params": model.genomic_parameters(), "branch": "genomic"},
        {"params": model.image_parameters(), "branch": "image"},
        {"params": [p for p in model.head_parameters() if p.requires_grad], "branch": "head"},
    ]
    groups = [g for g in groups if g["params"]]
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(groups, lr=cfg.lr, weight_decay=cfg.weight_decay)


def as_float(value: Any) -> Any:
    """A logged value as a Python float (booleans kept, None → NaN, tensors read out)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if value is None:
        return float("nan")
    if isinstance(value, torch.Tensor):
        return float(value.detach().cpu())
    return float(value)


def modulated_step(
    cfg: TrainConfig,
    optimizer: torch.optim.Optimizer,
    modulator: GradientModulator | None,
    out: Any,
    time: torch.Tensor,
    event: torch.Tensor,
    epoch: int,
) -> dict[str, Any]:
    """After ``loss.backward()``: balance statistics (and gradient scaling), step-size scaling, ``optimizer.step()``.

    Args:
        cfg: Training configuration (``lr``, ``optimizer``, ``modulate_step_size``).
        optimizer: From :func:`make_optimizer`.
        modulator: The gradient modulator, or None when no balance is computed.
        out: The model output of the batch (branch terms and bias).
        time: Batch times, shape ``(B,)``.
        event: Batch events, shape ``(B,)``.
        epoch: Current epoch (modulation may be limited to an epoch window).

    Returns:
        The step's balance statistics (``rho_g``, ``rho_p``, ``coef_g``, ``coef_p``, gradient norms, ``modulated``).
    """
    if modulator is not None:
        stats = modulator.step(
            out.genomic_term.detach().float(), out.image_term.detach().float(), out.bias.detach().float(), time, event, epoch
        )
    else:
        stats = dict(NO_BALANCE)
    if cfg.optimizer == "adam" and cfg.modulate_step_size:
        coef = {"genomic": as_float(stats.get("coef_g", 1.0)), "image": as_float(stats.get("coef_p", 1.0))}
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * coef.get(group["branch"], 1.0)
    optimizer.step()
    return stats


class EarlyStopping:
    """Best inner-validation C-index so far, its model state and epoch; patience counter.

    Args:
        patience: Epochs without improvement before :meth:`update` says stop.
        last_epoch: Epoch reported when no score was ever finite.
    """

    def __init__(self, patience: int, last_epoch: int) -> None:
        self.patience = patience
        self.best_score = -np.inf
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_epoch = last_epoch
        self.bad_epochs = 0

    def update(self, score: float, model: torch.nn.Module, epoch: int) -> bool:
        """Record this epoch's score (NaN counts as no improvement); True when training should stop."""
        score = score if np.isfinite(score) else -np.inf
        if score > self.best_score:
            self.best_score, self.best_state, self.best_epoch = score, copy.deepcopy(model.state_dict()), epoch
            self.bad_epochs = 0
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restore(self, model: torch.nn.Module) -> int | None:
        """Load the best state into ``model``; its epoch, or None when none was recorded."""
        if self.best_state is None:
            return None
        model.load_state_dict(self.best_state)
        return self.best_epoch


class WeightAverage:
    r"""Running mean of a model's parameters over the epochs it is fed (stochastic weight averaging,
    Izmailov et al., 2018), kept by :class:`torch.optim.swa_utils.AveragedModel`.

    After epochs :math:`e_1..e_m` the average is :math:`\bar w = \frac{1}{m}\sum_i w_{e_i}`. Buffers are
    not averaged: the frozen projections do not change during training, and batch-normalisation
    statistics (only in a patch encoder trained end to end) belong to no single epoch's weights —
    :meth:`apply` recomputes them for the averaged weights.
    """

    def __init__(self) -> None:
        self.averaged: torch.optim.swa_utils.AveragedModel | None = None

    @property
    def count(self) -> int:
        """Number of epochs averaged so far."""
        return 0 if self.averaged is None else int(self.averaged.n_averaged)

    def update(self, model: torch.nn.Module) -> None:
        """Fold the model's current parameters into the average."""
        if self.averaged is None:
            self.averaged = torch.optim.swa_utils.AveragedModel(model)
        self.averaged.update_parameters(model)

    def apply(self, model: torch.nn.Module, batches: Callable[[], Iterable[Any]]) -> int:
        """Write the averaged parameters into ``model`` and, when it has batch normalisation, recompute
        its running statistics over ``batches()`` (the training patients' inputs, each with ``.to``).

        Returns:
            The number of epochs averaged (0: nothing done).
        """
        if self.averaged is None:
            return 0
        with torch.no_grad():
            for param, mean in zip(model.parameters(), self.averaged.module.parameters()):
                param.copy_(mean)
        if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
            torch.optim.swa_utils.update_bn(batches(), model)
        return self.count
