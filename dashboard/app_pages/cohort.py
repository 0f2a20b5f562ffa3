"""Cohort page (skeleton)."""

from __future__ import annotations

import streamlit as st

from components.state import current_bundle
from components.ui import run_guarded


def main() -> None:
    st.title("Cohort")
    bundle = current_bundle()
    if bundle is None:
        return


run_guarded(main)
