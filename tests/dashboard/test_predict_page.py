"""AppTest of the Predict page: the numbers shown equal ``Bundle.predict`` for that patient.

Runs on the session's tiny bundle (``conftest.py``), never on ``models/``.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.usefixtures("dashboard_env")


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def _expected(env: dict, rows: list[int] | None = None, cohort=None) -> pd.DataFrame:
    from pathgptomic.data import read_cohort
    from pathgptomic.training.bundle import load_bundle

    bundle = load_bundle(env["bundle"])
    cohort = cohort if cohort is not None else read_cohort(env["cohort"]).subset(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bundle.predict(cohort)


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _assert_shows(at: AppTest, row: pd.Series) -> None:
    """Every risk/survival number on the page equals the ``Bundle.predict`` row."""
    m = _metrics(at)
    assert row["status"] == "ok" and row["risk_group"] in ("low", "intermediate", "high")
    assert float(m["Risk (calibrated log hazard ratio)"]) == pytest.approx(row["risk"], abs=5e-4)
    assert m["Risk group (tertiles)"] == row["risk_group"].capitalize()
    assert re.sub(r"\D", "", m["Percentile (training patients)"]) == str(round(row["percentile"]))
    for t, label in ((12, "1 year"), (36, "3 years"), (60, "5 years")):
        assert float(m[f"Survival at {label}"].rstrip("%")) / 100 == pytest.approx(row[f"survival_{t}"], abs=5e-4)
    table = next(d.value for d in at.dataframe if "quantity" in d.value.columns)
    np.testing.assert_allclose(table["estimate"].iloc[:3], [row["survival_12"], row["survival_36"], row["survival_60"]])
    np.testing.assert_allclose(table["low"].iloc[:3], [row["survival_12_low"], row["survival_36_low"], row["survival_60_low"]])
    np.testing.assert_allclose(
        table[["estimate", "low", "high"]].iloc[3], row[["median_survival", "median_survival_low", "median_survival_high"]].astype(float)
    )
    split = next(d.value for d in at.dataframe if "term" in d.value.columns)
    np.testing.assert_allclose(split["value"], row[["genomic_term", "image_term", "bias", "theta"]].astype(float), rtol=1e-6)


def test_demo_patient_numbers_equal_bundle_predict(dashboard_env, open_page):
    at = open_page("predict")
    pid = at.selectbox(key="predict.patient").options[3]
    at.selectbox(key="predict.patient").set_value(pid).run()
    at.button(key="predict.run").click().run()
    _no_errors(at)
    from pathgptomic.data import read_cohort

    cohort = read_cohort(dashboard_env["cohort"])
    expected = _expected(dashboard_env, [list(map(str, cohort.ids)).index(pid)])
    assert expected["status"].iloc[0] == "ok"
    _assert_shows(at, expected.iloc[0])
    shown = [w.value for w in at.warning]
    for w in expected.attrs["warnings"]:  # every Bundle.predict warning is on the page
        assert any(w.replace(".", "") in s.replace("\\", "").replace(".", "") for s in shown), (w, shown)
    assert at.get("download_button")  # the patient report


def test_result_is_dropped_when_the_patient_changes(dashboard_env, open_page):
    at = open_page("predict")
    at.button(key="predict.run").click().run()
    assert "Risk (calibrated log hazard ratio)" in _metrics(at)
    other = at.selectbox(key="predict.patient").options[1]
    at.selectbox(key="predict.patient").set_value(other).run()
    _no_errors(at)
    assert "Risk (calibrated log hazard ratio)" not in _metrics(at)
    assert any("inputs changed" in i.value for i in at.info)


def test_result_is_dropped_when_the_bundle_changes(dashboard_env, tmp_path, open_page):
    import shutil

    from components import state

    at = open_page("predict")
    at.button(key="predict.run").click().run()
    assert "Risk (calibrated log hazard ratio)" in _metrics(at)
    shutil.copytree(dashboard_env["bundle"], dashboard_env["models"] / "tiny-copy", dirs_exist_ok=True)
    try:
        state.available_bundles.clear()
        at.run()  # the picker lists the copy
        assert "Risk (calibrated log hazard ratio)" in _metrics(at)  # same inputs, same model: still shown
        at.sidebar.selectbox(key="sidebar.bundle").set_value(str(dashboard_env["models"] / "tiny-copy")).run()
        _no_errors(at)
        assert "Risk (calibrated log hazard ratio)" not in _metrics(at)
    finally:
        shutil.rmtree(dashboard_env["models"] / "tiny-copy")
        state.available_bundles.clear()


def _upload_row(env: dict, i: int, drop: tuple[str, ...] = ()) -> tuple[pd.DataFrame, bytes, bytes]:
    table = pd.read_csv(env["cohort"] / "cohort_tcga.csv")
    row = table.iloc[[i]].drop(columns=["survival_months", "censorship", *drop])
    image = (env["cohort"] / "images" / f"{row['case_id'].iloc[0]}.png").read_bytes()
    return row, row.to_csv(index=False).encode(), image


def _predict_upload(open_page, omics: bytes, image: bytes) -> AppTest:
    """The Predict page after uploading ``omics`` and ``image`` and pressing Predict."""
    at = open_page("predict")
    at.segmented_control(key="predict.mode").set_value("Upload files").run()
    at.file_uploader(key="predict.omics").upload("omics.csv", omics, "text/csv").run()
    at.file_uploader(key="predict.slide").upload("roi.png", image, "image/png").run()
    return at.button(key="predict.run_upload").click().run()


def test_uploaded_patient_numbers_equal_bundle_predict(dashboard_env, tmp_path, open_page):
    from pathgptomic.data import read_cohort

    row, omics, image = _upload_row(dashboard_env, 5)
    at = _predict_upload(open_page, omics, image)
    _no_errors(at)
    expected = _expected(dashboard_env, cohort=read_cohort(dashboard_env["cohort"]).subset([5]))
    _assert_shows(at, expected.iloc[0])
    assert at.session_state["predict.uploaded_patient"]["slide"] == image  # kept for the Explain page
    # another slide: the result belongs to the old files and disappears
    at.file_uploader(key="predict.slide").upload("roi2.png", image + b"\0", "image/png").run()
    assert "Risk (calibrated log hazard ratio)" not in _metrics(at)


def test_patient_without_genomics_is_refused_without_percentile(dashboard_env, open_page):
    row, _, image = _upload_row(dashboard_env, 2)
    keep = [c for c in row.columns if not re.search(r"_(cnv|mut|rnaseq)$", c)]
    omics = row[keep].to_csv(index=False).encode()
    at = _predict_upload(open_page, omics, image)
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and "Insufficient data" in errors[0] and "cnv" in errors[0], errors
    labels = set(_metrics(at))
    assert not {"Percentile (training patients)", "Risk group (tertiles)", "Risk (calibrated log hazard ratio)"} & labels
    assert not any("quantity" in d.value.columns for d in at.dataframe)  # no survival table
    assert not at.get("plotly_chart")  # no curve


def test_batch_table_equals_bundle_predict(dashboard_env, open_page):
    at = open_page("predict")
    at.segmented_control(key="predict.mode").set_value("Batch").run()
    at.button(key="predict.batch_run").click().run()
    _no_errors(at)
    shown = at.dataframe[0].value
    chosen = list(at.multiselect(key="predict.batch_ids").value)
    from pathgptomic.data import read_cohort

    cohort = read_cohort(dashboard_env["cohort"])
    ids = [str(i) for i in cohort.ids]
    expected = _expected(dashboard_env, [ids.index(c) for c in chosen])
    assert list(shown["patient_id"]) == chosen
    np.testing.assert_allclose(shown["risk"], expected["risk"])
    np.testing.assert_allclose(shown["survival_60"], expected["survival_60"])
    assert at.download_button(key="predict.batch_download")


def test_uploaded_patient_is_explained_on_the_explain_page(dashboard_env, open_page):
    from pathgptomic.data import read_cohort

    _, omics, image = _upload_row(dashboard_env, 4)
    at = _predict_upload(open_page, omics, image)
    _no_errors(at)
    at.switch_page("app_pages/explain.py").run()
    at.radio(key="explain.source").set_value("Uploaded patient (from Predict)").run()
    _no_errors(at)
    expected = _expected(dashboard_env, cohort=read_cohort(dashboard_env["cohort"]).subset([4])).iloc[0]
    assert float(_metrics(at)["Model's raw score θ"]) == pytest.approx(expected["theta"], abs=5e-4)
    charts = [c.proto.spec for c in at.get("plotly_chart")]
    assert any('"heatmap"' in spec for spec in charts)  # the tile heatmap of the uploaded slide
