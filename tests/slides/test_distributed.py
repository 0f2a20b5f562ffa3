"""torchrun with 2 gloo processes on CPU: every slide extracted exactly once, into one cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pathgptomic.errors import InputValidationError
from pathgptomic.slides.distributed import read_manifest, shard


def test_shard_covers_each_slide_once() -> None:
    paths = [f"s{i}.svs" for i in range(7)] + ["s1.svs"]
    parts = [shard(paths, r, 3) for r in range(3)]
    flat = [p for part in parts for p in part]
    assert sorted(flat) == sorted(set(paths)) and len(flat) == len(set(flat))


def test_manifest_errors(tmp_path: Path) -> None:
    bad = tmp_path / "m.csv"
    bad.write_text("id,file\nA,x.png\n")
    with pytest.raises(InputValidationError, match=r"missing required column\(s\) 'patient_id', 'path'"):
        read_manifest(bad)


def test_torchrun_two_gloo_processes(slide_dir: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "slides.csv"
    rows = ["patient_id,path"]
    for i in range(3):
        rows.append(f"P{i},{slide_dir / f'tissue{i}.png'}")
    rows.append(f"P3,{slide_dir / 'white.png'}")
    rows.append(f"P0,{slide_dir / 'pyramid.tif'}")
    manifest.write_text("\n".join(rows) + "\n")
    cache, logs = tmp_path / "cache", tmp_path / "logs"
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "pathgptomic.slides.distributed",
        "--manifest",
        str(manifest),
        "--cache-dir",
        str(cache),
        "--log-dir",
        str(logs),
        "--encoder",
        "t2t_vit_test",
        "--backend",
        "gloo",
        "--batch-size",
        "4",
        "--no-progress",
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=220)
    assert proc.returncode == 0, proc.stderr[-3000:]
    records = [json.loads(line) for f in sorted(logs.glob("rank*.jsonl")) for line in f.read_text().splitlines()]
    assert {r["rank"] for r in records} == {0, 1}
    slides = [r["slide"] for r in records]
    assert sorted(slides) == sorted({row.split(",", 1)[1] for row in rows[1:]})  # each exactly once
    assert all("error" not in r and not r["from_cache"] for r in records)
    assert len(list(cache.rglob("*.npz"))) == 5
