"""The Kaplan–Meier figure drawn with matplotlib, as PNG or SVG bytes (static export).

:func:`km_matplotlib` draws the data of :func:`pathgptomic.plots.km_plotly.km_figure`
(same :func:`~pathgptomic.plots.km_data.km_plot_data`) with matplotlib's
object-oriented API, for deployments without kaleido and Chrome.
"""

from __future__ import annotations

import io
from typing import Any, Sequence

import numpy as np
import pandas as pd

from pathgptomic.errors import InputValidationError
from pathgptomic.plots._common import group_colours
from pathgptomic.plots.km_data import _finite_band, km_plot_data


def km_matplotlib(
    time: Any,
    event: Any,
    groups: Any,
    *,
    fmt: str = "png",
    time_unit: str = "months",
    ci: bool = True,
    at_risk_times: Sequence[float] | None = None,
    title: str | None = None,
    km_df: pd.DataFrame | None = None,
    stats: dict[str, Any] | None = None,
    dpi: int = 150,
) -> bytes:
    """The :func:`km_figure` drawing, re-done with matplotlib, as PNG or SVG bytes.

    Static export of Plotly figures needs kaleido and a Chrome binary, which a plain
    deployment lacks; this draws the same data (same :func:`km_steps`,
    :func:`censor_marks`, :func:`at_risk_counts`, statistics) with matplotlib's
    object-oriented API (no pyplot, no global backend change, thread-safe).

    Args:
        time, event, groups, time_unit, ci, at_risk_times, title, km_df, stats: As in
            :func:`km_figure`.
        fmt: ``"png"`` or ``"svg"``.
        dpi: Resolution of the PNG.

    Returns:
        The encoded image.

    Raises:
        InputValidationError: For another ``fmt``.
    """
    if fmt not in ("png", "svg"):
        raise InputValidationError(f"fmt must be 'png' or 'svg', not {fmt!r}.")
    from matplotlib.figure import Figure  # lazy: optional [app] dependency

    d = km_plot_data(time, event, groups, at_risk_times=at_risk_times, km_df=km_df, stats=stats)
    g, steps, marks, ticks, risk, st = d.groups, d.steps, d.marks, d.ticks, d.at_risk, d.stats
    labels = list(steps)
    colours = group_colours(labels)

    fig = Figure(figsize=(7.5, 5.6))
    ax, ax_tab = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [4, 1]})
    for label in labels:
        s, c = steps[label], colours[label]
        if ci:
            lower, upper = _finite_band(s)
            ax.fill_between(s.x, lower, upper, step="post", color=c, alpha=0.18, linewidth=0)
        ax.step(s.x, s.y, where="post", color=c, lw=2, label=f"{label} (n={int(np.sum(g == label))})")
        m = marks[marks["group"] == label]
        ax.plot(m["time"], m["survival"], linestyle="none", marker="|", ms=8, color=c)
    ax.set_ylim(0, 1.03)
    ax.set_ylabel("Survival probability")
    ax.legend(loc="lower left", frameon=False)
    head = title or "Kaplan–Meier survival by risk group"
    ax.set_title(head + (f"\n{st['text']}" if st.get("text") else ""), fontsize=11)
    ax.grid(alpha=0.3)
    for i, label in enumerate(labels[::-1]):
        r = risk[risk["group"] == label]
        for tick, n in zip(r["time"], r["at_risk"]):
            ax_tab.text(tick, i, str(n), ha="center", va="center", color=colours[label], fontsize=9)
    ax_tab.set_ylim(-0.6, len(labels) - 0.4)
    ax_tab.set_yticks(range(len(labels)), labels[::-1])
    ax_tab.set_xticks(ticks)
    ax_tab.set_xlabel(f"Time ({time_unit})")
    ax_tab.set_title("Number at risk", fontsize=9, loc="left")
    for side in ("top", "right", "left"):
        ax_tab.spines[side].set_visible(False)
    ax_tab.tick_params(left=False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi)
    return buf.getvalue()
