r"""One evaluation of a predictions table, shared by ``pathgptomic evaluate`` and the Cohort page.

:func:`evaluate_predictions` takes rows ``patient_id, time, event, risk`` (optionally
``fold``, ``split``, ``theta``/``centre`` as in a bundle's ``predictions.csv``, or
``survival_<t>`` columns as written by ``pathgptomic predict``) and returns one JSON-safe
report:

* **C-index convention**: Harrell's C, higher risk = shorter survival; a pair is
  comparable when the earlier time is an event; tied risks count 1/2. Reported *pooled*
  (all rows together, with a percentile bootstrap 95 % CI) and, when a ``fold`` column
  holds at least two folds, as the *per-fold mean ± sd* (the figure cross-validation
  papers report). Pooling compares risks of different fold models; the per-fold mean does not.
* **One row per patient**: repeated patient ids are collapsed (their outcomes must
  agree; the risk is their mean) and the report says how many were collapsed, so a
  tripled file cannot narrow the confidence interval.
* **Risk groups** are cut on the quantiles of the very risks being grouped (or on
  explicit cut-offs), with per group: patients, events, Kaplan–Meier median survival
  with its 95 % CI; the log-rank p-value; hazard ratios for every pair of groups.
* **Calibration** when the table allows it (see :mod:`pathgptomic.evaluation.calibration`).
"""

from __future__ import annotations

import re
import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd

from pathgptomic.data.validation import check_outcome_conflicts
from pathgptomic.errors import DataQualityWarning, InputValidationError
from pathgptomic.evaluation.calibration import DEFAULT_TIMES, calibration_report, km_survival_at, out_of_fold_calibration
from pathgptomic.evaluation.groups import (
    assign_risk_groups,
    format_p,
    group_order,
    hazard_ratio,
    logrank,
    risk_cutoffs,
)
from pathgptomic.evaluation.metrics import bootstrap_cindex, fold_cindex

__all__ = ["CINDEX_CONVENTION", "evaluate_predictions", "format_report"]

CINDEX_CONVENTION = (
    "Harrell's C: higher risk = shorter survival; a pair is comparable when the earlier time is an event; tied risks count 1/2"
)
_SURVIVAL = re.compile(r"^survival_(\d+(?:\.\d+)?)$")


