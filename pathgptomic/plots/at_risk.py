"""Number-at-risk table under a Kaplan–Meier figure, with lifelines' conventions.

:func:`at_risk_counts` counts, per group and tick time, the patients still followed
(``n(t) = #{i : T_i > t}``, or the risk set at the last observed time with
``from_start_of_period``); :func:`default_at_risk_times` picks round tick times. Both are
data steps on plain arrays, checked against lifelines' ``add_at_risk_counts``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from pathgptomic.validators import check_survival, group_order


def at_risk_counts(
    time: Any,
    groups: Any,
    times: Sequence[float] | np.ndarray,
    *,
    event: Any | None = None,
    from_start_of_period: bool = False,
) -> pd.DataFrame:
    """Number at risk per group at the given times, with lifelines' conventions.

    lifelines' ``add_at_risk_counts`` (default) reports, at a tick ``t``, the patients
    still followed *after* the last observed time ``<= t`` has been removed:
    ``n(t) = #{i : T_i > t}`` (R's ``survminer`` risk table does the same); with
    ``from_start_of_period=True`` it reports the risk set at that last observed time,
    ``#{i : T_i >= t*}`` with ``t*`` the largest observed time ``<= t`` (0 when none).

    Args:
        time: Follow-up times, shape ``(n,)``.
        groups: Group label per patient, shape ``(n,)``.
        times: Tick times at which to count, shape ``(k,)``.
        event: Optional event indicators, shape ``(n,)``; when given the table also holds
            the cumulative ``censored`` and ``events`` counts up to each tick (inclusive),
            as lifelines' "Censored" / "Events" rows.
        from_start_of_period: lifelines' ``at_risk_count_from_start_of_period``.

    Returns:
        Long DataFrame ``group, time, at_risk`` (+ ``censored, events``), one row per
        (group, tick), groups in clinical order.
    """
    ev = np.ones(np.asarray(time).shape[0]) if event is None else event
    t, e, other = check_survival(time, ev, allow_empty=False, groups=groups)
    g = other["groups"]
    ticks = np.asarray(times, dtype=float).ravel()
    rows: list[dict[str, Any]] = []
    for label in group_order(g):
        tg = t[g == label]
        eg = e[g == label]
        for tick in ticks:
            if from_start_of_period:
                seen = tg[tg <= tick]
                start = float(seen.max()) if seen.size else 0.0
                n = int(np.sum(tg >= start))
            else:
                n = int(np.sum(tg > tick))
            row: dict[str, Any] = {"group": label, "time": float(tick), "at_risk": n}
            if event is not None:
                row["censored"] = int(np.sum((tg <= tick) & (eg == 0)))
                row["events"] = int(np.sum((tg <= tick) & (eg == 1)))
            rows.append(row)
    cols = ["group", "time", "at_risk"] + (["censored", "events"] if event is not None else [])
    return pd.DataFrame(rows, columns=cols)


def default_at_risk_times(max_time: float, n_ticks: int = 6) -> np.ndarray:
    """Round tick times from 0 to ``max_time`` (about ``n_ticks`` of them)."""
    if max_time <= 0:
        return np.array([0.0])
    raw = max_time / max(n_ticks - 1, 1)
    mag = 10 ** np.floor(np.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    return np.arange(0.0, max_time + 1e-9, step)
