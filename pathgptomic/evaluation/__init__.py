"""Survival evaluation on top of lifelines and scikit-survival: metrics, risk groups, curves.

Every function returns data (floats, arrays, DataFrames); plotting lives in ``pathgptomic.plots``.
Risk sign: higher = higher risk (shorter survival), everywhere.
"""

from pathgptomic.evaluation.calibration import (
    DEFAULT_TIMES,
    RiskCalibration,
    calibration_report,
    cross_fitted_survival,
    median_survival_time,
)
from pathgptomic.evaluation.curves import BreslowBaseline
from pathgptomic.evaluation.groups import (
    assign_risk_groups,
    at_risk_table,
    format_p,
    group_order,
    hazard_ratio,
    kaplan_meier,
    logrank,
    risk_cutoffs,
)
from pathgptomic.evaluation.metrics import (
    CIndexResult,
    TimeDependentAUC,
    bootstrap_cindex,
    check_survival,
    concordance_index,
    fold_cindex,
    integrated_brier,
    time_dependent_auc,
)
from pathgptomic.evaluation.report import CINDEX_CONVENTION, evaluate_predictions, format_report

__all__ = [
    "CINDEX_CONVENTION",
    "DEFAULT_TIMES",
    "BreslowBaseline",
    "RiskCalibration",
    "calibration_report",
    "cross_fitted_survival",
    "evaluate_predictions",
    "format_p",
    "format_report",
    "median_survival_time",
    "CIndexResult",
    "TimeDependentAUC",
    "assign_risk_groups",
    "at_risk_table",
    "bootstrap_cindex",
    "check_survival",
    "concordance_index",
    "fold_cindex",
    "group_order",
    "hazard_ratio",
    "integrated_brier",
    "kaplan_meier",
    "logrank",
    "risk_cutoffs",
    "time_dependent_auc",
]
