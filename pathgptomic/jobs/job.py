"""One job as the store reports it (:class:`Job`), the job states, and the helpers for job names
and the data directory."""

from __future__ import annotations

import os
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pathgptomic.jobs.supervisor import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED

__all__ = [
    "QUEUED",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "CANCELLED",
    "STATES",
    "FINAL_STATES",
    "MAX_NAME_CHARS",
    "ADOPTED_NOTE",
    "Job",
    "clean_job_name",
    "default_data_dir",
]

STATES: tuple[str, ...] = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINAL_STATES: frozenset[str] = frozenset({SUCCEEDED, FAILED, CANCELLED})

#: Longest job name kept (longer names are cut with "…").
MAX_NAME_CHARS = 100
#: Note of a job whose supervisor died and whose complete bundle the store adopted.
ADOPTED_NOTE = "adopted after the supervisor died"


def clean_job_name(name: str) -> str:
    """A job name fit for storage and display: one line, no control characters, at most
    :data:`MAX_NAME_CHARS` characters. Markup (HTML, Markdown) is kept as text: pages render names
    as text, never as Markdown.
    """
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in str(name))
    text = " ".join(text.split())
    return text if len(text) <= MAX_NAME_CHARS else text[: MAX_NAME_CHARS - 1] + "…"


def default_data_dir() -> Path:
    """The data directory: ``$PATHGPTOMIC_DATA_DIR`` when set, else ``~/.pathgptomic``."""
    env = os.environ.get("PATHGPTOMIC_DATA_DIR")
    return Path(env).expanduser() if env else Path.home() / ".pathgptomic"


@dataclass(frozen=True)
class Job:
    """One row of the job table.

    Attributes:
        id: Job identifier (12 hex characters).
        name: Human-readable name given at submission.
        state: One of :data:`STATES`.
        params: The parameters the job was built from (JSON-safe dict).
        command: The full argument list of the job process.
        job_dir: Folder holding the log, live files and bundle.
        pid: Supervisor process id (also the process-group id) while running.
        exit_code: Exit status of the job command (None until it ends).
        error: Why the job failed or was cancelled (None on success).
        bundle_path: The finished model bundle (succeeded jobs only).
        created, started, finished: Unix timestamps (None when not reached).
        note: What the store did on its own (e.g. :data:`ADOPTED_NOTE`), else None.
    """

    id: str
    name: str
    state: str
    params: dict[str, Any]
    command: list[str]
    job_dir: Path
    pid: int | None
    exit_code: int | None
    error: str | None
    bundle_path: Path | None
    created: float
    started: float | None
    finished: float | None
    note: str | None = None

    @property
    def log_path(self) -> Path:
        """Path of the job's log file."""
        return self.job_dir / "job.log"

    @property
    def live_dir(self) -> Path:
        """Folder the job writes live progress into (``--live-dir``)."""
        return self.job_dir / "live"

    @property
    def out_dir(self) -> Path:
        """Folder the job writes its model bundle into (``--out``)."""
        return self.job_dir / "bundle"

    @property
    def is_active(self) -> bool:
        """True while queued or running."""
        return self.state in (QUEUED, RUNNING)

    @property
    def duration(self) -> float | None:
        """Seconds from start to end (or to now while running)."""
        if self.started is None:
            return None
        return (self.finished or time.time()) - self.started
