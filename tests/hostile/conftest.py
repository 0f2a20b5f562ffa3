"""Hostile-input fixtures: a valid small cohort in both layouts, helpers to run the CLI and to fake uploads.

Every case of this suite states the class of outcome it must get: a specific
:class:`~pathgptomic.errors.PathGPTomicError` whose message names the file (and row/column
where there is one) and a fix, or a correct result equal to that of the clean input.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import pytest

REPO = Path(__file__).resolve().parents[2]
for extra in (REPO / "dashboard", REPO / "tests" / "genomics"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from hostile_helpers import tcga_table  # noqa: E402


@pytest.fixture
def clean_csv_text() -> str:
    """The valid TCGA-layout cohort as CSV text."""
    return tcga_table().to_csv(index=False)


@pytest.fixture
def run_cli(capsys) -> Callable[[list[str]], tuple[int, str]]:
    """Run ``pathgptomic.cli.main(argv)``; returns ``(exit status, stderr)``."""
    from pathgptomic.cli import main

    def _run(argv: list[str]) -> tuple[int, str]:
        capsys.readouterr()
        rc = main(argv)
        return rc, capsys.readouterr().err

    return _run
