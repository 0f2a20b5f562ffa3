r"""Benchmark report: summary tables, paired tests, figures and ``report.md``.

Per row, over its finished fold x seed cells: C-index mean ± sample sd (ddof = 1), the
same for the genomic branch alone (:math:`W^G G`) and the image branch alone
(:math:`W^P P`), the mean training time per cell, and a two-sided Wilcoxon signed-rank
test of the row against ``concat`` (same RNA encoder) over the paired cells
(same seed and fold):

.. math:: d_c = C_{\text{row}}(c) - C_{\text{concat}}(c), \qquad
          W = \sum_{d_c > 0} \operatorname{rank}(|d_c|)

(scipy's ``wilcoxon``; zero differences dropped, exact p-value for small samples).

Baselines: a Cox row counts as *converged* only when every one of its cells finished with
status ``ok``; a row with any ``not_converged`` cell is shown flagged and excluded from every
claim. The automatic reading compares each deep row with the strongest converged baseline
(highest mean C-index), names it, and gives the paired test over the shared cells.
"""

from __future__ import annotations

import logging
import os
import platform
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pathgptomic.benchmark.rows import (
    ABLATION_FUSIONS,
    BASELINE_ROWS,
    RNA_ENCODERS,
    RNA_LABELS,
    BenchmarkRow,
)

logger = logging.getLogger(__name__)

#: The paper's headline C-indices (Path-GPTomic, best configuration; 15-fold CV on real WSIs).
PAPER_FIGURES = {"TCGA-GBMLGG": 0.848, "TCGA-KIRC": 0.754}
#: Reference figures on TCGA-GBMLGG's shared 5 splits (../shared/data/README.md).
GBMLGG_REFERENCES = (
    ("penalized Cox, 10 RNA PCs + CNV + mut (penalizer 0.1)", "0.827 ± 0.018"),
    ("the same + age", "0.851 ± 0.017"),
    ("penalized Cox, 20 PCs of all genomic features (penalizer 0.5)", "0.779 ± 0.035"),
    ("age alone (all patients)", "0.766"),
    ("MCAT (slides + genomics), published", "0.817 ± 0.021"),
    ("attention-MIL on slides alone, published", "0.787 ± 0.028"),
)


