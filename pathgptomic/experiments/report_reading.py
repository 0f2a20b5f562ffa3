r"""The report's automatic reading: plain statements read directly from the summary tables.

Baselines: a Cox row counts as *converged* only when every one of its cells finished with
status ``ok``; a row with any ``not_converged`` cell is shown flagged and excluded from every
claim. :func:`baseline_reading` compares each deep row with the strongest converged baseline
(highest mean C-index, :func:`strongest_baseline`), names it, and gives the paired test over
the shared cells. ``_reading`` states gradmod vs concat (fused and image branch alone, with
the ρ / k evidence of :func:`gradmod_evidence`) and whether images add to the genomics.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pathgptomic.experiments.report_tables import (
    _cell,
    _ms,
    _p,
    paired_wilcoxon,
    paired_wilcoxon_summary,
)
from pathgptomic.experiments.rows import RNA_ENCODERS, RNA_LABELS


def _reading(summary: pd.DataFrame, run_dir: Path | None = None, results: pd.DataFrame | None = None, pair_by: str = "cell") -> list[str]:
    """Plain statements of what was measured (gradmod vs concat, image branch, modality use).

    With ``results`` (one row per cell) each fused row is also tested against the better of
    its two unimodal rows (:func:`_fused_vs_unimodal`).
    """
    out = []
    by = summary.set_index("config")
    for rna in RNA_ENCODERS:
        c, g = f"concat_{rna}", f"gradmod_{rna}"
        if c in by.index and g in by.index and by.loc[c, "n_cells"] and by.loc[g, "n_cells"]:
            sc, sg = by.loc[c], by.loc[g]
            dd = sg["delta_vs_concat"]
            better = "about equal to" if abs(dd) < 0.005 else ("higher than" if dd > 0 else "lower than")
            sig = "significant at 0.05" if np.isfinite(sg["p_vs_concat"]) and sg["p_vs_concat"] < 0.05 else "not significant at 0.05"
            out.append(
                f"- {RNA_LABELS[rna]}: gradmod fused C-index {_ms(sg['cindex_mean'], sg['cindex_sd'])} vs concat "
                f"{_ms(sc['cindex_mean'], sc['cindex_sd'])}: gradmod is {better} concat (Δ {dd:+.3f}) on "
                f"{sg['n_pairs']} paired {'folds' if pair_by == 'fold' else 'cells'} (Wilcoxon p = {_p(sg['p_vs_concat'])}, {sig})"
                + ("" if dd > 0 and "not" not in sig else "; gradient modulation did not measurably help here")
                + "."
            )
            evidence = gradmod_evidence(run_dir, rna) if run_dir is not None else ""
            if evidence:
                out.append(f"  {evidence}")
            if np.isfinite(sg["cindex_image_mean"]) and np.isfinite(sc["cindex_image_mean"]):
                d = sg["cindex_image_mean"] - sc["cindex_image_mean"]
                ti = paired_wilcoxon_summary(sg)
                verdict = (
                    "no material difference (|Δ| < 0.005)"
                    if abs(d) < 0.005
                    else "gradmod trains the image branch to a higher C-index here"
                    if d > 0
                    else "gradmod's image branch is weaker than concat's here"
                )
                out.append(
                    f"  Image branch alone (W^P·P): gradmod {_ms(sg['cindex_image_mean'], sg['cindex_image_sd'])} vs concat "
                    f"{_ms(sc['cindex_image_mean'], sc['cindex_image_sd'])} ({d:+.3f}{ti}): {verdict}."
                )
    if out:
        out.append(
            "- How gradmod acts here: the trainer uses Adam, whose update m̂/√v̂ is invariant to a constant rescaling "
            "of a parameter's gradient, so besides scaling each branch's gradients by k (the paper's rule) it also "
            "scales that branch's learning rate by k for the step (`TrainConfig.modulate_step_size`, the SGD-equivalent "
            "slow-down). Where the coefficients stay close to 1 (the ρ/k evidence above and the curves), gradmod "
            "changes little and large gradmod-vs-concat differences are not expected."
        )
    out += _fused_vs_unimodal(summary, results, pair_by) if results is not None else []
    for rna in RNA_ENCODERS:
        c, g = f"concat_{rna}", f"genomic_{rna}"
        if c in by.index and g in by.index and by.loc[c, "n_cells"] and by.loc[g, "n_cells"]:
            d = -by.loc[g, "delta_vs_concat"]
            p = by.loc[g, "p_vs_concat"]
            out.append(
                f"- Does the image modality add to the genomics ({RNA_LABELS[rna]} RNA encoder)? concat "
                f"{_ms(by.loc[c, 'cindex_mean'], by.loc[c, 'cindex_sd'])} vs genomic only "
                f"{_ms(by.loc[g, 'cindex_mean'], by.loc[g, 'cindex_sd'])}: Δ {d:+.3f} (paired Wilcoxon p = {_p(p)})."
            )
    return out


def _fused_vs_unimodal(summary: pd.DataFrame, results: pd.DataFrame, pair_by: str = "cell") -> list[str]:
    """Each fused row against the better unimodal row (genomic only with its RNA encoder, image only).

    "Better" is the higher mean C-index over the run's cells; the test is the paired two-sided
    Wilcoxon signed-rank test over ``pair_by`` units (:func:`paired_wilcoxon`: seed × fold cells,
    or folds with the C-index averaged over seeds when the seeds share their test folds). The
    fused model *uses both modalities* in the claim's sense only when it is above the better one
    with p < 0.05.
    """
    by = summary.set_index("config")
    unit = "folds (C-index averaged over seeds, which share the test folds)" if pair_by == "fold" else "fold × seed cells"
    out = []
    for rna in RNA_ENCODERS:
        uni = [k for k in (f"genomic_{rna}", "image") if k in by.index and by.loc[k, "n_cells"] and np.isfinite(by.loc[k, "cindex_mean"])]
        if len(uni) < 2:
            continue
        best = max(uni, key=lambda k: float(by.loc[k, "cindex_mean"]))
        for fusion in ("concat", "gradmod", "kronecker"):
            key = f"{fusion}_{rna}"
            if key not in by.index or not by.loc[key, "n_cells"]:
                continue
            t = paired_wilcoxon(results, key, best, pair_by=pair_by)
            d, p = t["delta"], t["p"]
            if not np.isfinite(d):
                continue
            above = d > 0 and np.isfinite(p) and p < 0.05
            verdict = (
                "uses both modalities (above the better unimodal model, p < 0.05)"
                if above
                else "not shown to beat the better unimodal model at p < 0.05"
            )
            out.append(
                f"- Fused vs better unimodal: {by.loc[key, 'label']} {_ms(by.loc[key, 'cindex_mean'], by.loc[key, 'cindex_sd'])} vs "
                f"{by.loc[best, 'label']} {_ms(by.loc[best, 'cindex_mean'], by.loc[best, 'cindex_sd'])}: Δ {d:+.3f}, "
                f"better in {int(t['n_better'])} of {int(t['n'])} paired {unit}, Wilcoxon p = {_p(p)} — {verdict}."
            )
    return out


def strongest_baseline(summary: pd.DataFrame) -> pd.Series | None:
    """The converged Cox baseline with the highest mean C-index (``None`` when there is none).

    A baseline is converged when all its cells finished ``ok`` (no ``not_converged``,
    failed or missing cell).
    """
    base = summary[(summary["kind"] == "cox") & summary["converged"].astype(bool)]
    base = base[np.isfinite(base["cindex_mean"].astype(float))]
    return None if base.empty else base.loc[base["cindex_mean"].astype(float).idxmax()]


def _versus(results: pd.DataFrame, s: pd.Series, ref: pd.Series, pair_by: str = "cell") -> str:
    """``"above/below/level with <ref> … by Δ (paired Wilcoxon p over n cells)"``."""
    t = paired_wilcoxon(results, s["config"], ref["config"], pair_by=pair_by)
    d = t["delta"]
    word = "level with" if abs(d) < 0.005 else ("above" if d > 0 else "below")
    return (
        f"{word} {ref['label']} [{ref['inputs']}] {_ms(ref['cindex_mean'], ref['cindex_sd'])} "
        f"(Δ {d:+.3f}, paired Wilcoxon p = {_p(t['p'])} over {int(t['n'])} {'folds' if pair_by == 'fold' else 'cells'})"
    )


def baseline_reading(summary: pd.DataFrame, results: pd.DataFrame, pair_by: str = "cell") -> list[str]:
    """Each deep row against the strongest converged baseline (named) and the genomic baseline.

    Baseline rows with a ``not_converged`` cell are listed as excluded and never compared.
    """
    if "kind" not in summary or not (summary["kind"] == "cox").any():
        return []
    out = []
    cox = summary[summary["kind"] == "cox"]
    for _, b in cox[~cox["converged"].astype(bool) & (cox["n_not_converged"] > 0)].iterrows():
        out.append(
            f"- Excluded from every comparison: {b['label']} — {b['n_not_converged']} of {b['n_total']} cells "
            f"did not converge ({_cell(b['reason'], 160)})."
        )
    best = strongest_baseline(summary)
    if best is None:
        return out + ["- No baseline converged on every cell: no deep row is compared with a baseline."]
    out.append(f"- Strongest converged baseline: **{best['label']}** [{best['inputs']}] {_ms(best['cindex_mean'], best['cindex_sd'])}.")
    gen_rows = cox[(cox["config"] == "cox_pca") & cox["converged"].astype(bool)]
    gen = gen_rows.iloc[0] if len(gen_rows) and gen_rows.iloc[0]["config"] != best["config"] else None
    for _, s in summary[(summary["kind"] == "deep") & (summary["n_cells"] > 0)].iterrows():
        line = f"- {s['label']} [{s['inputs']}] {_ms(s['cindex_mean'], s['cindex_sd'])}: {_versus(results, s, best, pair_by)}"
        if gen is not None and "genomic" in s["inputs"]:
            line += f"; {_versus(results, s, gen, pair_by)} (same genomic inputs)"
        out.append(line + ".")
    return out


def gradmod_evidence(run_dir: Path, rna: str) -> str:
    r"""ρ / k evidence of the gradmod and concat rows from their per-step logs ("" without logs).

    Reports, over every logged step of every cell: the mean of :math:`\log_{10}\rho^G` (concat
    and gradmod), the mean coefficients :math:`k^G, k^P` applied by gradmod, and the share of
    gradmod steps where a coefficient was below 0.9 (where the modulation acted materially).
    """
    logs = {}
    for fusion in ("concat", "gradmod"):
        files = sorted((Path(run_dir) / "curves" / f"{fusion}_{rna}").glob("*_history.csv"))
        if files:
            logs[fusion] = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    if "gradmod" not in logs:
        return ""
    g = logs["gradmod"]
    rho = pd.to_numeric(g["rho_g"], errors="coerce")
    acted = (g[["coef_g", "coef_p"]].astype(float).min(axis=1) < 0.9).mean()
    text = (
        f"ρ/k evidence ({RNA_LABELS[rna]}): gradmod mean log10 ρ^G {np.log10(rho[rho > 0]).mean():+.3f}, mean "
        f"k^G {g['coef_g'].astype(float).mean():.3f}, k^P {g['coef_p'].astype(float).mean():.3f}, a coefficient "
        f"< 0.9 on {100 * acted:.0f} % of {len(g)} steps"
    )
    if "concat" in logs:
        rc = pd.to_numeric(logs["concat"]["rho_g"], errors="coerce")
        if rc.notna().any():
            text += f"; concat mean log10 ρ^G {np.log10(rc[rc > 0]).mean():+.3f} (logged, not applied)"
    return text + "."
