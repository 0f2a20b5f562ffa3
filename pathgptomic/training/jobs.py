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
(``sys.executable <this file> supervise``, standard library only, so it starts in
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
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

#: Job states.
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"


# ----------------------------------------------------------------------------- supervisor (stdlib only)
# This part runs when the file is executed as a script (the job supervisor); it must not import
# pandas, torch or the pathgptomic package, so a job starts without seconds of import time.


def _outcome_values(command: list[str], job_dir: Path, exit_code: int) -> tuple[str, int, str | None, Path | None]:
    """Final (state, exit code, error, bundle) from the exit status and the bundle on disk."""
    out_dir, log_path = job_dir / "bundle", job_dir / "job.log"
    bundle = out_dir if (out_dir / "config.json").is_file() else None
    if exit_code == 0:
        if bundle is None and "--out" in command:
            return FAILED, exit_code, f"the job exited 0 but wrote no bundle in {out_dir}", None
        return SUCCEEDED, exit_code, None, bundle
    if exit_code < 0:
        error = f"the job was killed by signal {-exit_code}; see the log {log_path}"
    elif exit_code == 2:
        error = f"the job rejected its input (exit 2); see the log {log_path}"
    else:
        error = f"the job crashed (exit {exit_code}); see the log {log_path}"
    return FAILED, exit_code, error, None


def _inside(path: Path, folder: Path) -> bool:
    """True when ``path`` resolves strictly inside ``folder``."""
    try:
        inner, outer = Path(path).resolve(), Path(folder).resolve()
    except OSError:
        return False
    return inner != outer and inner.is_relative_to(outer)


def _remove_inputs(data_dir: Path, paths: list[str]) -> None:
    """Delete a finished job's private inputs (only folders inside ``<data_dir>/uploads``)."""
    for p in paths:
        if _inside(Path(p), data_dir / "uploads"):
            shutil.rmtree(p, ignore_errors=True)


def _remove_stale_temp(job_dir: Path) -> None:
    """Delete hidden ``.bundle.*`` folders that a bundle save killed half-way leaves in ``job_dir``."""
    for tmp in job_dir.glob(".bundle.*"):
        if tmp.is_dir() and not tmp.is_symlink():
            shutil.rmtree(tmp, ignore_errors=True)


def _record_exit(job_dir: Path, code: int) -> None:
    tmp = job_dir / "exit.json.tmp"
    tmp.write_text(json.dumps({"exit_code": code, "time": time.time()}))
    os.replace(tmp, job_dir / "exit.json")


def _supervise(data_dir: Path, job_id: str, max_concurrent: int) -> int:
    """Run one job's command in this process group, record its exit status, hand the slot on."""
    db = data_dir / "jobs.sqlite3"
    con = sqlite3.connect(db, timeout=30.0, isolation_level=None)
    try:
        row = con.execute("SELECT command, job_dir, cleanup FROM jobs WHERE id=?", (job_id,)).fetchone()
    finally:
        con.close()
    if row is None:
        print(f"[pathgptomic job {job_id}] no such job in {db}", flush=True)
        return 1
    command, job_dir, cleanup = json.loads(row[0]), Path(row[1]), json.loads(row[2] or "[]")
    stamp = lambda: time.strftime("%Y-%m-%d %H:%M:%S")  # noqa: E731
    print(f"[pathgptomic job {job_id}] {stamp()} running: " + " ".join(command), flush=True)
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1"))
    except OSError as exc:
        print(f"[pathgptomic job {job_id}] could not start: {exc}", flush=True)
        code = 127
    else:
        def _forward(signum: int, _frame: Any) -> None:
            try:
                proc.send_signal(signum)
            except OSError:
                pass

        signal.signal(signal.SIGTERM, _forward)
        signal.signal(signal.SIGINT, _forward)
        code = proc.wait()
    _record_exit(job_dir, code)
    print(f"[pathgptomic job {job_id}] {stamp()} exit status {code}", flush=True)
    state, code, error, bundle = _outcome_values(command, job_dir, code)
    con = sqlite3.connect(db, timeout=30.0, isolation_level=None)
    try:
        con.execute(
            "UPDATE jobs SET state=?, exit_code=?, error=?, bundle_path=?, finished=? WHERE id=? AND state=?",
            (state, code, error, str(bundle) if bundle else None, time.time(), job_id, RUNNING),
        )
        queued = con.execute("SELECT COUNT(*) FROM jobs WHERE state=?", (QUEUED,)).fetchone()[0]
    finally:
        con.close()
    _remove_inputs(data_dir, cleanup)
    _remove_stale_temp(job_dir)
    if queued:  # hand the slot on: the store (which imports the package) starts the next job
        subprocess.Popen(
            [sys.executable, "-m", "pathgptomic.training.jobs", "start-queued", "--data-dir", str(data_dir),
             "--max-concurrent", str(max_concurrent)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True, close_fds=True,
        )
    return 0


if __name__ == "__main__" and len(sys.argv) == 5 and sys.argv[1] == "supervise":
    sys.exit(_supervise(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])))


