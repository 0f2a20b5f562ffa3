"""Job store: real job processes, cancellation, dead workers, persistence."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from pathgptomic import jobs as J
from pathgptomic.errors import ConfigError, JobError
from pathgptomic.jobs.processes import _group_members
from pathgptomic.jobs.store import _SCHEMA

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


@pytest.mark.parametrize("mode", ["cv", "train"])
def test_build_cli_command_is_accepted_by_the_cli_parser(mode, tmp_path):
    """Every command the job builder makes (with the --out/--live-dir the store appends) parses as
    ``pathgptomic train|cv`` with the values it was built from."""
    from pathgptomic.cli import build_parser

    parser = build_parser()
    for fusion in J.FUSIONS:
        for rna in (None, *J.RNA_ENCODERS):
            cmd = J.build_cli_command(
                mode=mode,
                cohort="demo",
                fusion=fusion,
                epochs=3,
                folds=4,
                seed=7,
                rna_encoder=rna,
                scgpt_dir=str(tmp_path / "scgpt"),
                mlp_a=str(tmp_path / "a.pt"),
                extra=["--no-progress"],
            )
            assert cmd[:3] == [sys.executable, "-m", "pathgptomic"]
            args = parser.parse_args(cmd[3:] + ["--out", str(tmp_path / "b"), "--live-dir", str(tmp_path / "l")])
            assert (args.cmd, args.fusion, args.epochs, args.seed, args.cohort) == (mode, fusion, 3, 7, "demo")
            if mode == "cv":
                assert args.folds == 4
            if rna is not None:
                assert args.rna_encoder == rna


def test_tiny_real_cv_job_succeeds_and_registers_bundle(tmp_path):
    store = J.JobStore(tmp_path)
    # Genomics-only keeps the job to seconds (no slide features); the launch path is the same.
    cmd = J.build_cli_command(mode="cv", cohort="demo", fusion="genomic", epochs=1, folds=2, seed=0, extra=["--no-progress"])
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


# ----------------------------------------------------------------------------- crash leftovers

# A training that outlives its supervisor: prints, waits for a go file, then either becomes a real
# one-epoch genomics-only ``pathgptomic train`` (a bundle that loads) or writes a bundle whose
# config.json no loader accepts.
ORPHAN_JOB = (
    "import os, pathlib, sys, time\n"
    "a = sys.argv\n"
    "out = pathlib.Path(a[a.index('--out') + 1])\n"
    "go, kind = pathlib.Path(a[1]), a[2]\n"
    "print('training', flush=True)\n"
    "while not go.exists():\n"
    "    time.sleep(0.05)\n"
    "if kind == 'complete':\n"
    "    os.execv(sys.executable, [sys.executable, '-m', 'pathgptomic', 'train', '--cohort', 'demo', '--fusion',\n"
    "                              'genomic', '--epochs', '1', '--no-progress', '--out', str(out)])\n"
    "out.mkdir()\n"
    "(out / 'config.json').write_text('{\"format_version\": -1}')\n"
    "(out / 'weights.safetensors').write_bytes(b'not weights')\n"
)


def _orphan(store: J.JobStore, tmp_path, kind: str) -> tuple[J.Job, object]:
    """Launch ORPHAN_JOB, wait until it runs, then kill its supervisor only."""
    go = tmp_path / f"go-{kind}"
    job = store.submit([sys.executable, "-c", ORPHAN_JOB, str(go), kind], name=kind)
    deadline = time.time() + 180  # generous: on a loaded 2-core machine starting the supervisor and child can take long
    while "training" not in J.tail_log(store.get(job.id)) and time.time() < deadline:
        time.sleep(0.05)
    # only once the training runs may its supervisor die (killed earlier, there is no training to adopt)
    assert "training" in J.tail_log(store.get(job.id)), "the job's training did not start within 180 s"
    os.kill(job.pid, signal.SIGKILL)  # the supervisor dies; its training goes on
    time.sleep(0.3)
    return job, go


def test_training_outliving_its_supervisor_is_adopted(tmp_path):
    store = J.JobStore(tmp_path / "data")
    job, go = _orphan(store, tmp_path, "complete")
    still = store.get(job.id)
    assert still.state == J.RUNNING, still.error  # not declared dead while it still trains
    go.touch()
    done = _wait(store, job.id, J.FINAL_STATES, timeout=240)
    assert done.state == J.SUCCEEDED, f"{done.error}\n{J.tail_log(done)}"
    assert done.note and J.ADOPTED_NOTE in done.note
    assert done.bundle_path == done.out_dir and store.bundles() == [done.out_dir]  # listed again
    assert J.ADOPTED_NOTE in J.tail_log(done)
    assert not (done.job_dir / "exit.json").exists()  # it really had no supervisor at the end


def test_orphaned_bundle_that_does_not_load_is_deleted_and_said(tmp_path):
    store = J.JobStore(tmp_path / "data")
    job, go = _orphan(store, tmp_path, "corrupt")
    go.touch()
    done = _wait(store, job.id, J.FINAL_STATES)
    assert done.state == J.FAILED
    assert "does not load" in done.error and "deleted" in done.error
    assert not done.out_dir.exists() and store.bundles() == []
    assert "deleted" in J.tail_log(done)


def test_cancel_kills_a_training_that_outlived_its_supervisor(tmp_path):
    store = J.JobStore(tmp_path / "data")
    job, _go = _orphan(store, tmp_path, "complete")
    assert _group_members(job.pid)  # the training still runs in the job's process group
    assert store.cancel(job.id, grace=2.0).state == J.CANCELLED
    deadline = time.time() + 10
    while _group_members(job.pid) and time.time() < deadline:
        time.sleep(0.05)
    assert _group_members(job.pid) == []


def test_stale_bundle_temp_folders_are_removed_when_the_job_ends(tmp_path):
    store = J.JobStore(tmp_path / "data")
    code = "import pathlib, sys\na = sys.argv\n(pathlib.Path(a[a.index('--out') + 1]).parent / '.bundle.x1').mkdir()\n"
    job = store.submit([sys.executable, "-c", code])
    done = _wait(store, job.id, J.FINAL_STATES)
    assert done.state == J.FAILED  # exited 0 without a bundle
    assert list(done.job_dir.glob(".bundle.*")) == []


# ----------------------------------------------------------------------------- private inputs


def test_private_upload_folder_is_private_and_removed_when_the_job_ends(tmp_path):
    store = J.JobStore(tmp_path / "data")
    folder = store.private_upload_dir("cohort")
    assert folder.parent == store.uploads_dir
    assert (store.uploads_dir.stat().st_mode & 0o777, folder.stat().st_mode & 0o777) == (0o700, 0o700)
    (folder / "cohort.csv").write_text("case_id\n")
    target = tmp_path / "outside"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    (folder / "images").symlink_to(target, target_is_directory=True)
    job = store.submit([sys.executable, "-c", "print('ok')"], add_output_args=False, cleanup=[folder])
    done = _wait(store, job.id, J.FINAL_STATES)
    assert done.state == J.SUCCEEDED
    deadline = time.time() + 10  # the supervisor removes it right after updating the table
    while folder.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert not folder.exists()
    assert (target / "keep.txt").is_file()  # the symlinked slide folder is not followed


def test_cancelled_queued_job_and_abandoned_uploads_are_swept(tmp_path):
    store = J.JobStore(tmp_path / "data", max_concurrent=1)
    running = store.submit([sys.executable, "-c", SLEEP_JOB], add_output_args=False)
    queued_input = store.private_upload_dir()
    queued = store.submit([sys.executable, "-c", "print(1)"], add_output_args=False, cleanup=[queued_input])
    fresh, old = store.private_upload_dir(), store.private_upload_dir()
    os.utime(old, (time.time() - J.UPLOAD_GRACE_S - 5,) * 2)
    try:
        assert store.get(queued.id).state == J.QUEUED
        store.sweep_uploads()
        assert queued_input.exists() and fresh.exists()  # an active job's input; a young folder
        assert not old.exists()  # nobody references it and it is past the grace period
        store.cancel(queued.id)
        store.list()  # any store read sweeps
        assert not queued_input.exists()
    finally:
        store.cancel(running.id, grace=1.0)


def test_cleanup_outside_the_uploads_folder_is_refused(tmp_path):
    store = J.JobStore(tmp_path / "data")
    with pytest.raises(JobError, match="inside"):
        store.submit([sys.executable, "-c", "print(1)"], cleanup=[tmp_path], start=False)
    assert store.list() == []


def test_queue_limit_is_enforced_by_the_store(tmp_path):
    store = J.JobStore(tmp_path / "data", max_concurrent=1)
    first = store.submit([sys.executable, "-c", SLEEP_JOB], add_output_args=False, max_active=2)
    second = store.submit([sys.executable, "-c", SLEEP_JOB], add_output_args=False, max_active=2)
    try:
        with pytest.raises(J.QueueFullError, match="limit of this deployment"):
            store.submit([sys.executable, "-c", SLEEP_JOB], add_output_args=False, max_active=2)
        assert len(store.list()) == 2
        store.cancel(second.id, grace=1.0)
        third = store.submit([sys.executable, "-c", "print(3)"], add_output_args=False, max_active=2)
        assert third.state == J.QUEUED
    finally:
        for j in store.active():
            store.cancel(j.id, grace=1.0)
    assert first.id != second.id


def test_old_database_gains_the_new_columns(tmp_path):
    import sqlite3

    (tmp_path / "jobs").mkdir()
    con = sqlite3.connect(tmp_path / "jobs.sqlite3")
    old_schema = _SCHEMA.replace(",\n    note TEXT,\n    cleanup TEXT", "")
    assert "note" not in old_schema
    con.execute(old_schema)
    con.execute(
        "INSERT INTO jobs (id, name, state, params, command, job_dir, created) VALUES ('a1', 'old', 'succeeded', '{}', '[]', ?, 0)",
        (str(tmp_path / "jobs" / "a1"),),
    )
    con.commit()
    con.close()
    store = J.JobStore(tmp_path)
    assert store.get("a1").note is None and store.get("a1").name == "old"


# ----------------------------------------------------------------------------- seeded encoder file


def _encoder_settings(cache):
    from pathgptomic.training.features import FeatureSettings

    return FeatureSettings(image_encoder="test_resnet", image_encoder_seed=7, cache_dir=str(cache))


def test_seeded_encoder_weights_race_yields_one_complete_file(tmp_path):
    import threading

    from safetensors.torch import load_file

    from pathgptomic.training.features import seeded_encoder_weights

    settings, barrier, results, errors = _encoder_settings(tmp_path), threading.Barrier(4), [], []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(seeded_encoder_weights(settings))
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1
    path = results[0]
    assert load_file(str(path))  # complete and readable
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no temp files left


def test_seeded_encoder_weights_failed_write_leaves_nothing(tmp_path, monkeypatch):
    import safetensors.torch

    from pathgptomic.training.features import seeded_encoder_weights

    def broken_save(tensors, filename, *args, **kwargs):
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", broken_save)
    settings = _encoder_settings(tmp_path)
    with pytest.raises(OSError, match="disk full"):
        seeded_encoder_weights(settings)
    folder = tmp_path / "encoders"
    assert list(folder.iterdir()) == []  # neither a partial target nor a temp file