def _collapse(df: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """One row per ``patient_id`` (mean risk; outcomes must agree); number of rows removed.

    ``df``'s index is each row's position in the predictions table (named in a conflict).
    """
    if "patient_id" not in df.columns or not df["patient_id"].duplicated().any():
        return df.reset_index(drop=True), 0
    check_outcome_conflicts(df["patient_id"].to_numpy(), df, file="predictions", columns=("time", "event"), positions=df.index)
    agg = {c: "first" for c in df.columns if c != "patient_id"}
    for c in df.columns:
        if c != "patient_id" and c not in ("time", "event", "fold", "split") and pd.api.types.is_numeric_dtype(df[c]):
            agg[c] = "mean"
    out = df.groupby("patient_id", sort=False, as_index=False).agg(agg)
    return out, int(len(df) - len(out))


def _median_km(time: np.ndarray, event: np.ndarray) -> tuple[float, float, float]:
    """Kaplan–Meier median survival and its 95 % CI (lifelines); inf = not reached."""
    from lifelines import KaplanMeierFitter
    from lifelines.utils import median_survival_times

    km = KaplanMeierFitter().fit(time, event)
    ci = median_survival_times(km.confidence_interval_)
    return float(km.median_survival_time_), float(ci.iloc[0, 0]), float(ci.iloc[0, 1])


def _per_fold(df: pd.DataFrame) -> dict[str, Any] | None:
    if "fold" not in df.columns:
        return None
    folds = df["fold"][df["fold"] >= 0] if pd.api.types.is_numeric_dtype(df["fold"]) else df["fold"]
    labels = pd.unique(folds)
    if len(labels) < 2:
        return None
    values = [fold_cindex(part["risk"], part["time"], part["event"]) for part in (df[df["fold"] == f] for f in labels)]
    arr = np.asarray(values)
    ok = np.isfinite(arr)
    return {
        "n_folds": int(len(labels)),
        "n_folds_defined": int(ok.sum()),
        "values": values,
        "mean": float(arr[ok].mean()) if ok.any() else float("nan"),
        "sd": float(arr[ok].std(ddof=1)) if ok.sum() > 1 else float("nan"),
    }


def _groups_report(df: pd.DataFrame, scheme: str | Sequence[float]) -> dict[str, Any]:
    risk = df["risk"].to_numpy(dtype=float)
    time = df["time"].to_numpy(dtype=float)
    event = df["event"].to_numpy(dtype=int)
    cut = risk_cutoffs(risk, scheme)
    groups = assign_risk_groups(risk, cut)
    order = group_order(groups)
    per_group = []
    for g in order:
        m = groups == g
        med, lo, hi = _median_km(time[m], event[m])
        per_group.append({"group": g, "n": int(m.sum()), "events": int(event[m].sum()), "median_survival": med, "median_ci": [lo, hi]})
    out: dict[str, Any] = {
        "scheme": scheme if isinstance(scheme, str) else "custom",
        "cutoffs": [float(c) for c in np.atleast_1d(cut)],
        "groups": per_group,
        "logrank_p": logrank(time, event, groups) if len(order) > 1 else float("nan"),
        "hazard_ratios": [],
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        for i, low in enumerate(order):
            for high in order[i + 1 :]:
                hr, lo, hi = hazard_ratio(time, event, groups, high=high, low=low)
                out["hazard_ratios"].append({"group": high, "reference": low, "hr": hr, "ci": [lo, hi]})
    out["labels"] = groups.tolist()
    return out


def _calibration(df: pd.DataFrame) -> dict[str, Any] | None:
    """Cross-fitted calibration of bundle OOF rows, or the stored ``survival_<t>`` columns against KM."""
    times = sorted(float(m.group(1)) for c in df.columns if (m := _SURVIVAL.match(str(c))))
    if {"theta", "centre", "fold"} <= set(df.columns) and df["fold"].nunique() >= 2:
        return out_of_fold_calibration(df["theta"], df["centre"], df["time"], df["event"], df["fold"], times or DEFAULT_TIMES)
    if times:
        pred = df[[f"survival_{t:g}" for t in times]].to_numpy(dtype=float)
        km = km_survival_at(df["time"].to_numpy(float), df["event"].to_numpy(int), times)
        null = np.tile(km, (len(df), 1))
        return calibration_report(pred, null, df["time"], df["event"], times)
    return None


def evaluate_predictions(
    predictions: pd.DataFrame,
    *,
    groups: str | Sequence[float] = "median",
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """Discrimination, risk groups and calibration of a predictions table (see the module docstring).

    Args:
        predictions: Rows with ``time``, ``event`` (1 = event), ``risk``; optional
            ``patient_id``, ``fold``, ``split`` (only ``oof`` rows are used when present),
            ``theta``/``centre`` and ``survival_<t>``. Rows with ``status`` other than
            ``ok`` (patients the model refused) are left out and counted.
        groups: ``"median"``, ``"tertiles"`` or one or two explicit cut-offs on the risk scale.
        n_boot: Bootstrap resamples for the pooled C-index interval.
        seed: Seed of the bootstrap.

    Returns:
        JSON-safe dict: ``convention``, ``n_rows``, ``n_patients``, ``n_events``,
        ``collapsed_duplicates``, ``excluded``, ``cindex_pooled`` (``c``, ``ci``),
        ``cindex_per_fold`` (or None), ``risk_groups``, ``calibration`` (or None), ``notes``.

    Raises:
        InputValidationError: Missing columns, non-numeric values or conflicting duplicate patients.
    """
    df = predictions.reset_index(drop=True)  # index = row position, kept through the filters below
    missing = [c for c in ("time", "event", "risk") if c not in df.columns]
    if missing:
        raise InputValidationError(f"predictions lack column(s) {missing}; needed: time, event, risk.")
    notes: list[str] = []
    n_rows = int(len(df))
    if "split" in df.columns and (df["split"] == "oof").any():
        df = df[df["split"] == "oof"]
        notes.append("out-of-fold rows only (the bundle's in-sample rows are left out)")
    excluded = 0
    if "status" in df.columns:
        keep = df["status"].astype(str) == "ok"
        excluded = int((~keep).sum())
        df = df[keep]
        if excluded:
            notes.append(f"{excluded} patient(s) without a risk (insufficient data) left out")
    df = df.dropna(subset=["time", "event", "risk"])
    df, collapsed = _collapse(df)
    if collapsed:
        notes.append(f"{collapsed} repeated row(s) of the same patient collapsed to one patient each (mean risk)")
    if len(df) < 2 or df["event"].sum() < 1:
        raise InputValidationError("evaluation needs at least two patients with outcomes and one event.")
    ci = bootstrap_cindex(df["risk"].to_numpy(float), df["time"].to_numpy(float), df["event"].to_numpy(int), n_boot=n_boot, seed=seed)
    per_fold = _per_fold(df)
    if per_fold:
        notes.append("pooled C-index compares risks across fold models; the per-fold mean is the cross-validation figure")
    report = {
        "convention": CINDEX_CONVENTION,
        "n_rows": n_rows,
        "n_patients": int(len(df)),
        "n_events": int(df["event"].sum()),
        "collapsed_duplicates": collapsed,
        "excluded": excluded,
        "cindex_pooled": {"c": ci.c, "ci": [ci.lower, ci.upper], "n_boot": int(n_boot)},
        "cindex_per_fold": per_fold,
        "risk_groups": _groups_report(df, groups),
        "calibration": _calibration(df),
        "notes": notes,
        "patient_id": df["patient_id"].astype(str).tolist() if "patient_id" in df.columns else None,
    }
    return report


def _f(x: Any, d: int = 3) -> str:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "n/a"
    if np.isnan(v):
        return "n/a"
    return "not reached" if np.isinf(v) else f"{v:.{d}f}"


def format_report(report: dict[str, Any]) -> str:
    """Plain-text rendering of :func:`evaluate_predictions` (what ``pathgptomic evaluate`` prints)."""
    lines = [f"patients {report['n_patients']}, events {report['n_events']} ({report['convention']})"]
    lines += [f"note: {n}" for n in report["notes"]]
    c = report["cindex_pooled"]
    lines.append(f"C-index pooled {_f(c['c'])} (95% bootstrap CI {_f(c['ci'][0])}–{_f(c['ci'][1])})")
    pf = report["cindex_per_fold"]
    if pf:
        lines.append(f"C-index per fold: mean {_f(pf['mean'])} ± {_f(pf['sd'])} over {pf['n_folds_defined']} of {pf['n_folds']} folds")
    rg = report["risk_groups"]
    lines.append(
        f"risk groups ({rg['scheme']}, cut-offs {', '.join(_f(x) for x in rg['cutoffs'])}); "
        f"log-rank p {format_p(rg['logrank_p'], relation=True)}"
    )
    for g in rg["groups"]:
        lines.append(
            f"  {g['group']:>12}: {g['n']} patients, {g['events']} events, median survival "
            f"{_f(g['median_survival'], 1)} (95% CI {_f(g['median_ci'][0], 1)}–{_f(g['median_ci'][1], 1)})"
        )
    for h in rg["hazard_ratios"]:
        lines.append(f"  HR {h['group']} vs {h['reference']}: {_f(h['hr'], 2)} (95% CI {_f(h['ci'][0], 2)}–{_f(h['ci'][1], 2)})")
    cal = report.get("calibration")
    if cal:
        lines.append("calibration (predicted vs Kaplan–Meier survival by risk quartile):")
        table = pd.DataFrame(cal["table"])
        for t in cal["times"]:
            part = table[table["time"] == t]
            cells = "; ".join(f"{r.quartile} {r.predicted:.2f} vs {r.observed:.2f}" for r in part.itertuples())
            lines.append(
                f"  t={t:g}: {cells}; mean |error| {_f(cal['mean_abs_error'][str(t)])}, "
                f"calibration-in-the-large {_f(cal['calibration_in_the_large'][str(t)])}"
            )
        lines.append(f"  integrated Brier score {_f(cal['ibs'])} vs {_f(cal['ibs_null'])} (Kaplan–Meier null)")
    return "\n".join(lines)
