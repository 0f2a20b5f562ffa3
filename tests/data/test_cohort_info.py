"""``cohort_info.json`` and ``true_risk.csv`` mark a cohort folder as (semi-)synthetic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pathgptomic.data import read_cohort, write_demo_cohort
from pathgptomic.errors import InputValidationError


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo_info")
    write_demo_cohort(folder, n_patients=20, seed=1, layout="tcga", image_size=224)
    return folder


def test_true_risk_marks_cohort_synthetic(small_demo: Path) -> None:
    cohort = read_cohort(small_demo)
    assert cohort.meta["synthetic"] is True
    assert cohort.source.startswith("synthetic demo cohort")


def test_cohort_info_is_merged_into_meta(small_demo: Path) -> None:
    (small_demo / "cohort_info.json").write_text(json.dumps({"semi_synthetic": True, "description": "semi-synthetic X"}))
    try:
        cohort = read_cohort(small_demo)
    finally:
        (small_demo / "cohort_info.json").unlink()
    assert cohort.meta["semi_synthetic"] is True
    assert cohort.source.startswith("semi-synthetic X")


def test_broken_cohort_info_names_the_file(small_demo: Path) -> None:
    (small_demo / "cohort_info.json").write_text("{not json")
    try:
        with pytest.raises(InputValidationError, match="cohort_info.json"):
            read_cohort(small_demo)
    finally:
        (small_demo / "cohort_info.json").unlink()
