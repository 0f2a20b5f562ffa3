"""Predict: calibrated risk, survival at 1/3/5 years, curve, θ split and a report for a patient.

Every number comes from ``Bundle.predict`` (the CLI's code path). A result is stored with the
key of its inputs (bundle path and config time, input mode, patient or the SHA-256 of the
uploaded files); when any of them changes the old result is dropped, never shown for new inputs.
"""

from __future__ import annotations

import re
import time
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from components import analysis as A
from components import state as S
from components.inputs import KEEP_SLIDE_MB, UPLOADED_PATIENT_KEY, read_omics_upload
from components.safe_paths import list_slide_files, resolve_inside, slide_root
from components.slide_view import file_mtime, tiling_summary
from components.state import current_bundle, demo_cohort, selected_bundle_path
from components.ui import Metric, metric_row, ordinal, plain, run_guarded
from components.uploads import (
    DEFAULT_CSV_LIMIT_MB,
    DEFAULT_SLIDE_LIMIT_MB,
    check_size,
    private_temp_file,
    sniff_image_type,
    validate_slide_file,
)
from pathgptomic.data.export import csv_text
from pathgptomic.errors import InputValidationError
from pathgptomic.plots.km import add_survival_band

MODES = ["Demo patient", "Upload files", "Batch"]
RESULT_KEY = "predict.result"
BATCH_KEY = "predict.batch_result"
STALE = "The inputs changed since the last prediction (patient, files or model), so its result was cleared. Press Predict for these inputs."


def _bundle_identity() -> str:
    """The selected bundle's path and config time: a retrained bundle at the same path is another model."""
    path = selected_bundle_path() or ""
    return f"{path}@{file_mtime(path + '/config.json')}"


@st.cache_data(show_spinner=False, max_entries=8)
def _group_km(bundle_id: str, _bundle: Any) -> pd.DataFrame:
    """Out-of-fold Kaplan–Meier table of the bundle's patients by risk tertile (cached per bundle)."""
    return A.group_km_by_tertile(_bundle)


def _unit(bundle: Any) -> str:
    from pathgptomic.explain.patient_report import model_facts

    return model_facts(bundle).time_unit


def _slide_preview(bundle: Any, slide_path: str, notes: list[str]) -> dict:
    t0 = time.perf_counter()
    st.write("**1 · Slide and tiles** — opening the file, tissue mask and tile grid…")
    prev = tiling_summary(slide_path, file_mtime(slide_path), selected_bundle_path() or "", bundle)
    st.write(f"  {prev['n_tiles']} tiles kept of {prev['n_tissue']} on tissue ({time.perf_counter() - t0:.2f} s)")
    if prev["mpp_assumed"]:
        notes.append(f"The image states no resolution; {prev['mpp']:.2f} µm/px was assumed.")
    return prev


def _report(bundle: Any, row: pd.Series, warnings: list[str], label: str, curve: Any, km: Any) -> str:
    from pathgptomic.explain.patient_report import model_facts, patient_report_html

    return patient_report_html(row, facts=model_facts(bundle), warnings=warnings, label=label, curve=curve, group_km=km)


def _run(bundle: Any, cohort: Any, slide_path: str | None, label: str, key: str) -> dict:
    """``Bundle.predict`` for one patient with visible steps; returns what the result panel shows."""
    from pathgptomic.explain.patient_report import patient_curve

    out: dict = {"label": label, "key": key, "notes": []}
    with st.status(f"Predicting {label}…", expanded=True) as status:
        if slide_path and A.uses_images(bundle):
            out["preview"] = _slide_preview(bundle, slide_path, out["notes"])
        st.write("**2 · Prediction** — features, calibrated risk, survival and the split of θ (Bundle.predict)…")
        t0 = time.perf_counter()
        pred = S.predict(bundle, cohort)
        st.write(f"  done ({time.perf_counter() - t0:.2f} s)")
        out["pred"] = pred
        out["warnings"] = list(pred.attrs.get("warnings", []))
        row = pred.iloc[0]
        curve = km = None
        if row["status"] == "ok" and bundle.baseline is not None:
            all_km = _group_km(_bundle_identity(), bundle)
            km = all_km[all_km["group"] == row["risk_group"]]
            curve = patient_curve(bundle.baseline, row)
            out["group_km"], out["curve"] = km, curve
        out["report"] = _report(bundle, row, out["notes"] + out["warnings"], label, curve, km)
        status.update(label=f"Prediction for {label} ready", state="complete", expanded=False)
    return out


def _pct(value: float) -> str:
    return f"{float(value):.1%}" if np.isfinite(float(value)) else "n/a"


def _fmt_median(value: float, unit: str) -> str:
    return "not reached" if not np.isfinite(value) else f"{value:.1f} {unit}"


