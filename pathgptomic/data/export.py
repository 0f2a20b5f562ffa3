"""Tables written for people: CSV text that a spreadsheet opens as data, never as formulas.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets ("CSV injection", OWASP). Every CSV the
library or the dashboard writes for download goes through :func:`spreadsheet_safe` (or
:func:`csv_text`), which prefixes such *text* cells with a single quote. Numbers are left
alone: ``-1.5`` stored as a float is a number, not a formula.
"""

from __future__ import annotations

import pandas as pd

#: First characters that make a spreadsheet evaluate a cell.
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """``value`` with a leading ``'`` when it is text that a spreadsheet would run as a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``df`` whose text cells and column names cannot run as spreadsheet formulas.

    Args:
        df: Any table, shape ``(n, p)``.

    Returns:
        A new frame of the same shape; numeric columns are unchanged.
    """
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(neutralise_cell)
    out.columns = [neutralise_cell(str(c)) for c in out.columns]
    return out


def csv_text(df: pd.DataFrame) -> str:
    """CSV text of ``df`` (no index) after :func:`spreadsheet_safe`."""
    return spreadsheet_safe(df).to_csv(index=False, lineterminator="\n")
