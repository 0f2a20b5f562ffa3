"""Small UI helpers: error display without tracebacks or server paths, user text as text, formatting.

Streamlit renders Markdown in ``st.markdown``, ``st.caption``, ``st.error`` and friends: a job name
or a column name such as ``[x](https://evil)`` or ``![x](https://evil/img.png)`` would become a link
or a remote image there. User-supplied text goes through :func:`plain` (every ASCII punctuation mark
backslash-escaped, control characters shown as ``\\xNN``) or through ``st.text``/``st.dataframe``.
"""

from __future__ import annotations

import logging
import os
import re
import string
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from pathgptomic.errors import PathGPTomicError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Metric:
    """One key number for :func:`metric_row` (``caption``: program text, e.g. a CI or a band)."""

    label: str
    value: Any
    help: str | None = None
    caption: str | None = None


_PUNCTUATION = frozenset(string.punctuation)
#: Bidirectional-text controls (format characters that can reorder what a reader sees).
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: An absolute POSIX path not under a known root: kept as ``…/<file name>``.
_OTHER_PATH = re.compile(r"(?<![\w.:/~>\\-])/(?:[^\s/'\"`:,;()<>\[\]]+/)+([^\s/'\"`:,;()<>\[\]]+)")


def printable(text: str) -> str:
    """``text`` with control and bidi characters (newlines excepted) shown as ``\\xNN``/``\\uNNNN`` escapes."""
    out = []
    for ch in str(text):
        if ch == "\n":
            out.append(ch)
        elif ch in _BIDI or ord(ch) < 32 or 127 <= ord(ch) < 160:
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def md_escape(text: str) -> str:
    """``text`` with every ASCII punctuation mark backslash-escaped, so Markdown shows it verbatim.

    CommonMark lets any ASCII punctuation be escaped; escaping all of it defeats links, images,
    emphasis, code, HTML, math (``$``), autolinks (``https://``, ``www.``) and Streamlit's
    ``:color[...]`` directives in one rule.
    """
    return "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in text)


def plain(text: object) -> str:
    """User-supplied ``text`` made safe for any Markdown-rendering element (shown as typed)."""
    return md_escape(printable(str(text)))


def _path_roots() -> list[tuple[str, str]]:
    """(absolute folder, neutral label) pairs for :func:`scrub_paths`, longest folder first."""
    from components.safe_paths import slide_root
    from components.state import DEMO_COHORT_DIR, MODELS_DIR, REPO_ROOT
    from pathgptomic.jobs import default_data_dir

    labelled = [
        (default_data_dir(), "<data folder>"),
        (MODELS_DIR, "<models folder>"),
        (DEMO_COHORT_DIR, "<demo cohort>"),
        (REPO_ROOT, "<app folder>"),
        (Path(tempfile.gettempdir()), "<temp folder>"),
        (Path(sys.prefix), "<python>"),
        (Path(sys.base_prefix), "<python>"),
        (Path.home(), "~"),
    ]
    root = slide_root()
    if root is not None:
        labelled.append((root, "<slide folder>"))
    pairs: dict[str, str] = {}
    for folder, label in labelled:
        for form in {str(folder), os.path.realpath(folder)}:
            if len(form) > 1 and os.path.isabs(form):
                pairs.setdefault(form.rstrip("/"), label)
    return sorted(pairs.items(), key=lambda kv: len(kv[0]), reverse=True)


def scrub_paths(text: str) -> str:
    """``text`` with server paths replaced by neutral labels; file names are kept.

    A path under the data folder, the models folder, the demo cohort, the slide folder, the app
    folder, the temp folder, the Python installation or the home folder keeps only its part
    below that folder (``/srv/data/jobs/ab12/job.log`` → ``<data folder>/jobs/ab12/job.log``);
    any other absolute path keeps only its file name (``…/name``).
    """
    for folder, label in _path_roots():
        text = re.sub(re.escape(folder) + r"(?![\w.-])", lambda _m, lab=label: lab, text)
    return _OTHER_PATH.sub(lambda m: "…/" + m.group(1), text)


def user_message(text: str) -> str:
    """An error/warning text for users: server paths scrubbed, shown verbatim (no Markdown)."""
    return plain(scrub_paths(str(text)))


def show_error(text: str) -> None:
    """``st.error`` of :func:`user_message` (what to fix, no paths, no injected Markdown)."""
    st.error(user_message(text), icon=":material/error:")


def show_warning(text: str) -> None:
    """``st.warning`` of :func:`user_message`."""
    st.warning(user_message(text), icon=":material/warning:")


def run_guarded(main: Callable[[], Any]) -> None:
    """Run a page body; show project errors as ``st.error`` (what to fix), never a traceback.

    Messages go through :func:`user_message`: no server paths, no Markdown from user text.
    Unexpected exceptions are logged server-side with their traceback and shown to the user
    as a one-line error. Streamlit's own control flow (``st.stop``/``st.rerun``) derives from
    ``BaseException`` and passes through.
    """
    try:
        main()
    except PathGPTomicError as exc:
        show_error(str(exc))
    except Exception as exc:  # last line of defence for the UI
        logger.exception("unexpected error in a dashboard page")
        show_error(f"Unexpected error ({type(exc).__name__}): {exc}. The server log has the details.")


def metric_row(items: Sequence[Metric]) -> None:
    """Key numbers side by side, each as wide as its label and value, wrapping onto further lines
    when the page is narrow: a value is never cut off with an ellipsis (``st.columns`` gives every
    metric an equal share of the width and truncates what does not fit, e.g. at 800 px).

    Args:
        items: One :class:`Metric` per number, in reading order.
    """
    row = st.container(horizontal=True, wrap=True, gap="large")
    for item in items:
        with row.container(width="content"):
            st.metric(item.label, item.value, help=item.help)
            if item.caption:
                st.caption(item.caption)


def ordinal(n: int) -> str:
    """``1`` → ``"1st"``, ``12`` → ``"12th"``, ``23`` → ``"23rd"``."""
    n = int(n)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def fmt_ci(value: float, lower: float, upper: float, digits: int = 3) -> str:
    """``value (lower–upper)``."""
    return f"{value:.{digits}f} ({lower:.{digits}f}–{upper:.{digits}f})"
