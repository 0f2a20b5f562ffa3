r"""Cox proportional-hazards negative partial log-likelihood, vectorised in O(n log n).

The loss is a pure function of the risk scores :math:`\theta` (higher = higher risk), the
follow-up times and the event indicators (1 = death observed, 0 = censored). Subjects are
sorted once by time (descending), so every risk set :math:`R(t_i) = \{j : t_j \ge t_i\}` is a
prefix of the sorted order and its log-sum-exp is one :func:`torch.logcumsumexp`. Tied times
are handled group-wise: all subjects sharing a time are in each other's risk set.

Everything is computed in log space, so the loss and its gradient stay finite for
:math:`|\theta|` up to at least :math:`10^3` in float32.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import torch

from pathgptomic.errors import ConfigError, InputValidationError
from pathgptomic.validators import check_event, check_same_length, check_time, vector_length

logger = logging.getLogger(__name__)

__all__ = ["cox_ph_loss", "log_risk_set_sums", "outcome_tensors"]

TiesMethod = Literal["breslow", "efron"]
Reduction = Literal["mean", "sum"]


def outcome_tensors(
    time: torch.Tensor | np.ndarray, event: torch.Tensor | np.ndarray, like: torch.Tensor, *, reference: str = "theta"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Checks follow-up times and event indicators (:mod:`pathgptomic.validators`) and returns them as tensors.

    Times only need to be finite here (only their order matters); events must be 0/1 or boolean.
    Values are not checked while the function is scripted or traced.

    Args:
        time: follow-up times, shape ``(n,)`` or ``(n, 1)``.
        event: event indicators, shape ``(n,)`` or ``(n, 1)``.
        like: the per-patient tensor they belong to (its device and first dimension ``n``).
        reference: name of ``like`` in messages.

    Returns:
        ``(time, event)`` of shape ``(n,)`` on ``like.device``; ``event`` is boolean.

    Raises:
        InputValidationError: wrong shape, dtype or values (the message names the argument).
    """
    time_t = torch.as_tensor(time, device=like.device)
    event_t = torch.as_tensor(event, device=like.device)
    for name, t in (("time", time_t), ("event", event_t)):
        vector_length(tuple(t.shape), name)
        check_same_length(name, tuple(t.shape), reference, tuple(like.shape))
    time_t, event_t = time_t.reshape(-1), event_t.reshape(-1)
    if torch.jit.is_scripting() or torch.jit.is_tracing():  # pragma: no cover - no value checks when traced
        return time_t, event_t.bool()
    check_time(time_t, lower="any")
    check_event(event_t)
    return time_t, event_t if event_t.dtype == torch.bool else event_t == 1


