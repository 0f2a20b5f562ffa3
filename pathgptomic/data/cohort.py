"""The patient-level cohort every reader produces and every model consumes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd

from pathgptomic.schema import CLINICAL_BLOCK, GENOMIC_BLOCKS  # noqa: F401 - re-exported: the blocks a cohort may hold


@dataclass(frozen=True)
class Cohort:
    """One row per patient: outcomes, named feature blocks and slide paths.

    Attributes:
        ids: Patient identifiers, shape ``(n,)``, dtype ``str``; unique.
        time: Follow-up time, shape ``(n,)``, float, finite and > 0, in ``time_unit``.
            A cohort read for prediction only (``for_prediction=True``, no outcome
            columns) holds NaN here and ``meta["has_outcomes"] = False``.
        event: Event indicator, shape ``(n,)``, int, 1 = event observed (death),
            0 = censored. (TCGA's ``censorship`` is converted once, at reading.)
        blocks: Feature blocks by name (``"cnv"``, ``"mut"``, ``"rnaseq"``,
            ``"clinical"``), each a float DataFrame of shape ``(n, p_block)`` indexed by
            ``ids`` in the same order. Columns are feature names without the layout's
            suffix (gene symbols for the genomic blocks). NaN marks a missing value;
            it is imputed per training fold, never here.
        slides: Slide/ROI file paths per patient id (possibly empty lists).
        time_unit: Unit of ``time`` (``"months"`` in the TCGA layout).
        source: Human-readable description of where the cohort came from.
        true_risk: Known true log-hazard per patient (synthetic cohorts only).
        meta: Free-form extra information (e.g. synthetic generator settings).
    """

    ids: np.ndarray
    time: np.ndarray
    event: np.ndarray
    blocks: dict[str, pd.DataFrame]
    slides: dict[str, list[str]] = field(default_factory=dict)
    time_unit: str = "months"
    source: str = ""
    true_risk: np.ndarray | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(len(self.ids))

    @property
    def n_events(self) -> int:
        """Number of observed events."""
        return int(np.asarray(self.event).sum())

    @property
    def has_images(self) -> bool:
        """True when at least one patient has a slide."""
        return any(len(v) > 0 for v in self.slides.values())

    def block(self, name: str) -> pd.DataFrame:
        """Return block ``name``; raises ``KeyError`` naming the available blocks."""
        if name not in self.blocks:
            raise KeyError(f"cohort has no block {name!r}; available: {sorted(self.blocks)}")
        return self.blocks[name]

    def subset(self, index: Sequence[int] | np.ndarray) -> "Cohort":
        """Patients at positional ``index`` (a new cohort; nothing is shared mutably)."""
        idx = np.asarray(index, dtype=int)
        ids = self.ids[idx]
        return replace(
            self,
            ids=ids,
            time=self.time[idx],
            event=self.event[idx],
            blocks={k: v.iloc[idx].copy() for k, v in self.blocks.items()},
            slides={pid: list(self.slides.get(pid, [])) for pid in ids},
            true_risk=None if self.true_risk is None else self.true_risk[idx],
        )

    def outcomes(self) -> pd.DataFrame:
        """DataFrame with columns ``patient_id``, ``time``, ``event``."""
        return pd.DataFrame({"patient_id": self.ids, "time": self.time, "event": self.event})
