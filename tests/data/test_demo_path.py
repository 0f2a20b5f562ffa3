"""Where the demo cohort comes from: environment, the working directory's checkout copy, or generated."""

from __future__ import annotations

from pathlib import Path

import pytest

from pathgptomic.data.demo import DEMO_ENV, demo_cohort_path, resolve_cohort
from pathgptomic.errors import InputValidationError

REPO = Path(__file__).resolve().parents[2]


def test_checkout_copy_under_the_working_directory(monkeypatch) -> None:
    monkeypatch.delenv(DEMO_ENV, raising=False)
    monkeypatch.chdir(REPO)
    assert demo_cohort_path() == REPO / "assets" / "demo_cohort"


def test_environment_wins_and_a_wrong_folder_is_refused(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(DEMO_ENV, str(REPO / "assets" / "demo_cohort"))
    monkeypatch.chdir(tmp_path)
    assert demo_cohort_path() == REPO / "assets" / "demo_cohort"
    monkeypatch.setenv(DEMO_ENV, str(tmp_path))
    with pytest.raises(InputValidationError, match=DEMO_ENV):
        demo_cohort_path()


def test_missing_path_is_a_clear_error(tmp_path) -> None:
    with pytest.raises(InputValidationError, match="does not exist"):
        resolve_cohort(str(tmp_path / "nope.csv"))
