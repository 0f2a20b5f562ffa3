"""AppTest: every page renders; Predict, Cohort, uploads and Train behave.

The app runs on the session's tiny current-format bundle and its demo cohort (``conftest.py``:
``dashboard_env``); the job store goes to a temporary data directory.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "dashboard" / "app.py")
PAGES = ["predict", "cohort", "balance", "explain", "train"]
TIMEOUT = 240


pytestmark = pytest.mark.usefixtures("dashboard_env")


def _page(name: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page(f"app_pages/{name}.py").run()
    return at


def _no_errors(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.mark.parametrize("page", PAGES)
def test_page_renders_on_demo(page):
    at = _page(page)
    _no_errors(at)
    assert any("Research use only" in w.value for w in at.sidebar.warning)
    assert at.sidebar.selectbox(key="sidebar.bundle").value  # a model is picked


def test_predict_demo_patient_shows_numeric_risk():
    at = _page("predict")
    at.button(key="predict.run").click().run()
    _no_errors(at)
    risk = next(m for m in at.metric if m.label.startswith("Risk (calibrated"))
    assert re.fullmatch(r"-?\d+\.\d{3}", risk.value)
    assert at.status[0].state == "complete"
    labels = {m.label for m in at.metric}
    assert {"Percentile (training patients)", "Risk group (tertiles)", "Survival at 5 years"} <= labels


def test_cohort_shows_logrank_and_cindex():
    at = _page("cohort")
    _no_errors(at)
    metrics = {m.label: m.value for m in at.metric}
    p = metrics["Log-rank p"]
    assert p.startswith("< 0.0001") or 0.0 <= float(p) <= 1.0
    c = float(metrics["C-index, pooled"])
    ci = next(x.value for x in at.caption if x.value.startswith("95% bootstrap CI"))
    lo, hi = (float(v) for v in re.findall(r"\d\.\d{3}", ci))
    assert 0.0 <= lo <= c <= hi <= 1.0
    at.radio(key="cohort.scheme").set_value("tertiles").run()
    _no_errors(at)
    hrs = next(d.value for d in at.dataframe if "hazard ratio" in d.value.columns)
    assert len(hrs) == 3  # every pair of the three groups


def test_malformed_omics_csv_shows_error_naming_the_column():
    at = _page("predict")
    at.segmented_control(key="predict.mode").set_value("Upload files").run()
    _no_errors(at)
    bad = b"patient_id,TP53_mut,EGFR_cnv\nP-1,1,not-a-number\n"
    at.file_uploader(key="predict.omics").upload("omics.csv", bad, "text/csv").run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value.replace("\\", "") for e in at.error]  # shown as typed: Markdown punctuation escaped
    assert errors and "EGFR_cnv" in errors[0], errors


def test_train_form_creates_a_job_row():
    at = _page("train")
    from pathgptomic.schema import FUSION_MODES, OFFERED_IMAGE_ENCODERS, POOLINGS

    # the form's choices are the schema's (one definition for the CLI parser, the configs and the form)
    assert list(at.selectbox(key="train.encoder").options) == list(OFFERED_IMAGE_ENCODERS)
    assert list(at.selectbox(key="train.pooling").options) == list(POOLINGS)
    from pathgptomic.schema import RNA_ENCODERS

    assert list(at.selectbox(key="train.fusion").options) == list(FUSION_MODES)
    # jobs offer every schema RNA encoder except "none" (a training job always has an RNA input choice)
    assert list(at.selectbox(key="train.rna").options) == [e for e in RNA_ENCODERS if e != "none"]
    at.number_input(key="train.epochs").set_value(1)
    at.number_input(key="train.folds").set_value(2)
    at.text_input(key="train.name").set_value("apptest-job")
    at.button(key="FormSubmitter:train.form-Launch job").click().run()
    _no_errors(at)
    from pathgptomic.jobs import JobStore

    store = JobStore(os.environ["PATHGPTOMIC_DATA_DIR"])
    jobs = store.list()
    try:
        assert [j.name for j in jobs] == ["apptest-job"]
        assert jobs[0].state in ("running", "succeeded")
        assert jobs[0].command[3:5] == ["cv", "--cohort"]
        table = at.dataframe[0].value
        assert list(table["name"]) == ["apptest-job"]
    finally:
        for j in jobs:
            store.cancel(j.id, grace=1.0)


def test_upload_prediction_with_roi_and_refusal_of_non_images(dashboard_env):
    import pandas as pd

    demo = dashboard_env["cohort"]
    row = pd.read_csv(demo / "cohort_tcga.csv").iloc[[5]].drop(columns=["survival_months", "censorship"])
    omics = row.to_csv(index=False).encode()
    image = (demo / "images" / f"{row['case_id'].iloc[0]}.png").read_bytes()
    at = _page("predict")
    at.segmented_control(key="predict.mode").set_value("Upload files").run()
    at.file_uploader(key="predict.omics").upload("omics.csv", omics, "text/csv").run()
    at.file_uploader(key="predict.slide").upload("roi.png", image, "image/png").run()
    at.button(key="predict.run_upload").click().run()
    _no_errors(at)
    assert re.fullmatch(r"-?\d+\.\d{3}", next(m.value for m in at.metric if m.label.startswith("Risk (calibrated")))
    at.file_uploader(key="predict.slide").upload("fake.png", omics, "image/png").run()  # a CSV named .png
    at.button(key="predict.run_upload").click().run()
    assert any("checked by content" in e.value for e in at.error), [e.value for e in at.error]


def test_batch_mode_downloads_predictions():
    at = _page("predict")
    at.segmented_control(key="predict.mode").set_value("Batch").run()
    at.button(key="predict.batch_run").click().run()
    _no_errors(at)
    table = at.dataframe[0].value
    assert len(table) == 10 and {"risk", "risk_group", "percentile"} <= set(table.columns)
    assert at.download_button(key="predict.batch_download")


def test_train_with_uploaded_cohort_validates_before_launch():
    import pandas as pd

    demo = pd.read_csv(REPO / "assets" / "demo_cohort" / "cohort_tcga.csv")
    at = _page("train")
    at.radio(key="train.cohort_choice").set_value("Upload a cohort CSV (TCGA layout)")
    at.file_uploader(key="train.upload").upload("c.csv", demo.iloc[:5].to_csv(index=False).encode(), "text/csv")
    at.button(key="FormSubmitter:train.form-Launch job").click().run()
    assert any("at least 10 patients" in e.value for e in at.error), [e.value for e in at.error]
    from pathgptomic.jobs import JobStore

    store = JobStore(os.environ["PATHGPTOMIC_DATA_DIR"])
    assert store.list() == []  # nothing launched
    assert list(store.uploads_dir.iterdir()) == []  # and the refused upload is not kept
    at.file_uploader(key="train.upload").upload("c.csv", demo.iloc[:40].to_csv(index=False).encode(), "text/csv")
    at.button(key="FormSubmitter:train.form-Launch job").click().run()
    _no_errors(at)
    jobs = store.list()
    try:
        assert len(jobs) == 1
        cohort_arg = Path(jobs[0].command[jobs[0].command.index("--cohort") + 1])
        assert (cohort_arg / "cohort.csv").is_file() and (cohort_arg / "images").is_symlink()
        modes = [p.stat().st_mode & 0o777 for p in (store.uploads_dir, cohort_arg, cohort_arg / "cohort.csv")]
        assert modes == [0o700, 0o700, 0o600]  # private to the server user
    finally:
        for j in jobs:
            store.cancel(j.id, grace=1.0)
    store.list()  # the job ended: its upload is removed (by its supervisor, or by this sweep)
    assert not cohort_arg.exists()
    assert (REPO / "assets" / "demo_cohort" / "images").is_dir()  # the linked slide folder is untouched


def test_balance_compares_two_runs_with_a_reading():
    at = _page("balance")
    _no_errors(at)
    reading = next(m.value for m in at.markdown if m.value.startswith("**Reading:**"))
    assert "C-index" in reading or "branch" in reading
    run_b = at.selectbox(key="balance.b")
    if len(run_b.options) > 1:  # a second bundle exists (e.g. models/demo-concat): side by side
        assert run_b.value != "(none)"
        spec = at.get("plotly_chart")[0].proto.spec
        assert spec.count('"xaxis2"') >= 1  # a second column of panels


def test_finished_job_bundle_appears_in_the_model_picker():
    from pathgptomic import jobs as J

    store = J.JobStore(os.environ["PATHGPTOMIC_DATA_DIR"])
    cmd = J.build_cli_command(mode="train", fusion="genomic", epochs=1, extra=["--no-progress"])
    job = store.submit(cmd, name="picker")
    import time

    deadline = time.time() + 240
    while store.get(job.id).is_active and time.time() < deadline:
        time.sleep(0.5)
    done = store.get(job.id)
    assert done.state == J.SUCCEEDED, J.tail_log(done)
    at = _page("balance")
    options = at.sidebar.selectbox(key="sidebar.bundle").options
    assert f"picker · job {job.id}" in options, options  # the job's name with its id
    at.sidebar.selectbox(key="sidebar.bundle").set_value(str(done.bundle_path)).run()
    at.switch_page("app_pages/cohort.py").run()
    _no_errors(at)


def test_predict_with_a_slide_from_the_server_folder(dashboard_env, monkeypatch):
    import pandas as pd

    demo = dashboard_env["cohort"]
    monkeypatch.setenv("PATHGPTOMIC_SLIDE_ROOT", str(demo))  # the folder browser lists images/<id>.png
    row = pd.read_csv(demo / "cohort_tcga.csv").iloc[[7]].drop(columns=["survival_months", "censorship"])
    at = _page("predict")
    at.segmented_control(key="predict.mode").set_value("Upload files").run()
    at.file_uploader(key="predict.omics").upload("omics.csv", row.to_csv(index=False).encode(), "text/csv")
    at.radio(key="predict.slide_src").set_value("Server slide folder").run()
    choices = at.selectbox(key="predict.server_slide").options
    assert choices and all(c.startswith("images/") for c in choices)
    at.selectbox(key="predict.server_slide").set_value(f"images/{row['case_id'].iloc[0]}.png")
    at.button(key="predict.run_upload").click().run()
    _no_errors(at)
    assert any(m.label.startswith("Risk (calibrated") for m in at.metric)
