r"""Balanced multimodal training: per-batch modality ratios and gradient modulation.

This is OGM-GE (Peng et al., CVPR 2022) carried over to the Cox head
:math:`\theta = W^G G + W^P P + b` (docs/ARCHITECTURE.md, "Balance"). For a batch, each branch gets a logit
that shares the bias equally,

.. math::

    a_k = W^G G_k + b/2, \qquad c_k = W^P P_k + b/2,

and a score that is its summed risk-set softmax at the event times (the partial-likelihood
contribution of that branch alone), with risk sets :math:`R(t_k) = \{j : t_j \ge t_k\}`
(tied times included):

.. math::

    s^G = \sum_{k:\,C(k)=1} \frac{e^{a_k}}{\sum_{j \in R(t_k)} e^{a_j}}, \qquad
    s^P = \sum_{k:\,C(k)=1} \frac{e^{c_k}}{\sum_{j \in R(t_k)} e^{c_j}},

    \rho^G = s^G / s^P, \qquad \rho^P = 1 / \rho^G, \qquad
    k^m = \min\big(1 - \tanh(\alpha (\rho^m - 1)),\ 1\big).

The dominant branch (:math:`\rho^m > 1`) gets :math:`k^m < 1`; the other keeps 1. After
``loss.backward()`` and before ``optimizer.step()``, :class:`GradientModulator` multiplies
the gradients of the genomic branch by :math:`k^G` and of the image branch by :math:`k^P`;
the shared head is never touched. Parameters are selected by branch *module* (lists passed
in), not by tensor rank: OGM-GE's "4-D gradients only" filter would scale nothing in
networks made of linear layers (OGM-GE reference code, ``GeWu-Lab/OGM-GE_CVPR2022`` ``main.py``;
docs/DECISIONS.md, "Gradient modulation by branch module").

Interpretation of the score (:class:`RhoScore`): the paper's eq. 5 prints the numerator
without the exponential, :math:`a_k / \sum_{j} e^{a_j}`. That is not a well-defined score:
it changes sign with :math:`a_k`, is not invariant to the shared shift :math:`b/2`, and the
ratio :math:`s^G/s^P` can be negative or divide by zero, so :math:`\tanh` would then
*raise* a coefficient above 1 or flip it. It is therefore not offered; the enum keeps one
documented value (``"softmax"``) so that a better-founded alternative can be added without
changing the configuration format.
"""

from __future__ import annotations

import enum
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from pathgptomic.errors import ConfigError, InputValidationError
from pathgptomic.training.cox import log_risk_set_sums, outcome_tensors
from pathgptomic.validators import check_same_length, vector_length

logger = logging.getLogger(__name__)

__all__ = [
    "RhoScore",
    "BalanceConfig",
    "branch_scores",
    "branch_rho",
    "modulation_coefficient",
    "GradientModulator",
]

_MAX_LOG_RATIO = 700.0  # exp(700) is finite in float64; tanh has long saturated by then


class RhoScore(str, enum.Enum):
    """How a branch's batch score :math:`s^m` is computed.

    Members:
        SOFTMAX: :math:`s = \\sum_{events} e^{a_k} / \\sum_{R(t_k)} e^{a_j}` (docs/ARCHITECTURE.md, "Balance"). The
            paper-literal variant without the exponential in the numerator is not well defined
            (see the module docstring) and is deliberately absent.
    """

    SOFTMAX = "softmax"


