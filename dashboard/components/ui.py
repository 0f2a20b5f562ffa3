"""Small UI helpers: error display without tracebacks, formatting."""

from __future__ import annotations

import logging
from typing import Any, Callable

import streamlit as st

from pathgptomic.errors import PathGPTomicError

logger = logging.getLogger(__name__)


def run_guarded(main: Callable[[], Any]) -> None:
    """Run a page body; show project errors as ``st.error`` (what to fix), never a traceback.

    Unexpected exceptions are logged server-side with their traceback and shown to the user
    as a one-line error. Streamlit's own control flow (``st.stop``/``st.rerun``) derives from
    ``BaseException`` and passes through.
    """
    try:
        main()
    except PathGPTomicError as exc:
        st.error(str(exc), icon=":material/error:")
    except Exception as exc:  # noqa: BLE001 - last line of defence for the UI
        logger.exception("unexpected error in a dashboard page")
        st.error(f"Unexpected error ({type(exc).__name__}): {exc}. The server log has the details.",
                 icon=":material/error:")


def fmt_p(p: float) -> str:
    """p-value for display (``< 0.0001`` below that)."""
    if p != p:  # NaN
        return "n/a"
    return "< 0.0001" if p < 1e-4 else f"{p:.4f}"


def ordinal(n: int) -> str:
    """``1`` → ``"1st"``, ``12`` → ``"12th"``, ``23`` → ``"23rd"``."""
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def fmt_ci(value: float, lower: float, upper: float, digits: int = 3) -> str:
    """``value (lower–upper)``."""
    return f"{value:.{digits}f} ({lower:.{digits}f}–{upper:.{digits}f})"
