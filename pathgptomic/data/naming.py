"""How input-check messages name their source, rows and offending items (shared by the CSV readers
and the checks of :mod:`pathgptomic.data.validation`)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import IO

#: A CSV source: a path, or an open binary/text file object (e.g. a dashboard upload).
CsvSource = str | os.PathLike | IO

#: At most this many offending items are spelled out in one message.
_MAX_LISTED = 5


def source_name(source: CsvSource) -> str:
    """Human-readable name of a CSV source (its path, or the upload's ``name``)."""
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return str(getattr(source, "name", None) or "uploaded file")


def spreadsheet_row(position: int) -> int:
    """Spreadsheet row number of the 0-based data row ``position`` (header = row 1)."""
    return int(position) + 2


def _listing(items: Sequence[object], limit: int = _MAX_LISTED) -> str:
    shown = ", ".join(repr(x) if isinstance(x, str) else str(x) for x in list(items)[:limit])
    more = len(items) - limit
    return shown + (f" and {more} more" if more > 0 else "")
