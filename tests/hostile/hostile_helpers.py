"""Helpers of the hostile-input suite (a valid small cohort table, a fake upload)."""

from __future__ import annotations

import numpy as np
import pandas as pd

N_PATIENTS = 12


def tcga_table(n: int = N_PATIENTS) -> pd.DataFrame:
    """A valid TCGA-layout table: ``n`` patients P01.., half of them with an event."""
    rng = np.random.default_rng(1)
    ids = [f"P{i:02d}" for i in range(1, n + 1)]
    return pd.DataFrame(
        {
            "case_id": ids,
            "slide_id": [f"{p}-DX1.svs" for p in ids],
            "survival_months": np.round(rng.uniform(1, 60, n), 2),
            "censorship": [0, 1] * (n // 2),
            "age": rng.integers(30, 80, n),
            "is_female": [0, 1] * (n // 2),
            "EGFR_cnv": rng.integers(-2, 3, n),
            "PTEN_cnv": rng.integers(-2, 3, n),
            "TP53_mut": [0, 1, 1] * (n // 3),
            "IDH1_mut": [1, 0, 0] * (n // 3),
            "SOX2_rnaseq": np.round(rng.normal(size=n), 3),
            "MKI67_rnaseq": np.round(rng.normal(size=n), 3),
        }
    )


class FakeUpload:
    """What the dashboard helpers need from ``st.UploadedFile``."""

    def __init__(self, data: bytes, name: str = "upload.csv") -> None:
        self._data = data
        self.size = len(data)
        self.name = name

    def getvalue(self) -> bytes:
        return self._data
