"""Deployment settings: password gate, OIDC login, Train page switch, queue and rate limits, upload
limits, the shipped page icon; user-facing text without server paths or injected Markdown.

AppTest runs the real app (``dashboard/app.py``); the job store goes to a temporary data folder.
"""

from __future__ import annotations

import ast
import os
import re
import string
import sys
import time
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "dashboard" / "app.py")
TIMEOUT = 240
sys.path.insert(0, str(REPO / "dashboard"))

from components import settings as S
from components import ui


@pytest.fixture(autouse=True)
def _clean_env(tmp_path, monkeypatch):
    """No deployment setting leaks in from the environment; jobs go to a temporary data folder."""
    for setting in S.SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    monkeypatch.setenv("PATHGPTOMIC_DATA_DIR", str(tmp_path / "data"))
    import streamlit as st

    st.cache_data.clear()
    from components.state import job_store

    job_store.clear()


def _app(monkeypatch, **env: str) -> AppTest:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return AppTest.from_file(APP, default_timeout=TIMEOUT)


def _shown(element) -> str:
    """Text of an element as the reader sees it (Markdown escapes removed)."""
    return element.value.replace("\\", "")


def _sidebar_picker_shown(at: AppTest) -> bool:
    return any(s.key == "sidebar.bundle" for s in at.sidebar.selectbox)


# ----------------------------------------------------------------------------- settings values


def test_public_switch_turns_the_train_page_off_unless_overridden(monkeypatch):
    assert S.train_page_enabled()
    monkeypatch.setenv("PATHGPTOMIC_PUBLIC", "1")
    assert not S.train_page_enabled()
    monkeypatch.setenv("PATHGPTOMIC_TRAIN_PAGE", "on")
    assert S.train_page_enabled()
    monkeypatch.setenv("PATHGPTOMIC_PUBLIC", "0")
    monkeypatch.setenv("PATHGPTOMIC_TRAIN_PAGE", "0")
    assert not S.train_page_enabled()


def test_unreadable_settings_name_the_setting(monkeypatch):
    monkeypatch.setenv("PATHGPTOMIC_PUBLIC", "maybe")
    with pytest.raises(S.ConfigError, match="PATHGPTOMIC_PUBLIC='maybe' is not on/off"):
        S.check_all()
    monkeypatch.setenv("PATHGPTOMIC_PUBLIC", "1")
    monkeypatch.setenv("PATHGPTOMIC_MAX_ACTIVE_JOBS", "lots")
    with pytest.raises(S.ConfigError, match="PATHGPTOMIC_MAX_ACTIVE_JOBS='lots' is not a whole number"):
        S.check_all()
    monkeypatch.setenv("PATHGPTOMIC_MAX_ACTIVE_JOBS", "-1")
    with pytest.raises(S.ConfigError, match="below 0"):
        S.max_active_jobs()


def test_launch_wait_counts_launches_in_the_window():
    assert S.launch_wait([], 1000.0, limit=2, window_s=60) == 0.0
    assert S.launch_wait([990.0], 1000.0, limit=2, window_s=60) == 0.0
    assert S.launch_wait([950.0, 990.0], 1000.0, limit=2, window_s=60) == pytest.approx(10.0)
    assert S.launch_wait([900.0, 990.0], 1000.0, limit=2, window_s=60) == 0.0  # 900 is outside
    assert S.launch_wait([], 1000.0, limit=0, window_s=60) == float("inf")


def test_password_and_email_rules():
    assert S.password_matches("s3cret", "s3cret")
    assert not S.password_matches("s3cre", "s3cret") and not S.password_matches("", "s3cret")
    assert S.password_matches("pässwörd", "pässwörd")  # non-ASCII compares as UTF-8 bytes
    allowed = ("ana@lab.org", "@clinic.example")
    assert S.email_allowed("Ana@Lab.org", allowed) and S.email_allowed("bo@clinic.example", allowed)
    assert not S.email_allowed("eve@lab.org.evil", allowed) and not S.email_allowed("", allowed)
    assert S.email_allowed("anyone@x.y", ())


def test_deployment_doc_names_every_setting_and_upload_limit():
    doc = (REPO / "docs" / "DEPLOYMENT.md").read_text()
    missing = [s.name for s in S.SETTINGS if s.name not in doc]
    assert missing == []
    for name in ("PATHGPTOMIC_MAX_SLIDE_MB", "PATHGPTOMIC_MAX_CSV_MB", "maxUploadSize", "[auth]"):
        assert name in doc


