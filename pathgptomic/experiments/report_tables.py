r"""Benchmark summary tables: per-row statistics, paired Wilcoxon tests and Markdown rows.

Per row, over its finished fold x seed cells: C-index mean ± sample sd (ddof = 1), the
same for the genomic branch alone (:math:`W^G G`) and the image branch alone
(:math:`W^P P`), the mean training time per cell, and a two-sided Wilcoxon signed-rank
test of the row against ``concat`` (same RNA encoder) over the paired cells
(same seed and fold):

.. math:: d_c = C_{\text{row}}(c) - C_{\text{concat}}(c), \qquad
          W = \sum_{d_c > 0} \operatorname{rank}(|d_c|)

(scipy's ``wilcoxon``; zero differences dropped, exact p-value for small samples).
The Markdown helpers (:func:`_row_line`, :func:`_ablation_table`, ``_HEADER``) render
:func:`summarize`'s lines for ``report.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from pathgptomic.experiments.rows import (
    ABLATION_FUSIONS,
    RNA_ENCODERS,
    RNA_LABELS,
    BenchmarkRow,
)

#: Pairing units of the paired tests: ``cell`` (one pair per seed × fold) or ``fold`` (one pair per test
#: fold, the C-index averaged over seeds) — ``fold`` when every seed uses the same folds (split files),
#: because the seeds' cells of one fold share their test patients and are not independent pairs.
PAIR_BY = ("cell", "fold")


def pairing_unit(settings: Any) -> str:
    """``"fold"`` when the run's seeds share their folds (split files), else ``"cell"``."""
    return "fold" if getattr(settings, "splits_dir", None) and len(getattr(settings, "seeds", ())) > 1 else "cell"


def paired_wilcoxon(results: pd.DataFrame, key: str, ref: str, value: str = "cindex", pair_by: str = "cell") -> dict[str, float]:
    """Wilcoxon signed-rank test of row ``key`` against row ``ref`` over shared ok cells.

    Args:
        results: One row per cell (``config, seed, fold, status, <value>``).
        key, ref: The two rows' keys.
        value: The compared column.
        pair_by: ``cell`` (pairs are seed × fold cells) or ``fold`` (both rows' values are first
            averaged over the seeds in which both finished, one pair per fold; see :data:`PAIR_BY`).

    Returns:
        ``{"n": pairs, "delta": mean difference, "p": two-sided p-value, "n_better": pairs where
        ``key`` is higher}`` (p NaN when the test is undefined: no pairs or all differences zero).
    """
    from scipy.stats import wilcoxon

    if pair_by not in PAIR_BY:
        raise ValueError(f"pair_by must be one of {PAIR_BY}, got {pair_by!r}")
    ok = results[results["status"] == "ok"]
    a = ok[ok["config"] == key].set_index(["seed", "fold"])[value].astype(float)
    b = ok[ok["config"] == ref].set_index(["seed", "fold"])[value].astype(float)
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    if pair_by == "fold" and len(joined):
        joined = joined.groupby(level="fold").mean()
    out = {"n": float(len(joined)), "delta": float("nan"), "p": float("nan"), "n_better": float((joined["a"] > joined["b"]).sum())}
    if len(joined) == 0:
        return out
    d = (joined["a"] - joined["b"]).to_numpy()
    out["delta"] = float(d.mean())
    if np.any(d != 0):
        try:
            out["p"] = float(wilcoxon(joined["a"], joined["b"]).pvalue)
        except ValueError:
            pass
    return out


