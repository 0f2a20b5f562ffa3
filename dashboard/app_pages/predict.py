"""Predict: risk, percentile, risk group, survival curve and θ decomposition for a patient."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from components import analysis as A
from components import state as S
from components.inputs import read_omics_upload
from components.safe_paths import list_slide_files, resolve_inside, slide_root
from components.slide_view import file_mtime, tiling_summary
from components.state import current_bundle, demo_cohort, selected_bundle_path
from components.ui import ordinal, run_guarded
from components.uploads import DEFAULT_SLIDE_LIMIT_MB, check_size, private_temp_file, sniff_image_type, \
    validate_slide_file
from pathgptomic.errors import InputValidationError

MODES = ["Demo patient", "Upload files", "Batch"]
RESULT_KEY = "predict.result"


@st.cache_data(show_spinner=False, max_entries=32)
def _group_context(bundle_key: str, mtime: float, _bundle) -> tuple[list[float], object]:
    """Median cut-off on the training risks and the KM table of the bundle's patients by group."""
    cut = A.cutoffs_for(_bundle, "median")
    return cut, A.group_km(_bundle, cut)


def _run(bundle, cohort, slide_path: str | None, label: str) -> dict:
    """The prediction pipeline with visible steps; returns what the result panel shows."""
    bundle_key = selected_bundle_path() or ""
    out: dict = {"label": label, "notes": [], "bundle": bundle_key}
    with st.status(f"Predicting {label}…", expanded=True) as status:
        if A.uses_images(bundle):
            if not slide_path:
                raise InputValidationError("this model has an image branch; provide a slide or ROI image")
            t0 = time.perf_counter()
            st.write("**1 · Slide** — opening and checking the file…")
            st.write("**2 · Tiles** — tissue mask and tile grid…")
            prev = tiling_summary(slide_path, file_mtime(slide_path), bundle_key, bundle)
            if prev["n_tiles"] == 0:
                raise InputValidationError("no tissue tile found on the slide; check that it is an H&E image")
            out["preview"] = prev
            st.write(f"  {prev['n_tiles']} tiles kept of {prev['n_tissue']} on tissue "
                     f"({time.perf_counter() - t0:.2f} s)")
            if prev["mpp_assumed"]:
                out["notes"].append(f"The image states no resolution; {prev['mpp']:.2f} µm/px was assumed.")
        else:
            st.write("**1–2 · Slide and tiles** — skipped (genomics-only model)")
        st.write("**3 · Features** — image encoder and genomic inputs…")
        t0 = time.perf_counter()
        S.prepare_inputs(bundle, cohort)
        st.write(f"  done ({time.perf_counter() - t0:.2f} s)")
        st.write("**4 · Prediction** — risk score and its decomposition…")
        pred = S.predict(bundle, cohort)
        out["pred"] = pred
        cut, km = _group_context(bundle_key, file_mtime(bundle_key + "/config.json"), bundle)
        out["group"] = str(A.groups_for(pred["risk"], cut)[0])
        out["group_km"] = km[km["group"] == out["group"]]
        out["curves"] = A.survival_curves(bundle, pred)
        out["notes"].extend(f"Gene coverage — {n}" for n in A.input_coverage(bundle, cohort))
        n_imp = pred["n_imputed"].iloc[0]
        if pd.notna(n_imp) and n_imp > 0:
            out["notes"].append(f"{int(n_imp)} genomic input value(s) were missing and were imputed with the "
                                "training median; the risk is less certain.")
        status.update(label=f"Prediction for {label} ready", state="complete", expanded=False)
    return out


