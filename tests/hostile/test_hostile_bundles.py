"""Damaged model bundles: every one gives a BundleError naming the file, through the library and the CLI.

The bundle is a tiny genomic-only model trained here in the current format (the shipped
``models/demo`` may lag the format while it is retrained), copied to ``tmp_path`` and damaged.
Outcome class of every case: ``error`` = :class:`BundleError` naming the damaged file or key
(CLI: exit status 2 and the same message, no traceback).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Callable

import pytest

from pathgptomic.errors import BundleError

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def pristine_bundle(tmp_path_factory) -> Path:
    """A small genomic-only bundle that loads (checked), trained once for this module."""
    import torch

    from pathgptomic.data import read_cohort, write_demo_cohort
    from pathgptomic.nn.fusion import ModelConfig
    from pathgptomic.training.bundle import load_bundle, save_bundle
    from pathgptomic.training.features import FeatureSettings
    from pathgptomic.training.trainer import TrainConfig, cross_validate

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("hostile_bundle")
    cohort = read_cohort(write_demo_cohort(root / "cohort", n_patients=100, seed=3, layout="tcga"))
    cfg = TrainConfig(
        model=ModelConfig(fusion="genomic", snn_hidden=(8, 8, 8, 8), mlp_b_hidden=8, genomic_dim=4),
        features=FeatureSettings(use_images=False, cache_dir=str(root / "cache")),
        epochs=2,
        batch_size=16,
        seed=0,
        device="cpu",
    )
    result = cross_validate(cohort, cfg, n_folds=2, show_progress=False)
    bundle = save_bundle(result, root / "b", cohort=cohort)
    load_bundle(bundle)
    return bundle


def _json(name: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    """Edit a JSON file of the bundle in place (``change`` mutates the parsed object)."""

    def _do(b: Path) -> None:
        cfg = json.loads((b / name).read_text())
        change(cfg)
        (b / name).write_text(json.dumps(cfg))

    return _do


def _truncate(name: str, keep: float) -> Callable[[Path], None]:
    def _do(b: Path) -> None:
        data = (b / name).read_bytes()
        (b / name).write_bytes(data[: int(len(data) * keep)])

    return _do


def _dims(value: int) -> Callable[[Path], None]:
    return _json("config.json", lambda c: c["input_dims"].update(cnv_mut=value))


CASES: list[tuple[str, Callable[[Path], None], str]] = [
    ("truncated-weights", _truncate("weights.safetensors", 0.5), r"weights\.safetensors"),
    ("empty-weights", _truncate("weights.safetensors", 0.0), r"weights\.safetensors"),
    ("missing-weights", lambda b: (b / "weights.safetensors").unlink(), r"weights\.safetensors"),
    ("config-not-json", lambda b: (b / "config.json").write_text("{format_version: 2"), r"config\.json"),
    ("config-a-list", lambda b: (b / "config.json").write_text("[]"), r"config\.json"),
    ("no-train-config", _json("config.json", lambda c: c.pop("train_config")), r"train_config"),
    ("absurd-input-dims", _dims(10**12), r"input|cnv_mut|config\.json"),
    ("negative-input-dims", _dims(-5), r"input|cnv_mut|config\.json"),
    ("corrupt-predictions", lambda b: (b / "predictions.csv").write_bytes(b"\x00\xff garbage"), r"predictions\.csv"),
    ("predictions-wrong-columns", lambda b: (b / "predictions.csv").write_text("a,b\n1,2\n"), r"predictions\.csv"),
    ("corrupt-baseline", lambda b: (b / "baseline_hazard.csv").write_text("time;hazard\n1;x\n"), r"baseline_hazard\.csv"),
]


@pytest.mark.parametrize(("case", "damage", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_damaged_bundle_gives_bundle_error(case, damage, pattern, pristine_bundle, tmp_path):
    from pathgptomic.training.bundle import load_bundle

    b = tmp_path / "b"
    shutil.copytree(pristine_bundle, b)
    damage(b)
    with pytest.raises(BundleError, match=pattern):
        load_bundle(b)


def test_damaged_bundle_via_cli_predict_is_exit_2(pristine_bundle, tmp_path, run_cli, clean_csv_text):
    b = tmp_path / "b"
    shutil.copytree(pristine_bundle, b)
    _truncate("weights.safetensors", 0.3)(b)
    (tmp_path / "c.csv").write_text(clean_csv_text)
    rc, err = run_cli(["predict", "--bundle", str(b), "--cohort", str(tmp_path / "c.csv"), "--no-progress"])
    assert rc == 2, err
    assert "weights.safetensors" in err and "Traceback" not in err