# ----------------------------------------------------------------------------- library part

import argparse  # noqa: E402
import logging  # noqa: E402
import unicodedata  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Sequence  # noqa: E402

import pandas as pd  # noqa: E402

from pathgptomic.errors import ConfigError, JobError  # noqa: E402
from pathgptomic.schema import FUSION_MODES  # noqa: E402
from pathgptomic.schema import RNA_ENCODERS as SCHEMA_RNA_ENCODERS  # noqa: E402

logger = logging.getLogger(__name__)

STATES: tuple[str, ...] = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
FINAL_STATES: frozenset[str] = frozenset({SUCCEEDED, FAILED, CANCELLED})

#: Longest job name kept (longer names are cut with "…").
MAX_NAME_CHARS = 100
#: Seconds an upload folder that no job references is kept (covers validation before submit).
UPLOAD_GRACE_S = 15 * 60
#: Note of a job whose supervisor died and whose complete bundle the store adopted.
ADOPTED_NOTE = "adopted after the supervisor died"

#: Fusion modes and RNA encoders a job may use: the CLI's choices (pathgptomic.schema); a job
#: always has an RNA input, so "none" is not offered.
FUSIONS: tuple[str, ...] = FUSION_MODES
RNA_ENCODERS: tuple[str, ...] = tuple(e for e in SCHEMA_RNA_ENCODERS if e != "none")

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


def clean_job_name(name: str) -> str:
    """A job name fit for storage and display: one line, no control characters, at most
    :data:`MAX_NAME_CHARS` characters. Markup (HTML, Markdown) is kept as text: pages render names
    as text, never as Markdown.
    """
    text = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in str(name))
    text = " ".join(text.split())
    return text if len(text) <= MAX_NAME_CHARS else text[:MAX_NAME_CHARS - 1] + "…"


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


