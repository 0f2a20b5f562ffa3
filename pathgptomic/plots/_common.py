"""Shared helpers of the plot builders: input checks, group order and colours."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from pathgptomic.errors import InputValidationError

#: Preferred order of the risk-group labels produced by ``evaluation.assign_risk_groups``.
GROUP_ORDER: tuple[str, ...] = ("low", "intermediate", "high")

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


def ordered_groups(groups: Sequence[Any] | np.ndarray) -> list[str]:
    """Unique group labels, known risk groups first in clinical order, then sorted.

    Args:
        groups: Group label per patient, shape ``(n,)``.

    Returns:
        The distinct labels as strings.
    """
    labels = {str(g) for g in np.asarray(groups, dtype=object).ravel()}
    known = [g for g in GROUP_ORDER if g in labels]
    return known + sorted(labels.difference(known))


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


def check_survival_arrays(time: Any, event: Any, groups: Any | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validate and convert the usual ``(time, event, groups)`` triple.

    Args:
        time: Follow-up times, shape ``(n,)``, finite and >= 0.
        event: Event indicators, shape ``(n,)``, values in {0, 1} (1 = death observed).
        groups: Optional group label per patient, shape ``(n,)``.

    Returns:
        ``time`` as float64, ``event`` as int64 and ``groups`` as an array of ``str`` (or None).

    Raises:
        InputValidationError: On length mismatch, non-finite or negative times, or event
            values other than 0/1.
    """
    t = np.asarray(time, dtype=float).ravel()
    e_raw = np.asarray(event).ravel()
    if t.size == 0:
        raise InputValidationError("'time' is empty: pass at least one patient's follow-up time.")
    if e_raw.shape[0] != t.shape[0]:
        raise InputValidationError(f"Dimension mismatch: 'event' has {e_raw.shape[0]} values but 'time' has {t.shape[0]}.")
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        bad = int(np.flatnonzero(~np.isfinite(t) | (t < 0))[0])
        raise InputValidationError(f"'time' must be finite and >= 0; row {bad} holds {t[bad]!r}. Drop or fix that patient.")
    e_float = e_raw.astype(float)
    if not np.all(np.isin(e_float, (0.0, 1.0))):
        bad = int(np.flatnonzero(~np.isin(e_float, (0.0, 1.0)))[0])
        raise InputValidationError(f"'event' must be 0 (censored) or 1 (death observed); row {bad} holds {e_raw[bad]!r}.")
    g = None
    if groups is not None:
        g = np.asarray([str(x) for x in np.asarray(groups, dtype=object).ravel()], dtype=object)
        if g.shape[0] != t.shape[0]:
            raise InputValidationError(f"Dimension mismatch: 'groups' has {g.shape[0]} values but 'time' has {t.shape[0]}.")
    return t, e_float.astype(np.int64), g


def check_grouped_arrays(time: Any, event: Any, groups: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`check_survival_arrays` for the case where ``groups`` is required."""
    if groups is None:
        raise InputValidationError("'groups' is required: pass one group label per patient.")
    t, e, g = check_survival_arrays(time, event, groups)
    return t, e, np.asarray(g, dtype=object)


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
