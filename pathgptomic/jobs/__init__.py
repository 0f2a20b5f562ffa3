"""Training jobs for the dashboard's Train page: a persistent SQLite job store whose jobs each run in
their own process group under a standard-library supervisor (no Streamlit here).

Modules: :mod:`~pathgptomic.jobs.store` (the job table and the launcher, :class:`JobStore`; its docstring
describes the data-directory layout and how jobs are reconciled), :mod:`~pathgptomic.jobs.supervisor` (the
stdlib-only script that runs one job), :mod:`~pathgptomic.jobs.processes` (pids, process groups, killing),
:mod:`~pathgptomic.jobs.settle` (settling jobs whose supervisor died), :mod:`~pathgptomic.jobs.job` (the
:class:`Job` record and states), :mod:`~pathgptomic.jobs.command` (:func:`build_cli_command`),
:mod:`~pathgptomic.jobs.progress` (reading a job's live files and log) and :mod:`~pathgptomic.jobs.cli`
(``python -m pathgptomic.jobs``).
"""

from pathgptomic.jobs.command import FUSIONS, RNA_ENCODERS, build_cli_command
from pathgptomic.jobs.job import (
    ADOPTED_NOTE,
    CANCELLED,
    FAILED,
    FINAL_STATES,
    MAX_NAME_CHARS,
    QUEUED,
    RUNNING,
    STATES,
    SUCCEEDED,
    Job,
    clean_job_name,
    default_data_dir,
)
from pathgptomic.jobs.progress import read_epochs, read_history, read_progress, tail_log
from pathgptomic.jobs.store import UPLOAD_GRACE_S, JobStore, QueueFullError

__all__ = [
    "ADOPTED_NOTE",
    "CANCELLED",
    "FAILED",
    "FINAL_STATES",
    "FUSIONS",
    "MAX_NAME_CHARS",
    "QUEUED",
    "RNA_ENCODERS",
    "RUNNING",
    "STATES",
    "SUCCEEDED",
    "UPLOAD_GRACE_S",
    "Job",
    "JobStore",
    "QueueFullError",
    "build_cli_command",
    "clean_job_name",
    "default_data_dir",
    "read_epochs",
    "read_history",
    "read_progress",
    "tail_log",
]
