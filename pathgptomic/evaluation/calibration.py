r"""An honest risk scale: recalibration of a Cox score on out-of-fold risks, and its measurement.

A deep Cox model fitted on a few hundred patients is over-confident: its in-sample risks
spread over tens of log-hazard units, so a Breslow baseline fitted on them sends every
survival curve to 0 or 1. The fix used by every bundle (van Houwelingen & le Cessie 1990,
"calibration slope"; Steyerberg, *Clinical Prediction Models*, ch. 15) is to learn the
scale from risks the model never saw:

1. each fold model :math:`k` is put on a common location by its *centre*
   :math:`c_k`, the mean of its θ over all the cohort's patients (no outcome is used);
2. a one-covariate Cox model is fitted on the out-of-fold centred risks
   :math:`x_i = \theta_{k(i)}(x_i) - c_{k(i)}` (lifelines ``CoxPHFitter``, no penalty),
   giving the *calibration slope* :math:`\beta` (clamped at 0: a model that orders
   patients backwards predicts the cohort average, never the reverse);
3. the Breslow baseline :math:`\hat H_0` is fitted on the linear predictor
   :math:`\eta_i = \beta x_i`.

A new patient scored :math:`\theta` by a model with centre :math:`c` gets

.. math::

    \eta = \beta(\theta - c), \qquad \hat S(t) = \exp\big(-\hat H_0(t)\, e^{\eta}\big).

:math:`\eta` is a log hazard ratio against the average training patient, on the scale the
model actually achieves out of sample.

**Measuring it honestly.** :func:`cross_fitted_survival` refits step 2–3 with one fold
held out and predicts that fold, so the calibration is measured on patients whose
calibration parameters never saw them; :func:`calibration_report` then compares
predicted with Kaplan–Meier survival by risk quartile, the calibration-in-the-large, the
share of extreme probabilities and the integrated Brier score against the
Kaplan–Meier-only null model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from pathgptomic.errors import DataQualityWarning, InputValidationError
from pathgptomic.evaluation.curves import BreslowBaseline
from pathgptomic.validators import check_survival

__all__ = [
    "DEFAULT_TIMES",
    "EXTREME_BOUNDS",
    "RiskCalibration",
    "calibration_report",
    "cross_fitted_survival",
    "km_survival_at",
    "median_survival_time",
    "out_of_fold_calibration",
]

#: Default times (months) at which survival probabilities are reported.
DEFAULT_TIMES: tuple[float, ...] = (12.0, 36.0, 60.0)
#: A survival probability outside these bounds counts as "extreme" in the report.
EXTREME_BOUNDS: tuple[float, float] = (0.02, 0.98)


def _cox_slope(x: np.ndarray, time: np.ndarray, event: np.ndarray) -> float:
    """Unpenalised one-covariate Cox coefficient of ``x`` (lifelines), clamped at 0; 0 when undefined."""
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    if np.ptp(x) == 0 or event.sum() == 0:
        return 0.0
    df = pd.DataFrame({"x": x, "T": time, "E": event})
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        try:
            beta = float(CoxPHFitter().fit(df, "T", "E").params_["x"])
        except (ConvergenceError, ConvergenceWarning, np.linalg.LinAlgError, ValueError):
            return 0.0
    return max(beta, 0.0) if np.isfinite(beta) else 0.0


@dataclass
class RiskCalibration:
    r"""Calibration slope and baseline hazard learned from out-of-fold centred risks.

    Attributes:
        slope: :math:`\beta`, the Cox coefficient of the centred out-of-fold risk.
        baseline: Breslow :math:`\hat H_0` fitted on :math:`\beta x`.
        n: Patients it was fitted on.
        n_events: Events among them.
    """

    slope: float
    baseline: BreslowBaseline
    n: int
    n_events: int

    @classmethod
    def fit(cls, centred_risk: Any, time: Any, event: Any) -> "RiskCalibration":
        """Fit :math:`\\beta` and :math:`\\hat H_0` on centred out-of-fold risks.

        Args:
            centred_risk: :math:`x_i = \\theta_i - c_{k(i)}`, shape ``(n,)``.
            time: Follow-up times, shape ``(n,)``.
            event: 1 = event, shape ``(n,)``.

        Raises:
            InputValidationError: Bad shapes or values, or no event.
        """
        t, e, other = check_survival(time, event, risk=centred_risk)
        x = other["risk"]
        beta = _cox_slope(x, t, e.astype(int))
        baseline = BreslowBaseline().fit(beta * x, t, e)
        return cls(slope=beta, baseline=baseline, n=int(t.size), n_events=int(e.sum()))

    def linear_predictor(self, centred_risk: Any) -> np.ndarray:
        """:math:`\\eta = \\beta x`, shape like ``centred_risk``."""
        return self.slope * np.asarray(centred_risk, dtype=float)

    def survival(self, centred_risk: Any, times: Sequence[float]) -> np.ndarray:
        """:math:`\\hat S(t \\mid x) = \\exp(-\\hat H_0(t) e^{\\beta x})`, shape ``(n, m)`` for ``m`` times."""
        eta = np.atleast_1d(self.linear_predictor(centred_risk))
        table = self.baseline.survival_function(eta, times=np.asarray(times, dtype=float))
        order = np.argsort(np.asarray(times, dtype=float), kind="stable")
        out = np.empty((eta.size, len(order)))
        out[:, order] = table.to_numpy().T
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe parameters (the baseline is stored as its own table)."""
        return {"slope": float(self.slope), "n": self.n, "n_events": self.n_events}

    @classmethod
    def from_parts(cls, data: dict[str, Any], baseline: BreslowBaseline) -> "RiskCalibration":
        """Inverse of :meth:`to_dict` plus the baseline table."""
        return cls(slope=float(data["slope"]), baseline=baseline, n=int(data.get("n", 0)), n_events=int(data.get("n_events", 0)))