def test_server_upload_cap_agrees_with_the_per_file_limits():
    from components import uploads

    if {"PATHGPTOMIC_MAX_SLIDE_MB", "PATHGPTOMIC_MAX_CSV_MB"} & set(os.environ):
        pytest.skip("per-file limits overridden in this environment")
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    cap = config["server"]["maxUploadSize"]
    assert cap == max(uploads.DEFAULT_SLIDE_LIMIT_MB, uploads.DEFAULT_CSV_LIMIT_MB)
    assert uploads.DEFAULT_CSV_LIMIT_MB <= cap


def test_page_icon_is_a_shipped_png():
    from PIL import Image

    icon = REPO / "assets" / "icon.png"
    with Image.open(icon) as img:
        assert img.format == "PNG" and img.size == (64, 64)
    tree = ast.parse(Path(APP).read_text())
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "set_page_config"]
    (call,) = calls
    icon_arg = next(k.value for k in call.keywords if k.arg == "page_icon")
    assert not isinstance(icon_arg, ast.Constant), "page_icon must be the shipped file, not a CDN icon name"


# ----------------------------------------------------------------------------- gates (AppTest)


def test_password_gate_blocks_until_the_right_password(monkeypatch):
    at = _app(monkeypatch, PATHGPTOMIC_PASSWORD="correct horse")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not _sidebar_picker_shown(at)  # no page, no sidebar before the password
    at.text_input(key="access.password").input("wrong")
    at.button(key="FormSubmitter:access.form-Enter").click().run()
    assert any("Wrong password" in e.value for e in at.error)
    assert not _sidebar_picker_shown(at)
    at.text_input(key="access.password").input("correct horse")
    at.button(key="FormSubmitter:access.form-Enter").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert _sidebar_picker_shown(at)
    assert "access.password" not in at.session_state  # the typed password is not kept
    assert at.session_state["access.granted"] != "correct horse"


def test_public_demo_hides_the_train_page_also_from_secrets(monkeypatch):
    at = _app(monkeypatch, PATHGPTOMIC_PUBLIC="1")
    at.run()
    assert not at.exception
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/train.py")
    monkeypatch.delenv("PATHGPTOMIC_PUBLIC")
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["PATHGPTOMIC_PUBLIC"] = "true"
    at.run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("app_pages/train.py")


def test_misconfigured_setting_stops_the_app_with_its_name(monkeypatch):
    at = _app(monkeypatch, PATHGPTOMIC_SESSION_LAUNCHES="three")
    at.run()
    assert not at.exception
    assert any("PATHGPTOMIC_SESSION_LAUNCHES" in e.value for e in at.error)
    assert not _sidebar_picker_shown(at)


AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "x" * 32,
    "client_id": "id",
    "client_secret": "secret",
    "server_metadata_url": "https://idp.example/.well-known/openid-configuration",
}


def test_oidc_login_gate(monkeypatch):
    monkeypatch.setattr(S, "_authlib_installed", lambda: True)
    at = _app(monkeypatch, PATHGPTOMIC_LOGIN="1", PATHGPTOMIC_ALLOWED_EMAILS="@lab.org")
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.button(key="access.login").label == "Log in" and not _sidebar_picker_shown(at)
    at.user = {"is_logged_in": True, "email": "eve@evil.example"}
    at.run()
    assert any("not allowed" in e.value for e in at.error) and not _sidebar_picker_shown(at)
    at.user = {"is_logged_in": True, "email": "ana@lab.org"}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _sidebar_picker_shown(at) and at.sidebar.button(key="access.logout")


def test_oidc_login_without_auth_secrets_or_authlib_tells_the_operator(monkeypatch):
    at = _app(monkeypatch, PATHGPTOMIC_LOGIN="1")
    at.user = {"is_logged_in": False}
    at.run()
    assert any("no [auth] section" in _shown(e) for e in at.error)
    monkeypatch.setattr(S, "_authlib_installed", lambda: False)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["auth"] = AUTH
    at.user = {"is_logged_in": False}
    at.run()
    assert any("Authlib" in e.value for e in at.error)
    assert not _sidebar_picker_shown(at)


# ----------------------------------------------------------------------------- launch limits (AppTest)


def _train_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_queue_limit_refuses_a_launch_over_it(monkeypatch):
    import sys as _sys

    from pathgptomic import jobs as J

    monkeypatch.setenv("PATHGPTOMIC_MAX_ACTIVE_JOBS", "1")
    store = J.JobStore(os.environ["PATHGPTOMIC_DATA_DIR"])
    busy = store.submit([_sys.executable, "-c", "import time; time.sleep(60)"], add_output_args=False, name="busy")
    try:
        at = _train_page()
        at.button(key="FormSubmitter:train.form-Launch job").click().run()
        assert any("limit of this deployment (1)" in _shown(e) for e in at.error), [e.value for e in at.error]
        assert [j.name for j in store.list()] == ["busy"]
    finally:
        store.cancel(busy.id, grace=1.0)


