"""Reading what a job wrote: its live progress files (``live/``, then the bundle's once finished) and its log."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from pathgptomic.jobs.job import Job


def read_progress(job: Job) -> dict[str, Any] | None:
    """The job's ``live/progress.json`` (None when absent or unreadable)."""
    try:
        data = json.loads((job.live_dir / "progress.json").read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _read_live_csv(path: Path) -> pd.DataFrame:
    if not path.is_file() or path.stat().st_size == 0:
        return pd.DataFrame()
    try:
        return pd.read_csv(path, on_bad_lines="skip")
    except (OSError, ValueError, pd.errors.EmptyDataError):
        return pd.DataFrame()


def read_history(job: Job) -> pd.DataFrame:
    """Per-step training history written so far (``live/history.csv``; bundle's once finished)."""
    df = _read_live_csv(job.live_dir / "history.csv")
    return df if not df.empty else _read_live_csv(job.out_dir / "history.csv")


def read_epochs(job: Job) -> pd.DataFrame:
    """Per-epoch validation table written so far (``live/epochs.csv``; bundle's once finished)."""
    df = _read_live_csv(job.live_dir / "epochs.csv")
    return df if not df.empty else _read_live_csv(job.out_dir / "epochs.csv")


def tail_log(job: Job, n_lines: int = 40, max_bytes: int = 64_000) -> str:
    """The last ``n_lines`` lines of the job's log (reads at most ``max_bytes``)."""
    try:
        with open(job.log_path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - max_bytes))
            text = fh.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-n_lines:])