def environment_info() -> dict[str, str]:
    """Versions of the main packages, machine and date (UTC)."""
    from importlib import metadata

    info = {"date (UTC)": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M"), "python": sys.version.split()[0]}
    for pkg in ("pathgptomic", "torch", "timm", "numpy", "pandas", "scipy", "scikit-learn", "lifelines"):
        try:
            info[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            info[pkg] = "not installed"
    try:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
        info["torch threads"] = str(torch.get_num_threads())
    except Exception:  # noqa: BLE001 - informational only
        gpu = "unknown"
    info["machine"] = f"{platform.platform()}, {platform.machine()}, {os.cpu_count()} CPU cores, GPU: {gpu}"
    return info


def paired_wilcoxon(results: pd.DataFrame, key: str, ref: str, value: str = "cindex") -> dict[str, float]:
    """Wilcoxon signed-rank test of row ``key`` against row ``ref`` over shared ok cells.

    Returns:
        ``{"n": pairs, "delta": mean difference, "p": two-sided p-value}`` (NaN when the
        test is undefined: no pairs or all differences zero).
    """
    from scipy.stats import wilcoxon

    ok = results[results["status"] == "ok"]
    a = ok[ok["config"] == key].set_index(["seed", "fold"])[value].astype(float)
    b = ok[ok["config"] == ref].set_index(["seed", "fold"])[value].astype(float)
    joined = pd.concat([a.rename("a"), b.rename("b")], axis=1, join="inner").dropna()
    out = {"n": float(len(joined)), "delta": float("nan"), "p": float("nan")}
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


def summarize(results: pd.DataFrame, rows: Sequence[BenchmarkRow]) -> pd.DataFrame:
    """One line per row: status, cells, C-index statistics, time, paired test vs concat."""
    lines = []
    keys = {r.key for r in rows}
    for row in rows:
        part = results[results["config"] == row.key]
        ok = part[part["status"] == "ok"]
        n_nc = int((part["status"] == "not_converged").sum())
        line: dict[str, Any] = {"config": row.key, "label": row.label, "kind": row.kind, "fusion": row.fusion,
                                "rna_encoder": row.rna_encoder, "inputs": row.inputs, "n_cells": len(ok),
                                "n_total": len(part), "n_not_converged": n_nc,
                                "converged": bool(len(ok)) and len(ok) == len(part)}
        for col in ("cindex", "cindex_genomic", "cindex_image", "train_seconds"):
            v = pd.to_numeric(ok[col], errors="coerce").dropna() if len(ok) else pd.Series(dtype=float)
            line[f"{col}_mean"] = float(v.mean()) if len(v) else float("nan")
            line[f"{col}_sd"] = float(v.std(ddof=1)) if len(v) > 1 else float("nan")
        reasons = part.loc[part["status"] != "ok", "reason"].astype(str)
        line["status"] = "ok" if len(ok) and len(ok) == len(part) else ("partial" if len(ok) else
                                                                        (part["status"].iloc[-1] if len(part) else "not run"))
        line["reason"] = reasons.iloc[0] if len(reasons) else ""
        ref = row.comparator
        line["comparator"] = ref or ""
        if ref and ref in keys:
            t = paired_wilcoxon(results, row.key, ref)
            line.update(delta_vs_concat=t["delta"], p_vs_concat=t["p"], n_pairs=int(t["n"]))
            ti = paired_wilcoxon(results, row.key, ref, value="cindex_image")
            line.update(delta_image_vs_concat=ti["delta"], p_image_vs_concat=ti["p"])
        else:
            line.update(delta_vs_concat=float("nan"), p_vs_concat=float("nan"), n_pairs=0,
                        delta_image_vs_concat=float("nan"), p_image_vs_concat=float("nan"))
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
    return (
        f"| {s['label']} | {s.get('inputs', '')} | {_ms(s['cindex_mean'], s['cindex_sd'])}{flag} "
        f"| {_ms(s['cindex_genomic_mean'], s['cindex_genomic_sd'])} "
        f"| {_ms(s['cindex_image_mean'], s['cindex_image_sd'])} | {s['train_seconds_mean']:.1f} | {delta}{ref} "
        f"| {_p(s['p_vs_concat'])} | {s['n_cells']}{'' if s['n_cells'] == s['n_total'] else '/' + str(s['n_total'])} |"
    )


_HEADER = ("| Model | Inputs | C-index | genomic branch alone | image branch alone | train s / cell "
           "| Δ C-index vs concat | Wilcoxon p | cells |\n|---|---|---|---|---|---|---|---|---|")


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


def _reading(summary: pd.DataFrame, run_dir: Path | None = None) -> list[str]:
    """Plain statements of what was measured (gradmod vs concat, image branch, modality use)."""
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
                f"{sg['n_pairs']} paired cells (Wilcoxon p = {_p(sg['p_vs_concat'])}, {sig})"
                + ("" if dd > 0 and "not" not in sig else "; gradient modulation did not measurably help here")
                + "."
            )
            evidence = gradmod_evidence(run_dir, rna) if run_dir is not None else ""
            if evidence:
                out.append(f"  {evidence}")
            if np.isfinite(sg["cindex_image_mean"]) and np.isfinite(sc["cindex_image_mean"]):
                d = sg["cindex_image_mean"] - sc["cindex_image_mean"]
                ti = paired_wilcoxon_summary(sg)
                verdict = ("no material difference (|Δ| < 0.005)" if abs(d) < 0.005 else
                           "gradmod trains the image branch to a higher C-index here" if d > 0 else
                           "gradmod's image branch is weaker than concat's here")
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


def strongest_baseline(summary: pd.DataFrame) -> pd.Series | None:
    """The converged Cox baseline with the highest mean C-index (``None`` when there is none).

    A baseline is converged when all its cells finished ``ok`` (no ``not_converged``,
    failed or missing cell).
    """
    base = summary[(summary["kind"] == "cox") & summary["converged"].astype(bool)]
    base = base[np.isfinite(base["cindex_mean"].astype(float))]
    return None if base.empty else base.loc[base["cindex_mean"].astype(float).idxmax()]


def _versus(results: pd.DataFrame, s: pd.Series, ref: pd.Series) -> str:
    """``"above/below/level with <ref> … by Δ (paired Wilcoxon p over n cells)"``."""
    t = paired_wilcoxon(results, s["config"], ref["config"])
    d = t["delta"]
    word = "level with" if abs(d) < 0.005 else ("above" if d > 0 else "below")
    return (f"{word} {ref['label']} [{ref['inputs']}] {_ms(ref['cindex_mean'], ref['cindex_sd'])} "
            f"(Δ {d:+.3f}, paired Wilcoxon p = {_p(t['p'])} over {int(t['n'])} cells)")


def baseline_reading(summary: pd.DataFrame, results: pd.DataFrame) -> list[str]:
    """Each deep row against the strongest converged baseline (named) and the genomic baseline.

    Baseline rows with a ``not_converged`` cell are listed as excluded and never compared.
    """
    if "kind" not in summary or not (summary["kind"] == "cox").any():
        return []
    out = []
    cox = summary[summary["kind"] == "cox"]
    for _, b in cox[~cox["converged"].astype(bool) & (cox["n_not_converged"] > 0)].iterrows():
        out.append(f"- Excluded from every comparison: {b['label']} — {b['n_not_converged']} of {b['n_total']} cells "
                   f"did not converge ({_cell(b['reason'], 160)}).")
    best = strongest_baseline(summary)
    if best is None:
        return out + ["- No baseline converged on every cell: no deep row is compared with a baseline."]
    out.append(f"- Strongest converged baseline: **{best['label']}** [{best['inputs']}] "
               f"{_ms(best['cindex_mean'], best['cindex_sd'])}.")
    gen_rows = cox[(cox["config"] == "cox_pca") & cox["converged"].astype(bool)]
    gen = gen_rows.iloc[0] if len(gen_rows) and gen_rows.iloc[0]["config"] != best["config"] else None
    for _, s in summary[(summary["kind"] == "deep") & (summary["n_cells"] > 0)].iterrows():
        line = f"- {s['label']} [{s['inputs']}] {_ms(s['cindex_mean'], s['cindex_sd'])}: {_versus(results, s, best)}"
        if gen is not None and "genomic" in s["inputs"]:
            line += f"; {_versus(results, s, gen)} (same genomic inputs)"
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
    text = (f"ρ/k evidence ({RNA_LABELS[rna]}): gradmod mean log10 ρ^G {np.log10(rho[rho > 0]).mean():+.3f}, mean "
            f"k^G {g['coef_g'].astype(float).mean():.3f}, k^P {g['coef_p'].astype(float).mean():.3f}, a coefficient "
            f"< 0.9 on {100 * acted:.0f} % of {len(g)} steps")
    if "concat" in logs:
        rc = pd.to_numeric(logs["concat"]["rho_g"], errors="coerce")
        if rc.notna().any():
            text += f"; concat mean log10 ρ^G {np.log10(rc[rc > 0]).mean():+.3f} (logged, not applied)"
    return text + "."



def _figures(results: pd.DataFrame, run_dir: Path, rows: Sequence[BenchmarkRow]) -> list[str]:
    """Write the figures; returns markdown lines linking them."""
    links: list[str] = []
    ok = results[results["status"] == "ok"].copy()
    if len(ok) == 0:
        return ["(no finished cells: no figures)"]
    order = [r.label for r in rows if r.label in set(ok["label"])]
    ok["label"] = pd.Categorical(ok["label"], categories=order, ordered=True)
    ok = ok.sort_values(["label", "seed", "fold"])
    ok["label"] = ok["label"].astype(str)
    fig_dir = run_dir / "figures"
    fig_dir.mkdir(exist_ok=True)
    try:
        from pathgptomic.plots import cindex_by_config_figure

        fig = cindex_by_config_figure(ok, config="label", value="cindex",
                                      title="C-index per configuration (points: fold x seed cells; bar: mean ± sd)")
        fig.write_html(fig_dir / "cindex_by_config.html", include_plotlyjs="cdn")
        links.append("[C-index per configuration (HTML)](figures/cindex_by_config.html)")
    except Exception as exc:  # noqa: BLE001 - a figure must not lose the results
        logger.warning("plotly C-index figure failed: %s", exc)
    try:
        _cindex_png(ok, order, fig_dir / "cindex_by_config.png")
        links.append("![C-index per configuration](figures/cindex_by_config.png)")
    except Exception as exc:  # noqa: BLE001
        logger.warning("matplotlib C-index figure failed: %s", exc)
    for rna in RNA_ENCODERS:
        hists = {}
        for fusion in ("concat", "gradmod"):
            files = sorted((run_dir / "curves" / f"{fusion}_{rna}").glob("*_history.csv"))
            if files:
                hists[fusion] = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
        if len(hists) < 2:
            continue
        name = f"rho_concat_vs_gradmod_{rna}"
        try:
            from pathgptomic.plots import balance_figure

            fig = balance_figure([hists["concat"], hists["gradmod"]], ["concat", "gradmod"], window=10)
            title = f"ρ, modulation coefficients and gradient norms per step ({RNA_LABELS[rna]} RNA encoder; mean over cells)"
            fig.update_layout(title=title)
            fig.write_html(fig_dir / f"{name}.html", include_plotlyjs="cdn")
            links.append(f"[ρ curves, concat vs gradmod, {RNA_LABELS[rna]} (HTML)](figures/{name}.html)")
        except Exception as exc:  # noqa: BLE001
            logger.warning("plotly balance figure failed: %s", exc)
        try:
            _rho_png(hists, fig_dir / f"{name}.png", RNA_LABELS[rna])
            links.append(f"![ρ curves concat vs gradmod, {RNA_LABELS[rna]}](figures/{name}.png)")
        except Exception as exc:  # noqa: BLE001
            logger.warning("matplotlib balance figure failed: %s", exc)
    return links


def _cindex_png(ok: pd.DataFrame, order: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6.0, 0.75 * len(order) + 2), 4.5))
    rng = np.random.default_rng(0)
    for i, label in enumerate(order):
        v = pd.to_numeric(ok.loc[ok["label"] == label, "cindex"], errors="coerce").dropna().to_numpy()
        ax.scatter(i + rng.uniform(-0.12, 0.12, len(v)), v, s=14, alpha=0.55)
        if len(v):
            sd = v.std(ddof=1) if len(v) > 1 else 0.0
            ax.errorbar(i, v.mean(), yerr=sd, fmt="_", color="black", markersize=22, capsize=4, lw=1.5)
    ax.axhline(0.5, color="#bbbbbb", ls="--", lw=1)
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(order, rotation=35, ha="right", fontsize=8)
    ax.set_ylabel("C-index (test fold)")
    ax.set_title("C-index per configuration (points: fold x seed; bar: mean ± sd)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _rho_png(hists: dict[str, pd.DataFrame], path: Path, rna_label: str) -> None:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    colours = {"concat": "#1f77b4", "gradmod": "#d62728"}
    for name, h in hists.items():
        g = h.groupby("step")[["rho_g", "coef_g", "coef_p"]].mean()
        rho = g["rho_g"].rolling(10, min_periods=1).mean()
        axes[0].plot(rho.index, rho.to_numpy(), color=colours[name], label=f"{name}: ρ^G")
        axes[1].plot(g.index, g["coef_g"].rolling(10, min_periods=1).mean(), color=colours[name], label=f"{name}: k^G")
        axes[1].plot(g.index, g["coef_p"].rolling(10, min_periods=1).mean(), color=colours[name], ls="--",
                     label=f"{name}: k^P")
    axes[0].axhline(1.0, color="#888888", ls=":")
    axes[0].set_yscale("log")
    from matplotlib.ticker import FormatStrFormatter

    axes[0].yaxis.set_major_formatter(FormatStrFormatter("%.3g"))
    axes[0].yaxis.set_minor_formatter(FormatStrFormatter("%.3g"))
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("ρ^G = s^G / s^P (log)")
    axes[0].set_title(f"branch dominance, {rna_label} (mean over cells, 10-step smoothing)", fontsize=9)
    axes[1].set_xlabel("training step")
    axes[1].set_ylabel("modulation coefficient")
    axes[1].set_title("k^G (solid), k^P (dashed); concat logs but does not apply them", fontsize=9)
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _compute_line(s: Any) -> str:
    try:
        import torch

        cuda = torch.cuda.is_available() and (s.device or "cuda").startswith("cuda")
    except Exception:  # noqa: BLE001
        cuda = False
    if cuda:
        return "- Compute: GPU."
    n_folds = "split-file" if s.splits_dir else str(s.n_folds)
    return (f"- Compute: CPU only — a **reduced grid**: {len(s.seeds)} seed(s) x {n_folds} folds, {s.epochs} epochs, "
            "small frozen image encoder and few patches per image (the paper: 15-fold CV, GPU, full-size encoders).")


def _hyper_parameters(settings: Any, cohort: Any = None) -> list[str]:
    s = settings
    clin = list(cohort.blocks["clinical"].columns) if cohort is not None and "clinical" in cohort.blocks else []
    folds = f"split files {s.splits_dir}" if s.splits_dir else f"stratified {s.n_folds}-fold, drawn per seed"
    lines = [
        f"- Folds: {folds}; seeds: {', '.join(map(str, s.seeds))}.",
        f"- Deep rows (PathGPTomic): {s.epochs} epochs, batch {s.batch_size}, Adam lr {s.lr}, weight decay "
        f"{s.weight_decay}, dropout {s.dropout}, "
        + ("early stopping on an inner validation split of the training fold" if s.early_stopping else
           "no early stopping (the last epoch's model is evaluated)")
        + f"; gradmod α = {s.alpha} from epoch 0; Cox partial likelihood (Breslow ties); default widths "
        "(SNN 64-48-32-32, MLP-B 128, G and P 32-d, mean patch pooling).",
        f"- Image features: frozen `{s.image_encoder}` "
        + (f"(weights {s.image_weights})" if s.image_weights else "(seeded random init, weights saved in the cache)")
        + f", {s.patch_size}-px tiles, at most {s.max_patches} per slide, z-scored per training fold.",
        (f"- Penalized Cox baselines (lifelines, {' + '.join(('rnaseq', *s.cox.blocks))} blocks): {s.cox.describe()}. "
        f"Clinical covariates: {', '.join(clin) if clin else '(none in this cohort)'} — used by the 'genomic + "
        "clinical', 'clinical only' and late-fusion rows only; late fusion fits a Cox on the training fold's risks of "
        "the genomic and clinical Cox models and applies it to the test fold's. Scalers, PCA and penalizer are fitted "
        "on each training fold only."),
        ("- What the models see: the deep rows (PathGPTomic) use genomics and/or images, **never the clinical "
        "covariates** in this benchmark; the Inputs column of every table says which inputs each row used."),
        _compute_line(s),
        ("- All of the above were fixed before the run; nothing was chosen on the evaluation folds. The per-epoch "
        "evaluation-fold C-index in `curves/` is logged for monitoring only."),
    ]
    return lines


def write_report(run: Any, cohort: Any, settings: Any, *, command: str = "") -> Path:
    """Write ``report.md``, ``summary.csv`` and the figures into ``run.out_dir``.

    Returns:
        Path of ``report.md``.
    """
    out = Path(run.out_dir)
    results = run.results
    summary = summarize(results, run.rows)
    summary.to_csv(out / "summary.csv", index=False, float_format="%.4f", lineterminator="\n")
    semi = bool(cohort.meta.get("semi_synthetic"))
    synthetic = cohort.true_risk is not None and not semi
    kind = "semi-synthetic (real TCGA genomics and outcomes + synthetic images)" if semi else (
        "synthetic" if synthetic else "real")
    prefix = "semi-synthetic " if semi and not str(cohort.source).lower().startswith("semi-synthetic") else ""
    title = f"# Benchmark report — {prefix}{cohort.source}"
    lines = [title, ""]
    if semi:
        sm = cohort.meta.get("semi_synthetic_info", {})
        lines += [
            ("> **Semi-synthetic cohort.** Genomics and survival outcomes are real (TCGA); the H&E-like images are "
            f"synthetic and their morphology encodes the standardised covariate `{sm.get('covariate', '?')}` "
            f"plus Gaussian noise (sd {sm.get('noise', '?')}), which was removed from the clinical block the "
            "genomic models see. Image results measure how well a model recovers a known, real prognostic "
            "signal from images — not performance on real slides."), "",
            ("Rebuild the cohort (deterministic): `pathgptomic semisynthetic --tcga <path to "
            f"{sm.get('source_file', 'TCGA CSV')}> --covariate {sm.get('covariate', '?')} --noise {sm.get('noise', '?')} "
            f"--seed {sm.get('seed', '?')} --image-size {sm.get('image_size', '?')} --out <folder>` and pass that folder "
            "as --cohort."), "",
        ]
    elif synthetic:
        lines += ["> **Synthetic cohort** (simulated genomics, images and outcomes; see `pathgptomic.data.synthetic`).", ""]
    n_ok = int((results["status"] == "ok").sum()) if len(results) else 0
    lines += [
        f"Cohort: {cohort.n} patients, {cohort.n_events} events ({kind}); blocks "
        + ", ".join(f"{k} {v.shape[1]}" for k, v in cohort.blocks.items())
        + f"; images: {'yes' if cohort.has_images else 'no'}.",
        (f"Suite `{settings.suite}`: {len(run.rows)} rows; {n_ok} finished cells "
        f"({run.n_run} computed in the last invocation, {run.n_reused} reused)."),
        "",
        "## Command", "", "```", command or "(called from Python)", "```", "",
        "## Stated hyper-parameters (fixed in advance)", "", *_hyper_parameters(settings, cohort), "",
    ]
    base_keys = [r.key for r in BASELINE_ROWS]
    base = summary[summary["config"].isin(base_keys)]
    if len(base):
        lines += ["## Baselines", "", ("C-index mean ± sd over fold x seed cells; branch-alone columns are the "
                  "C-index of W^G·G and W^P·P alone (— where the model has no such branch or it is not separable, "
                  "as in Kronecker fusion); Δ and Wilcoxon p are paired against concat (SNN RNA encoder). The Cox "
                  "rows show genomic, genomic + clinical and clinical-only inputs side by side; † marks a row with "
                  "cells whose fit did not converge (its mean covers the converged cells only and enters no claim)."),
                  "", _HEADER, *[_row_line(s) for _, s in base.iterrows()], ""]
    grid = summary[summary["config"].isin([f"{f}_{r}" for r in RNA_ENCODERS for f in ABLATION_FUSIONS])]
    if len(grid):
        lines += ["## Paper ablation (Table 3 layout): RNA encoder x fusion", "", "Fused C-index, mean ± sd:", "",
                  _ablation_table(summary, "cindex"), "", "Image branch alone (W^P·P), mean ± sd:", "",
                  _ablation_table(summary, "cindex_image"), "",
                  "Every grid row in detail (Δ and Wilcoxon p against concat with the same RNA encoder):", "",
                  _HEADER, *[_row_line(s) for _, s in grid.iterrows()], ""]
    na = summary[summary["n_cells"] < summary["n_total"]]
    if len(na):
        lines += ["## Not available / failed / not converged rows", "", "| Row | status | reason |", "|---|---|---|"]
        for _, s in na.iterrows():
            lines.append(f"| {s['label']} | {s['status']} | {_cell(s['reason'])} |")
        lines.append("")
    reading = baseline_reading(summary, results) + _reading(summary, out)
    if reading:
        lines += ["## What was measured (read directly from the tables)", "", *reading, ""]
    lines += ["## Reference figures (not computed here)", ""]
    lines += [f"- Paper (Path-GPTomic, 15-fold CV, real WSIs, full scGPT): {k} {v:.3f}." for k, v in PAPER_FIGURES.items()]
    src = (str(cohort.source) + str(cohort.meta.get("file", "")) + str(cohort.meta.get("semi_synthetic_info", ""))).lower()
    if "gbmlgg" in src:
        lines += ["- TCGA-GBMLGG on the shared 5 splits (../shared/data/README.md, sd over the 5 folds):"]
        lines += [f"  - {a}: {b}" for a, b in GBMLGG_REFERENCES]
    lines += [("- These figures use other protocols, encoders and hardware; compare the orders of magnitude, "
              "not the third decimal."), ""]
    lines += ["## Figures", "", *_figures(results, out, run.rows), ""]
    lines += ["## Files", "", ("- `results.csv`: one row per fold x seed x configuration (status, reason, C-indices, "
              "time)."), "- `summary.csv`: the tables above in machine-readable form.",
              ("- `curves/<row>/seed<S>_fold<K>_{epochs,history}.csv`: per-epoch evaluation-fold C-indices "
              "(monitoring only) and per-step ρ / k / gradient norms (concat and gradmod rows)."),
              "- `benchmark.json`: the settings and every command that wrote into this folder.", ""]
    lines += ["## Environment", "", *[f"- {k}: {v}" for k, v in environment_info().items()], ""]
    path = out / "report.md"
    tmp = path.with_suffix(".md.tmp")
    tmp.write_text("\n".join(lines))
    tmp.replace(path)
    return path
