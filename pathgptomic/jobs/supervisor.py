"""The job supervisor: a standard-library-only script that runs one job and records how it ended.

The store (:mod:`pathgptomic.jobs.store`) starts it as ``sys.executable <this file> supervise
<data_dir> <job_id> <max_concurrent>`` with ``start_new_session=True``, so the supervisor leads a new
process group. It must not import pandas, torch or the pathgptomic package (a job starts without seconds
of import time): it runs the job command (normally ``[sys.executable, "-m", "pathgptomic", "cv", ...]``)
in its own group, forwards SIGTERM/SIGINT to it, writes ``exit.json``, sets the job's final state in the
table, removes the job's private inputs and, when jobs are queued, hands the slot on through
``python -m pathgptomic.jobs start-queued``.

The job states are defined here (the store imports them) so that this file stays self-contained.
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
            [
                sys.executable,
                "-m",
                "pathgptomic.jobs",
                "start-queued",
                "--data-dir",
                str(data_dir),
                "--max-concurrent",
                str(max_concurrent),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5 or sys.argv[1] != "supervise":
        print("usage: python supervisor.py supervise DATA_DIR JOB_ID MAX_CONCURRENT", file=sys.stderr)
        sys.exit(2)
    sys.exit(_supervise(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])))
