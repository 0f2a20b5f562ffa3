"""The report's figures: C-index per configuration and ρ / k curves, as HTML (Plotly) and PNG.

``_figures`` writes into ``<run_dir>/figures`` the C-index per configuration (points:
fold x seed cells; bar: mean ± sd) and, per RNA encoder with both concat and gradmod
logs, the branch-dominance ratio :math:`\\rho^G = s^G / s^P` with the modulation
coefficients :math:`k^G, k^P` per training step; it returns the Markdown lines linking
them. A figure that fails is logged and left out, never losing the results.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from pathgptomic.experiments.rows import RNA_ENCODERS, RNA_LABELS, BenchmarkRow

logger = logging.getLogger(__name__)

#: Trailing-mean window (training steps) of the ρ / k curves, HTML and PNG alike.
SMOOTH_STEPS = 10


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

        fig = cindex_by_config_figure(
            ok, config="label", value="cindex", title="C-index per configuration (points: fold x seed cells; bar: mean ± sd)"
        )
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

            fig = balance_figure([hists["concat"], hists["gradmod"]], ["concat", "gradmod"], window=SMOOTH_STEPS)
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
    """ρ^G and k^G / k^P per step, mean over cells, smoothed by :func:`~pathgptomic.plots.balance.balance_series`."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from pathgptomic.plots.balance import balance_series

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    colours = {"concat": "#1f77b4", "gradmod": "#d62728"}
    for name, h in hists.items():
        g = balance_series(h, window=SMOOTH_STEPS)
        axes[0].plot(g["step"], g["rho_g_smooth"], color=colours[name], label=f"{name}: ρ^G")
        axes[1].plot(g["step"], g["coef_g_smooth"], color=colours[name], label=f"{name}: k^G")
        axes[1].plot(g["step"], g["coef_p_smooth"], color=colours[name], ls="--", label=f"{name}: k^P")
    axes[0].axhline(1.0, color="#888888", ls=":")
    axes[0].set_yscale("log")
    from matplotlib.ticker import FormatStrFormatter

    axes[0].yaxis.set_major_formatter(FormatStrFormatter("%.3g"))
    axes[0].yaxis.set_minor_formatter(FormatStrFormatter("%.3g"))
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("ρ^G = s^G / s^P (log)")
    axes[0].set_title(f"branch dominance, {rna_label} (mean over cells, {SMOOTH_STEPS}-step smoothing)", fontsize=9)
    axes[1].set_xlabel("training step")
    axes[1].set_ylabel("modulation coefficient")
    axes[1].set_title("k^G (solid), k^P (dashed); concat logs but does not apply them", fontsize=9)
    for ax in axes:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
