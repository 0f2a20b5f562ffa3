"""Static export of figures (PNG / SVG bytes) for download buttons and reports.

Plotly's own static export needs the optional ``kaleido`` package and a Chrome/Chromium
binary; neither is a dependency of this project. :func:`figure_to_bytes` uses it when it
works and otherwise raises :class:`StaticExportUnavailable`; the Kaplan–Meier figure, the
one the Cohort page offers for download, has a matplotlib re-drawing of the same data
(:func:`pathgptomic.plots.km.km_matplotlib`) that needs neither.
"""

from __future__ import annotations

import importlib.util
import logging

import plotly.graph_objects as go

from pathgptomic.errors import InputValidationError, PathGPTomicError

logger = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("png", "svg")


class StaticExportUnavailable(PathGPTomicError):
    """Plotly static export cannot run here (no kaleido or no Chrome)."""


def kaleido_available() -> bool:
    """True when the ``kaleido`` package can be imported (Chrome may still be missing)."""
    return importlib.util.find_spec("kaleido") is not None


def figure_to_bytes(fig: go.Figure, fmt: str = "png", *, scale: float = 2.0) -> bytes:
    """A Plotly figure as PNG or SVG bytes through kaleido.

    Args:
        fig: The figure.
        fmt: ``"png"`` or ``"svg"``.
        scale: Pixel scale of the PNG.

    Returns:
        The encoded image.

    Raises:
        InputValidationError: For another ``fmt``.
        StaticExportUnavailable: When kaleido or its Chrome is missing; the message says
            to install ``kaleido`` (and Chrome) or to use ``km_matplotlib`` for KM figures,
            and to download the figure from the chart's own toolbar (camera icon).
    """
    if fmt not in FORMATS:
        raise InputValidationError(f"fmt must be one of {FORMATS}, not {fmt!r}.")
    advice = (
        "Static image export of Plotly figures needs the 'kaleido' package and a Chrome/Chromium "
        "browser. Install them (pip install kaleido; kaleido_get_chrome), use "
        "pathgptomic.plots.km_matplotlib for Kaplan–Meier figures, or use the camera icon of the chart."
    )
    if not kaleido_available():
        raise StaticExportUnavailable(advice)
    try:
        return fig.to_image(format=fmt, scale=scale)
    except Exception as err:  # kaleido raises assorted errors when Chrome is absent
        logger.info("plotly static export failed: %s", err)
        raise StaticExportUnavailable(f"{advice} ({type(err).__name__}: {err})") from err