def median_survival_time(calibration: RiskCalibration, centred_risk: Any) -> np.ndarray:
    """Earliest baseline time with :math:`\\hat S \\le 0.5`, per patient; NaN when never reached.

    Args:
        calibration: The fitted calibration.
        centred_risk: Shape ``(n,)``.

    Returns:
        Shape ``(n,)``; NaN means the median is not reached within the training follow-up.
    """
    grid = calibration.baseline.times_
    surv = calibration.survival(centred_risk, grid)  # (n, k), non-increasing along k
    below = surv <= 0.5
    first = np.argmax(below, axis=1)
    return np.where(below.any(axis=1), grid[first], np.nan)


def km_survival_at(time: np.ndarray, event: np.ndarray, times: Sequence[float]) -> np.ndarray:
    """Kaplan–Meier survival (lifelines) at ``times``, shape ``(m,)``; NaN past the last follow-up time."""
    from lifelines import KaplanMeierFitter

    km = KaplanMeierFitter().fit(time, event)
    values = km.survival_function_at_times(list(times)).to_numpy(dtype=float)
    return np.where(np.asarray(times, dtype=float) <= time.max(), values, np.nan)


def cross_fitted_survival(
    centred_risk: Any, time: Any, event: Any, fold: Any, times: Sequence[float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Survival predicted for each fold by a calibration fitted on the other folds.

    Args:
        centred_risk: Out-of-fold centred risks, shape ``(n,)``.
        time: Shape ``(n,)``.
        event: Shape ``(n,)``.
        fold: Fold of each patient, shape ``(n,)`` (at least two folds).
        times: Evaluation times, shape ``(m,)``.

    Returns:
        ``(predicted, null, eta)``: model survival ``(n, m)``; the Kaplan–Meier-only null
        model's survival ``(n, m)`` (the other folds' KM); cross-fitted linear predictor ``(n,)``.

    Raises:
        InputValidationError: Fewer than two folds.
    """
    t, e, other = check_survival(time, event, risk=centred_risk)
    x = other["risk"]
    folds = np.asarray(fold)
    labels = np.unique(folds)
    if labels.size < 2:
        raise InputValidationError("cross-fitted calibration needs out-of-fold risks from at least two folds.")
    pred = np.full((t.size, len(times)), np.nan)
    null = np.full((t.size, len(times)), np.nan)
    eta = np.full(t.size, np.nan)
    for f in labels:
        test, train = folds == f, folds != f
        if not e[train].any():
            continue
        cal = RiskCalibration.fit(x[train], t[train], e[train])
        pred[test] = cal.survival(x[test], times)
        eta[test] = cal.linear_predictor(x[test])
        km = km_survival_at(t[train], e[train].astype(int), times)
        null[test] = np.where(np.isnan(km), np.nan, km)[None, :]
    return pred, null, eta


def _brier_grid(time: np.ndarray, event: np.ndarray, n: int = 50) -> np.ndarray:
    """Times for the integrated Brier score: quantiles 5–90 % of the event times, below the last time."""
    ev = time[event.astype(bool)]
    grid = np.unique(np.quantile(ev, np.linspace(0.05, 0.9, n)))
    return grid[(grid >= time.min()) & (grid < time.max())]


def _ibs(time: np.ndarray, event: np.ndarray, estimate: np.ndarray, grid: np.ndarray) -> float:
    """Integrated Brier score of ``estimate`` ``(n, len(grid))`` (scikit-survival; censoring from the same patients)."""
    from sksurv.metrics import integrated_brier_score
    from sksurv.util import Surv

    y = Surv.from_arrays(event.astype(bool), time)
    return float(integrated_brier_score(y, y, estimate, grid))


def calibration_report(
    predicted: Any,
    null: Any,
    time: Any,
    event: Any,
    times: Sequence[float],
    *,
    groups: Any = None,
    centred_risk: Any = None,
    fold: Any = None,
) -> dict[str, Any]:
    r"""Calibration of predicted survival against what the cohort shows.

    * **by risk quartile**: for each quartile :math:`q` of the linear predictor and time
      :math:`t`, the mean predicted :math:`\bar S_q(t)` against the Kaplan–Meier estimate
      :math:`S^{KM}_q(t)` of the same patients; ``mean_abs_error[t]`` averages
      :math:`|\bar S_q(t) - S^{KM}_q(t)|` over quartiles;
    * **calibration-in-the-large**: :math:`\bar S(t) - S^{KM}(t)` over all patients;
    * **extreme share**: fraction of patients with :math:`\hat S(t)` outside
      :data:`EXTREME_BOUNDS`, at each time;
    * **integrated Brier score** (scikit-survival, Graf et al. 1999) of the model and of
      the Kaplan–Meier-only null model on a common grid (5–90 % quantiles of the event
      times), both cross-fitted; ``ibs_skill`` = :math:`1 - IBS/IBS_{null}` (> 0: better
      than the null). Needs ``centred_risk`` and ``fold``; NaN otherwise.

    Args:
        predicted: Model survival, shape ``(n, m)`` at ``times``.
        null: Null-model survival, shape ``(n, m)``.
        time: Shape ``(n,)``.
        event: Shape ``(n,)``.
        times: Shape ``(m,)``.
        groups: Quartile label per patient, shape ``(n,)`` (default: quartiles of mean
            predicted 1 − S over ``times``).
        centred_risk: Out-of-fold centred risks ``(n,)``, for the integrated Brier score.
        fold: Fold of each patient ``(n,)``, with ``centred_risk``.

    Returns:
        JSON-safe dict: ``times``, ``table`` (list of rows ``quartile, time, n, predicted,
        observed, abs_error``), ``mean_abs_error``, ``calibration_in_the_large``,
        ``extreme_share``, ``ibs``, ``ibs_null``, ``ibs_skill``.
    """
    t, e, _ = check_survival(time, event)
    e = e.astype(int)
    pred = np.asarray(predicted, dtype=float)
    nul = np.asarray(null, dtype=float)
    ok = np.isfinite(pred).all(axis=1) & np.isfinite(nul).all(axis=1)
    if ok.sum() < 4:
        raise InputValidationError("calibration needs at least 4 patients with predicted survival.")
    t, e, pred, nul = t[ok], e[ok], pred[ok], nul[ok]
    if groups is None:
        score = (1 - pred).mean(axis=1)
        groups = pd.qcut(pd.Series(score).rank(method="first"), 4, labels=["Q1 (lowest risk)", "Q2", "Q3", "Q4 (highest risk)"])
    groups = np.asarray(groups, dtype=object)[ok] if len(groups) == ok.size else np.asarray(groups, dtype=object)
    rows = []
    for q in pd.unique(groups):
        sel = groups == q
        km = km_survival_at(t[sel], e[sel], times)
        for j, tt in enumerate(times):
            p = float(pred[sel, j].mean())
            rows.append(
                {
                    "quartile": str(q),
                    "time": float(tt),
                    "n": int(sel.sum()),
                    "predicted": p,
                    "observed": float(km[j]),
                    "abs_error": float(abs(p - km[j])) if np.isfinite(km[j]) else float("nan"),
                }
            )
    table = pd.DataFrame(rows).sort_values(["time", "quartile"])
    km_all = km_survival_at(t, e, times)
    lo, hi = EXTREME_BOUNDS
    report: dict[str, Any] = {
        "times": [float(x) for x in times],
        "n": int(t.size),
        "table": table.to_dict(orient="records"),
        "mean_abs_error": {str(tt): float(table.loc[table["time"] == tt, "abs_error"].mean()) for tt in times},
        "calibration_in_the_large": {str(tt): float(pred[:, j].mean() - km_all[j]) for j, tt in enumerate(times)},
        "extreme_share": {str(tt): float(((pred[:, j] < lo) | (pred[:, j] > hi)).mean()) for j, tt in enumerate(times)},
    }
    grid = _brier_grid(t, e)
    model_ibs = null_ibs = float("nan")
    if grid.size >= 2 and centred_risk is not None and fold is not None:
        x = np.asarray(centred_risk, dtype=float)[ok]
        full_pred, full_null, _ = cross_fitted_survival(x, t, e, np.asarray(fold)[ok], grid)
        keep = np.isfinite(full_pred).all(axis=1) & np.isfinite(full_null).all(axis=1)
        model_ibs = _ibs(t[keep], e[keep], full_pred[keep], grid)
        null_ibs = _ibs(t[keep], e[keep], full_null[keep], grid)
    elif centred_risk is not None:
        warnings.warn("integrated Brier score undefined: too few event times.", DataQualityWarning, stacklevel=2)
    report.update(
        ibs=model_ibs, ibs_null=null_ibs, ibs_skill=float(1 - model_ibs / null_ibs) if null_ibs and np.isfinite(null_ibs) else float("nan")
    )
    return report


def out_of_fold_calibration(
    risk: Any, centre: Any, time: Any, event: Any, fold: Any, times: Sequence[float] = DEFAULT_TIMES
) -> dict[str, Any]:
    """Cross-fitted :func:`calibration_report` of out-of-fold risks (what bundles store and ``evaluate`` prints).

    Args:
        risk: Raw out-of-fold θ of each patient's fold model, shape ``(n,)``.
        centre: That fold model's centre :math:`c_k`, shape ``(n,)``.
        time: Shape ``(n,)``.
        event: Shape ``(n,)``.
        fold: Fold of each patient, shape ``(n,)`` (at least two).
        times: Evaluation times.
    """
    x = np.asarray(risk, dtype=float) - np.asarray(centre, dtype=float)
    pred, null, _ = cross_fitted_survival(x, time, event, fold, times)
    return calibration_report(pred, null, time, event, times, centred_risk=x, fold=fold)
