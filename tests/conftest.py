"""Shared pytest fixtures: real data locations (skipping with a reason when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("PATHGPTOMIC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """``../shared/data`` beside the repository; skips when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (set PATHGPTOMIC_SHARED_DATA to use another)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def tcga_csv(shared_data_dir: Path) -> Path:
    """The real TCGA-GBMLGG cohort CSV (gzip)."""
    path = shared_data_dir / "tcga_gbmlgg" / "tcga_gbmlgg_all_clean.csv.gz"
    if not path.is_file():
        pytest.skip(f"real TCGA-GBMLGG file {path} is absent")
    return path


@pytest.fixture(scope="session")
def tcga_splits_dir(shared_data_dir: Path) -> Path:
    """The shared 5-fold split files of TCGA-GBMLGG."""
    path = shared_data_dir / "tcga_gbmlgg" / "splits_5fold"
    if not path.is_dir():
        pytest.skip(f"real split folder {path} is absent")
    return path


@pytest.fixture(scope="session")
def roi_dir(shared_data_dir: Path) -> Path:
    """The three real TCGA H&E regions of interest."""
    path = shared_data_dir / "roi"
    if not path.is_dir() or not any(path.glob("*.png")):
        pytest.skip(f"real ROI folder {path} is absent or empty")
    return path
