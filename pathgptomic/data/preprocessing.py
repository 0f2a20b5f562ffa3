"""Feature standardisation fitted on the training fold only.

:class:`FeatureStandardizer` imputes missing values with the training median and
z-scores every column with the training mean and standard deviation. Its statistics
travel with a model bundle (``to_dict``/``from_dict`` are JSON-safe), so new patients are
transformed exactly as the training fold was.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from pathgptomic.errors import DataQualityWarning, InputValidationError

logger = logging.getLogger(__name__)

_FORMAT = 1


@dataclass(frozen=True)
class ImputationReport:
    """What one :meth:`FeatureStandardizer.transform_with_report` call imputed.

    Attributes:
        count: Cells imputed (missing values plus every cell of a column absent from the input).
        per_column: Imputed cells per column (only columns with some).
        missing_columns: Training columns absent from the input.
        extra_columns: Input columns unknown to the standardizer (ignored).
    """

    count: int
    per_column: dict[str, int]
    missing_columns: list[str]
    extra_columns: list[str]


class FeatureStandardizer:
    r"""Median imputation then z-scoring, with statistics from the training fold.

    For column :math:`j` with training values :math:`x_{ij}` (missing = NaN or ±inf):

    .. math::

        m_j = \operatorname{median}_{i\,:\,x_{ij}\ \mathrm{observed}} x_{ij}, \qquad
        \tilde x_{ij} = \begin{cases} x_{ij} & \text{observed} \\ m_j & \text{missing} \end{cases}

        \mu_j = \tfrac{1}{n}\sum_i \tilde x_{ij}, \qquad
        \sigma_j = \max\Big(\sqrt{\tfrac{1}{n}\sum_i (\tilde x_{ij}-\mu_j)^2},\ \varepsilon\Big), \qquad
        z_{ij} = \frac{\tilde x_{ij} - \mu_j}{\sigma_j}

    A column with no observed training value gets :math:`m_j = 0`. The floor
    :math:`\varepsilon` (``std_floor``) keeps near-constant columns finite.

    Attributes:
        columns_: Training column names, in order (``p`` of them).
        median_, mean_, std_: Statistics, each shape ``(p,)``.

    What each call imputed is returned by :meth:`transform_with_report`, never stored on
    the object, so one fitted standardizer can serve concurrent callers.
    """

    def __init__(self, std_floor: float = 1e-6) -> None:
        self.std_floor = float(std_floor)
        self.columns_: list[str] | None = None
        self.median_: np.ndarray | None = None
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        """Number of columns ``p`` (0 before fitting)."""
        return 0 if self.columns_ is None else len(self.columns_)

    @staticmethod
    def _as_float(df: pd.DataFrame) -> np.ndarray:
        try:
            arr = df.to_numpy(dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputValidationError(
                f"feature table holds non-numeric values ({exc}). Fix: read it with the cohort readers, which check every cell."
            ) from exc
        arr = arr.copy()
        arr[~np.isfinite(arr)] = np.nan
        return arr

    def fit(self, df: pd.DataFrame) -> "FeatureStandardizer":
        """Learn median, mean and std per column from the training rows.

        Args:
            df: Training features, shape ``(n, p)``; NaN = missing.

        Returns:
            ``self``.
        """
        if not isinstance(df, pd.DataFrame):
            raise InputValidationError("FeatureStandardizer.fit needs a pandas DataFrame with named columns.")
        if len(df) == 0:
            raise InputValidationError("FeatureStandardizer.fit got no rows. Fix: fit on a non-empty training fold.")
        arr = self._as_float(df)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(arr, axis=0) if arr.shape[1] else np.zeros(0)
        med = np.where(np.isnan(med), 0.0, med)
        filled = np.where(np.isnan(arr), med, arr)
        self.columns_ = [str(c) for c in df.columns]
        self.median_ = med.astype(float)
        self.mean_ = filled.mean(axis=0).astype(float)
        self.std_ = np.maximum(filled.std(axis=0), self.std_floor).astype(float)
        return self

    def _check_fitted(self) -> None:
        if self.columns_ is None:
            raise InputValidationError("FeatureStandardizer is not fitted. Fix: call fit() on the training fold first.")

    def transform_with_report(self, df: pd.DataFrame) -> tuple[np.ndarray, "ImputationReport"]:
        """Impute and z-score ``df`` with the training statistics, and say what was imputed.

        Columns are matched by name (order does not matter); training columns absent from
        ``df`` are imputed entirely with the training median and reported with a
        :class:`~pathgptomic.errors.DataQualityWarning`; extra columns are ignored. Nothing is
        stored on ``self`` (a fitted standardizer may be shared by concurrent callers).

        Args:
            df: Features, shape ``(n, q)``.

        Returns:
            ``(z, report)``: float32 array of shape ``(n, p)`` in training column order, and
            the :class:`ImputationReport` of this call.
        """
        self._check_fitted()
        cols = [str(c) for c in df.columns]
        known = set(self.columns_)
        present = set(cols)
        missing_columns = [c for c in self.columns_ if c not in present]
        extra_columns = [c for c in cols if c not in known]
        frame = df.copy()
        frame.columns = cols
        frame = frame.reindex(columns=self.columns_)
        arr = self._as_float(frame)
        miss = np.isnan(arr)
        per_col = miss.sum(axis=0)
        report = ImputationReport(
            count=int(per_col.sum()),
            per_column={c: int(k) for c, k in zip(self.columns_, per_col) if k},
            missing_columns=missing_columns,
            extra_columns=extra_columns,
        )
        if missing_columns:
            shown = ", ".join(missing_columns[:10])
            more = len(missing_columns) - 10
            warnings.warn(
                f"{len(missing_columns)} feature column(s) seen in training are absent from the input and "
                f"were imputed with the training median: {shown}{f' and {more} more' if more > 0 else ''}.",
                DataQualityWarning,
                stacklevel=2,
            )
        if extra_columns:
            logger.info("ignored %d column(s) unknown to the standardizer", len(extra_columns))
        filled = np.where(miss, self.median_, arr)
        return ((filled - self.mean_) / self.std_).astype(np.float32), report

    def transform(self, df: pd.DataFrame) -> np.ndarray:
        """:meth:`transform_with_report` without the report: float32 array ``(n, p)``."""
        return self.transform_with_report(df)[0]

    def fit_transform(self, df: pd.DataFrame) -> np.ndarray:
        """:meth:`fit` then :meth:`transform` on the same rows."""
        return self.fit(df).transform(df)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe statistics (plain lists and floats)."""
        self._check_fitted()
        return {
            "format": _FORMAT,
            "std_floor": self.std_floor,
            "columns": list(self.columns_),
            "median": [float(x) for x in self.median_],
            "mean": [float(x) for x in self.mean_],
            "std": [float(x) for x in self.std_],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureStandardizer":
        """Rebuild from :meth:`to_dict` output.

        Raises:
            InputValidationError: Missing keys, unknown format or inconsistent lengths.
        """
        keys = ("columns", "median", "mean", "std")
        if not isinstance(data, dict) or any(k not in data for k in keys):
            raise InputValidationError(f"standardizer statistics must be a dict with keys {keys}. Fix: re-save the model bundle.")
        if int(data.get("format", _FORMAT)) != _FORMAT:
            raise InputValidationError(f"unknown standardizer format {data.get('format')} (this version reads {_FORMAT}).")
        p = len(data["columns"])
        if any(len(data[k]) != p for k in keys[1:]):
            raise InputValidationError("standardizer statistics have inconsistent lengths. Fix: re-save the model bundle.")
        obj = cls(std_floor=float(data.get("std_floor", 1e-6)))
        obj.columns_ = [str(c) for c in data["columns"]]
        obj.median_ = np.asarray(data["median"], dtype=float)
        obj.mean_ = np.asarray(data["mean"], dtype=float)
        obj.std_ = np.asarray(data["std"], dtype=float)
        return obj