def build_cli_command(
    *,
    mode: str = "cv",
    cohort: str = "demo",
    fusion: str = "gradmod",
    epochs: int = 10,
    folds: int = 5,
    seed: int = 0,
    rna_encoder: str | None = None,
    scgpt_dir: str | None = None,
    mlp_a: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """Argument list of ``pathgptomic train|cv`` without ``--out``/``--live-dir``.

    The store appends ``--out <job>/bundle --live-dir <job>/live`` when it launches the job.

    Args:
        mode: ``"cv"`` (cross-validation, then a final model) or ``"train"``.
        cohort: ``"demo"`` or a path to a cohort (file or folder) on the server.
        fusion: One of :data:`FUSIONS`.
        epochs: Training epochs, >= 1.
        folds: Cross-validation folds, >= 2 for ``cv``.
        seed: Random seed.
        rna_encoder: One of :data:`RNA_ENCODERS`, or None for the CLI default.
        scgpt_dir: scGPT checkpoint folder (scGPT encoders only).
        mlp_a: MLP-A weights file (``scgpt_smooth`` only).
        extra: Further CLI arguments appended verbatim.

    Returns:
        ``[sys.executable, "-m", "pathgptomic", mode, ...]``.

    Raises:
        ConfigError: An argument is out of range.
    """
    if mode not in ("cv", "train"):
        raise ConfigError(f"job mode must be 'cv' or 'train', got {mode!r}")
    if fusion not in FUSIONS:
        raise ConfigError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
    if int(epochs) < 1:
        raise ConfigError(f"epochs must be >= 1, got {epochs}")
    if mode == "cv" and int(folds) < 2:
        raise ConfigError(f"folds must be >= 2 for cross-validation, got {folds}")
    if rna_encoder is not None and rna_encoder not in RNA_ENCODERS:
        raise ConfigError(f"rna encoder must be one of {RNA_ENCODERS}, got {rna_encoder!r}")
    cmd = [sys.executable, "-m", "pathgptomic", mode, "--cohort", str(cohort), "--fusion", fusion,
           "--epochs", str(int(epochs)), "--seed", str(int(seed))]
    if mode == "cv":
        cmd += ["--folds", str(int(folds))]
    if rna_encoder:
        cmd += ["--rna-encoder", rna_encoder]
    if scgpt_dir:
        cmd += ["--scgpt-dir", str(scgpt_dir)]
    if mlp_a:
        cmd += ["--mlp-a", str(mlp_a)]
    return cmd + [str(x) for x in extra]


# ----------------------------------------------------------------------------- process helpers


def _proc_start_time(pid: int) -> str | None:
    """Kernel start time of ``pid`` (Linux ``/proc``), or None when unknown/absent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces or parentheses: split after the last ")".
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[0] if fields else None


def _pid_alive(pid: int, start: str | None) -> bool:
    """True when ``pid`` runs and is the same process we started (not a reused pid)."""
    if pid <= 0:
        return False
    if Path("/proc").is_dir() and Path("/proc/self/stat").exists():
        state = _proc_state(pid)
        if state is None or state in ("Z", "X"):
            return False
        return start is None or _proc_start_time(pid) == start
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # someone else's process: not ours
    return True


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of the process group ``pgid``."""
    if not Path("/proc/self/stat").exists():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return members


def _orphans_alive(pid: int | None) -> bool:
    """True when the supervisor ``pid`` is gone but processes of its group still run.

    A pid is not reused while it still names a process group, so when no process ``pid`` runs,
    live members of group ``pid`` are the job's own (its training went on without the supervisor).
    """
    if not pid or pid <= 0 or _proc_state(pid) not in (None, "Z", "X"):
        return False
    return bool(_group_members(pid))


#: Popen handles of supervisors this process started (polled to reap zombies).
_CHILDREN: dict[str, subprocess.Popen] = {}


def _reap_children() -> None:
    for job_id, proc in list(_CHILDREN.items()):
        if proc.poll() is not None:
            _CHILDREN.pop(job_id, None)


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
                f"cannot create the job data directory {self.data_dir}: {exc}; "
                "set PATHGPTOMIC_DATA_DIR to a writable folder"
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
            id=row["id"], name=row["name"], state=row["state"], params=json.loads(row["params"]),
            command=json.loads(row["command"]), job_dir=Path(row["job_dir"]), pid=row["pid"],
            exit_code=row["exit_code"], error=row["error"],
            bundle_path=Path(row["bundle_path"]) if row["bundle_path"] else None,
            created=row["created"], started=row["started"], finished=row["finished"], note=row["note"],
        )

    # -- public API ----------------------------------------------------------------------------

    def submit(self, command: Sequence[str], *, name: str = "", params: dict[str, Any] | None = None,
               add_output_args: bool = True, start: bool = True, max_active: int | None = None,
               cleanup: Sequence[str | Path] = ()) -> Job:
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
                n_active = con.execute("SELECT COUNT(*) FROM jobs WHERE state IN (?,?)",
                                       (QUEUED, RUNNING)).fetchone()[0]
                if max_active is not None and n_active >= max_active:
                    raise QueueFullError(
                        f"{n_active} jobs are queued or running, the limit of this deployment ({max_active}); "
                        "wait for one to finish or cancel one"
                    )
                (job_dir / "live").mkdir(parents=True, exist_ok=True)
                con.execute(
                    "INSERT INTO jobs (id, name, state, params, command, job_dir, created, cleanup) "
                    "VALUES (?,?,?,?,?,?,?,?)",
                    (job_id, clean_job_name(name) or job_id, QUEUED, json.dumps(params or {}), json.dumps(cmd),
                     str(job_dir), time.time(), json.dumps([str(c) for c in cleanup])),
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
                    row = con.execute(
                        "SELECT * FROM jobs WHERE state=? ORDER BY created LIMIT 1", (QUEUED,)
                    ).fetchone()
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
                [sys.executable, str(Path(__file__).resolve()), "supervise", str(self.data_dir), job.id,
                 str(self.max_concurrent)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, cwd=os.getcwd(), close_fds=True,
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
        return [j.bundle_path for j in self.list(states=(SUCCEEDED,))
                if j.bundle_path is not None and (j.bundle_path / "config.json").is_file()]

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


def _outcome(job: Job, exit_code: int) -> tuple[str, int, str | None, Path | None]:
    """Final state of ``job`` from its exit status and the bundle on disk."""
    return _outcome_values(job.command, job.job_dir, exit_code)


def _outcome_from_files(job: Job) -> tuple[str | None, int | None, str | None, Path | None]:
    """Outcome from ``exit.json`` when the supervisor wrote one before the table was updated."""
    path = job.job_dir / "exit.json"
    try:
        code = int(json.loads(path.read_text())["exit_code"])
    except (OSError, ValueError, KeyError, TypeError):
        return None, None, None, None
    return _outcome(job, code)


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
        return FAILED, (f"the job's worker process (pid {job.pid}) died without reporting an exit status; "
                        f"see the log {job.log_path}"), None, None
    problem = _bundle_problem(job.out_dir)
    if problem is None:
        note = f"{ADOPTED_NOTE}: no exit status was recorded, but its training finished and the bundle loads"
        _log_line(job, note)
        logger.warning("job %s: %s", job.id, note)
        return SUCCEEDED, None, job.out_dir, note
    shutil.rmtree(job.out_dir, ignore_errors=True)
    error = (f"the job's supervisor died without reporting an exit status and the bundle it left does not load "
             f"({problem}); the bundle was deleted. Launch the job again.")
    _log_line(job, error)
    logger.warning("job %s: %s", job.id, error)
    return FAILED, error, None, None


def _kill_group(pgid: int, *, grace: float) -> None:
    """SIGTERM the process group ``pgid``, then SIGKILL after ``grace`` seconds."""
    if pgid <= 0 or pgid == os.getpgid(0):
        return  # never signal our own group
    try:
        os.killpg(pgid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.time() + grace
    while time.time() < deadline:
        _reap_children()
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.05)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    _reap_children()


# ----------------------------------------------------------------------------- live files


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


# ----------------------------------------------------------------------------- command line


def _main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pathgptomic.training.jobs",
                                     description="Inspect the Path-GPTomic job store.")
    sub = parser.add_subparsers(dest="cmd", required=True)
    lst = sub.add_parser("list", help="list jobs (newest first)")
    lst.add_argument("--data-dir", type=Path, default=None)
    sq = sub.add_parser("start-queued", help="start queued jobs while a slot is free")
    sq.add_argument("--data-dir", type=Path, default=None)
    sq.add_argument("--max-concurrent", type=int, default=None)
    cancel = sub.add_parser("cancel", help="cancel a job")
    cancel.add_argument("job_id")
    cancel.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    if args.cmd == "start-queued":
        JobStore(args.data_dir, max_concurrent=args.max_concurrent).start_queued()
        return 0
    if args.cmd == "cancel":
        print(JobStore(args.data_dir).cancel(args.job_id).state)
        return 0
    for job in JobStore(args.data_dir).list():  # names from older databases may hold control characters
        print(f"{job.id}  {job.state:9s}  {clean_job_name(job.name)}")
    return 0


if __name__ == "__main__":
    sys.exit(_main())
