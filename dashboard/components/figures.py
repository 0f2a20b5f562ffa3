"""Compatibility name for the Predict page: every dashboard figure comes from :mod:`pathgptomic.plots`.

The dashboard's own figure builders were removed (one figure layer, issue 13 item 3); only the
``add_band`` name the Predict page still imports is kept, bound to the library function.
"""

from __future__ import annotations

from pathgptomic.plots.km import add_survival_band as add_band

__all__ = ["add_band"]
