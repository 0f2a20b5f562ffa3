"""AppTest smoke tests: every page of the dashboard renders without an exception."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
PAGES = ["app_pages/predict.py", "app_pages/cohort.py", "app_pages/balance.py", "app_pages/explain.py",
         "app_pages/train.py"]


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("PATHGPTOMIC_DATA_DIR", str(tmp_path / "data"))
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.mark.parametrize("page", PAGES)
def test_page_renders(page):
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    assert not at.exception
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Research use only" in w.value for w in at.sidebar.warning)
