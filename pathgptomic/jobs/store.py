"""Persistent training-job store and process runner (no Streamlit here).

Jobs live in a SQLite database (WAL mode, one short-lived connection per operation) in a data
directory: ``$PATHGPTOMIC_DATA_DIR`` when set, else ``~/.pathgptomic``. Layout::

    <data_dir>/jobs.sqlite3            the job table
    <data_dir>/jobs/<job_id>/job.log   stdout + stderr of the job (kept after failure)
    <data_dir>/jobs/<job_id>/live/     progress.json, history.csv, epochs.csv (``--live-dir``)
    <data_dir>/jobs/<job_id>/bundle/   the model bundle the job writes (``--out``)
    <data_dir>/jobs/<job_id>/exit.json exit status written by the job's supervisor
    <data_dir>/uploads/<folder>/       private inputs of a job (0700/0600), removed when it ends

Every job runs as its own OS process group: a small supervisor
(``sys.executable pathgptomic/jobs/supervisor.py supervise``, standard library only, so it starts in
milliseconds without importing torch) started with ``start_new_session=True`` runs the job command (normally
``[sys.executable, "-m", "pathgptomic", "cv", ...]``) in the same group, waits for it, and records
the exit status. Cancelling kills that process group only. Every read reconciles the table with
reality: a job marked running whose supervisor is gone (or whose pid now belongs to another
process) is settled, so no job stays "running" forever and nothing is lost silently:

* its processes still run (the supervisor alone died): it stays ``running`` (cancel still kills
  its group) and is settled when they end;
* it left a complete bundle that loads: ``succeeded``, with the note "adopted after the
  supervisor died" in the table and the log;
* it left a bundle that does not load: the bundle is deleted and the job is ``failed``, saying so;
* otherwise ``failed`` with its log kept.

Queued jobs start when a slot frees (``max_concurrent``, default 1 or ``$PATHGPTOMIC_MAX_JOBS``);
``submit(max_active=...)`` caps queued + running jobs atomically. Private job inputs (an uploaded
cohort) live under ``<data_dir>/uploads`` and are removed when their job ends; a folder no job
references is removed after :data:`UPLOAD_GRACE_S` seconds.

States: ``queued`` → ``running`` → ``succeeded`` | ``failed`` | ``cancelled``.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Sequence

from pathgptomic.errors import ConfigError, JobError
from pathgptomic.jobs import supervisor
from pathgptomic.jobs.job import FINAL_STATES, Job, clean_job_name, default_data_dir
from pathgptomic.jobs.processes import _CHILDREN, _kill_group, _orphans_alive, _pid_alive, _proc_start_time, _reap_children
from pathgptomic.jobs.settle import _outcome_from_files, _settle_orphan
from pathgptomic.jobs.supervisor import CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, _inside, _remove_stale_temp

logger = logging.getLogger("pathgptomic.jobs")

#: Seconds an upload folder that no job references is kept (covers validation before submit).
UPLOAD_GRACE_S = 15 * 60

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    params TEXT NOT NULL,
    command TEXT NOT NULL,
    job_dir TEXT NOT NULL,
    pid INTEGER,
    pid_start TEXT,
    exit_code INTEGER,
    error TEXT,
    bundle_path TEXT,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    note TEXT,
    cleanup TEXT
)
"""
#: Columns added after the first release (added to older databases on open).
_ADDED_COLUMNS: tuple[str, ...] = ("note", "cleanup")


class QueueFullError(JobError):
    """The deployment's limit on queued + running jobs is reached."""


# ----------------------------------------------------------------------------- the store


