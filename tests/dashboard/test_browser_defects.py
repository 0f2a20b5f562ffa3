"""AppTest checks of the dashboard defects found in a real browser (issue 13, item 7).

Runs on the session's tiny bundle (``conftest.py``); jobs go to a temporary job store.
"""

from __future__ import annotations

import base64
import json
import os

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.usefixtures("dashboard_env")


def _decode(obj):
    """Plotly's JSON with typed arrays (``{"dtype", "bdata"}``) turned back into numpy arrays."""
    if isinstance(obj, dict) and "bdata" in obj and "dtype" in obj:
        arr = np.frombuffer(base64.b64decode(obj["bdata"]), dtype=obj["dtype"])
        return arr.reshape(obj["shape"]) if "shape" in obj else arr
    if isinstance(obj, dict):
        return {k: _decode(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_decode(v) for v in obj]
    return obj


def _charts(at) -> list:
    """The page's Plotly figures (arrays decoded)."""
    import plotly.graph_objects as go

    return [go.Figure(_decode(json.loads(c.proto.spec)), skip_invalid=True) for c in at.get("plotly_chart")]


def _launch(at, name: str) -> None:
    at.number_input(key="train.epochs").set_value(1)
    at.number_input(key="train.folds").set_value(2)
    at.text_input(key="train.name").set_value(name)
    at.button(key="FormSubmitter:train.form-Launch job").click().run()


def test_launch_shows_the_new_job_in_the_detail_panel(open_page, no_errors):
    from pathgptomic.jobs import JobStore

    store = JobStore(os.environ["PATHGPTOMIC_DATA_DIR"])
    at = open_page("train")
    try:
        _launch(at, "first-job")
        no_errors(at)
        first = store.list()[0]
        assert at.selectbox(key="train.job_select").value == first.id
        _launch(at, "second-job")  # the picker now holds first-job in the session
        no_errors(at)
        second = next(j for j in store.list() if j.name == "second-job")
        assert at.selectbox(key="train.job_select").value == second.id
        assert any(t.value == "Name: second-job" for t in at.text), [t.value for t in at.text]
        assert not any(t.value == "Name: first-job" for t in at.text)
        assert f"--name={second.name}" in second.command  # the bundle will carry the job's name
    finally:
        for j in store.list():
            store.cancel(j.id, grace=1.0)


def test_train_error_points_to_a_template_with_outcomes(open_page):
    from pathgptomic.data import template_csv_text

    at = open_page("train")
    at.radio(key="train.cohort_choice").set_value("Upload a cohort CSV (TCGA layout)")
    omics_only = b"patient_id,TP53_mut\nP-1,1\nP-2,0\n"
    at.file_uploader(key="train.upload").upload("omics.csv", omics_only, "text/csv")
    at.button(key="FormSubmitter:train.form-Launch job").click().run()
    errors = [e.value.replace("\\", "") for e in at.error]
    assert len(errors) == 1 and "TCGA-layout template" in errors[0] and "on this page" in errors[0], errors
    assert "Predict page" not in errors[0]
    assert at.download_button(key="train.template_tcga") and at.download_button(key="train.template_clinical")
    assert {"survival_months", "censorship"} <= set(template_csv_text("tcga").splitlines()[0].split(","))
    assert {"time", "event"} <= set(template_csv_text("clinical").splitlines()[0].split(","))


def test_model_picker_labels_carry_the_bundle_name(dashboard_env, tmp_path, monkeypatch, open_page):
    from components import state

    at = open_page("predict")
    assert at.sidebar.selectbox(key="sidebar.bundle").options == ["models/tiny"]  # name "tiny" = its folder
    models = tmp_path / "models"
    for folder, name in (("named", "Glioma gradmod, 5 folds"), ("plain", None)):
        (models / folder).mkdir(parents=True)
        (models / folder / "config.json").write_text(json.dumps({"name": name} if name else {}))
        (models / folder / "weights.safetensors").write_bytes(b"")
    monkeypatch.setattr(state, "MODELS_DIR", models)
    assert state.bundle_label(str(models / "named")) == "Glioma gradmod, 5 folds · models/named"
    assert state.bundle_label(str(models / "plain")) == "models/plain"
    job_bundle = tmp_path / "data" / "jobs" / "abc123" / "bundle"
    job_bundle.mkdir(parents=True)
    (job_bundle / "config.json").write_text(json.dumps({"name": "my-run"}))
    assert state.bundle_label(str(job_bundle)) == "my-run · job abc123"


def test_balance_draws_one_fit_never_a_mean_over_folds(dashboard_env, open_page, no_errors):
    history = pd.read_csv(dashboard_env["bundle"] / "history.csv")
    at = open_page("balance")
    no_errors(at)
    fold = at.selectbox(key="balance.fold")
    assert fold.options == ["final fit"] + [f"CV fold {i + 1}" for i in range(3)]
    assert fold.value == -1
    at.session_state["balance.raw"] = True  # the raw-values toggle
    at.run()
    no_errors(at)
    for value in (-1, 1):
        if value != -1:
            at.selectbox(key="balance.fold").set_value(value).run()
            no_errors(at)
        fig = _charts(at)[0]
        rows = history[history["fold"] == value]
        raw_k = [t for t in fig.data if t.name == "genomic (raw)" and t.yaxis == "y2"]
        assert len(raw_k) == 1
        np.testing.assert_allclose(np.asarray(raw_k[0].y, float), rows["coef_g"].to_numpy(), rtol=1e-6)
        assert fig.layout.legend.yref == "container"  # the legend sits under the plots


def test_cohort_custom_cutoff_label_and_text(open_page, no_errors):
    at = open_page("cohort")
    at.radio(key="cohort.scheme").set_value("custom").run()
    box = at.text_input(key="cohort.custom")
    assert "at most two" in box.label
    box.set_value("-100").run()  # every patient in one group
    no_errors(at)
    shown = [x.value for x in (*at.caption, *at.markdown, *at.warning, *at.info)] + [m.value for m in at.metric]
    assert not [s for s in shown if "np.float64" in s or "array(" in s], shown
    assert any(c.value == "cut-offs -100.000" for c in at.caption)


def test_cohort_summary_bars_coloured_by_sign(open_page, no_errors):
    at = open_page("explain")
    at.segmented_control(key="explain.mode").set_value("Cohort summary").run()
    no_errors(at)
    at.slider(key="explain.n").set_value(10).run()
    no_errors(at)
    fig = next(f for f in _charts(at) if "cohort" in (f.layout.title.text or ""))
    bars = fig.data[0]
    colours = list(bars.marker.color)
    assert set(colours) <= {"#d62728", "#1f77b4"}
    assert "mean_attribution" in bars.hovertemplate
    legend = {t.name: t.marker.color for t in fig.data if t.showlegend}
    assert legend == {"raises risk (mean_attribution > 0)": "#d62728", "lowers risk (mean_attribution < 0)": "#1f77b4"}
    signs = np.asarray(bars.customdata, float).ravel()
    assert [c == "#d62728" for c in colours] == list(signs >= 0)
