"""Hostile job names: markup, links, remote images, huge, control characters, path separators.

Outcome class for every name: *a correct result*: the job is stored under its generated id (never
a path built from the name), its name is one printable line of at most ``MAX_NAME_CHARS``
characters, and every page shows it as text (no link, image, HTML or Markdown from it). The CLI
listing prints no control characters either.
"""

from __future__ import annotations

import re
import string
import sys
import unicodedata
from pathlib import Path

import pytest

from pathgptomic import jobs as J
from pathgptomic.jobs.cli import main as jobs_cli

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "dashboard"))

HOSTILE_NAMES: dict[str, str] = {
    "html_script": "<script>alert(document.cookie)</script>",
    "html_img_onerror": '<img src=x onerror="alert(1)">',
    "markdown_link": "[click me](https://evil.example/phish)",
    "markdown_remote_image": "![pixel](https://evil.example/track.png?u=1)",
    "autolinks": "see https://evil.example/x and www.evil.example",
    "streamlit_directives": ":red[ALERT] :material/warning: $\\LaTeX$ **bold** `code`",
    "markdown_heading_after_newline": "ok\n# Heading\n---",
    "very_long": "A" * 10_000,
    "control_characters": "job\x00name\x1b[31mred\x07\r\n\tend\x7f",
    "bidi_override": "invoice\u202egpj.exe",
    "path_separators_posix": "../../../etc/passwd",
    "path_separators_windows": "..\\..\\Windows\\System32",
    "absolute_path": "/tmp/../root/.ssh/id_rsa",
    "only_whitespace_and_controls": " \t\x00\n ",
}
#: Substrings that must never reach a Markdown-rendering element unescaped.
RAW_MARKUP = ("](https", "![", "<script", "<img", ":red[", "**bold**")


def _has_live_markup(value: str) -> bool:
    """True when one of :data:`RAW_MARKUP` occurs in ``value`` without a Markdown escape before it."""
    for raw in RAW_MARKUP:
        start = value.find(raw)
        while start >= 0:
            if start == 0 or value[start - 1] != "\\":
                return True
            start = value.find(raw, start + 1)
    return False


def test_live_markup_detector():
    assert _has_live_markup("see [x](https://e)") and _has_live_markup("<img src=x>")
    assert not _has_live_markup("\\<img src\\=x\\>") and not _has_live_markup("\\[x\\]\\(https\\:")


def _store(tmp_path) -> J.JobStore:
    return J.JobStore(tmp_path / "data")


def _submit_without_running(store: J.JobStore, name: str) -> J.Job:
    """A job row with ``name``, cancelled while queued (no process is ever started)."""
    job = store.submit([sys.executable, "-c", "pass"], name=name, start=False)
    return store.cancel(job.id)


@pytest.mark.parametrize("case", list(HOSTILE_NAMES))
def test_hostile_name_is_stored_as_one_safe_line_under_the_job_id(case, tmp_path):
    name = HOSTILE_NAMES[case]
    store = _store(tmp_path)
    job = _submit_without_running(store, name)
    assert re.fullmatch(r"[0-9a-f]{12}", job.id)
    assert job.job_dir == store.data_dir / "jobs" / job.id  # the name never builds a path
    assert sorted(p.name for p in (store.data_dir / "jobs").iterdir()) == [job.id]
    assert {p.name for p in store.data_dir.iterdir()} <= {"jobs", "jobs.sqlite3", "jobs.sqlite3-wal", "jobs.sqlite3-shm", "uploads"}
    stored = job.name
    assert 0 < len(stored) <= J.MAX_NAME_CHARS
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in stored), repr(stored)
    visible = " ".join("".join(" " if unicodedata.category(c)[0] in "CZ" else c for c in name).split())
    if not visible:
        assert stored == job.id  # nothing printable: the id stands in
    elif len(visible) <= J.MAX_NAME_CHARS:
        assert stored == visible  # markup and separators are kept as text, not stripped
    else:
        assert stored == visible[: J.MAX_NAME_CHARS - 1] + "…"


@pytest.mark.parametrize("case", list(HOSTILE_NAMES))
def test_hostile_name_renders_as_text(case):
    from components.ui import plain, printable

    shown = plain(J.clean_job_name(HOSTILE_NAMES[case]))
    assert re.sub(r"\\(.)", r"\1", shown) == printable(J.clean_job_name(HOSTILE_NAMES[case]))
    for i, ch in enumerate(shown):
        if ch in string.punctuation and ch != "\\":
            assert shown[i - 1] == "\\", (case, shown[: i + 1])
    assert not _has_live_markup(shown)


def test_cli_listing_prints_no_control_characters_even_for_old_rows(tmp_path, capsys):
    store = _store(tmp_path)
    job = _submit_without_running(store, "placeholder")
    with store._connect() as con:  # a row written before names were cleaned
        con.execute("UPDATE jobs SET name=? WHERE id=?", (HOSTILE_NAMES["control_characters"], job.id))
    assert jobs_cli(["list", "--data-dir", str(store.data_dir)]) == 0
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith(job.id))
    assert not any(unicodedata.category(ch) == "Cc" for ch in line), repr(line)
    assert line.endswith("job name [31mred end")  # ESC, NUL, BEL, CR, LF, TAB, DEL: gone


def test_train_page_shows_hostile_names_as_text(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("PATHGPTOMIC_DATA_DIR", str(tmp_path / "data"))
    for name in ("PATHGPTOMIC_PUBLIC", "PATHGPTOMIC_TRAIN_PAGE", "PATHGPTOMIC_PASSWORD", "PATHGPTOMIC_LOGIN"):
        monkeypatch.delenv(name, raising=False)
    from components.state import job_store

    job_store.clear()
    store = _store(tmp_path)
    cases = ("markdown_link", "markdown_remote_image", "html_img_onerror", "streamlit_directives", "very_long")
    jobs = {case: _submit_without_running(store, HOSTILE_NAMES[case]) for case in cases}
    at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=240)
    at.run()
    at.switch_page("app_pages/train.py").run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert set(table["name"]) == {j.name for j in jobs.values()}  # the table shows them verbatim
    for case, job in jobs.items():
        at.selectbox(key="train.job_select").set_value(job.id).run()
        assert not at.exception, [e.value for e in at.exception]
        assert f"Name: {job.name}" in [t.value for t in at.text], case
        rendered = [e.value for kind in ("markdown", "caption", "error", "warning", "info", "success") for e in getattr(at, kind)]
        for value in rendered:
            assert not _has_live_markup(value), (case, value)
