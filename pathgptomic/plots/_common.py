"""Shared helpers of the plot builders: colours, column checks and layout.

Per-patient arrays (time, event, risk, groups) are checked by :mod:`pathgptomic.validators`.
"""

from __future__ import annotations

from typing import Any, Sequence

from pathgptomic.errors import InputValidationError

#: Colour per known risk group; other groups take colours from ``PALETTE`` in order.
GROUP_COLOURS: dict[str, str] = {"low": "#1f77b4", "intermediate": "#ff7f0e", "high": "#d62728"}

#: Colour cycle for runs and for groups without a fixed colour.
PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#9467bd",
    "#ff7f0e",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
)

#: Colours of the two modality branches, used by every balance/explain figure.
BRANCH_COLOURS: dict[str, str] = {"genomic": "#2ca02c", "image": "#9467bd", "fused": "#1f77b4", "bias": "#7f7f7f"}


def group_colours(labels: Sequence[str]) -> dict[str, str]:
    """A colour per label: fixed colours for low/intermediate/high, the palette otherwise."""
    out: dict[str, str] = {}
    spare = [c for c in PALETTE if c not in GROUP_COLOURS.values()] + list(PALETTE)
    i = 0
    for label in labels:
        if label in GROUP_COLOURS:
            out[label] = GROUP_COLOURS[label]
        else:
            out[label] = spare[i % len(spare)]
            i += 1
    return out


def rgba(hex_colour: str, alpha: float) -> str:
    """``"#rrggbb"`` to a Plotly ``"rgba(r,g,b,a)"`` string."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def require_columns(df: Any, columns: Sequence[str], name: str) -> None:
    """Raise :class:`InputValidationError` naming the missing columns of ``df``."""
    missing = [c for c in columns if c not in getattr(df, "columns", ())]
    if missing:
        have = list(getattr(df, "columns", []))
        raise InputValidationError(f"{name} lacks column(s) {missing}; it has {have}. Pass a table with those columns.")


#: Pixels kept under the plotting area for the x-axis titles and a horizontal legend.
LEGEND_BAND_PX = 100


def legend_below(fig: Any, *, band: int = LEGEND_BAND_PX) -> Any:
    """Put a horizontal legend in the bottom ``band`` pixels of the figure, below the x-axis titles.

    The legend is anchored to the figure (container) edge, not to the plotting area, and the bottom
    margin reserves the band, so it never covers subplot titles, axis titles or the figure title,
    whatever the width the figure is drawn at (a legend that wraps to a second line grows upwards
    into the reserved band).

    Args:
        fig: A Plotly figure (changed in place).
        band: Bottom margin in pixels.

    Returns:
        ``fig``.
    """
    fig.update_layout(
        legend={"orientation": "h", "yref": "container", "y": 0.0, "yanchor": "bottom", "x": 0.0, "xanchor": "left"},
        margin={"b": band},
    )
    return fig


def wrap_title(text: str, width: int = 30) -> str:
    """``text`` broken at spaces into lines of at most ``width`` characters, joined by Plotly's ``<br>``.

    For subplot titles that share the figure's width: long run names otherwise run into their
    neighbour's title on a narrow page. Words longer than ``width`` stay whole.
    """
    import textwrap

    return "<br>".join(textwrap.wrap(str(text), width=width, break_long_words=False, break_on_hyphens=False)) or ""