def _risk_metrics(row: pd.Series, unit: str) -> None:
    metric_row(
        [
            Metric(
                "Risk (calibrated log hazard ratio)",
                f"{row['risk']:.3f}",
                help="Log hazard ratio against the average training patient, on the scale the model achieves "
                "on unseen patients (calibration slope from out-of-fold risks). 0 = average.",
                caption=f"band {row['risk_low']:.3f} to {row['risk_high']:.3f} (final and fold models)",
            ),
            Metric(
                "Percentile (training patients)",
                ordinal(round(float(row["percentile"]))),
                help="Share of the training patients' out-of-fold risks at or below this risk",
            ),
            Metric(
                "Risk group (tertiles)", str(row["risk_group"]).capitalize(), help="Tertiles of the training patients' out-of-fold risks"
            ),
            Metric(
                "Median survival",
                _fmt_median(float(row["median_survival"]), unit),
                help="Not reached = the predicted curve stays above 0.5 within the training follow-up",
                caption=f"band {_fmt_median(float(row['median_survival_low']), unit)} to "
                f"{_fmt_median(float(row['median_survival_high']), unit)}",
            ),
        ]
    )


def _survival_metrics(row: pd.Series, unit: str) -> None:
    from pathgptomic.explain.patient_report import report_times, time_label

    metric_row(
        [
            Metric(
                f"Survival at {time_label(t, unit)}",
                _pct(row[f"survival_{t:g}"]),
                caption=f"band {_pct(row[f'survival_{t:g}_low'])} to {_pct(row[f'survival_{t:g}_high'])}",
            )
            for t in report_times(row)
        ]
    )


def _curve(res: dict, row: pd.Series, unit: str) -> None:
    from pathgptomic.plots import survival_curve_figure

    curves = res["curve"][["survival"]].rename(columns={"survival": res["label"]})
    fig = survival_curve_figure(
        curves,
        res["group_km"],
        time_unit=unit,
        title=f"Predicted survival of {res['label']} and the out-of-fold Kaplan–Meier curve of its {row['risk_group']}-risk group",
    )
    add_survival_band(fig, res["curve"])
    fig.update_layout(height=440, margin=dict(t=60, l=50, r=10, b=40), legend=dict(orientation="h", y=-0.18, x=0))
    st.plotly_chart(fig, width="stretch", key="predict.curve")


def _tables(res: dict, row: pd.Series, unit: str) -> None:
    from pathgptomic.explain.patient_report import coverage_table, survival_table

    if row["status"] == "ok":
        st.markdown("**Model's raw score θ** (θ = W^G·G + W^P·P + b; the risk is calibrated from it)")
        dec = A.decomposition(row)
        if dec["value"].iloc[:2].isna().any():
            st.info("Kronecker fusion: θ is not separable into genomic and image terms.")
        st.dataframe(dec, hide_index=True, width="stretch", column_config={"value": st.column_config.NumberColumn(format="%.4f")})
        st.markdown("**Survival** (estimate and band)")
        st.dataframe(survival_table(row, unit), hide_index=True, width="stretch")
    st.markdown("**Input coverage** (share of the model's features measured)")
    st.dataframe(
        coverage_table(row),
        hide_index=True,
        width="stretch",
        column_config={"coverage": st.column_config.ProgressColumn(format="percent", min_value=0, max_value=1)},
    )
    st.caption(f"{int(row['n_imputed'])} input value(s) imputed with training medians.")


def _show_result(res: dict, bundle: Any) -> None:
    row = res["pred"].iloc[0]
    unit = _unit(bundle)
    st.subheader(f"Result — {res['label']}")
    if "truth" in res:
        st.caption(f"Observed follow-up of this demo patient: {res['truth'][0]} ({res['truth'][1]})")
    if row["status"] != "ok":
        st.error(
            plain(
                f"Insufficient data: the model cannot judge this patient and gives no risk, group, "
                f"percentile or survival. Missing: {row['reason']}"
            ),
            icon=":material/block:",
        )
    else:
        _risk_metrics(row, unit)
        _survival_metrics(row, unit)
    for note in res["notes"] + res["warnings"]:
        st.warning(plain(note), icon=":material/info:")
    left, right = st.columns([3, 2])
    with left:
        if "curve" in res:
            _curve(res, row, unit)
        if "preview" in res:
            p = res["preview"]
            st.image(
                p["preview"],
                caption=f"Tissue mask (green) and {p['n_tiles']} tiles (blue); "
                f"{p['dimensions'][0]}×{p['dimensions'][1]} px at {p['mpp']:.2f} µm/px",
                width=min(420, p["preview"].shape[1]),
            )
    with right:
        _tables(res, row, unit)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", res["label"])[:64] or "patient"
    st.download_button(
        "Download the patient report (HTML)",
        res["report"],
        file_name=f"report_{name}.html",
        mime="text/html",
        key="predict.report",
        icon=":material/download:",
        on_click="ignore",
    )


