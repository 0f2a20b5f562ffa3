"""Cold-cache ``pathgptomic predict --bundle models/demo --cohort demo``: a source tree vs an anchor tree.

Both trees run the same command in fresh subprocesses, each with an empty feature cache
(``PATHGPTOMIC_CACHE_DIR`` = a new temporary folder, so images are tiled and encoded again),
alternating anchor and candidate so that load from other users of the machine affects
both alike. The anchor is a clean export of a git revision (``git archive``); the
candidate is this working tree. Predictions of the two are compared (max |Δ risk|).

Conditions: the machine as found, and with ``--busy`` extra single-core busy-loop
processes (another user's job).

Usage::

    python benchmarks/bench_cold_predict.py --anchor-rev HEAD --repeats 1 --busy 0,1 \
        --out benchmarks/results/cold_predict.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _report import write_report  # noqa: E402 - benchmarks/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]
COMMAND = ["-m", "pathgptomic", "predict", "--bundle", "models/demo", "--cohort", "demo", "--no-progress"]


def export_rev(rev: str, dest: Path) -> str:
    """Write ``git archive rev`` into ``dest``; returns the resolved commit."""
    commit = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", rev], capture_output=True, text=True, check=True
    ).stdout.strip()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit], capture_output=True, check=True).stdout
    dest.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return commit


def cold_predict(tree: Path, out_csv: Path) -> float:
    """Wall seconds of one cold ``predict`` run from ``tree`` (its own package first on the path)."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, PATHGPTOMIC_CACHE_DIR=cache, PYTHONPATH=str(tree))
        t0 = time.perf_counter()
        res = subprocess.run(
            [sys.executable, *COMMAND, "--out", str(out_csv)], cwd=tree, env=env, capture_output=True, text=True, check=False
        )
        elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"predict failed in {tree} (exit {res.returncode}):\n{res.stderr[-3000:]}")
    return elapsed


def max_risk_difference(a: Path, b: Path) -> float:
    """Largest absolute difference of the ``risk`` column of two predictions CSVs (same ids)."""
    ra, rb = pd.read_csv(a), pd.read_csv(b)
    key = ra.columns[0]  # the patient id column
    ra, rb = ra.set_index(key), rb.set_index(key)
    return float(np.max(np.abs(ra["risk"].to_numpy(float) - rb.loc[ra.index, "risk"].to_numpy(float))))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--anchor-rev", default="HEAD", help="git revision of the anchor tree")
    ap.add_argument("--candidate", default=str(REPO), help="candidate source tree (default: this working tree)")
    ap.add_argument("--candidate-rev", default=None, help="use a clean export of this git revision as the candidate")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--busy", default="0,1", help="comma list of busy-process counts (conditions)")
    ap.add_argument("--out", default=None, help="write a Markdown report here")
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        anchor = Path(tmp) / "anchor"
        commit = export_rev(a.anchor_rev, anchor)
        candidate = Path(a.candidate)
        if a.candidate_rev:
            candidate = Path(tmp) / "candidate"
            a.candidate = f"git archive {export_rev(a.candidate_rev, candidate)}"
        trees = {f"anchor ({commit})": anchor, "candidate": candidate}
        for busy in [int(b) for b in a.busy.split(",")]:
            procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(busy)]
            try:
                times: dict[str, list[float]] = {k: [] for k in trees}
                for rep in range(a.repeats):
                    for name in list(trees) if rep % 2 == 0 else list(trees)[::-1]:
                        times[name].append(cold_predict(trees[name], Path(tmp) / f"{name[:6]}.csv"))
                        print(f"busy {busy} | {name} | {times[name][-1]:.1f} s", flush=True)
            finally:
                for p in procs:
                    p.terminate()
                    p.wait()
            t_anchor, t_cand = (statistics.median(v) for v in times.values())
            diff = max_risk_difference(Path(tmp) / "anchor.csv", Path(tmp) / "candid.csv")
            rows.append((busy, t_anchor, t_cand, t_anchor / t_cand, diff))
            print(
                f"busy {busy}: anchor {t_anchor:.1f} s, candidate {t_cand:.1f} s, speed-up {t_anchor / t_cand:.2f}x, "
                f"max |Δ risk| {diff:.2e}",
                flush=True,
            )
    if a.out:
        write_report(
            a.out,
            "Cold-cache demo predict: candidate vs anchor",
            [
                f"Measured: `python {' '.join(COMMAND)}` with an empty `PATHGPTOMIC_CACHE_DIR` per run (200 demo images "
                f"tiled and encoded); anchor = `git archive {commit}`, candidate = `{a.candidate}`.",
                f"Median of {a.repeats} run(s) each, anchor and candidate alternating.",
            ],
            ["extra busy processes", "anchor (s)", "candidate (s)", "speed-up (anchor / candidate)", "max abs risk difference"],
            [[str(b), f"{ta:.1f}", f"{tc:.1f}", f"{r:.2f}x", f"{d:.1e}"] for b, ta, tc, r, d in rows],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
