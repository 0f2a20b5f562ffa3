"""Benchmark-report figure: C-index per configuration, folds as points, mean ± sd."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from pathgptomic.errors import InputValidationError
from pathgptomic.plots._common import PALETTE, require_columns


def cindex_summary(results: pd.DataFrame, *, config: str = "config", value: str = "cindex") -> pd.DataFrame:
    """Mean, sd (ddof=1; 0 for one fold) and count of ``value`` per configuration.

    Args:
        results: Long table, one row per (configuration, fold).
        config: Column naming the configuration.
        value: Column with the C-index.

    Returns:
        DataFrame ``config, mean, sd, n`` in the configurations' order of first appearance.
    """
    require_columns(results, (config, value), "The benchmark results")
    vals = pd.to_numeric(results[value], errors="coerce")
    if vals.notna().sum() == 0:
        raise InputValidationError(f"column {value!r} of the benchmark results holds no numbers.")
    df = results.assign(_v=vals)
    order = list(dict.fromkeys(df[config].astype(str)))
    g = df.assign(**{config: df[config].astype(str)}).groupby(config, sort=False)["_v"]
    out = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1).fillna(0.0), "n": g.count()}).reindex(order)
    return out.rename_axis(config).reset_index()


def cindex_by_config_figure(
    results: pd.DataFrame,
    *,
    config: str = "config",
    value: str = "cindex",
    references: Mapping[str, float] | None = None,
    title: str = "C-index by configuration (points: folds; bar: mean ± sd)",
) -> go.Figure:
    """C-index per configuration: one point per fold and the mean ± sd.

    Args:
        results: Long table, one row per (configuration, fold), e.g. columns
            ``config, fold, cindex``.
        config: Column naming the configuration.
        value: Column with the C-index.
        references: Horizontal reference lines ``{label: value}`` (e.g. published figures).
        title: Figure title.

    Returns:
        Figure with one points trace per configuration and one mean ± sd trace.
    """
    summary = cindex_summary(results, config=config, value=value)
    fig = go.Figure()
    for i, name in enumerate(summary[config]):
        part = results[results[config].astype(str) == name]
        fig.add_trace(
            go.Scatter(
                x=[name] * len(part),
                y=pd.to_numeric(part[value], errors="coerce"),
                mode="markers",
                marker={"color": PALETTE[i % len(PALETTE)], "size": 8, "opacity": 0.6},
                name=name,
                showlegend=False,
                hovertemplate=f"{name}: %{{y:.3f}}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=summary[config],
            y=summary["mean"],
            mode="markers",
            marker={"symbol": "line-ew-open", "size": 28, "color": "#111111", "line": {"width": 3}},
            error_y={"type": "data", "array": summary["sd"], "visible": True, "color": "#111111"},
            name="mean ± sd",
            customdata=np.stack([summary["sd"], summary["n"]], axis=1),
            hovertemplate="%{x}: %{y:.3f} ± %{customdata[0]:.3f} (n=%{customdata[1]})<extra></extra>",
        )
    )
    for label, v in (references or {}).items():
        fig.add_hline(y=float(v), line={"dash": "dot", "color": "#888888"}, annotation_text=label)
    fig.add_hline(y=0.5, line={"dash": "dash", "color": "#cccccc", "width": 1})
    fig.update_layout(title=title, template="plotly_white", yaxis_title="C-index", xaxis_title=config)
    return fig
