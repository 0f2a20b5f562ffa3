"""The report's fused-vs-better-unimodal reading against scipy's own paired Wilcoxon test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import wilcoxon

from pathgptomic.experiments.report_reading import _fused_vs_unimodal
from pathgptomic.experiments.report_tables import summarize
from pathgptomic.experiments.rows import rows_for_suite


def _results(fused_shift: float) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    base = rng.uniform(0.78, 0.84, size=15)
    values = {
        "genomic_snn": base,
        "image": base - 0.08,
        "concat_snn": base + fused_shift + rng.normal(0, 0.004, size=15),
    }
    for key, vals in values.items():
        for i, v in enumerate(vals):
            rows.append({"config": key, "seed": i // 5, "fold": i % 5, "status": "ok", "cindex": v, "cindex_image": np.nan})
    return pd.DataFrame(rows)


def test_fused_row_is_tested_against_the_better_unimodal_row() -> None:
    res = _results(0.01)
    rows = rows_for_suite("all", only=["genomic_snn", "image", "concat_snn"])
    for col in ("cindex_genomic", "train_seconds", "label", "reason"):
        res[col] = np.nan if col != "reason" else ""
    summary = summarize(res, rows)
    lines = _fused_vs_unimodal(summary, res)
    assert len(lines) == 1
    a = res[res["config"] == "concat_snn"]["cindex"].to_numpy()
    b = res[res["config"] == "genomic_snn"]["cindex"].to_numpy()  # the better unimodal row, not image
    p = wilcoxon(a, b).pvalue
    assert "Genomic only (SNN)" in lines[0] and "Image only" not in lines[0]
    assert f"Δ {np.mean(a - b):+.3f}" in lines[0] and f"better in {int((a > b).sum())} of 15" in lines[0]
    assert p < 0.05 and "uses both modalities" in lines[0]


def test_a_fused_row_level_with_the_better_unimodal_row_is_not_claimed() -> None:
    res = _results(0.0)
    for col in ("cindex_genomic", "train_seconds", "label", "reason"):
        res[col] = np.nan if col != "reason" else ""
    summary = summarize(res, rows_for_suite("all", only=["genomic_snn", "image", "concat_snn"]))
    (line,) = _fused_vs_unimodal(summary, res)
    assert "not shown to beat the better unimodal model" in line


def test_seeds_sharing_their_folds_are_paired_by_fold() -> None:
    res = _results(0.01)  # 3 seeds x the same 5 folds
    for col in ("cindex_genomic", "train_seconds", "label", "reason"):
        res[col] = np.nan if col != "reason" else ""
    summary = summarize(res, rows_for_suite("all", only=["genomic_snn", "image", "concat_snn"]), pair_by="fold")
    (line,) = _fused_vs_unimodal(summary, res, pair_by="fold")
    fold_means = res.groupby(["config", "fold"])["cindex"].mean().unstack()
    a, b = fold_means.loc["concat_snn"].to_numpy(), fold_means.loc["genomic_snn"].to_numpy()
    assert "of 5 paired folds" in line and f"Δ {np.mean(a - b):+.3f}" in line
    p = wilcoxon(a, b).pvalue
    assert p >= 0.0625 and "not shown to beat" in line  # 5 pairs can never reach p < 0.05 (two-sided)
    row = summary.set_index("config").loc["genomic_snn"]
    assert row["n_pairs"] == 5 and row["p_vs_concat"] == pytest.approx(wilcoxon(b, a).pvalue)


def test_a_cell_without_a_defined_cindex_is_counted_in_the_row_not_dropped() -> None:
    from pathgptomic.experiments.report_tables import _row_line

    res = _results(0.01)
    for col in ("cindex_genomic", "train_seconds", "label", "reason"):
        res[col] = np.nan if col != "reason" else ""
    res["train_seconds"] = 1.0
    res.loc[(res["config"] == "concat_snn") & (res["fold"] == 0) & (res["seed"] == 0), "cindex"] = np.nan  # a diverged cell
    summary = summarize(res, rows_for_suite("all", only=["genomic_snn", "image", "concat_snn"]))
    row = summary[summary["config"] == "concat_snn"].iloc[0]
    assert row["cindex_n"] == 14 and row["n_cells"] == 15
    assert row["cindex_mean"] == pytest.approx(res[res["config"] == "concat_snn"]["cindex"].mean())  # pandas skips the NaN
    assert "(over 14 of 15 cells" in _row_line(
        row.rename(index=None).copy().rename("concat_snn").to_frame().T.assign(config="concat_snn").iloc[0]
    )
