"""Job store: real job processes, cancellation, dead workers, persistence."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from pathgptomic.errors import ConfigError, JobError
from pathgptomic.training import jobs as J

# A stand-in job: writes a bundle folder with config.json + live progress, then exits 0.
FAKE_JOB = (
    "import sys, json, pathlib, time\n"
    "a = sys.argv\n"
    "out = pathlib.Path(a[a.index('--out') + 1]); live = pathlib.Path(a[a.index('--live-dir') + 1])\n"
    "(live / 'progress.json').write_text(json.dumps({'stage': 'train', 'fraction': 0.5}))\n"
    "(live / 'history.csv').write_text('fold,epoch,step,loss,rho_g,rho_p\\n0,0,0,1.0,1.2,0.8\\n')\n"
    "print('training...', flush=True)\n"
    "out.mkdir(parents=True); (out / 'config.json').write_text('{}')\n"
)
SLEEP_JOB = "import time, sys\nprint('sleeping', flush=True)\ntime.sleep(60)\n"


def _wait(store: J.JobStore, job_id: str, states, timeout: float = 60.0) -> J.Job:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = store.get(job_id)
        if job.state in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} stayed {store.get(job_id).state}; log:\n{J.tail_log(store.get(job_id))}")


def test_fake_job_succeeds_and_registers_bundle(tmp_path):
    store = J.JobStore(tmp_path)
    job = store.submit([sys.executable, "-c", FAKE_JOB], name="fake")
    assert job.state == J.RUNNING and job.pid
    done = _wait(store, job.id, J.FINAL_STATES)
    assert done.state == J.SUCCEEDED, done.error
    assert done.exit_code == 0
    assert store.bundles() == [done.out_dir]
    assert J.read_progress(done)["fraction"] == 0.5
    assert list(J.read_history(done)["rho_g"]) == [1.2]
    assert "training..." in J.tail_log(done)


def test_failing_job_is_failed_with_log(tmp_path):
    store = J.JobStore(tmp_path)
    job = store.submit([sys.executable, "-c", "import sys; print('bad input', file=sys.stderr); sys.exit(2)"])
    done = _wait(store, job.id, J.FINAL_STATES)
    assert done.state == J.FAILED and done.exit_code == 2
    assert "exit 2" in done.error
    assert "bad input" in J.tail_log(done)
    assert store.bundles() == []


def test_killed_worker_is_marked_failed_and_log_kept(tmp_path):
    store = J.JobStore(tmp_path)
    job = store.submit([sys.executable, "-c", SLEEP_JOB], add_output_args=False)
    _wait(store, job.id, {J.RUNNING})
    deadline = time.time() + 20
    while "sleeping" not in J.tail_log(store.get(job.id)) and time.time() < deadline:
        time.sleep(0.1)
    os.killpg(job.pid, signal.SIGKILL)  # the whole worker dies without reporting
    done = _wait(store, job.id, J.FINAL_STATES, timeout=20)
    assert done.state == J.FAILED
    assert "died" in done.error
    assert "sleeping" in J.tail_log(done)


def test_killed_job_process_is_failed(tmp_path):
    store = J.JobStore(tmp_path)
    marker = tmp_path / "child.pid"
    code = f"import os, time, pathlib\npathlib.Path({str(marker)!r}).write_text(str(os.getpid()))\ntime.sleep(60)\n"
    job = store.submit([sys.executable, "-c", code], add_output_args=False)
    deadline = time.time() + 20
    while not marker.exists() and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.1)
    os.kill(int(marker.read_text()), signal.SIGKILL)
    done = _wait(store, job.id, J.FINAL_STATES, timeout=20)
    assert done.state == J.FAILED and done.exit_code == -signal.SIGKILL


def test_cancel_queue_and_restart(tmp_path):
    store = J.JobStore(tmp_path, max_concurrent=1)
    first = store.submit([sys.executable, "-c", SLEEP_JOB], add_output_args=False)
    second = store.submit([sys.executable, "-c", SLEEP_JOB], add_output_args=False)
    assert store.get(first.id).state == J.RUNNING
    assert store.get(second.id).state == J.QUEUED  # one job at a time by default
    cancelled = store.cancel(first.id, grace=2.0)
    assert cancelled.state == J.CANCELLED
    with pytest.raises(ProcessLookupError):
        os.killpg(first.pid, 0)  # its process group is gone
    assert store.get(second.id).state == J.RUNNING  # the slot went to the queued job
    reopened = J.JobStore(tmp_path)  # a restart of the store keeps the jobs
    assert {j.id: j.state for j in reopened.list()} == {first.id: J.CANCELLED, second.id: J.RUNNING}
    reopened.cancel(second.id, grace=2.0)
    assert J.JobStore(tmp_path).get(second.id).state == J.CANCELLED
    with pytest.raises(JobError, match="no job"):
        reopened.get("nope")


def test_pid_reuse_is_not_ours(tmp_path):
    """A running row whose pid now belongs to another process is reconciled to failed."""
    store = J.JobStore(tmp_path)
    job = store.submit([sys.executable, "-c", "print(1)"], add_output_args=False, start=False)
    with store._connect() as con:  # forge a "running" row pointing at this test process
        con.execute("UPDATE jobs SET state='running', pid=?, pid_start='1' WHERE id=?", (os.getpid(), job.id))
    assert store.get(job.id).state == J.FAILED


def test_build_cli_command_validates():
    cmd = J.build_cli_command(mode="cv", fusion="concat", epochs=2, folds=2, seed=3)
    assert cmd[:4] == [sys.executable, "-m", "pathgptomic", "cv"]
    assert cmd[cmd.index("--folds") + 1] == "2" and cmd[cmd.index("--fusion") + 1] == "concat"
    with pytest.raises(ConfigError, match="fusion"):
        J.build_cli_command(fusion="sum")
    with pytest.raises(ConfigError, match="folds"):
        J.build_cli_command(mode="cv", folds=1)


def test_tiny_real_cv_job_succeeds_and_registers_bundle(tmp_path):
    store = J.JobStore(tmp_path)
    # Genomics-only keeps the job to seconds (no slide features); the launch path is the same.
    cmd = J.build_cli_command(mode="cv", cohort="demo", fusion="genomic", epochs=1, folds=2, seed=0,
                              extra=["--no-progress"])
    job = store.submit(cmd, name="tiny")
    done = _wait(store, job.id, J.FINAL_STATES, timeout=240)
    assert done.state == J.SUCCEEDED, f"{done.error}\n{J.tail_log(done)}"
    assert store.bundles() == [done.out_dir]
    from pathgptomic.training.bundle import load_bundle

    bundle = load_bundle(done.out_dir)
    assert len(bundle.predictions) > 0
    progress = J.read_progress(done)
    assert progress is not None and float(progress["fraction"]) == pytest.approx(1.0)
    assert not J.read_history(done).empty


def test_finished_job_hands_its_slot_to_the_queue_without_a_reader(tmp_path):
    """The supervisor of a finished job starts the next queued one (no UI polling needed)."""
    import sqlite3

    store = J.JobStore(tmp_path, max_concurrent=1)
    first = store.submit([sys.executable, "-c", "import time; time.sleep(1)"], add_output_args=False)
    second = store.submit([sys.executable, "-c", "print('second')"], add_output_args=False)
    assert second.state == J.QUEUED
    deadline = time.time() + 60
    state = None
    while time.time() < deadline:  # read the table directly: store reads would start the job themselves
        con = sqlite3.connect(store.db_path)
        state = con.execute("SELECT state FROM jobs WHERE id=?", (second.id,)).fetchone()[0]
        con.close()
        if state == J.SUCCEEDED:
            break
        time.sleep(0.2)
    assert state == J.SUCCEEDED
    assert store.get(first.id).state == J.SUCCEEDED