def test_session_rate_limit_refuses_before_anything_is_saved(monkeypatch):
    from pathgptomic import jobs as J

    monkeypatch.setenv("PATHGPTOMIC_SESSION_LAUNCHES", "1")
    at = _train_page()
    at.session_state["train.launch_times"] = [time.time() - 10]  # one launch 10 s ago
    at.button(key="FormSubmitter:train.form-Launch job").click().run()
    assert any("limit of this" in _shown(e) and "try again" in _shown(e) for e in at.error), [e.value for e in at.error]
    assert J.JobStore(os.environ["PATHGPTOMIC_DATA_DIR"]).list() == []


def test_train_page_refuses_when_switched_off_even_if_run_directly(monkeypatch):
    monkeypatch.setenv("PATHGPTOMIC_TRAIN_PAGE", "0")
    at = AppTest.from_file(str(REPO / "dashboard" / "app_pages" / "train.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not any(b.key == "FormSubmitter:train.form-Launch job" for b in at.button)
    assert any("switched off" in i.value for i in at.info)


# ----------------------------------------------------------------------------- user text and paths


def test_plain_escapes_every_markdown_character_and_shows_controls():
    hostile = "[x](https://evil.example) ![i](https://evil.example/p.png) <b>hi</b> **b** $x$ :red[r] www.e.com"
    out = ui.plain(hostile)
    unescaped = re.sub(r"\\(.)", r"\1", out)
    assert unescaped == hostile  # reads exactly as typed
    for i, ch in enumerate(out):  # every punctuation mark is escaped
        if ch in string.punctuation and ch != "\\":
            assert out[i - 1] == "\\", out[: i + 1]
    assert ui.plain("a\x1b[31mb\u202ec\rd") == "a\\\\x1b\\[31mb\\\\u202ec\\\\rd"


def test_scrub_paths_keeps_file_names_only(tmp_path, monkeypatch):
    import tempfile

    data = tmp_path / "srv" / "pgt-data"
    monkeypatch.setenv("PATHGPTOMIC_DATA_DIR", str(data))
    temp = Path(tempfile.gettempdir()) / "pgt-upload-abc" / "upload.tiff"
    text = (
        f"see the log {data}/jobs/ab12/job.log; cannot read {temp}: bad; bundle {REPO}/models/demo/config.json; "
        f"also /opt/secret/place/weights.bin and https://example.org/a/b.html and 3/5 folds"
    )
    out = ui.scrub_paths(text)
    assert "<data folder>/jobs/ab12/job.log" in out
    assert "<temp folder>/pgt-upload-abc/upload.tiff" in out
    assert "<models folder>/demo/config.json" in out
    assert "…/weights.bin" in out and "/opt/secret" not in out
    assert "https://example.org/a/b.html" in out and "3/5 folds" in out
    for secret in (str(data), str(REPO), tempfile.gettempdir(), str(Path.home())):
        assert secret not in out


def _guarded_script() -> None:
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, os.environ["PGT_TEST_DASHBOARD"])
    from components.ui import run_guarded
    from pathgptomic.errors import InputValidationError

    data = Path(os.environ["PATHGPTOMIC_DATA_DIR"])

    def page() -> None:
        kind = os.environ["PGT_TEST_KIND"]
        if kind == "project":
            raise InputValidationError(f"the file {data / 'uploads' / 'cohort-1' / 'cohort.csv'} has no column [x](https://evil.example)")
        raise OSError(f"[Errno 2] No such file: '{data / 'jobs' / 'x' / 'job.log'}'")

    run_guarded(page)


@pytest.mark.parametrize("kind", ["project", "unexpected"])
def test_run_guarded_errors_show_no_server_path_and_no_link(kind, monkeypatch):
    monkeypatch.setenv("PGT_TEST_DASHBOARD", str(REPO / "dashboard"))
    monkeypatch.setenv("PGT_TEST_KIND", kind)
    at = AppTest.from_function(_guarded_script, default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    (error,) = at.error
    data = os.environ["PATHGPTOMIC_DATA_DIR"]
    assert data not in error.value and data not in error.value.replace("\\", "")
    name = "cohort.csv" if kind == "project" else "job.log"
    assert name in _shown(error)
    if kind == "project":
        assert "\\[x\\]\\(https\\:" in error.value  # the link is shown as text
    else:
        assert "Unexpected error (OSError)" in _shown(error)
