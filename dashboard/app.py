"""Path-GPTomic dashboard entry point: ``streamlit run dashboard/app.py``.

Router + frame: page config, the shared sidebar (model picker, research-use notice) and
``st.navigation`` over the pages in ``dashboard/app_pages/``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:  # pages import ``components.*``
    sys.path.insert(0, str(_HERE))

from components.settings import require_access, train_page_enabled
from components.state import NOTICE, REPO_ROOT, sidebar_model_picker, start_warm_up

#: The page icon, shipped with the app (a ``:material/...:`` favicon is fetched from a font CDN).
ICON = REPO_ROOT / "assets" / "icon.png"

st.set_page_config(page_title="Path-GPTomic", page_icon=str(ICON), layout="wide", initial_sidebar_state="expanded")
require_access()  # password / OIDC login when configured; stops the run until granted

PAGES = {
    "Patient": [
        st.Page(_HERE / "app_pages" / "predict.py", title="Predict", icon=":material/person:", default=True),
        st.Page(_HERE / "app_pages" / "explain.py", title="Explain", icon=":material/insights:", url_path="explain"),
    ],
    "Cohort": [
        st.Page(_HERE / "app_pages" / "cohort.py", title="Cohort", icon=":material/groups:", url_path="cohort"),
        st.Page(_HERE / "app_pages" / "balance.py", title="Modality balance", icon=":material/balance:", url_path="balance"),
    ],
}
if train_page_enabled():  # off for the public demo (PATHGPTOMIC_PUBLIC=1): hidden and unreachable
    PAGES["Model"] = [st.Page(_HERE / "app_pages" / "train.py", title="Train", icon=":material/model_training:", url_path="train")]

page = st.navigation(PAGES)
sidebar_model_picker()
st.caption(f":material/warning: **{NOTICE}** Path-GPTomic estimates relative survival risk from H&E and genomics.")
page.run()
# After the page is drawn: import the lazily-imported heavy modules in the background, once per
# server process, so the first prediction / Kaplan–Meier does not pay for them.
start_warm_up()
