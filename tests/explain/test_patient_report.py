"""The per-patient HTML report holds Bundle.predict's numbers and no external resource."""

from __future__ import annotations

import base64
import re
import warnings

import numpy as np
import pandas as pd
import pytest

from pathgptomic.explain.patient_report import (
    NOTICE,
    ModelFacts,
    model_facts,
    patient_curve,
    patient_report_html,
    survival_table,
    theta_split,
)


@pytest.fixture(scope="module")
def genomic_bundle(tmp_path_factory):
    """A small cross-validated genomics-only bundle and its cohort (trained in a few seconds)."""
    from pathgptomic.data import read_cohort, write_demo_cohort
    from pathgptomic.nn.fusion import ModelConfig
    from pathgptomic.training.bundle import load_bundle, save_bundle
    from pathgptomic.training.features import FeatureSettings
    from pathgptomic.training.trainer import TrainConfig, cross_validate

    root = tmp_path_factory.mktemp("report")
    cohort = read_cohort(write_demo_cohort(root / "cohort", n_patients=60, seed=0, image_size=64))
    cfg = TrainConfig(
        model=ModelConfig(fusion="genomic", snn_hidden=(16, 16, 16, 16), genomic_dim=8),
        features=FeatureSettings(use_images=False, cache_dir=None),
        epochs=8,
        batch_size=16,
        lr=0.002,
        seed=0,
        device="cpu",
    )
    path = save_bundle(cross_validate(cohort, cfg, n_folds=3, show_progress=False), root / "b", cohort=cohort)
    return load_bundle(path), cohort


def _row(**kw) -> pd.Series:
    row = {
        "patient_id": "P<1>",
        "status": "ok",
        "reason": "",
        "risk": 0.4321,
        "risk_low": 0.2,
        "risk_high": 0.61,
        "survival_12": 0.912,
        "survival_12_low": 0.88,
        "survival_12_high": 0.93,
        "survival_36": 0.701,
        "survival_36_low": 0.65,
        "survival_36_high": 0.74,
        "survival_60": 0.553,
        "survival_60_low": 0.5,
        "survival_60_high": 0.6,
        "median_survival": 71.5,
        "median_survival_low": 60.25,
        "median_survival_high": np.nan,
        "percentile": 63.5,
        "risk_group": "intermediate",
        "theta": 1.5,
        "genomic_term": 1.25,
        "image_term": 0.2,
        "bias": 0.05,
        "coverage_cnv": 0.75,
        "coverage_mut": 1.0,
        "n_imputed": 3,
    }
    row.update(kw)
    return pd.Series(row)


FACTS = ModelFacts(
    name="demo",
    fusion="gradmod",
    calibration_slope=0.1847,
    cindex_mean=0.6817,
    cindex_sd=0.0424,
    cindex_pooled=0.6704,
    n_patients=200,
    n_events=130,
)


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_tables_hold_the_row_values():
    row = _row()
    table = survival_table(row)
    assert list(table["quantity"]) == ["survival at 1 year", "survival at 3 years", "survival at 5 years", "median survival (months)"]
    np.testing.assert_allclose(table["estimate"], [0.912, 0.701, 0.553, 71.5])
    split = theta_split(row)
    assert split["value"].iloc[:3].sum() == pytest.approx(split["value"].iloc[3])


def test_report_states_the_numbers_and_escapes_text():
    html = patient_report_html(_row(), facts=FACTS, warnings=["column <b>x</b> unused"])
    text = _text(html)
    for value in (
        "0.432",
        "0.200",
        "0.610",
        "0.912",
        "0.701",
        "0.553",
        "71.500",
        "60.250",
        "63.5",
        "intermediate",
        "1.2500",
        "0.2000",
        "0.0500",
        "1.5000",
        "0.75",
        "0.185",
        "0.682 ± 0.042",
    ):
        assert value in text, value
    assert "Imputed input values (training medians): 3" in text
    assert "P&lt;1&gt;" in html and "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html
    assert NOTICE.split(" —")[0] in text


def test_refused_patient_has_reason_and_no_risk():
    row = _row(status="insufficient_data", reason="cnv: 0% of the model's features measured", risk=np.nan, percentile=np.nan, risk_group="")
    html = patient_report_html(row, facts=FACTS)
    assert "Insufficient data" in html and "cnv: 0% of the model&#x27;s features measured" in html
    assert "Percentile" not in html and "<img" not in html


def test_report_of_a_bundle_prediction_is_self_contained(genomic_bundle):
    bundle, cohort = genomic_bundle
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = bundle.predict(cohort.subset([7]))
    row = pred.iloc[0]
    assert row["status"] == "ok"
    html = patient_report_html(row, facts=model_facts(bundle), warnings=pred.attrs["warnings"], curve=patient_curve(bundle.baseline, row))
    text = _text(html)
    for col in ("risk", "risk_low", "risk_high", "survival_12", "survival_36", "survival_60", "median_survival"):
        assert f"{row[col]:.3f}" in text, col
    assert f"{row['theta']:.4f}" in text
    # no external resource: no URL, no src/href other than the inline PNG
    assert not re.search(r"https?:|ftp:|//[\w.-]+\.[a-z]{2,}/", re.sub(r"base64,[A-Za-z0-9+/=]+", "", html))
    assert re.findall(r"(?:src|href)=['\"]([^'\"]{0,22})", html) == ["data:image/png;base64,"]
    png = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", html).group(1))
    assert png.startswith(b"\x89PNG")
