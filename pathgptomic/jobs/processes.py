"""Process utilities of the job store: is a pid still the process we started, which processes
belong to a job's process group, reaping the supervisors this process started, killing a group.

Linux ``/proc`` is used when present (start times guard against reused pids); elsewhere
``os.kill(pid, 0)``/``os.killpg`` are the fallback.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def _proc_start_time(pid: int) -> str | None:
    """Kernel start time of ``pid`` (Linux ``/proc``), or None when unknown/absent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces or parentheses: split after the last ")".
    fields = stat[stat.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
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
        fields = stat[stat.rfind(")") + 2 :].split()
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
