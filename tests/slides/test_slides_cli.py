"""``tile`` and ``extract`` subcommands."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from pathgptomic.slides.cli import main


def test_tile_writes_mask_coords_preview(slide_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["tile", str(slide_dir / "tissue0.png"), str(slide_dir / "pyramid.tif"), "--out", str(tmp_path), "--thumbnail-size", "256"])
    assert rc == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["patches"] for x in lines] == [4, 1]  # pyramid: one 448-px footprint fits in 512²
    assert lines[0]["mpp_assumed"] is True and lines[1]["mpp_assumed"] is False
    for stem in ("tissue0", "pyramid"):
        for suffix in ("_mask.png", "_coords.csv", "_preview.png"):
            assert (tmp_path / f"{stem}{suffix}").is_file()
    assert len(pd.read_csv(tmp_path / "tissue0_coords.csv")) == 4


def test_extract_manifest(slide_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text(f"patient_id,path\nA,{slide_dir / 'tissue0.png'}\nA,{slide_dir / 'tissue1.png'}\n")
    summary = tmp_path / "summary.csv"
    rc = main(
        [
            "extract",
            "--manifest",
            str(manifest),
            "--encoder",
            "t2t_vit_test",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--summary",
            str(summary),
            "--no-progress",
        ]
    )
    assert rc == 0
    df = pd.read_csv(summary)
    assert df.to_dict("records") == [{"patient_id": "A", "n_slides": 2, "n_patches": 8, "dim": 32}]
    assert "1 patients, 8 patches" in capsys.readouterr().out


def test_cli_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.svs"
    bad.write_text("text")
    assert main(["tile", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "text file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["extract", "--help"])
