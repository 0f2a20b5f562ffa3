"""Pure helpers of the dashboard pages (no Streamlit run)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dashboard"))

from components import analysis as A  # noqa: E402
from pathgptomic.errors import InputValidationError  # noqa: E402


def test_parse_custom_cutoffs():
    assert A.parse_custom_cutoffs("-1; 0.5") == [-1.0, 0.5]
    assert A.parse_custom_cutoffs(" -2 ") == [-2.0]
    for bad, words in (
        ("", "one or two"),
        ("a, 1", "numbers"),
        ("inf", "finite"),
        ("0.5, -1", "larger"),
        ("0.5, 0.5", "larger"),
        ("-1, 0, 1", "at most two"),
    ):
        with pytest.raises(InputValidationError, match=words) as info:
            A.parse_custom_cutoffs(bad)
        assert "np.float64" not in str(info.value)


def test_decomposition_splits_the_raw_score_not_the_calibrated_risk():
    row = pd.Series({"genomic_term": 1.25, "image_term": -0.5, "bias": 0.05, "theta": 0.8, "risk": 0.1})
    dec = A.decomposition(row)
    assert list(dec["term"])[-1] == "θ (raw model score)"
    assert list(dec["value"]) == [1.25, -0.5, 0.05, 0.8]


def test_input_key_changes_with_any_part():
    base = A.input_key("models/demo@1.0", "upload", A.bytes_digest(b"a"), "none")
    assert base == A.input_key("models/demo@1.0", "upload", A.bytes_digest(b"a"), "none")
    assert base != A.input_key("models/demo@2.0", "upload", A.bytes_digest(b"a"), "none")
    assert base != A.input_key("models/demo@1.0", "upload", A.bytes_digest(b"b"), "none")


def test_evaluated_rows_follow_the_report_order():
    pred = pd.DataFrame(
        {
            "patient_id": ["a", "b", "c", "a"],
            "time": [1.0, 2.0, 3.0, 9.0],
            "event": [1, 0, 1, 1],
            "risk": [0.1, 0.2, 0.3, 0.4],
            "split": ["oof", "oof", "oof", "train"],
        }
    )
    report = {"patient_id": ["c", "a", "b"], "risk_groups": {"labels": ["high", "low", "low"]}}
    rows = A.evaluated_rows(pred, report)
    assert list(rows["patient_id"]) == ["c", "a", "b"] and list(rows["time"]) == [3.0, 1.0, 2.0]
    assert list(rows["risk_group"]) == ["high", "low", "low"]


def test_template_blocks_strip_suffixes():
    bundle = SimpleNamespace(feature_names={"cnv_mut": ["EGFR_cnv", "TP53_mut", "age"], "rna": ["PTEN_rnaseq"]})
    assert A.template_feature_blocks(bundle) == {"cnv": ["EGFR"], "mut": ["TP53"], "rnaseq": ["PTEN"]}


def test_reference_predictions_prefer_out_of_fold():
    pred = pd.DataFrame({"patient_id": ["a", "a", "b"], "risk": [1.0, 2.0, 3.0], "split": ["oof", "train", "train"]})
    assert list(A.reference_predictions(SimpleNamespace(predictions=pred))["risk"]) == [1.0]
    train_only = pred[pred["split"] == "train"]
    assert list(A.reference_predictions(SimpleNamespace(predictions=train_only))["risk"]) == [2.0, 3.0]


def test_ordinal():
    from components.ui import ordinal

    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 51, 100, 101)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "51st",
        "100th",
        "101st",
    ]


def test_bundle_picker_uses_the_library_discovery_without_torch(tmp_path):
    import subprocess

    import components.state as state
    from pathgptomic.training import bundle, bundle_discovery

    assert state.list_bundles is bundle_discovery.list_bundles is bundle.list_bundles
    for name in ("a", "nested/b", "notabundle", ".hidden"):
        (tmp_path / name).mkdir(parents=True)
    for name in ("a", "nested/b", ".hidden"):
        (tmp_path / name / "config.json").write_text("{}")
        (tmp_path / name / "weights.safetensors").write_bytes(b"")
    (tmp_path / "notabundle" / "config.json").write_text("{}")
    assert bundle_discovery.list_bundles(tmp_path, tmp_path / "missing") == [tmp_path / "a", tmp_path / "nested" / "b"]
    code = "import sys, pathgptomic.training.bundle_discovery; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
