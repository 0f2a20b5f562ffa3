r"""Risk groups, Kaplan–Meier curves, at-risk tables, log-rank tests and hazard ratios.

Cut-offs always come from *training* risks and are then applied to any cohort, so a test
patient's group never depends on the other test patients. Everything returns DataFrames or
numbers (lifelines underneath); plotting lives in ``pathgptomic.plots``.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from pathgptomic.errors import ConfigError, DataQualityWarning, InputValidationError
from pathgptomic.validators import RISK_GROUP_ORDER, check_risk, check_survival, check_time, group_order

logger = logging.getLogger(__name__)

__all__ = [
    "risk_cutoffs",
    "assign_risk_groups",
    "group_order",
    "kaplan_meier",
    "at_risk_table",
    "logrank",
    "hazard_ratio",
]

_NAMES = {1: (RISK_GROUP_ORDER[0], RISK_GROUP_ORDER[-1]), 2: RISK_GROUP_ORDER}


def risk_cutoffs(train_risk: Any, scheme: str | Sequence[float] = "median") -> np.ndarray:
    """Risk cut-offs computed from training risks.

    Args:
        train_risk: risks of the training patients, shape ``(n,)``, finite.
        scheme: ``"median"`` (one cut-off: the median), ``"tertiles"`` (the 1/3 and 2/3
            quantiles), or an explicit list of one or two increasing risk values (absolute
            cut-offs on the risk scale, e.g. chosen by a clinician; ``train_risk`` is then only validated).

    Returns:
        Cut-offs, shape ``(1,)`` or ``(2,)``, increasing.

    Raises:
        ConfigError: unknown scheme, or explicit cut-offs that are not 1–2 finite increasing numbers.
        InputValidationError: ``train_risk`` empty or non-finite.

    Examples:
        >>> risk_cutoffs([0.0, 1.0, 2.0, 3.0])
        array([1.5])
    """
    risk = check_risk(train_risk, name="train_risk", allow_empty=False)
    if isinstance(scheme, str):
        if scheme == "median":
            return np.array([float(np.median(risk))])
        if scheme == "tertiles":
            return np.quantile(risk, [1.0 / 3.0, 2.0 / 3.0])
        raise ConfigError(f"risk-group scheme must be 'median', 'tertiles' or a list of cut-offs, got {scheme!r}.")
    try:
        cuts = np.asarray(scheme, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ConfigError(f"explicit risk cut-offs must be numbers, got {scheme!r}.") from None
    if cuts.size not in (1, 2) or not np.isfinite(cuts).all() or (cuts.size == 2 and cuts[1] <= cuts[0]):
        raise ConfigError(f"explicit risk cut-offs must be one or two finite, strictly increasing numbers, got {[float(c) for c in cuts]}.")
    return cuts


def assign_risk_groups(risk: Any, cutoffs: Any) -> np.ndarray:
    """Group labels: ``risk <= c1`` is "low", above the last cut-off is "high".

    Args:
        risk: risks, shape ``(n,)``, finite.
        cutoffs: from :func:`risk_cutoffs`, shape ``(1,)`` ("low"/"high") or ``(2,)``
            ("low"/"intermediate"/"high").

    Returns:
        Array of str, shape ``(n,)``.

    Raises:
        ConfigError: not one or two increasing cut-offs.
        InputValidationError: non-finite risks.

    Examples:
        >>> assign_risk_groups([0.1, 0.5, 0.9], [0.2, 0.6]).tolist()
        ['low', 'intermediate', 'high']
    """
    r = check_risk(risk)
    cuts = np.asarray(cutoffs, dtype=float).ravel()
    if cuts.size not in _NAMES or (cuts.size == 2 and cuts[1] <= cuts[0]) or not np.isfinite(cuts).all():
        raise ConfigError(f"cutoffs must be one or two finite increasing values, got {[float(c) for c in cuts]}.")
    names = np.array(_NAMES[cuts.size])
    return names[np.searchsorted(cuts, r, side="left")]


def _survival_groups(time: Any, event: Any, groups: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Checked ``(time, event, groups, group order)``; ``groups=None`` puts everyone in group ``"all"``."""
    if groups is None:
        t, e, _ = check_survival(time, event, allow_empty=False)
        g = np.full(t.shape, "all", dtype=object)
    else:
        t, e, other = check_survival(time, event, allow_empty=False, groups=groups)
        g = other["groups"]
    return t, e, g, group_order(g)


