"""Live progress files for a running training (read by the dashboard's job view).

``progress.json`` is rewritten atomically; ``history.csv`` and ``epochs.csv`` are appended
as steps and epochs finish, so a reader always sees whole rows.
"""

from __future__ import annotations

import csv
import json
import os
import time
from pathlib import Path
from typing import Any

from pathgptomic.training.trainer import EPOCH_COLUMNS, HISTORY_COLUMNS


class LiveLog:
    """Callback for :func:`~pathgptomic.training.trainer.cross_validate` writing live files.

    Args:
        folder: Where to write ``progress.json``, ``history.csv``, ``epochs.csv``.
        n_folds: Folds in the run (0 for a single fit).
        n_epochs: Epochs per fold.
        final_fit: Whether a final fit on all patients follows the folds.
    """

    def __init__(self, folder: str | Path, *, n_folds: int, n_epochs: int, final_fit: bool = True) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.n_folds = n_folds
        self.n_epochs = n_epochs
        self.total = (n_folds + (1 if final_fit else 0)) * n_epochs
        self.done_epochs = 0
        self.fold = 0
        self._last_write = 0.0
        for name, cols in (("history.csv", HISTORY_COLUMNS), ("epochs.csv", EPOCH_COLUMNS)):
            with open(self.folder / name, "w", newline="") as fh:
                csv.writer(fh).writerow(cols)
        self.progress("starting", "preparing features")

    def progress(self, stage: str, message: str, **extra: Any) -> None:
        """Rewrite ``progress.json`` atomically."""
        data = {
            "stage": stage,
            "fold": self.fold,
            "n_folds": self.n_folds,
            "epoch": self.done_epochs,
            "n_epochs": self.n_epochs,
            "fraction": min(1.0, self.done_epochs / max(self.total, 1)),
            "message": message,
            "updated": time.time(),
            **extra,
        }
        tmp = self.folder / "progress.json.tmp"
        tmp.write_text(json.dumps(data))
        os.replace(tmp, self.folder / "progress.json")

    def _append(self, name: str, cols: list[str], row: dict[str, Any]) -> None:
        with open(self.folder / name, "a", newline="") as fh:
            csv.writer(fh).writerow([row.get(c, "") for c in cols])

    def __call__(self, kind: str, row: dict[str, Any]) -> None:
        if kind == "fold":
            self.fold = int(row["fold"])
            label = "final fit on all patients" if self.fold < 0 else f"fold {self.fold + 1}/{self.n_folds}"
            self.progress("training", label)
        elif kind == "step":
            self._append("history.csv", HISTORY_COLUMNS, row)
        elif kind == "epoch":
            self._append("epochs.csv", EPOCH_COLUMNS, row)
            self.done_epochs += 1
            label = "final fit" if self.fold < 0 else f"fold {self.fold + 1}/{self.n_folds}"
            self.progress("training", f"{label}, epoch {int(row['epoch']) + 1}/{self.n_epochs}")
