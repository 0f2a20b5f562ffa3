"""How the store settles a running job whose supervisor is gone: from the ``exit.json`` the supervisor
left, or, without one, by adopting a complete bundle that loads (else failing the job, saying why)."""

from __future__ import annotations

import json
import logging
import shutil
import time
from pathlib import Path

from pathgptomic.jobs.job import ADOPTED_NOTE, Job
from pathgptomic.jobs.supervisor import FAILED, SUCCEEDED, _outcome_values

logger = logging.getLogger("pathgptomic.jobs")


def _outcome_from_files(job: Job) -> tuple[str | None, int | None, str | None, Path | None]:
    """Outcome from ``exit.json`` when the supervisor wrote one before the table was updated."""
    path = job.job_dir / "exit.json"
    try:
        code = int(json.loads(path.read_text())["exit_code"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, None, None, None
    return _outcome_values(job.command, job.job_dir, code)


def _bundle_problem(path: Path) -> str | None:
    """Why the bundle at ``path`` does not load (None: it loads)."""
    from pathgptomic.training.bundle import load_bundle

    try:
        load_bundle(path)
    except Exception as exc:  # noqa: BLE001 - any failure means "not a usable bundle"
        return f"{type(exc).__name__}: {exc}"
    return None


def _log_line(job: Job, text: str) -> None:
    """Append one line by the store to the job's log."""
    try:
        with open(job.log_path, "a", encoding="utf-8") as fh:
            fh.write(f"[pathgptomic job {job.id}] {time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
    except OSError:
        logger.warning("cannot write to the log of job %s", job.id)


def _settle_orphan(job: Job) -> tuple[str, str | None, Path | None, str | None]:
    """(state, error, bundle, note) of a job whose supervisor died unreported and whose processes ended.

    A complete bundle that loads is adopted (``succeeded`` with :data:`ADOPTED_NOTE`); one that
    does not load is deleted and the job fails, saying so; without a bundle the job fails.
    """
    if not (job.out_dir / "config.json").is_file():
        return (
            FAILED,
            (f"the job's worker process (pid {job.pid}) died without reporting an exit status; see the log {job.log_path}"),
            None,
            None,
        )
    problem = _bundle_problem(job.out_dir)
    if problem is None:
        note = f"{ADOPTED_NOTE}: no exit status was recorded, but its training finished and the bundle loads"
        _log_line(job, note)
        logger.warning("job %s: %s", job.id, note)
        return SUCCEEDED, None, job.out_dir, note
    shutil.rmtree(job.out_dir, ignore_errors=True)
    error = (
        f"the job's supervisor died without reporting an exit status and the bundle it left does not load "
        f"({problem}); the bundle was deleted. Launch the job again."
    )
    _log_line(job, error)
    logger.warning("job %s: %s", job.id, error)
    return FAILED, error, None, None