class JobStore:
    """SQLite-backed job table plus the launcher.

    Args:
        data_dir: Folder for the database and job folders (default :func:`default_data_dir`).
        max_concurrent: Jobs allowed to run at once (default ``$PATHGPTOMIC_MAX_JOBS`` or 1).

    Raises:
        ConfigError: ``max_concurrent`` < 1 or the data directory cannot be created.
    """

    def __init__(self, data_dir: str | Path | None = None, *, max_concurrent: int | None = None) -> None:
        self.data_dir = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
        if max_concurrent is None:
            max_concurrent = int(os.environ.get("PATHGPTOMIC_MAX_JOBS", "1"))
        if max_concurrent < 1:
            raise ConfigError(f"max_concurrent must be >= 1, got {max_concurrent}")
        self.max_concurrent = max_concurrent
        try:
            (self.data_dir / "jobs").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the job data directory {self.data_dir}: {exc}; set PATHGPTOMIC_DATA_DIR to a writable folder"
            ) from exc
        self.db_path = self.data_dir / "jobs.sqlite3"
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute(_SCHEMA)
            self._add_missing_columns(con)

    @staticmethod
    def _add_missing_columns(con: sqlite3.Connection) -> None:
        """Bring a database from an older release up to :data:`_SCHEMA` (adds nullable columns)."""
        for col in _ADDED_COLUMNS:
            have = {r[1] for r in con.execute("PRAGMA table_info(jobs)").fetchall()}
            if col in have:
                continue
            try:
                con.execute(f"ALTER TABLE jobs ADD COLUMN {col} TEXT")
            except sqlite3.OperationalError as exc:  # another process added it first
                if "duplicate column" not in str(exc):
                    raise

    # -- connections ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA busy_timeout=30000")
        return _ClosingConnection(con)

    @staticmethod
    def _row_to_job(row: sqlite3.Row) -> Job:
        return Job(
            id=row["id"],
            name=row["name"],
            state=row["state"],
            params=json.loads(row["params"]),
            command=json.loads(row["command"]),
            job_dir=Path(row["job_dir"]),
            pid=row["pid"],
            exit_code=row["exit_code"],
            error=row["error"],
            bundle_path=Path(row["bundle_path"]) if row["bundle_path"] else None,
            created=row["created"],
            started=row["started"],
            finished=row["finished"],
            note=row["note"],
        )

    # -- public API ----------------------------------------------------------------------------

    def submit(
        self,
        command: Sequence[str],
        *,
        name: str = "",
        params: dict[str, Any] | None = None,
        add_output_args: bool = True,
        start: bool = True,
        max_active: int | None = None,
        cleanup: Sequence[str | Path] = (),
    ) -> Job:
        """Queue a job and start it when a slot is free.

        Args:
            command: Argument list of the job process, e.g. from :func:`build_cli_command`.
            name: Human-readable name (cleaned by :func:`clean_job_name`; empty: the job id).
            params: JSON-safe parameters to store with the job (shown in the UI).
            add_output_args: Append ``--out <job>/bundle --live-dir <job>/live``.
            start: Try to start queued jobs right away.
            max_active: Refuse the job when this many jobs are already queued or running (checked
                and inserted in one transaction, so concurrent sessions cannot overshoot it).
            cleanup: Private input folders (inside ``<data_dir>/uploads``, e.g. from
                :meth:`private_upload_dir`) to delete when the job ends.

        Returns:
            The job as stored (state ``queued`` or ``running``).

        Raises:
            JobError: The command is empty, or a cleanup folder lies outside ``<data_dir>/uploads``.
            QueueFullError: ``max_active`` jobs are already queued or running.
        """
        if not command:
            raise JobError("cannot submit a job with an empty command")
        outside = [str(c) for c in cleanup if not _inside(Path(c), self.uploads_dir)]
        if outside:
            raise JobError(f"job inputs to remove must lie inside {self.uploads_dir}; got {outside}")
        self._reconcile_running()
        job_id = uuid.uuid4().hex[:12]
        job_dir = self.data_dir / "jobs" / job_id
        cmd = [str(c) for c in command]
        if add_output_args:
            cmd += ["--out", str(job_dir / "bundle"), "--live-dir", str(job_dir / "live")]
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                n_active = con.execute("SELECT COUNT(*) FROM jobs WHERE state IN (?,?)", (QUEUED, RUNNING)).fetchone()[0]
                if max_active is not None and n_active >= max_active:
                    raise QueueFullError(
                        f"{n_active} jobs are queued or running, the limit of this deployment ({max_active}); "
                        "wait for one to finish or cancel one"
                    )
                (job_dir / "live").mkdir(parents=True, exist_ok=True)
                con.execute(
                    "INSERT INTO jobs (id, name, state, params, command, job_dir, created, cleanup) VALUES (?,?,?,?,?,?,?,?)",
                    (
                        job_id,
                        clean_job_name(name) or job_id,
                        QUEUED,
                        json.dumps(params or {}),
                        json.dumps(cmd),
                        str(job_dir),
                        time.time(),
                        json.dumps([str(c) for c in cleanup]),
                    ),
                )
                con.execute("COMMIT")
            except BaseException:
                if con.in_transaction:
                    con.execute("ROLLBACK")
                raise
        logger.info("queued job %s: %s", job_id, cmd)
        if start:
            self.start_queued()
        return self.get(job_id)

    @property
    def uploads_dir(self) -> Path:
        """Folder of private job inputs (``<data_dir>/uploads``)."""
        return self.data_dir / "uploads"

    def private_upload_dir(self, prefix: str = "upload") -> Path:
        """A fresh folder for one job's private inputs: mode 0700 inside a 0700 ``uploads`` folder.

        Pass it to :meth:`submit` as ``cleanup`` so it is removed when the job ends; a folder no
        job references is removed :data:`UPLOAD_GRACE_S` seconds after its creation.
        """
        self.uploads_dir.mkdir(mode=0o700, exist_ok=True)
        os.chmod(self.uploads_dir, 0o700)
        folder = self.uploads_dir / f"{prefix}-{uuid.uuid4().hex[:12]}"
        folder.mkdir(mode=0o700)
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
        return folder

    def sweep_uploads(self, *, now: float | None = None) -> list[Path]:
        """Remove upload folders of finished jobs and unreferenced ones older than :data:`UPLOAD_GRACE_S`.

        Returns:
            The folders removed.
        """
        if not self.uploads_dir.is_dir():
            return []
        now = time.time() if now is None else now
        with self._connect() as con:
            rows = con.execute("SELECT state, cleanup FROM jobs WHERE cleanup IS NOT NULL").fetchall()
        keep = {p for r in rows if r["state"] in (QUEUED, RUNNING) for p in json.loads(r["cleanup"] or "[]")}
        finished = {p for r in rows if r["state"] in FINAL_STATES for p in json.loads(r["cleanup"] or "[]")}
        removed = []
        for folder in self.uploads_dir.iterdir():
            if str(folder) in keep:
                continue
            try:
                young = now - folder.lstat().st_mtime < UPLOAD_GRACE_S
            except OSError:
                continue
            if str(folder) in finished or not young:
                if folder.is_dir() and not folder.is_symlink():
                    shutil.rmtree(folder, ignore_errors=True)
                else:
                    folder.unlink(missing_ok=True)
                removed.append(folder)
        return removed

    def start_queued(self) -> list[str]:
        """Start queued jobs (oldest first) while fewer than ``max_concurrent`` run.

        Returns:
            Ids of the jobs started.
        """
        started: list[str] = []
        self._reconcile_running()
        self.sweep_uploads()
        while True:
            with self._connect() as con:
                con.execute("BEGIN IMMEDIATE")
                try:
                    n_running = con.execute("SELECT COUNT(*) FROM jobs WHERE state=?", (RUNNING,)).fetchone()[0]
                    row = con.execute("SELECT * FROM jobs WHERE state=? ORDER BY created LIMIT 1", (QUEUED,)).fetchone()
                    if row is None or n_running >= self.max_concurrent:
                        con.execute("COMMIT")
                        return started
                    job = self._row_to_job(row)
                    try:
                        pid, pid_start = self._launch(job)
                    except OSError as exc:
                        con.execute(
                            "UPDATE jobs SET state=?, error=?, finished=? WHERE id=?",
                            (FAILED, f"could not start the job process: {exc}", time.time(), job.id),
                        )
                        con.execute("COMMIT")
                        continue
                    con.execute(
                        "UPDATE jobs SET state=?, pid=?, pid_start=?, started=? WHERE id=?",
                        (RUNNING, pid, pid_start, time.time(), job.id),
                    )
                    con.execute("COMMIT")
                    started.append(job.id)
                except BaseException:
                    if con.in_transaction:
                        con.execute("ROLLBACK")
                    raise

    def _launch(self, job: Job) -> tuple[int, str | None]:
        """Start the supervisor of ``job`` in a new session; returns (pid, start time)."""
        log = open(job.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            proc = subprocess.Popen(
                [
                    sys.executable,
                    str(Path(supervisor.__file__).resolve()),
                    "supervise",
                    str(self.data_dir),
                    job.id,
                    str(self.max_concurrent),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=os.getcwd(),
                close_fds=True,
            )
        finally:
            log.close()
        _CHILDREN[job.id] = proc
        start = None
        for _ in range(50):  # /proc entry appears immediately on Linux; be tolerant elsewhere
            start = _proc_start_time(proc.pid)
            if start is not None or not Path("/proc/self/stat").exists():
                break
            time.sleep(0.01)
        logger.info("started job %s (pid %s)", job.id, proc.pid)
        return proc.pid, start

    def get(self, job_id: str) -> Job:
        """The job ``job_id`` (reconciled).

        Raises:
            JobError: No such job.
        """
        self._reconcile_running()
        with self._connect() as con:
            row = con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise JobError(f"no job with id {job_id!r} in {self.db_path}")
        return self._row_to_job(row)

    def list(self, *, states: Sequence[str] | None = None, limit: int = 200) -> list[Job]:
        """Jobs, newest first (reconciled; starts queued jobs when a slot is free)."""
        self.start_queued()
        query, args = "SELECT * FROM jobs", []
        if states:
            query += f" WHERE state IN ({','.join('?' * len(states))})"
            args = list(states)
        query += " ORDER BY created DESC LIMIT ?"
        with self._connect() as con:
            rows = con.execute(query, (*args, int(limit))).fetchall()
        return [self._row_to_job(r) for r in rows]

    def active(self) -> list[Job]:
        """Queued or running jobs."""
        return self.list(states=(QUEUED, RUNNING))

    def bundles(self) -> list[Path]:
        """Model bundles of succeeded jobs that still exist on disk, newest first."""
        return [
            j.bundle_path for j in self.list(states=(SUCCEEDED,)) if j.bundle_path is not None and (j.bundle_path / "config.json").is_file()
        ]

    def cancel(self, job_id: str, *, grace: float = 3.0) -> Job:
        """Cancel a queued or running job (kills only the job's own process group).

        Args:
            job_id: The job.
            grace: Seconds between SIGTERM and SIGKILL.

        Returns:
            The job after cancellation (unchanged when it had already finished).
        """
        job = self.get(job_id)
        if job.state in FINAL_STATES:
            return job
        with self._connect() as con:
            con.execute(
                "UPDATE jobs SET state=?, error=?, finished=? WHERE id=? AND state IN (?,?)",
                (CANCELLED, "cancelled by the user", time.time(), job_id, QUEUED, RUNNING),
            )
            row = con.execute("SELECT pid, pid_start FROM jobs WHERE id=?", (job_id,)).fetchone()
        pid, start = row["pid"], row["pid_start"]
        if pid and (_pid_alive(pid, start) or _orphans_alive(pid)):
            _kill_group(pid, grace=grace)
        _reap_children()
        self.start_queued()
        return self.get(job_id)

    def delete(self, job_id: str) -> None:
        """Remove a finished job's row (its folder is left on disk).

        Raises:
            JobError: The job is still queued or running.
        """
        job = self.get(job_id)
        if job.is_active:
            raise JobError(f"job {job_id} is {job.state}; cancel it before deleting")
        with self._connect() as con:
            con.execute("DELETE FROM jobs WHERE id=?", (job_id,))

    # -- reconciliation ------------------------------------------------------------------------

    def _reconcile_running(self) -> None:
        """Settle running jobs whose supervisor is gone (see the module docstring)."""
        _reap_children()
        with self._connect() as con:
            rows = con.execute("SELECT * FROM jobs WHERE state=?", (RUNNING,)).fetchall()
        for row in rows:
            if row["pid"] and _pid_alive(row["pid"], row["pid_start"]):
                continue
            if _orphans_alive(row["pid"]):
                continue  # the supervisor died but the training goes on: settle it when it ends
            job = self._row_to_job(row)
            state, exit_code, error, bundle = _outcome_from_files(job)
            note = None
            if state is None:
                state, error, bundle, note = _settle_orphan(job)
            with self._connect() as con:
                con.execute(
                    "UPDATE jobs SET state=?, exit_code=?, error=?, bundle_path=?, note=?, "
                    "finished=COALESCE(finished, ?) WHERE id=? AND state=?",
                    (state, exit_code, error, str(bundle) if bundle else None, note, time.time(), job.id, RUNNING),
                )
            _remove_stale_temp(job.job_dir)
            logger.info("reconciled job %s -> %s", job.id, state)

    def _raw(self, job_id: str) -> sqlite3.Row:
        with self._connect() as con:
            row = con.execute("SELECT * FROM jobs WHERE id=?", (job_id,)).fetchone()
        if row is None:
            raise JobError(f"no job with id {job_id!r} in {self.db_path}")
        return row


class _ClosingConnection:
    """Context manager that closes (not just commits) a SQLite connection."""

    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def __enter__(self) -> sqlite3.Connection:
        return self._con

    def __exit__(self, *exc: object) -> None:
        self._con.close()