@dataclass
class BalanceConfig:
    """Options of balanced training (gradient modulation).

    Attributes:
        enabled: modulate gradients at all; when False ρ is still computed and reported.
        alpha: strength :math:`\\alpha > 0` of the coefficient :math:`1 - \\tanh(\\alpha(\\rho - 1))`
            (1.0 in the paper; OGM-GE uses 0.1–0.8).
        start_epoch: first epoch (0-based) in which gradients are modulated.
        end_epoch: first epoch in which they are no longer modulated (half-open window
            ``[start_epoch, end_epoch)``); ``None`` = until the end.
        ge_noise: OGM-GE's generalisation enhancement: add Gaussian noise with the standard
            deviation of the unmodulated gradient (per parameter tensor) to modulated gradients.
        score: the branch score (:class:`RhoScore`); only ``"softmax"``.

    Raises:
        ConfigError: a value out of range (message names the field).
    """

    enabled: bool = True
    alpha: float = 1.0
    start_epoch: int = 0
    end_epoch: int | None = None
    ge_noise: bool = False
    score: RhoScore | str = RhoScore.SOFTMAX

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, (bool, np.bool_)):
            raise ConfigError(f"BalanceConfig.enabled must be True or False, got {self.enabled!r}.")
        if not isinstance(self.ge_noise, (bool, np.bool_)):
            raise ConfigError(f"BalanceConfig.ge_noise must be True or False, got {self.ge_noise!r}.")
        try:
            alpha = float(self.alpha)
        except (TypeError, ValueError):
            raise ConfigError(f"BalanceConfig.alpha must be a positive number, got {self.alpha!r}.") from None
        if isinstance(self.alpha, bool) or not math.isfinite(alpha) or alpha <= 0:
            raise ConfigError(
                f"BalanceConfig.alpha must be a finite number > 0 (the paper uses 1.0), got {self.alpha!r}; "
                "to switch modulation off set enabled=False."
            )
        self.alpha = alpha
        if isinstance(self.start_epoch, bool) or not isinstance(self.start_epoch, (int, np.integer)) or self.start_epoch < 0:
            raise ConfigError(f"BalanceConfig.start_epoch must be an integer >= 0, got {self.start_epoch!r}.")
        self.start_epoch = int(self.start_epoch)
        if self.end_epoch is not None:
            if isinstance(self.end_epoch, bool) or not isinstance(self.end_epoch, (int, np.integer)) or self.end_epoch <= self.start_epoch:
                raise ConfigError(
                    f"BalanceConfig.end_epoch must be None or an integer > start_epoch ({self.start_epoch}), got {self.end_epoch!r}."
                )
            self.end_epoch = int(self.end_epoch)
        try:
            self.score = RhoScore(self.score)
        except ValueError:
            raise ConfigError(f"BalanceConfig.score must be one of {[s.value for s in RhoScore]}, got {self.score!r}.") from None

    def in_window(self, epoch: int) -> bool:
        """Whether ``epoch`` (0-based) lies in ``[start_epoch, end_epoch)``."""
        return epoch >= self.start_epoch and (self.end_epoch is None or epoch < self.end_epoch)


