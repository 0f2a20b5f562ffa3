"""CLI start-up: ``--help``, a plugin subcommand's ``--help`` and ``tile`` of one image, anchor vs candidate tree.

Each command runs in a fresh ``python -X importtime -m pathgptomic ...`` subprocess from a clean
export of the anchor revision and of the candidate revision (``git archive``), alternating, so
load from other users hits both alike. Reported per command: median wall seconds and whether
torch was imported.

Usage::

    python benchmarks/bench_cli_startup.py --anchor-rev d1bc290 --candidate-rev HEAD --repeats 5 \
        --out benchmarks/results/cli_startup.md
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

from _report import write_report
from bench_cold_predict import export_rev

REPO = Path(__file__).resolve().parents[1]


def run_once(tree: Path, args: list[str]) -> tuple[float, bool]:
    """Wall seconds and whether torch was imported, for one command from ``tree``."""
    t0 = time.perf_counter()
    res = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pathgptomic", *args],
        cwd=tree,
        env=dict(os.environ, PYTHONPATH=str(tree)),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise SystemExit(f"{args} failed in {tree}: {res.stderr[-2000:]}")
    torch = any(line.startswith("import time:") and line.rsplit("|", 1)[-1].strip() == "torch" for line in res.stderr.splitlines())
    return wall, torch


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--anchor-rev", default="d1bc290")
    ap.add_argument("--candidate-rev", default="HEAD")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        trees = {"anchor": Path(tmp) / "anchor", "candidate": Path(tmp) / "candidate"}
        revs = {"anchor": export_rev(a.anchor_rev, trees["anchor"]), "candidate": export_rev(a.candidate_rev, trees["candidate"])}
        image = str(REPO / "assets" / "demo_cohort" / "images" / "SYN-0001.png")
        commands = {
            "--help": ["--help"],
            "embed-rna --help": ["embed-rna", "--help"],
            "tile one 448² image": ["tile", image, "--out", str(Path(tmp) / "tiles")],
        }
        for label, args in commands.items():
            res: dict[str, list[tuple[float, bool]]] = {"anchor": [], "candidate": []}
            for rep in range(a.repeats):
                for name in ("anchor", "candidate") if rep % 2 == 0 else ("candidate", "anchor"):
                    res[name].append(run_once(trees[name], args))
            wall = {k: statistics.median(r[0] for r in v) for k, v in res.items()}
            torch = {k: v[-1][1] for k, v in res.items()}
            rows.append((label, wall["anchor"], wall["candidate"], wall["anchor"] / wall["candidate"], torch))
            print(
                f"{label:<22} anchor {wall['anchor']:.2f} s (torch {torch['anchor']}) | candidate "
                f"{wall['candidate']:.2f} s (torch {torch['candidate']}) | speed-up {wall['anchor'] / wall['candidate']:.2f}x",
                flush=True,
            )
    if a.out:
        write_report(
            a.out,
            "CLI start-up: anchor vs candidate",
            [
                f"Anchor `git archive {revs['anchor']}`, candidate `git archive {revs['candidate']}`; each command in a fresh "
                f"`python -X importtime -m pathgptomic ...`; median of {a.repeats}, alternating."
            ],
            ["command", "anchor (s)", "candidate (s)", "speed-up", "torch imported (anchor / candidate)"],
            [[c, f"{ta:.2f}", f"{tc:.2f}", f"{r:.2f}x", f"{t['anchor']} / {t['candidate']}"] for c, ta, tc, r, t in rows],
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