def _demo_mode() -> str:
    """Demo patient picker; returns the key of the current inputs (the model loads on Predict)."""
    cohort = demo_cohort()
    ids = [str(i) for i in cohort.ids]
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    pid = c1.selectbox("Demo patient", ids, key="predict.patient")
    key = A.input_key(_bundle_identity(), "demo", pid)
    if c2.button("Predict", type="primary", key="predict.run", icon=":material/play_arrow:", width="stretch"):
        bundle = current_bundle()
        if bundle is None:
            return key
        one = A.one_patient(cohort, pid)
        slides = one.slides.get(pid, [])
        res = _run(bundle, one, slides[0] if slides else None, pid, key)
        i = ids.index(pid)
        res["truth"] = (f"{cohort.time[i]:.1f} {cohort.time_unit}", "death" if cohort.event[i] else "censored")
        st.session_state[RESULT_KEY] = res
    return key


def _slide_inputs(col: Any) -> tuple[Any, str | None, Any]:
    """The slide widgets: (uploaded file or None, server-relative path or None, slide root)."""
    root = slide_root()
    sources = ["Upload"] + (["Server slide folder"] if root else [])
    src = col.radio("Slide source", sources, horizontal=True, key="predict.slide_src")
    if src == "Upload":
        return (
            col.file_uploader(
                "Slide or ROI image",
                key="predict.slide",
                max_upload_size=DEFAULT_SLIDE_LIMIT_MB,
                type=["png", "jpg", "jpeg", "tif", "tiff", "svs", "ndpi", "scn", "bif", "svslide"],
            ),
            None,
            root,
        )
    files = list_slide_files(root)
    rel = col.selectbox(
        "Slide on the server", files, key="predict.server_slide", help=f"Files inside the configured slide root ({len(files)} found)"
    )
    return None, rel, root


def _keep_for_explain(cohort: Any, label: str, key: str, slide: bytes | None, suffix: str | None, server_path: str | None) -> None:
    """Keep the uploaded patient in the session so the Explain page can explain it."""
    if slide is not None and len(slide) > KEEP_SLIDE_MB * 1024 * 1024:
        slide, suffix = None, None
    st.session_state[UPLOADED_PATIENT_KEY] = {
        "cohort": cohort,
        "label": label,
        "key": key,
        "slide": slide,
        "suffix": suffix,
        "server_path": server_path,
    }


def _predict_upload(bundle: Any, cohort: Any, pid: str, key: str, slide_up: Any, server_path: Any) -> dict:
    if server_path is not None:
        validate_slide_file(server_path)
        res = _run(bundle, A.with_slide(cohort, str(server_path)), str(server_path), pid, key)
        _keep_for_explain(cohort, pid, key, None, None, str(server_path))
        return res
    if slide_up is None:
        _keep_for_explain(cohort, pid, key, None, None, None)
        return _run(bundle, A.with_slide(cohort, None), None, pid, key)
    check_size(slide_up, DEFAULT_SLIDE_LIMIT_MB, "slide")
    data = slide_up.getvalue()
    kind = sniff_image_type(data[:512])
    if kind is None:
        raise InputValidationError("the slide file is not a PNG, JPEG, TIFF or DICOM file (checked by content)")
    with private_temp_file(data, kind[1]) as tmp:
        validate_slide_file(tmp)
        res = _run(bundle, A.with_slide(cohort, str(tmp)), str(tmp), pid, key)
    _keep_for_explain(cohort, pid, key, data, kind[1], None)
    return res


def _upload_mode(bundle: Any) -> str | None:
    """One uploaded patient; returns the key of the current inputs (None until an omics CSV is chosen)."""
    from pathgptomic.data.readers import omics_template_csv

    st.markdown(
        "Upload one patient's **omics CSV** (one row, TCGA or generic layout) and, for models with an "
        "image branch, an **H&E slide or ROI image**. Files are checked by content and deleted after use."
    )
    st.download_button(
        "Download the omics template (this model's genes)",
        omics_template_csv(A.template_feature_blocks(bundle)),
        file_name="omics_template.csv",
        mime="text/csv",
        key="predict.template",
        icon=":material/download:",
    )
    c1, c2 = st.columns(2)
    omics = c1.file_uploader("Omics CSV (one row)", type=["csv"], key="predict.omics", max_upload_size=DEFAULT_CSV_LIMIT_MB)
    slide_up, server_rel, root = _slide_inputs(c2)
    if omics is None:
        st.info("Choose an omics CSV to continue.")
        return None
    server_path = resolve_inside(root, server_rel) if server_rel else None
    slide_id = (
        f"server:{server_rel}@{file_mtime(str(server_path))}"
        if server_path is not None
        else f"upload:{A.bytes_digest(slide_up.getvalue())}"
        if slide_up is not None
        else "none"
    )
    key = A.input_key(_bundle_identity(), "upload", A.bytes_digest(omics.getvalue()), slide_id)
    cohort, notes = read_omics_upload(omics)
    if cohort.n != 1:
        raise InputValidationError(f"the omics CSV holds {cohort.n} patients; upload one row, or use Batch mode")
    if st.button("Predict", type="primary", key="predict.run_upload", icon=":material/play_arrow:"):
        pid = str(cohort.ids[0])
        res = _predict_upload(bundle, cohort, pid, key, slide_up, server_path)
        res["notes"] = notes + res["notes"]
        st.session_state[RESULT_KEY] = res
    elif notes and st.session_state.get(RESULT_KEY, {}).get("key") != key:
        for n in notes:
            st.warning(plain(n), icon=":material/info:")
    return key