def _show_result(res: dict, bundle) -> None:
    pred = res["pred"].iloc[0]
    st.subheader(f"Result — {res['label']}")
    m = st.columns(4)
    m[0].metric("Risk score θ", f"{pred['risk']:.3f}", help="Higher = higher risk (log relative hazard)")
    m[1].metric("Percentile (training cohort)", ordinal(round(float(pred["percentile"]))),
                help="Share of the model's training patients with a lower risk score")
    m[2].metric("Risk group (median cut-off)", res["group"].capitalize())
    if "truth" in res:
        m[3].metric(f"Observed follow-up (demo, {res['truth'][1]})", res["truth"][0])
    for note in res["notes"]:
        st.warning(note, icon=":material/info:")
    left, right = st.columns([3, 2])
    with left:
        from pathgptomic.plots import survival_curve_figure

        unit = getattr(bundle, "config", {}).get("time_unit", "months")
        fig = survival_curve_figure(res["curves"], res["group_km"], time_unit=unit,
                                    title=f"Predicted survival of {res['label']} with its "
                                          f"{res['group']}-risk group (Kaplan–Meier) behind it")
        fig.update_layout(height=440, margin=dict(t=60, l=50, r=10, b=40),
                          legend=dict(orientation="h", y=-0.18, x=0))
        st.plotly_chart(fig, width="stretch", key="predict.curve")
    with right:
        st.markdown("**Exact split of θ** (θ = W^G·G + W^P·P + b)")
        dec = A.decomposition(pred)
        if dec["value"].iloc[:2].isna().any():
            st.info("Kronecker fusion: θ is not separable into genomic and image terms.")
        st.dataframe(dec, hide_index=True, width="stretch",
                     column_config={"value": st.column_config.NumberColumn(format="%.4f")})
        if "preview" in res:
            p = res["preview"]
            st.image(p["preview"], caption=f"Tissue mask (green) and {p['n_tiles']} tiles (blue); "
                                         f"{p['dimensions'][0]}×{p['dimensions'][1]} px at {p['mpp']:.2f} µm/px",
                     width=min(420, p["preview"].shape[1]))


def _demo_mode() -> None:
    """Demo patient picker; the model is loaded only when Predict is pressed (fast first page)."""
    cohort = demo_cohort()
    ids = [str(i) for i in cohort.ids]
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    pid = c1.selectbox("Demo patient", ids, key="predict.patient")
    if c2.button("Predict", type="primary", key="predict.run", icon=":material/play_arrow:", width="stretch"):
        bundle = current_bundle()
        if bundle is None:
            return
        one = A.one_patient(cohort, pid)
        slides = one.slides.get(pid, [])
        res = _run(bundle, one, slides[0] if slides else None, pid)
        i = ids.index(pid)
        res["truth"] = (f"{cohort.time[i]:.1f} {cohort.time_unit}", "death" if cohort.event[i] else "censored")
        st.session_state[RESULT_KEY] = res


def _upload_mode(bundle) -> None:
    from pathgptomic.data.readers import omics_template_csv

    st.markdown("Upload one patient's **omics CSV** (one row, TCGA or generic layout) and, for models with an "
                "image branch, an **H&E slide or ROI image**. Files are checked by content and deleted after use.")
    st.download_button("Download the omics template (this model's genes)",
                       omics_template_csv(A.template_feature_blocks(bundle)), file_name="omics_template.csv",
                       mime="text/csv", key="predict.template", icon=":material/download:")
    c1, c2 = st.columns(2)
    omics = c1.file_uploader("Omics CSV (one row)", type=["csv"], key="predict.omics")
    root = slide_root()
    sources = ["Upload"] + (["Server slide folder"] if root else [])
    src = c2.radio("Slide source", sources, horizontal=True, key="predict.slide_src")
    slide_up, server_rel = None, None
    if src == "Upload":
        slide_up = c2.file_uploader("Slide or ROI image", key="predict.slide",
                                    type=["png", "jpg", "jpeg", "tif", "tiff", "svs", "ndpi", "scn", "bif", "svslide"])
    else:
        files = list_slide_files(root)
        server_rel = c2.selectbox("Slide on the server", files, key="predict.server_slide",
                                  help=f"Files inside the configured slide root ({len(files)} found)")
    if omics is None:
        st.info("Choose an omics CSV to continue.")
        return
    cohort, notes = read_omics_upload(omics)
    if cohort.n != 1:
        raise InputValidationError(f"the omics CSV holds {cohort.n} patients; upload one row, or use Batch mode")
    for n in notes:
        st.warning(n)
    pid = str(cohort.ids[0])
    if not st.button("Predict", type="primary", key="predict.run_upload", icon=":material/play_arrow:"):
        return
    if server_rel:
        path = resolve_inside(root, server_rel)
        validate_slide_file(path)
        res = _run(bundle, A.with_slide(cohort, str(path)), str(path), pid)
    elif slide_up is not None:
        check_size(slide_up, DEFAULT_SLIDE_LIMIT_MB, "slide")
        data = slide_up.getvalue()
        kind = sniff_image_type(data[:512])
        if kind is None:
            raise InputValidationError("the slide file is not a PNG, JPEG, TIFF or DICOM file (checked by content)")
        with private_temp_file(data, kind[1]) as tmp:
            validate_slide_file(tmp)
            res = _run(bundle, A.with_slide(cohort, str(tmp)), str(tmp), pid)
            res.get("preview")  # computed while the file exists
    else:
        res = _run(bundle, A.with_slide(cohort, None), None, pid)
    res["notes"] = notes + res["notes"]
    st.session_state[RESULT_KEY] = res