def summarize(results: pd.DataFrame, rows: Sequence[BenchmarkRow], pair_by: str = "cell") -> pd.DataFrame:
    """One line per row: status, cells, C-index statistics, time, paired test vs concat (pairs: ``pair_by``)."""
    lines = []
    keys = {r.key for r in rows}
    for row in rows:
        part = results[results["config"] == row.key]
        ok = part[part["status"] == "ok"]
        n_nc = int((part["status"] == "not_converged").sum())
        line: dict[str, Any] = {
            "config": row.key,
            "label": row.label,
            "kind": row.kind,
            "fusion": row.fusion,
            "rna_encoder": row.rna_encoder,
            "inputs": row.inputs,
            "n_cells": len(ok),
            "n_total": len(part),
            "n_not_converged": n_nc,
            "converged": bool(len(ok)) and len(ok) == len(part),
        }
        for col in ("cindex", "cindex_genomic", "cindex_image", "train_seconds"):
            v = pd.to_numeric(ok[col], errors="coerce").dropna() if len(ok) else pd.Series(dtype=float)
            line[f"{col}_n"] = len(v)  # cells where it is defined (a diverged cell's C-index is NaN)
            line[f"{col}_mean"] = float(v.mean()) if len(v) else float("nan")
            line[f"{col}_sd"] = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
        reasons = part.loc[part["status"] != "ok", "reason"].astype(str)
        line["status"] = (
            "ok" if len(ok) and len(ok) == len(part) else ("partial" if len(ok) else (part["status"].iloc[-1] if len(part) else "not run"))
        )
        line["reason"] = reasons.iloc[0] if len(reasons) else ""
        ref = row.comparator
        line["comparator"] = ref or ""
        if ref and ref in keys:
            t = paired_wilcoxon(results, row.key, ref, pair_by=pair_by)
            line.update(delta_vs_concat=t["delta"], p_vs_concat=t["p"], n_pairs=int(t["n"]))
            ti = paired_wilcoxon(results, row.key, ref, value="cindex_image", pair_by=pair_by)
            line.update(delta_image_vs_concat=ti["delta"], p_image_vs_concat=ti["p"])
        else:
            line.update(
                delta_vs_concat=float("nan"),
                p_vs_concat=float("nan"),
                n_pairs=0,
                delta_image_vs_concat=float("nan"),
                p_image_vs_concat=float("nan"),
            )
        lines.append(line)
    return pd.DataFrame(lines)


def _ms(mean: float, sd: float, digits: int = 3) -> str:
    if not np.isfinite(mean):
        return "—"
    return f"{mean:.{digits}f} ± {sd:.{digits}f}" if np.isfinite(sd) else f"{mean:.{digits}f}"


def _cell(text: Any, limit: int = 400) -> str:
    """Text safe inside a markdown table cell."""
    t = " ".join(str(text).split()).replace("|", "\\|")
    return t if len(t) <= limit else t[: limit - 1] + "…"


def _p(p: float) -> str:
    if not np.isfinite(p):
        return "—"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _row_line(s: pd.Series) -> str:
    n_nc = int(s.get("n_not_converged", 0) or 0)
    if s["n_cells"] == 0:
        state = f"not converged ({n_nc} cells)" if n_nc else "not available"
        return f"| {s['label']} | {s.get('inputs', '')} | {state} | — | — | — | — | — | 0/{s['n_total']} |"
    delta = f"{s['delta_vs_concat']:+.3f}" if np.isfinite(s["delta_vs_concat"]) else "—"
    ref = f" (vs {s['comparator']}, {s['n_pairs']} pairs)" if s["comparator"] and s["n_pairs"] else ""
    flag = f" † ({n_nc} not converged; excluded from claims)" if n_nc else ""
    n_defined = int(s.get("cindex_n", s["n_cells"]))
    if n_defined < s["n_cells"]:  # never a silent drop: say over how many cells the mean is taken
        flag += f" (over {n_defined} of {s['n_cells']} cells; the others' risks were NaN/infinite)"
    return (
        f"| {s['label']} | {s.get('inputs', '')} | {_ms(s['cindex_mean'], s['cindex_sd'])}{flag} "
        f"| {_ms(s['cindex_genomic_mean'], s['cindex_genomic_sd'])} "
        f"| {_ms(s['cindex_image_mean'], s['cindex_image_sd'])} | {s['train_seconds_mean']:.1f} | {delta}{ref} "
        f"| {_p(s['p_vs_concat'])} | {s['n_cells']}{'' if s['n_cells'] == s['n_total'] else '/' + str(s['n_total'])} |"
    )


_HEADER = (
    "| Model | Inputs | C-index | genomic branch alone | image branch alone | train s / cell "
    "| Δ C-index vs concat | Wilcoxon p | cells |\n|---|---|---|---|---|---|---|---|---|"
)


def _ablation_table(summary: pd.DataFrame, value: str) -> str:
    lines = ["| RNA encoder | " + " | ".join(ABLATION_FUSIONS) + " |", "|---|" + "---|" * len(ABLATION_FUSIONS)]
    by_key = summary.set_index("config")
    for rna in RNA_ENCODERS:
        cells = []
        for fusion in ABLATION_FUSIONS:
            key = f"{fusion}_{rna}"
            if key not in by_key.index:
                cells.append("not run")
                continue
            s = by_key.loc[key]
            if s["n_cells"] == 0:
                cells.append("not available")
            else:
                cells.append(_ms(s[f"{value}_mean"], s[f"{value}_sd"]))
        lines.append(f"| {RNA_LABELS[rna]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired_wilcoxon_summary(s: pd.Series) -> str:
    """``", Wilcoxon p = …"`` for the image-branch comparison of a summary line (or "")."""
    p = s.get("p_image_vs_concat", float("nan"))
    return f", paired Wilcoxon p = {_p(p)}" if np.isfinite(p) else ""
