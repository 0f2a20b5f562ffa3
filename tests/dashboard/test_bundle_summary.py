"""The sidebar names each bundle's fusion mode, encoders and scGPT checkpoint."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dashboard"))

from components.state import bundle_summary  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


def test_demo_bundle_summary_names_fusion_and_encoders() -> None:
    text = bundle_summary(str(REPO / "models" / "demo"))
    assert "fusion `gradmod`" in text and "RNA `snn`" in text and "image `test_resnet`" in text
    assert "scGPT" not in text


def test_scgpt_checkpoint_is_stated(tmp_path: Path) -> None:
    cfg = {
        "train_config": {"model": {"fusion": "concat"}, "features": {"rna_encoder": "scgpt_smooth"}},
        "feature_info": {"scgpt_checkpoint_hash": "61138b28abcdef0123456789"},
        "image_encoder": {"name": None},
    }
    (tmp_path / "config.json").write_text(json.dumps(cfg))
    assert bundle_summary(str(tmp_path)) == "fusion `concat` · RNA `scgpt_smooth` · scGPT `61138b28abcd`"


def test_unreadable_config_is_reported(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{")
    assert bundle_summary(str(tmp_path)) == "config.json unreadable"