def _branch_inputs(
    genomic_term: torch.Tensor | np.ndarray,
    image_term: torch.Tensor | np.ndarray,
    bias: torch.Tensor | np.ndarray | float,
    time: torch.Tensor | np.ndarray,
    event: torch.Tensor | np.ndarray,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Detaches and validates; returns float64 ``a``, ``c`` (n,), time (n,), event bool (n,)."""
    g = torch.as_tensor(genomic_term).detach().double()
    p = torch.as_tensor(image_term).detach().to(device=g.device, dtype=torch.float64)
    vector_length(tuple(g.shape), "genomic_term")
    vector_length(tuple(p.shape), "image_term")
    check_same_length("image_term", tuple(p.shape), "genomic_term", tuple(g.shape))
    time_1d, event_1d = outcome_tensors(time, event, g, reference="genomic_term")
    g, p = g.reshape(-1), p.reshape(-1)
    b = torch.as_tensor(bias).detach().to(device=g.device, dtype=torch.float64)
    if b.numel() != 1:
        raise InputValidationError(f"argument 'bias' must be a scalar (the head bias b), got shape {tuple(b.shape)}.")
    half_b = b.reshape(()) / 2
    return g + half_b, p + half_b, time_1d, event_1d


def _log_scores(
    genomic_term: torch.Tensor | np.ndarray,
    image_term: torch.Tensor | np.ndarray,
    bias: torch.Tensor | np.ndarray | float,
    time: torch.Tensor | np.ndarray,
    event: torch.Tensor | np.ndarray,
) -> tuple[float, float] | None:
    """``(log s^G, log s^P)`` with :math:`\\log s = \\operatorname{logsumexp}_{events}(a_k - \\log\\sum_{R(t_k)} e^{a_j})`;
    ``None`` without events."""
    a, c, time_1d, event_1d = _branch_inputs(genomic_term, image_term, bias, time, event)
    if not bool(event_1d.any()):
        return None
    out = []
    for logit in (a, c):
        log_terms = logit - log_risk_set_sums(logit, time_1d)
        out.append(float(torch.logsumexp(log_terms[event_1d], dim=0)))
    return out[0], out[1]


def branch_scores(
    genomic_term: torch.Tensor | np.ndarray,
    image_term: torch.Tensor | np.ndarray,
    bias: torch.Tensor | np.ndarray | float,
    time: torch.Tensor | np.ndarray,
    event: torch.Tensor | np.ndarray,
) -> tuple[float, float] | None:
    r"""Branch scores :math:`(s^G, s^P)` of one batch, or ``None`` when it has no events.

    See the module docstring for the formula. Computed in float64 log space without gradient.

    Args:
        genomic_term: :math:`W^G G_k`, shape ``(n,)`` or ``(n, 1)``.
        image_term: :math:`W^P P_k`, shape ``(n,)`` or ``(n, 1)``.
        bias: head bias :math:`b` (scalar).
        time: follow-up times, shape ``(n,)``.
        event: event indicators, shape ``(n,)``, 0/1 or boolean.

    Returns:
        ``(s_g, s_p)``, each in :math:`(0, N_e]`, or ``None`` without events.
    """
    logs = _log_scores(genomic_term, image_term, bias, time, event)
    return None if logs is None else (math.exp(logs[0]), math.exp(logs[1]))


def branch_rho(
    genomic_term: torch.Tensor | np.ndarray,
    image_term: torch.Tensor | np.ndarray,
    bias: torch.Tensor | np.ndarray | float,
    time: torch.Tensor | np.ndarray,
    event: torch.Tensor | np.ndarray,
) -> tuple[float, float] | None:
    r"""Discrepancy ratios :math:`(\rho^G, \rho^P) = (s^G/s^P,\ s^P/s^G)` of one batch.

    The ratio is formed in log space (:math:`\log s^G - \log s^P`, clipped to :math:`\pm 700`),
    so it is finite even when one branch's logits are extreme.

    Args:
        genomic_term: :math:`W^G G_k`, shape ``(n,)`` or ``(n, 1)``.
        image_term: :math:`W^P P_k`, shape ``(n,)`` or ``(n, 1)``.
        bias: head bias :math:`b` (scalar; each branch gets :math:`b/2`).
        time: follow-up times, shape ``(n,)``.
        event: event indicators, shape ``(n,)``, 0/1 or boolean.

    Returns:
        ``(rho_g, rho_p)``, or ``None`` when the batch has no events (ρ undefined).

    Raises:
        InputValidationError: shapes or values are wrong.

    Examples:
        >>> import torch
        >>> time = torch.tensor([1.0, 2.0]); event = torch.tensor([1, 0])
        >>> rho_g, rho_p = branch_rho(torch.tensor([1.0, 0.0]), torch.zeros(2), 0.0, time, event)
        >>> round(rho_g, 4), round(rho_p, 4)
        (1.4621, 0.6839)
    """
    logs = _log_scores(genomic_term, image_term, bias, time, event)
    if logs is None:
        return None
    log_ratio = min(max(logs[0] - logs[1], -_MAX_LOG_RATIO), _MAX_LOG_RATIO)
    return math.exp(log_ratio), math.exp(-log_ratio)


def modulation_coefficient(rho: float, alpha: float) -> float:
    r"""Coefficient :math:`k = \min(1 - \tanh(\alpha(\rho - 1)), 1)`, in :math:`[0, 1]`.

    Args:
        rho: discrepancy ratio of the branch (:math:`\rho \ge 0`); NaN (undefined) gives 1.
        alpha: modulation strength :math:`\alpha > 0`.

    Returns:
        The factor applied to the branch's gradients.

    Raises:
        ConfigError: ``alpha`` not a finite positive number, or ``rho`` negative.

    Examples:
        >>> round(modulation_coefficient(2.0, 1.0), 4)
        0.2384
        >>> modulation_coefficient(0.5, 1.0)
        1.0
    """
    if not math.isfinite(alpha) or alpha <= 0:
        raise ConfigError(f"argument 'alpha' must be a finite number > 0, got {alpha!r}.")
    if math.isnan(rho):
        return 1.0
    if rho < 0:
        raise ConfigError(f"argument 'rho' must be >= 0 (a ratio of positive scores), got {rho!r}.")
    return float(min(1.0 - math.tanh(alpha * (rho - 1.0)), 1.0))


def _collect(params: nn.Module | Iterable[torch.Tensor], name: str) -> list[torch.Tensor]:
    if isinstance(params, nn.Module):
        params = params.parameters()
    if isinstance(params, torch.Tensor):
        params = [params]
    out = [p for p in params]
    for p in out:
        if not isinstance(p, torch.Tensor):
            raise ConfigError(f"argument '{name}' must hold parameters (torch.Tensor), got {type(p).__name__}.")
    out = [p for p in out if p.requires_grad]
    if not out:
        raise ConfigError(
            f"argument '{name}' holds no trainable parameter; pass the branch module's parameters "
            "(e.g. list(model.genomic_branch.parameters()))."
        )
    # de-duplicate (shared tensors listed twice would be scaled twice)
    seen: set[int] = set()
    unique = []
    for p in out:
        if id(p) not in seen:
            seen.add(id(p))
            unique.append(p)
    return unique


def _grad_norm(params: list[torch.Tensor]) -> float:
    grads = [p.grad.detach() for p in params if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.double()) for g in grads])))


class GradientModulator:
    """Scales each branch's gradients by its OGM-GE coefficient (docs/ARCHITECTURE.md, "Balance").

    Call :meth:`step` after ``loss.backward()`` and before ``optimizer.step()``. Only the
    parameters passed in are touched; the fusion head (``W``, ``b``) must be in neither list.

    Args:
        genomic_params: parameters (or the module) of the genomic branch (SNN, MLP-B, ...).
        image_params: parameters (or the module) of the image branch.
        config: modulation options.

    Raises:
        ConfigError: empty parameter lists, or a parameter in both lists.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> g, p = nn.Linear(3, 1), nn.Linear(3, 1)
        >>> mod = GradientModulator(g.parameters(), p.parameters(), BalanceConfig())
        >>> sorted(mod.step(torch.tensor([2.0, 0.0]), torch.zeros(2), 0.0,
        ...                 torch.tensor([1.0, 2.0]), torch.tensor([1, 0]), epoch=0))
        ['coef_g', 'coef_p', 'grad_norm_g', 'grad_norm_p', 'modulated', 'rho_g', 'rho_p']
    """

    def __init__(
        self,
        genomic_params: nn.Module | Iterable[torch.Tensor],
        image_params: nn.Module | Iterable[torch.Tensor],
        config: BalanceConfig | None = None,
    ) -> None:
        self.config = config if config is not None else BalanceConfig()
        if not isinstance(self.config, BalanceConfig):
            raise ConfigError(f"argument 'config' must be a BalanceConfig, got {type(self.config).__name__}.")
        self.genomic_params = _collect(genomic_params, "genomic_params")
        self.image_params = _collect(image_params, "image_params")
        overlap = {id(p) for p in self.genomic_params} & {id(p) for p in self.image_params}
        if overlap:
            raise ConfigError(
                f"{len(overlap)} parameter tensor(s) are in both 'genomic_params' and 'image_params'; "
                "each parameter belongs to one branch and the shared head to neither."
            )

    @staticmethod
    def _apply(params: list[torch.Tensor], coef: float, noise: bool) -> None:
        for p in params:
            if p.grad is None:
                continue
            g = p.grad
            if noise:
                std = float(g.detach().float().std()) if g.numel() > 1 else 0.0
                # OGM-GE: grad <- grad * k + N(0, std(unmodulated grad) + 1e-8)
                eps = torch.randn(g.shape, device=g.device, dtype=torch.float32) * (std + 1e-8)
                g.mul_(coef).add_(eps.to(g.dtype))
            elif coef != 1.0:
                g.mul_(coef)

    def step(
        self,
        genomic_term: torch.Tensor | np.ndarray,
        image_term: torch.Tensor | np.ndarray,
        bias: torch.Tensor | np.ndarray | float,
        time: torch.Tensor | np.ndarray,
        event: torch.Tensor | np.ndarray,
        epoch: int,
    ) -> dict[str, float | bool]:
        """Computes ρ and the coefficients of this batch and scales the branch gradients in place.

        Gradient norms are measured before scaling. Without events in the batch ρ is NaN, both
        coefficients are 1 and nothing is changed. Outside the epoch window (or with
        ``enabled=False``) ρ is still reported but the coefficients are 1. With ``ge_noise``,
        each modulated parameter's gradient becomes ``grad * k + N(0, std(grad) + 1e-8)`` (the
        standard deviation of the unmodulated gradient, as in OGM-GE), for both branches.

        Args:
            genomic_term: :math:`W^G G`, shape ``(n,)`` or ``(n, 1)`` (detached internally).
            image_term: :math:`W^P P`, shape ``(n,)`` or ``(n, 1)``.
            bias: head bias :math:`b` (scalar).
            time: follow-up times, shape ``(n,)``.
            event: event indicators, shape ``(n,)``.
            epoch: current epoch (0-based).

        Returns:
            ``{"rho_g", "rho_p", "coef_g", "coef_p", "grad_norm_g", "grad_norm_p", "modulated"}``
            (floats, ``modulated`` bool).
        """
        cfg = self.config
        grad_norm_g = _grad_norm(self.genomic_params)
        grad_norm_p = _grad_norm(self.image_params)
        rho = branch_rho(genomic_term, image_term, bias, time, event)
        coef_g = coef_p = 1.0
        modulated = False
        if rho is None:
            rho_g = rho_p = float("nan")
            logger.debug("epoch %d: batch has no events, rho undefined, gradient modulation skipped", epoch)
        else:
            rho_g, rho_p = rho
            if cfg.enabled and cfg.in_window(epoch):
                coef_g = modulation_coefficient(rho_g, cfg.alpha)
                coef_p = modulation_coefficient(rho_p, cfg.alpha)
                modulated = True
                self._apply(self.genomic_params, coef_g, cfg.ge_noise)
                self._apply(self.image_params, coef_p, cfg.ge_noise)
        out: dict[str, float | bool] = {
            "rho_g": rho_g,
            "rho_p": rho_p,
            "coef_g": coef_g,
            "coef_p": coef_p,
            "grad_norm_g": grad_norm_g,
            "grad_norm_p": grad_norm_p,
            "modulated": modulated,
        }
        logger.debug("epoch %d balance step: %s", epoch, out)
        return out
