"""Attribution tables: per-feature integrated-gradients values of one patient or a cohort, the top
features, and totals per block."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from pathgptomic.errors import InputValidationError
from pathgptomic.explain.feature_names import feature_block
from pathgptomic.explain.integrated_gradients import GENOMIC_INPUTS, IGResult


def _genomic_arrays(attributions: Any, patient: int | None) -> dict[str, np.ndarray]:
    """``{input: (B, p) array}`` from an IGResult, a mapping or a 1-D/2-D array."""
    if isinstance(attributions, IGResult):
        arrays = {n: a for n, a in attributions.as_dict().items() if n in GENOMIC_INPUTS}
    elif isinstance(attributions, Mapping):
        arrays = {n: np.asarray(a, dtype=float) for n, a in attributions.items() if n in GENOMIC_INPUTS}
    else:
        arrays = {"genomic": np.asarray(attributions, dtype=float)}
    out = {}
    for n, a in arrays.items():
        a = np.atleast_2d(np.asarray(a, dtype=float))
        if patient is not None:
            if not -a.shape[0] <= patient < a.shape[0]:
                raise InputValidationError(f"patient index {patient} is outside 0..{a.shape[0] - 1}.")
            a = a[[patient]]
        out[n] = a
    return out


def _names_for(feature_names: Any, key: str, width: int) -> list[str]:
    if isinstance(feature_names, Mapping):
        names = list(feature_names.get(key, []))
    elif key == "genomic":
        names = list(feature_names)
    else:
        raise InputValidationError("feature_names must be a mapping {'cnv_mut': [...], 'rna': [...]} for IGResult/mapping attributions.")
    if len(names) != width:
        raise InputValidationError(
            f"feature_names[{key!r}] has {len(names)} names but the attributions have {width} columns; pass the bundle's feature_names."
        )
    return names


def genomic_attribution_table(attributions: Any, feature_names: Any, *, patient: int | None = 0) -> pd.DataFrame:
    """Every genomic feature's attribution with block, gene, sign and magnitude.

    Args:
        attributions: An :class:`IGResult`, a mapping ``{"cnv_mut": (B, p1), "rna": (B,
            p2)}``, or one array of shape ``(p,)`` / ``(B, p)``.
        feature_names: ``{"cnv_mut": [...], "rna": [...]}`` (the bundle's
            ``feature_names``), or a list of ``p`` names for a single array.
        patient: Row to report; None averages the signed attributions over patients.

    Returns:
        DataFrame, one row per feature: ``feature, gene, block, input, attribution,
        magnitude, sign`` (``sign`` is "+" = raises risk, "−" = lowers it, "0").
    """
    rows = []
    for key, arr in _genomic_arrays(attributions, patient).items():
        names = _names_for(feature_names, key, arr.shape[1])
        values = arr.mean(axis=0)
        for name, v in zip(names, values):
            block, gene = feature_block(str(name))
            rows.append({"feature": str(name), "gene": gene, "block": block, "input": key, "attribution": float(v)})
    df = pd.DataFrame(rows, columns=["feature", "gene", "block", "input", "attribution"])
    df["magnitude"] = df["attribution"].abs()
    df["sign"] = np.where(df["attribution"] > 0, "+", np.where(df["attribution"] < 0, "−", "0"))
    return df


def top_genomic_features(
    attributions: Any,
    feature_names: Any,
    k: int = 20,
    *,
    patient: int | None = 0,
    per_block: bool = False,
) -> pd.DataFrame:
    """The ``k`` genomic features with the largest |attribution|, with sign and block.

    Args:
        attributions: See :func:`genomic_attribution_table`.
        feature_names: See :func:`genomic_attribution_table`.
        k: Number of features (per block when ``per_block``).
        patient: Patient row (None: mean over patients).
        per_block: Top ``k`` within each block (rna, cnv, mut, scgpt, mlpa, other).

    Returns:
        The rows of :func:`genomic_attribution_table`, sorted by magnitude
        (descending), with a 1-based ``rank`` (within the block when ``per_block``).
    """
    if int(k) < 1:
        raise InputValidationError(f"k must be >= 1, not {k}.")
    table = genomic_attribution_table(attributions, feature_names, patient=patient)
    table = table.sort_values("magnitude", ascending=False, kind="stable")
    if per_block:
        table = table.groupby("block", sort=False, group_keys=False).head(int(k))
        table = table.assign(rank=table.groupby("block").cumcount() + 1)
    else:
        table = table.head(int(k)).assign(rank=np.arange(1, min(int(k), len(table)) + 1))
    return table.reset_index(drop=True)


def block_summary(table: pd.DataFrame, value: str = "attribution") -> pd.DataFrame:
    """Totals per block of a feature table.

    Args:
        table: Output of :func:`genomic_attribution_table` or :func:`cohort_summary`.
        value: Column to aggregate.

    Returns:
        DataFrame ``block, n_features, sum, sum_abs, share_abs`` (share of the summed
        |value| over all blocks), sorted by ``sum_abs``.
    """
    if "block" not in table.columns or value not in table.columns:
        raise InputValidationError(f"the table needs columns 'block' and {value!r}.")
    g = table.assign(_abs=table[value].abs()).groupby("block")
    out = pd.DataFrame({"n_features": g.size(), "sum": g[value].sum(), "sum_abs": g["_abs"].sum()})
    total = out["sum_abs"].sum()
    out["share_abs"] = out["sum_abs"] / total if total > 0 else np.nan
    return out.sort_values("sum_abs", ascending=False).reset_index()


def cohort_summary(result: IGResult, feature_names: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Mean |attribution| per genomic feature over the patients of an :class:`IGResult`.

    .. math:: \\bar a_j = \\frac{1}{B} \\sum_{i=1}^{B} |\\mathrm{IG}_{ij}|

    Args:
        result: Attributions of a batch of ``B`` patients.
        feature_names: ``{"cnv_mut": [...], "rna": [...]}``.

    Returns:
        DataFrame ``feature, gene, block, input, mean_abs_attribution, mean_attribution,
        n_patients`` sorted by ``mean_abs_attribution``.
    """
    rows = []
    for key, arr in _genomic_arrays(result, None).items():
        names = _names_for(feature_names, key, arr.shape[1])
        for j, name in enumerate(names):
            block, gene = feature_block(str(name))
            rows.append(
                {
                    "feature": str(name),
                    "gene": gene,
                    "block": block,
                    "input": key,
                    "mean_abs_attribution": float(np.abs(arr[:, j]).mean()),
                    "mean_attribution": float(arr[:, j].mean()),
                    "n_patients": int(arr.shape[0]),
                }
            )
    df = pd.DataFrame(rows)
    return df.sort_values("mean_abs_attribution", ascending=False, kind="stable").reset_index(drop=True)