def _batch_inputs(bundle: Any) -> tuple[Any, list[str], str] | None:
    """The batch's patients, reading notes and input key (None until chosen)."""
    cohort = demo_cohort()
    ids = [str(i) for i in cohort.ids]
    src = st.radio("Patients", ["Demo patients", "Upload an omics CSV (several rows)"], horizontal=True, key="predict.batch_src")
    if src == "Demo patients":
        chosen = st.multiselect("Demo patients", ids, default=ids[:10], key="predict.batch_ids")
        if not chosen:
            st.info("Pick at least one patient.")
            return None
        return cohort.subset([ids.index(c) for c in chosen]), [], A.input_key(_bundle_identity(), "batch", *chosen)
    up = st.file_uploader(
        "Omics CSV (TCGA or generic layout)", type=["csv"], key="predict.batch_upload", max_upload_size=DEFAULT_CSV_LIMIT_MB
    )
    if up is None:
        st.info("Choose a CSV to continue.")
        return None
    sub, notes = read_omics_upload(up)
    return sub, notes, A.input_key(_bundle_identity(), "batch-upload", A.bytes_digest(up.getvalue()))


def _batch_mode(bundle: Any) -> None:
    chosen = _batch_inputs(bundle)
    if chosen is None:
        return
    sub, notes, key = chosen
    if st.button(f"Predict {sub.n} patients", type="primary", key="predict.batch_run"):
        with st.spinner(f"Predicting {sub.n} patients…"):
            pred = S.predict(bundle, sub)
        st.session_state[BATCH_KEY] = {"key": key, "pred": pred, "warnings": notes + list(pred.attrs.get("warnings", []))}
    res = st.session_state.get(BATCH_KEY)
    if res is None:
        return
    if res["key"] != key:
        del st.session_state[BATCH_KEY]
        st.info(STALE)
        return
    for w in res["warnings"]:
        st.warning(plain(w), icon=":material/info:")
    pred = res["pred"]
    n_bad = int((pred["status"] != "ok").sum())
    if n_bad:
        st.caption(f"{n_bad} patient(s) have insufficient data: no risk, group or survival (see 'reason').")
    st.dataframe(pred, hide_index=True, width="stretch")
    st.download_button(
        "Download predictions (CSV)",
        csv_text(pred),
        file_name="predictions.csv",
        mime="text/csv",
        key="predict.batch_download",
        icon=":material/download:",
        on_click="ignore",
    )


def _current_result(key: str | None) -> dict | None:
    """The stored single-patient result if it belongs to ``key``; a result for other inputs is dropped."""
    res = st.session_state.get(RESULT_KEY)
    if res is None or key is None:
        return None
    if res.get("key") != key:
        del st.session_state[RESULT_KEY]
        st.info(STALE)
        return None
    return res


def main() -> None:
    st.title("Predict")
    st.caption(
        "Pick a demo patient (or upload one patient's omics CSV and slide) and press **Predict**: you get the "
        "calibrated risk with its band, the percentile and risk group among the model's training patients, "
        "survival at 1, 3 and 5 years and the median survival, the predicted curve against its group's "
        "out-of-fold Kaplan–Meier curve, the split of the model's raw score θ, and a downloadable report. "
        "The model is the one picked in the sidebar."
    )
    if selected_bundle_path() is None:
        current_bundle()  # says why there is no model
        return
    mode = st.segmented_control("Input", MODES, default=MODES[0], key="predict.mode") or MODES[0]
    if mode == "Demo patient":
        key = _demo_mode()
    else:
        bundle = current_bundle()
        if bundle is None:
            return
        if mode == "Batch":
            _batch_mode(bundle)
            return
        key = _upload_mode(bundle)
    res = _current_result(key)
    if res is not None:
        bundle = current_bundle()
        if bundle is not None:
            _show_result(res, bundle)


run_guarded(main)
