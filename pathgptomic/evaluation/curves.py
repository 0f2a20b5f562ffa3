r"""Individual survival curves from a Cox risk score and the Breslow baseline hazard."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from pathgptomic.errors import BundleError, InputValidationError
from pathgptomic.validators import as_numeric, check_risk, check_survival, check_time

logger = logging.getLogger(__name__)

__all__ = ["BreslowBaseline"]

_COLUMNS = ["time", "hazard", "cumulative_hazard", "risk_offset"]


class BreslowBaseline:
    r"""Breslow estimate of the cumulative baseline hazard, fitted on training risks.

    .. math::

        \hat H_0(t) = \sum_{t_k \le t} \frac{d_k}{\sum_{j \in R(t_k)} e^{\theta_j}}, \qquad
        \hat S(t \mid \theta) = \exp\big(-\hat H_0(t)\, e^{\theta}\big),

    over the distinct event times :math:`t_k` with :math:`d_k` events and risk sets
    :math:`R(t_k) = \{j : t_j \ge t_k\}`. Internally the hazard is stored for risks
    centred at ``risk_offset_`` (the mean training risk) and the denominators are
    log-sum-exps, so large risks neither overflow nor underflow. The same :math:`\hat H_0`
    as lifelines' ``CoxPHFitter.baseline_cumulative_hazard_`` when given its
    ``predict_log_partial_hazard`` as risks.

    Attributes:
        times_: distinct event times, shape ``(k,)``.
        hazard_: baseline hazard increments at ``times_`` (for risk ``risk_offset_``), shape ``(k,)``.
        cumulative_hazard_: :math:`\hat H_0` at ``times_`` (for risk ``risk_offset_``), shape ``(k,)``.
        risk_offset_: the centring constant.

    Examples:
        >>> b = BreslowBaseline().fit([0.0, 0.0], [1.0, 2.0], [1, 1])
        >>> b.survival_function([0.0], times=[0.5, 1.0, 2.0]).round(4)[0].tolist()
        [1.0, 0.6065, 0.2231]
    """

    def __init__(self) -> None:
        self.times_: np.ndarray | None = None
        self.hazard_: np.ndarray | None = None
        self.cumulative_hazard_: np.ndarray | None = None
        self.risk_offset_: float = 0.0

    def fit(self, risk: Any, time: Any, event: Any) -> BreslowBaseline:
        """Fits :math:`\\hat H_0` on training risks and outcomes.

        Args:
            risk: training risks θ, shape ``(n,)``.
            time: training times, shape ``(n,)``.
            event: training events, shape ``(n,)``.

        Returns:
            self.

        Raises:
            InputValidationError: bad shapes/values, or no event.
        """
        t, e, other = check_survival(time, event, risk=risk)
        if not e.any():
            raise InputValidationError("cannot fit a baseline hazard without any event in 'event'.")
        r = other["risk"]
        offset = float(r.mean())
        rc = r - offset
        order = np.argsort(-t, kind="stable")
        ts, rs = t[order], rc[order]
        lcse = np.logaddexp.accumulate(rs)  # log sum over the first i+1 (largest times)
        uniq = np.unique(t[e])
        # risk set of t_k = all with t >= t_k: the last sorted index with ts >= t_k
        last = np.searchsorted(-ts, -uniq, side="right") - 1
        log_den = lcse[last]
        d = np.bincount(np.searchsorted(uniq, t[e]), minlength=uniq.size).astype(float)
        self.times_ = uniq.astype(float)
        self.hazard_ = d * np.exp(-log_den)
        self.cumulative_hazard_ = np.cumsum(self.hazard_)
        self.risk_offset_ = offset
        return self

    def _check_fitted(self) -> None:
        if self.times_ is None:
            raise BundleError("BreslowBaseline is not fitted: call fit(risk, time, event) or from_frame(df) first.")

    def cumulative_hazard(self, times: Any) -> np.ndarray:
        """Baseline cumulative hazard (for risk ``risk_offset_``) at ``times``, shape ``(m,)`` (a step function)."""
        self._check_fitted()
        tt = as_numeric(times, "times")
        idx = np.searchsorted(self.times_, tt, side="right")
        return np.concatenate([[0.0], self.cumulative_hazard_])[idx]

    def survival_function(self, risk: Any, times: Any = None) -> pd.DataFrame:
        """Survival curves :math:`\\hat S(t\\mid\\theta_i) = \\exp(-\\hat H_0(t)\\, e^{\\theta_i})`.

        Args:
            risk: risks θ of the patients, shape ``(n,)``; a pandas Series gives its index as column names.
            times: evaluation times, shape ``(m,)``; default 0 followed by the fitted event times.

        Returns:
            DataFrame, shape ``(m, n)``: index ``time``, one column per patient; values in [0, 1],
            non-increasing down each column.

        Raises:
            BundleError: not fitted.
            InputValidationError: non-finite risks or times.
        """
        self._check_fitted()
        r = check_risk(risk)
        if times is None:
            grid = np.concatenate([[0.0], self.times_])
        else:
            grid = np.sort(check_time(times, name="times", lower="any", fix="pass finite evaluation times."))
        h0 = self.cumulative_hazard(grid)
        log_rel = np.clip(r - self.risk_offset_, -700.0, 700.0)
        surv = np.exp(-np.outer(h0, np.exp(log_rel)))
        columns = risk.index if isinstance(risk, pd.Series) else pd.RangeIndex(r.size)
        return pd.DataFrame(surv, index=pd.Index(grid, name="time"), columns=columns)

    def to_frame(self) -> pd.DataFrame:
        """The fitted baseline as a table (``baseline_hazard.csv`` of a bundle).

        Returns:
            DataFrame with columns ``time``, ``hazard``, ``cumulative_hazard``, ``risk_offset``
            (constant column), one row per event time.
        """
        self._check_fitted()
        return pd.DataFrame(
            {
                "time": self.times_,
                "hazard": self.hazard_,
                "cumulative_hazard": self.cumulative_hazard_,
                "risk_offset": self.risk_offset_,
            }
        )

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> BreslowBaseline:
        """Rebuilds a baseline from :meth:`to_frame`'s table (e.g. read back from CSV).

        Raises:
            BundleError: missing columns, unsorted or non-finite times, negative hazards.
        """
        missing = [c for c in _COLUMNS if c not in df.columns]
        if missing:
            raise BundleError(
                f"baseline hazard table lacks column(s) {missing}; expected {_COLUMNS} (re-export the bundle with this version)."
            )
        times = df["time"].to_numpy(dtype=float)
        hazard = df["hazard"].to_numpy(dtype=float)
        offsets = df["risk_offset"].to_numpy(dtype=float)
        if (
            times.size == 0
            or not np.isfinite(times).all()
            or np.any(np.diff(times) <= 0)
            or not np.isfinite(hazard).all()
            or (hazard < 0).any()
            or np.unique(offsets).size != 1
        ):
            raise BundleError(
                "baseline hazard table is invalid: needs >= 1 row, strictly increasing finite 'time', "
                "finite non-negative 'hazard' and one constant 'risk_offset'."
            )
        out = cls()
        out.times_ = times
        out.hazard_ = hazard
        out.cumulative_hazard_ = df["cumulative_hazard"].to_numpy(dtype=float)
        out.risk_offset_ = float(offsets[0])
        return out
