"""Start ``streamlit run dashboard/app.py`` headless on a free port (browser test and benchmark).

Plain Python, no Streamlit import: used by ``tests/e2e`` and ``benchmarks/bench_dashboard.py``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]

#: Flags for Debian's Chromium headless in a container (no sandbox, no GPU, no network chatter).
CHROMIUM_ARGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_app(port: int, data_dir: str | Path, log: IO[bytes]) -> subprocess.Popen:
    """Launch the dashboard server (own session, job store in ``data_dir``, output to ``log``)."""
    env = dict(os.environ, PATHGPTOMIC_DATA_DIR=str(data_dir))
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "dashboard/app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90.0) -> bool:
    """Poll ``<url>/_stcore/health`` until it answers ``ok``; False if the server died or timed out."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return True
        except OSError:
            pass
        if proc.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def stop_app(proc: subprocess.Popen) -> None:
    """Terminate the server (SIGKILL after 10 s)."""
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