def kaplan_meier(time: Any, event: Any, groups: Any = None, *, alpha: float = 0.05) -> pd.DataFrame:
    r"""Kaplan–Meier survival per group (lifelines ``KaplanMeierFitter``), as one long table.

    .. math::

        \hat S(t) = \prod_{t_k \le t} \Big(1 - \frac{d_k}{n_k}\Big),

    with :math:`d_k` events at time :math:`t_k` and :math:`n_k` subjects at risk just before
    it. Confidence bounds are lifelines' exponential Greenwood ("log-log") interval.

    Args:
        time: follow-up times, shape ``(n,)``.
        event: event indicators, shape ``(n,)``.
        groups: group label per subject, shape ``(n,)``, or None for one group ``"all"``.
        alpha: 1 − coverage of the pointwise interval.

    Returns:
        DataFrame with columns ``group``, ``time``, ``survival``, ``ci_lower``, ``ci_upper``,
        ``at_risk`` (number at risk at the start of ``time``), ``events``, ``censored``; one row per
        group at time 0 and at each distinct observed time of the group (lifelines' timeline).
    """
    from lifelines import KaplanMeierFitter

    t, e, g, order = _survival_groups(time, event, groups)
    frames = []
    for label in order:
        m = g == label
        kmf = KaplanMeierFitter(alpha=alpha).fit(t[m], e[m], label=label)
        table = kmf.event_table
        ci = kmf.confidence_interval_
        frames.append(
            pd.DataFrame(
                {
                    "group": label,
                    "time": kmf.survival_function_.index.to_numpy(dtype=float),
                    "survival": kmf.survival_function_.iloc[:, 0].to_numpy(),
                    "ci_lower": ci.iloc[:, 0].to_numpy(),
                    "ci_upper": ci.iloc[:, 1].to_numpy(),
                    "at_risk": table["at_risk"].reindex(kmf.survival_function_.index).to_numpy(dtype=int),
                    "events": table["observed"].reindex(kmf.survival_function_.index).to_numpy(dtype=int),
                    "censored": table["censored"].reindex(kmf.survival_function_.index).to_numpy(dtype=int),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def at_risk_table(time: Any, event: Any, groups: Any, times: Any) -> pd.DataFrame:
    """Numbers at risk, cumulative events and cumulative censorings at given times, per group.

    Same counts as lifelines' ``add_at_risk_counts`` (default, KMunicate style): at time
    ``t``, *at risk* = subjects with follow-up beyond ``t`` (:math:`t_i > t`; all subjects at
    ``t = 0`` unless some times are 0), *events* and *censored* = counts with :math:`t_i \\le t`.

    Args:
        time: follow-up times, shape ``(n,)``.
        event: event indicators, shape ``(n,)``.
        groups: group label per subject, shape ``(n,)``, or None for one group ``"all"``.
        times: the times to tabulate, shape ``(m,)``, ``>= 0``.

    Returns:
        Long DataFrame with columns ``group``, ``time``, ``at_risk``, ``events``, ``censored``
        (``len(groups) * m`` rows).
    """
    t, e, g, order = _survival_groups(time, event, groups)
    ticks = check_time(times, name="times", fix="tabulate at times of 0 or more.")
    rows = []
    for label in order:
        m = g == label
        tg, eg = t[m], e[m]
        for tick in ticks:
            rows.append(
                {
                    "group": label,
                    "time": float(tick),
                    "at_risk": int((tg > tick).sum()),
                    "events": int(((tg <= tick) & eg).sum()),
                    "censored": int(((tg <= tick) & ~eg).sum()),
                }
            )
    return pd.DataFrame(rows, columns=["group", "time", "at_risk", "events", "censored"])


def format_p(p: float | None, *, relation: bool = False) -> str:
    """A p-value for display: ``"< 0.0001"`` below 10⁻⁴, else four decimals; ``"n/a"`` for NaN or None.

    The one p formatter of the library, the reports, the figures and the dashboard.

    Args:
        p: The p-value.
        relation: Prefix an exact value with ``"= "`` so that it reads after a name
            (``"log-rank p = 0.0123"``, ``"log-rank p < 0.0001"``).

    Examples:
        >>> format_p(0.01234), format_p(0.01234, relation=True), format_p(1e-6, relation=True)
        ('0.0123', '= 0.0123', '< 0.0001')
    """
    if p is None or p != p:  # noqa: PLR0124 - NaN check without importing math
        return "n/a"
    if p < 1e-4:
        return "< 0.0001"
    return f"= {p:.4f}" if relation else f"{p:.4f}"


def logrank(time: Any, event: Any, groups: Any) -> float:
    r"""Log-rank test p-value across groups (lifelines).

    .. math::

        \chi^2 = (O - E)^\top V^{-1} (O - E) \sim \chi^2_{G-1},

    with :math:`O, E` observed and expected events per group (first :math:`G-1` groups) and
    :math:`V` their hypergeometric covariance. Two groups use ``logrank_test``; more use
    ``multivariate_logrank_test`` (the same statistic).

    Args:
        time: follow-up times, shape ``(n,)``.
        event: event indicators, shape ``(n,)``.
        groups: group label per subject, shape ``(n,)``.

    Returns:
        The p-value; NaN (with a :class:`DataQualityWarning`) when there are no events.

    Raises:
        InputValidationError: fewer than two groups, or bad shapes/values.
    """
    from lifelines.statistics import logrank_test, multivariate_logrank_test

    t, e, g, order = _survival_groups(time, event, groups)
    if len(order) < 2:
        raise InputValidationError(f"log-rank test needs at least two groups, got {order}.")
    if not e.any():
        warnings.warn("log-rank test undefined: no events.", DataQualityWarning, stacklevel=2)
        return float("nan")
    if len(order) == 2:
        a, b = (g == order[0]), (g == order[1])
        return float(logrank_test(t[a], t[b], e[a], e[b]).p_value)
    return float(multivariate_logrank_test(t, g, e).p_value)


def hazard_ratio(
    time: Any, event: Any, groups: Any, *, high: str = "high", low: str = "low", alpha: float = 0.05
) -> tuple[float, float, float]:
    r"""Hazard ratio of group ``high`` versus group ``low`` with its Wald confidence interval.

    A Cox model :math:`h(t) = h_0(t) \exp(\beta\,[\text{group} = \text{high}])` is fitted by
    lifelines' ``CoxPHFitter`` on the subjects of the two groups (others, e.g.
    "intermediate", are left out); HR = :math:`e^{\hat\beta}`, interval
    :math:`e^{\hat\beta \pm z_{1-\alpha/2} SE}`.

    Args:
        time: follow-up times, shape ``(n,)``.
        event: event indicators, shape ``(n,)``.
        groups: group label per subject, shape ``(n,)``.
        high: label of the exposed group.
        low: label of the reference group.
        alpha: 1 − coverage.

    Returns:
        ``(hr, lower, upper)``; NaNs (with a :class:`DataQualityWarning`) when a group has no
        event or the fit does not converge.

    Raises:
        InputValidationError: one of the two groups is absent.
    """
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError

    t, e, g, order = _survival_groups(time, event, groups)
    for label in (high, low):
        if label not in order:
            raise InputValidationError(f"hazard ratio needs group {label!r}; the groups present are {order}.")
    m = (g == high) | (g == low)
    nan3 = (float("nan"), float("nan"), float("nan"))
    if not e[m & (g == high)].any() or not e[m & (g == low)].any():
        warnings.warn(f"hazard ratio undefined: group {high!r} or {low!r} has no event.", DataQualityWarning, stacklevel=2)
        return nan3
    df = pd.DataFrame({"time": t[m], "event": e[m].astype(int), "high": (g[m] == high).astype(float)})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph = CoxPHFitter(alpha=alpha).fit(df, duration_col="time", event_col="event")
    except ConvergenceError:
        warnings.warn("hazard ratio undefined: the Cox fit did not converge.", DataQualityWarning, stacklevel=2)
        return nan3
    summary = cph.summary.loc["high"]
    lower_col = [c for c in summary.index if c.startswith("exp(coef) lower")][0]
    upper_col = [c for c in summary.index if c.startswith("exp(coef) upper")][0]
    return float(summary["exp(coef)"]), float(summary[lower_col]), float(summary[upper_col])
