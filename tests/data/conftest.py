"""Small hand-made cohort tables for the data tests."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest


def make_tcga_frame(n: int = 8) -> pd.DataFrame:
    """A valid TCGA-layout table: ``n`` patients, patient P01 has two slides (two rows)."""
    rng = np.random.default_rng(0)
    ids = [f"P{i:02d}" for i in range(1, n + 1)]
    df = pd.DataFrame(
        {
            "case_id": ids,
            "slide_id": [f"{p}-DX1.svs" for p in ids],
            "survival_months": np.round(rng.uniform(1, 60, n), 2),
            "censorship": [0, 1] * (n // 2),
            "age": rng.integers(30, 80, n),
            "is_female": [0, 1, 1, 0] * (n // 4),
            "EGFR_cnv": rng.integers(-2, 3, n),
            "PTEN_cnv": rng.integers(-2, 3, n),
            "TP53_mut": [0, 1] * (n // 2),
            "IDH1_mut": [1, 0, 0, 1] * (n // 4),
            "SOX2_rnaseq": np.round(rng.normal(size=n), 3),
            "MKI67_rnaseq": np.round(rng.normal(size=n), 3),
        }
    )
    extra = df.iloc[[0]].copy()
    extra["slide_id"] = "P01-DX2.svs"
    return pd.concat([df, extra], ignore_index=True)


@pytest.fixture
def tcga_frame() -> pd.DataFrame:
    """A valid small TCGA-layout table (9 rows, 8 patients)."""
    return make_tcga_frame()


@pytest.fixture
def write_csv(tmp_path: Path) -> Callable[[pd.DataFrame, str], Path]:
    """Write a DataFrame as CSV under tmp_path and return the path."""

    def _write(df: pd.DataFrame, name: str = "cohort.csv") -> Path:
        path = tmp_path / name
        df.to_csv(path, index=False)
        return path

    return _write


@pytest.fixture
def generic_files(tmp_path: Path) -> dict[str, Path]:
    """A valid generic-layout folder: clinical.csv, omics.csv (suffixes), rnaseq.csv (stem), slides.csv."""
    ids = [f"G{i}" for i in range(1, 7)]
    pd.DataFrame(
        {"patient_id": ids, "time": [5.0, 12.5, 30.0, 8.2, 44.0, 3.1], "event": [1, 0, 1, 1, 0, 0], "age": [50, 61, 44, 70, 39, 58]}
    ).to_csv(tmp_path / "clinical.csv", index=False)
    pd.DataFrame(
        {
            "patient_id": ids,
            "EGFR_cnv": [2, 0, 1, -1, 0, 0],
            "TP53_mut": [1, 0, 0, 1, 1, 0],
            "PTEN_rnaseq": [0.1, -0.4, 1.2, 0.3, None, -1.0],
        }
    ).to_csv(tmp_path / "omics.csv", index=False)
    pd.DataFrame({"patient_id": ids[::-1], "SOX2": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0], "MKI67": [0.5, 0.1, 0.9, 0.3, 0.2, 0.8]}).to_csv(
        tmp_path / "rnaseq.csv", index=False
    )
    (tmp_path / "img").mkdir()
    for p in ids[:2]:
        (tmp_path / "img" / f"{p}.png").write_bytes(b"x")
    pd.DataFrame({"patient_id": ["G1", "G1", "G2"], "path": ["img/G1.png", "img/G1.png", "img/G2.png"]}).to_csv(
        tmp_path / "slides.csv", index=False
    )
    return {n: tmp_path / f"{n}.csv" for n in ("clinical", "omics", "rnaseq", "slides")}
