"""Feature tables that are accepted but changed, each change reported in one
:class:`~pathgptomic.errors.DataQualityWarning`: rows of one patient (e.g. several slides) collapsed to one,
and constant or all-missing feature columns dropped."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from pathgptomic.data.naming import _listing
from pathgptomic.errors import DataQualityWarning, InputValidationError

logger = logging.getLogger(__name__)


def collapse_feature_rows(features: pd.DataFrame, ids: np.ndarray, *, file: str) -> pd.DataFrame:
    """Collapse rows of the same patient to one row (first occurrence order).

    Missing cells are filled from the patient's other rows; when the rows disagree on a
    feature value, the first row wins and a :class:`DataQualityWarning` names the columns.

    Args:
        features: Float table, one row per file row, shape ``(n_rows, p)``.
        ids: Patient id per row, shape ``(n_rows,)``.

    Returns:
        Float table of shape ``(n_patients, p)`` indexed by unique patient id.
    """
    codes, order = pd.factorize(pd.Index(ids), sort=False)
    if len(order) == len(ids):
        f = features.copy()
        f.index = pd.Index(ids, name="patient_id")
        return f
    arr = features.to_numpy(dtype=float)
    first_row = np.unique(codes, return_index=True)[1]  # first row of each patient, in order
    base = arr[first_row]
    if np.isnan(base).any():  # fill missing cells from the patient's later rows
        base = features.groupby(codes, sort=True).first().to_numpy(dtype=float)
    ref = base[codes]
    differs = ~np.isnan(arr) & (arr != ref)
    conflict_cols = [str(c) for c in features.columns[differs.any(axis=0)]]
    if conflict_cols:
        warnings.warn(
            f"{file}: rows of the same patient disagree in feature column(s) {_listing(conflict_cols)}; the first row's value is used.",
            DataQualityWarning,
            stacklevel=3,
        )
    return pd.DataFrame(base, index=pd.Index(np.asarray(order, dtype=str), name="patient_id"), columns=features.columns)


def drop_uninformative(blocks: Mapping[str, pd.DataFrame], *, file: str) -> tuple[dict[str, pd.DataFrame], dict[str, list[str]]]:
    """Drop feature columns that are all missing or constant, with ONE warning listing them.

    A column is constant when it has at most one distinct non-missing value.

    Args:
        blocks: Patient-level float blocks.

    Returns:
        ``(blocks, dropped)``: the blocks without those columns, and the dropped column
        names per block (only blocks that lost columns).

    Raises:
        InputValidationError: When a block would be left with no column at all.
    """
    out: dict[str, pd.DataFrame] = {}
    dropped: dict[str, list[str]] = {}
    for name, df in blocks.items():
        arr = df.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo = np.nanmin(arr, axis=0) if len(arr) else np.full(arr.shape[1], np.nan)
            hi = np.nanmax(arr, axis=0) if len(arr) else np.full(arr.shape[1], np.nan)
        useless = np.isnan(lo) | (lo == hi)
        if useless.any():
            cols = [str(c) for c in df.columns[useless]]
            dropped[name] = cols
            if useless.all():
                raise InputValidationError(
                    f"{file}: every column of block {name!r} is empty or constant ({_listing(cols)}), "
                    "so it carries no information. Fix: check the values or do not request this block."
                )
            out[name] = df.loc[:, ~useless]
        else:
            out[name] = df
    if dropped:
        parts = "; ".join(f"{b}: {_listing(c, limit=10)}" for b, c in dropped.items())
        total = sum(len(c) for c in dropped.values())
        warnings.warn(
            f"{file}: dropped {total} feature column(s) that are all missing or constant ({parts}).",
            DataQualityWarning,
            stacklevel=3,
        )
        logger.info("dropped uninformative columns from %s: %s", file, dropped)
    return out, dropped