def _validate(
    theta: torch.Tensor, time: torch.Tensor | np.ndarray, event: torch.Tensor | np.ndarray
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Checks shapes, dtypes and values; returns ``(theta, time, event_bool)`` as 1-D tensors."""
    if not isinstance(theta, torch.Tensor):
        raise InputValidationError(
            f"argument 'theta' must be a torch.Tensor, got {type(theta).__name__}; pass the model output tensor so gradients can flow."
        )
    if not torch.is_floating_point(theta):
        raise InputValidationError(f"argument 'theta' must be a floating-point tensor, got dtype {theta.dtype}; cast it with .float().")
    vector_length(tuple(theta.shape), "theta")
    time_1d, event_1d = outcome_tensors(time, event, theta)
    return theta.reshape(-1), time_1d, event_1d


def _sorted_groups(time: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sorts by time (descending, stable) and finds tied-time groups.

    Returns:
        ``order`` (n,), ``inverse`` (n,) group index of each sorted subject, ``counts`` (g,) group sizes
        and ``last`` (g,) the sorted index of the last member of each group (where the cumulative
        risk-set sum covers the whole group).
    """
    sorted_time, order = torch.sort(time, descending=True, stable=True)
    _, inverse, counts = torch.unique_consecutive(sorted_time, return_inverse=True, return_counts=True)
    last = torch.cumsum(counts, 0) - 1
    return order, inverse, counts, last


def log_risk_set_sums(theta: torch.Tensor, time: torch.Tensor) -> torch.Tensor:
    r"""Log of the risk-set sums :math:`\log \sum_{j: t_j \ge t_i} e^{\theta_j}` for every subject.

    Ties are handled group-wise (every subject tied at :math:`t_i` is in :math:`R(t_i)`).

    Args:
        theta: log-risk scores, shape ``(n,)``.
        time: follow-up times, shape ``(n,)``, on the same device.

    Returns:
        Tensor of shape ``(n,)`` in the original subject order, differentiable in ``theta``.
    """
    order, inverse, _, last = _sorted_groups(time)
    lcse = torch.logcumsumexp(theta[order], dim=0)
    per_sorted = lcse[last][inverse]
    return torch.zeros_like(per_sorted).index_copy(0, order, per_sorted)


def _breslow_terms(theta_s: torch.Tensor, inverse: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    r"""Per-subject Breslow log-likelihood terms :math:`\theta_i - \log\sum_{R(t_i)} e^{\theta_j}` (sorted order)."""
    lcse = torch.logcumsumexp(theta_s, dim=0)
    return theta_s - lcse[last][inverse]


def _efron_terms(
    theta_s: torch.Tensor, event_s: torch.Tensor, inverse: torch.Tensor, counts: torch.Tensor, last: torch.Tensor
) -> torch.Tensor:
    r"""Per-subject Efron log-likelihood terms (sorted order; only event rows are meaningful).

    For a tied-time group with event set :math:`D` of size :math:`d`, event number
    :math:`l \in \{0, \dots, d-1\}` contributes
    :math:`\theta_i - \log\big(\sum_{R} e^{\theta_j} - \tfrac{l}{d}\sum_{D} e^{\theta_j}\big)`, evaluated as
    :math:`\theta_i - L_R - \operatorname{log1p}\big(-\tfrac{l}{d} e^{L_D - L_R}\big)` with
    :math:`L_R, L_D` the log-sums.
    """
    n_groups = counts.shape[0]
    lcse = torch.logcumsumexp(theta_s, dim=0)
    log_r = lcse[last]  # (g,)
    # log-sum-exp of theta over the events of each group (segment reduction, shift detached).
    neg_inf = torch.finfo(theta_s.dtype).min
    masked = torch.where(event_s, theta_s, torch.full_like(theta_s, neg_inf))
    gmax = torch.full((n_groups,), neg_inf, dtype=theta_s.dtype, device=theta_s.device)
    gmax = gmax.scatter_reduce(0, inverse, masked.detach(), reduce="amax", include_self=True)
    gmax = torch.where(torch.isfinite(gmax) & (gmax > neg_inf), gmax, torch.zeros_like(gmax))
    # exp only of event rows (others -> exp(-inf) = 0) so no inf/NaN leaks into the backward pass.
    shifted = torch.where(event_s, theta_s - gmax[inverse], torch.full_like(theta_s, float("-inf")))
    sum_d = torch.zeros(n_groups, dtype=theta_s.dtype, device=theta_s.device).index_add(0, inverse, torch.exp(shifted))
    d = torch.zeros(n_groups, dtype=theta_s.dtype, device=theta_s.device).index_add(0, inverse, event_s.to(theta_s.dtype))
    has_events = d > 0
    log_d = torch.log(torch.where(has_events, sum_d, torch.ones_like(sum_d))) + gmax
    # rank l of each event inside its group (0-based), from cumulative event counts.
    ev = event_s.to(torch.long)
    cs = torch.cumsum(ev, 0)
    first = last - counts + 1
    before = cs[first] - ev[first]
    rank = (cs - before[inverse] - 1).clamp_min(0).to(theta_s.dtype)
    frac = torch.where(event_s, rank / d.clamp_min(1.0)[inverse], torch.zeros_like(rank))
    log_ratio = torch.where(event_s, (log_d - log_r)[inverse], torch.zeros_like(theta_s))
    ratio = torch.exp(log_ratio.clamp(max=0.0))  # L_D <= L_R; clamp only absorbs rounding
    return theta_s - log_r[inverse] - torch.log1p(-frac * ratio)


def cox_ph_loss(
    theta: torch.Tensor,
    time: torch.Tensor | np.ndarray,
    event: torch.Tensor | np.ndarray,
    *,
    ties: TiesMethod = "breslow",
    reduction: Reduction = "mean",
) -> torch.Tensor:
    r"""Cox negative partial log-likelihood of risk scores ``theta``.

    With events :math:`\delta_i \in \{0, 1\}`, times :math:`t_i`, risk sets
    :math:`R(t) = \{j : t_j \ge t\}` and :math:`N_e = \sum_i \delta_i` events, Breslow's
    handling of ties gives

    .. math::

        \mathcal{L}_{\text{Breslow}}(\theta) = -\frac{1}{N_e} \sum_{i:\,\delta_i = 1}
        \Big( \theta_i - \log \sum_{j \in R(t_i)} e^{\theta_j} \Big).

    Efron's method, for each distinct event time :math:`t` with event set :math:`D(t)` of
    size :math:`d`, replaces the denominator of the :math:`l`-th tied event
    (:math:`l = 0, \dots, d - 1`) by a partially emptied risk set:

    .. math::

        \mathcal{L}_{\text{Efron}}(\theta) = -\frac{1}{N_e} \sum_{t} \Big( \sum_{i \in D(t)} \theta_i
        - \sum_{l=0}^{d-1} \log\Big( \sum_{j \in R(t)} e^{\theta_j}
        - \frac{l}{d} \sum_{j \in D(t)} e^{\theta_j} \Big) \Big).

    Without ties both are equal. ``reduction="sum"`` drops the :math:`1/N_e` factor (the
    negative of the log partial likelihood that lifelines' ``CoxPHFitter.log_likelihood_``
    reports for Efron). The computation sorts once (O(n log n)) and works in log space, so
    it is stable for :math:`|\theta| \le 10^3`. A batch without events returns
    ``theta.sum() * 0.0``: zero, on ``theta``'s device, still connected to the graph (finite,
    zero gradient). Half-precision ``theta`` is computed in float32.

    Args:
        theta: predicted log-risk (higher = higher risk), shape ``(n,)`` or ``(n, 1)``, floating point.
        time: follow-up times, shape ``(n,)`` or ``(n, 1)``, finite (any unit; only the order matters).
        event: event indicators, shape ``(n,)`` or ``(n, 1)``, boolean or 0/1 (1 = event observed).
        ties: ``"breslow"`` (default) or ``"efron"``.
        reduction: ``"mean"`` over events (default) or ``"sum"``.

    Returns:
        Scalar tensor (dtype of ``theta``, at least float32).

    Raises:
        ConfigError: unknown ``ties`` or ``reduction``.
        InputValidationError: wrong shape, dtype or values (message names the argument and its shape).

    Examples:
        >>> import torch
        >>> theta = torch.tensor([0.5, -0.2, 1.0, 0.0])
        >>> time = torch.tensor([5.0, 3.0, 3.0, 8.0])
        >>> event = torch.tensor([1, 1, 0, 1])
        >>> cox_ph_loss(theta, time, event)
        tensor(0.8321)
        >>> cox_ph_loss(theta, time, torch.zeros(4))
        tensor(0.)
    """
    if ties not in ("breslow", "efron"):
        raise ConfigError(f"argument 'ties' must be 'breslow' or 'efron', got {ties!r}.")
    if reduction not in ("mean", "sum"):
        raise ConfigError(f"argument 'reduction' must be 'mean' or 'sum', got {reduction!r}.")
    theta_1d, time_1d, event_1d = _validate(theta, time, event)
    if theta_1d.dtype in (torch.float16, torch.bfloat16):
        theta_1d = theta_1d.float()
    n_events = int(event_1d.sum())
    if n_events == 0:
        return theta_1d.sum() * 0.0
    order, inverse, counts, last = _sorted_groups(time_1d)
    theta_s = theta_1d[order]
    event_s = event_1d[order]
    if ties == "breslow":
        terms = _breslow_terms(theta_s, inverse, last)
    else:
        terms = _efron_terms(theta_s, event_s, inverse, counts, last)
    total = -terms[event_s].sum()
    return total / n_events if reduction == "mean" else total
