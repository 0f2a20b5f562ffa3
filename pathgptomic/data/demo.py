"""Where the synthetic demo cohort lives, and ``"demo"`` | path → :class:`~pathgptomic.data.cohort.Cohort`.

The library reads no path outside the installed package unless told: the demo cohort is
``$PATHGPTOMIC_DEMO_COHORT`` when set, else ``assets/demo_cohort`` under the working directory
(a checkout's shipped copy, with its precomputed patch features), else it is generated once,
deterministically, into ``~/.cache/pathgptomic/demo_cohort``.
"""

from __future__ import annotations

import os
from pathlib import Path

from pathgptomic.data.cohort import Cohort
from pathgptomic.errors import InputValidationError
from pathgptomic.schema import DEMO_N_PATIENTS, DEMO_SEED

#: Environment variable naming a demo cohort folder.
DEMO_ENV = "PATHGPTOMIC_DEMO_COHORT"
#: The demo cohort relative to the working directory (a repository checkout).
DEMO_RELATIVE = Path("assets") / "demo_cohort"


def _has_cohort(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("*.csv*"))


def demo_cohort_path() -> Path:
    """The demo cohort folder (TCGA layout with images); see the module docstring for the order tried.

    Raises:
        InputValidationError: ``$PATHGPTOMIC_DEMO_COHORT`` names a folder without a cohort CSV.
    """
    configured = os.environ.get(DEMO_ENV)
    if configured:
        folder = Path(configured)
        if not _has_cohort(folder):
            raise InputValidationError(
                f"{DEMO_ENV}={configured} is not a folder holding a cohort CSV. Fix: point it at a demo cohort folder, or unset it."
            )
        return folder
    local = Path.cwd() / DEMO_RELATIVE
    if _has_cohort(local):
        return local
    target = Path.home() / ".cache" / "pathgptomic" / "demo_cohort"
    if not _has_cohort(target):
        from pathgptomic.data.synthetic import write_demo_cohort

        write_demo_cohort(target, n_patients=DEMO_N_PATIENTS, seed=DEMO_SEED, layout="tcga")
    return target


def resolve_cohort(value: str, *, for_prediction: bool = False) -> Cohort:
    """``"demo"`` or a path (TCGA-layout CSV, generic-layout folder) → the cohort.

    Args:
        value: ``"demo"`` or a path.
        for_prediction: Read new patients to score (outcome columns optional, one patient
            accepted, nothing dropped for being constant in the file).

    Raises:
        InputValidationError: The path does not exist, or the reader's checks fail.
    """
    from pathgptomic.data.readers import read_cohort

    path = demo_cohort_path() if value == "demo" else Path(value)
    if value != "demo" and not path.exists():
        raise InputValidationError(f"cohort {path} does not exist; pass a TCGA-layout CSV, a generic-layout folder or 'demo'")
    return read_cohort(path, for_prediction=for_prediction)