def _batch_mode(bundle) -> None:
    cohort = demo_cohort()
    ids = [str(i) for i in cohort.ids]
    src = st.radio("Patients", ["Demo patients", "Upload an omics CSV (several rows)"], horizontal=True,
                   key="predict.batch_src")
    if src == "Demo patients":
        chosen = st.multiselect("Demo patients", ids, default=ids[:10], key="predict.batch_ids")
        if not chosen:
            st.info("Pick at least one patient.")
            return
        sub = cohort.subset([ids.index(c) for c in chosen])
    else:
        up = st.file_uploader("Omics CSV (TCGA or generic layout)", type=["csv"], key="predict.batch_upload")
        if up is None:
            st.info("Choose a CSV to continue.")
            return
        sub, notes = read_omics_upload(up)
        for n in notes:
            st.warning(n)
        if A.uses_images(bundle) and not sub.has_images:
            raise InputValidationError("this model has an image branch, and an uploaded CSV carries no slides; "
                                       "use a genomics-only model or predict patients one by one with their slide")
    if st.button(f"Predict {sub.n} patients", type="primary", key="predict.batch_run"):
        with st.spinner(f"Predicting {sub.n} patients…"):
            pred = S.predict(bundle, sub)
            pred.insert(4, "risk_group", A.groups_for(pred["risk"], A.cutoffs_for(bundle, "median")))
        st.session_state["predict.batch_result"] = pred
    pred = st.session_state.get("predict.batch_result")
    if pred is not None:
        st.dataframe(pred, hide_index=True, width="stretch")
        st.download_button("Download predictions (CSV)", pred.to_csv(index=False), file_name="predictions.csv",
                           mime="text/csv", key="predict.batch_download", icon=":material/download:")


def main() -> None:
    st.title("Predict")
    st.caption("Pick a demo patient (or upload one patient's omics CSV and slide) and press **Predict**: you get the "
               "risk score θ, its percentile among the model's training patients, the risk group, a predicted "
               "survival curve and the exact split of θ into genomic and image parts. The model is the one "
               "picked in the sidebar.")
    if selected_bundle_path() is None:
        current_bundle()  # says why there is no model
        return
    mode = st.segmented_control("Input", MODES, default=MODES[0], key="predict.mode") or MODES[0]
    if mode == "Demo patient":
        _demo_mode()
    else:
        bundle = current_bundle()
        if bundle is None:
            return
        if mode == "Upload files":
            _upload_mode(bundle)
        else:
            _batch_mode(bundle)
            return
    res = st.session_state.get(RESULT_KEY)
    if res is not None and res.get("bundle") == selected_bundle_path():
        bundle = current_bundle()
        if bundle is not None:
            _show_result(res, bundle)


run_guarded(main)
