"""Explain: exact modality shares of θ, integrated gradients on genomic inputs and per-tile scores.

Demo patients, or the patient last predicted from uploads on the Predict page (its omics and slide
bytes are kept in the session; the slide is written to a private temporary file while explained).
Gene signatures are read only from the file named by ``$PATHGPTOMIC_SIGNATURES``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

import pathgptomic.plots as P
from components import analysis as A
from components import state as S
from components.inputs import KEEP_SLIDE_MB, UPLOADED_PATIENT_KEY
from components.slide_view import file_mtime, tiling_summary
from components.state import current_bundle, demo_cohort, selected_bundle_path
from components.ui import Metric, metric_row, plain, run_guarded
from components.uploads import private_temp_file

MODES = ["One patient", "Cohort summary"]


def _signature_file() -> Path | None:
    """The gene-signature CSV named by ``$PATHGPTOMIC_SIGNATURES`` (nothing is looked up elsewhere)."""
    value = os.environ.get("PATHGPTOMIC_SIGNATURES", "")
    return Path(value) if value and Path(value).is_file() else None


@st.cache_data(show_spinner="Integrated gradients…", max_entries=32)
def _explain_patient(bundle_key: str, input_key: str, n_steps: int, _bundle, _one) -> dict:
    """Prediction, IG on the genomic inputs, per-tile IG and the slide's tiling for one patient.

    Args:
        bundle_key: Bundle identity (path and config time).
        input_key: Identity of the patient's inputs (demo id or the Predict page's upload key).
        n_steps: IG steps.
        _bundle: The bundle.
        _one: One-patient cohort whose slide file exists during the call.
    """
    from pathgptomic.explain import genomic_attribution_table, integrated_gradients, modality_shares, tile_attributions

    pred = S.predict(_bundle, _one)
    out: dict = {"pred": pred, "warnings": list(pred.attrs.get("warnings", []))}
    if pred["status"].iloc[0] != "ok":
        return out
    inputs = S.prepare_inputs(_bundle, _one)
    with S.model_lock():
        res = integrated_gradients(_bundle.model, inputs, n_steps=n_steps)
        if A.uses_images(_bundle):
            out["tiles"] = tile_attributions(_bundle.model, inputs, 0, n_steps=n_steps)
            out["tile_delta"] = out["tiles"].attrs.get("delta")
    slides = _one.slides.get(str(_one.ids[0]), [])
    if "tiles" in out and slides:
        out["tiling"] = tiling_summary(slides[0], file_mtime(slides[0]), bundle_key, _bundle)
    out["delta"] = float(res.delta[0])
    out["theta"] = float(res.theta[0])
    out["baseline_theta"] = float(res.baseline_theta[0])
    out["table"] = genomic_attribution_table(res, _bundle.feature_names, patient=0)
    out["shares"] = modality_shares(
        pred["genomic_term"], pred["image_term"], pred["bias"], theta=pred["theta"], patient_ids=pred["patient_id"], on_nan="keep"
    )
    return out


@st.cache_data(show_spinner="Integrated gradients over the cohort…", max_entries=8)
def _explain_cohort(bundle_key: str, n_patients: int, n_steps: int, _bundle, _cohort) -> dict:
    from pathgptomic.explain import cohort_modality_shares, cohort_summary, integrated_gradients, modality_shares

    sub = _cohort.subset(np.arange(min(n_patients, _cohort.n)))
    pred = S.predict(_bundle, sub)
    inputs = S.prepare_inputs(_bundle, sub)
    with S.model_lock():
        res = integrated_gradients(
            _bundle.model, inputs, n_steps=n_steps, attribute=("cnv_mut", "rna"), internal_batch_size=max(n_steps, 64)
        )
    pred = pred[pred["status"] == "ok"]
    shares = modality_shares(
        pred["genomic_term"], pred["image_term"], pred["bias"], theta=pred["theta"], patient_ids=pred["patient_id"], on_nan="keep"
    )
    return {
        "summary": cohort_summary(res, _bundle.feature_names),
        "delta": np.asarray(res.delta),
        "shares": shares,
        "cohort_shares": cohort_modality_shares(shares),
        "n": sub.n,
    }


def _signature_view(table: pd.DataFrame, value: str) -> None:
    path = _signature_file()
    if path is None:
        return
    from pathgptomic.explain import group_by_signature, load_gene_signatures

    sig = group_by_signature(table, load_gene_signatures(path), value=value)
    if len(sig):
        st.markdown("**By gene signature** (genes of each signature across CNV, mutation and RNA)")
        st.dataframe(sig, hide_index=True, width="stretch")


def _uploaded() -> dict | None:
    """The patient last predicted from uploads on the Predict page (kept in the session), or None."""
    return st.session_state.get(UPLOADED_PATIENT_KEY)


def _explain_chosen(bundle, cohort, bundle_key: str, n_steps: int) -> tuple[str, dict] | None:
    """Run the explanation of the chosen patient (demo or uploaded); returns (label, result)."""
    up = _uploaded()
    sources = ["Demo patient"] + (["Uploaded patient (from Predict)"] if up else [])
    src = st.radio(
        "Patient",
        sources,
        horizontal=True,
        key="explain.source",
        help="Upload a patient and press Predict on the Predict page to explain it here",
    )
    if src == "Demo patient":
        ids = [str(i) for i in cohort.ids]
        pid = st.selectbox("Demo patient", ids, key="explain.patient")
        return pid, _explain_patient(bundle_key, f"demo:{pid}", n_steps, bundle, A.one_patient(cohort, pid))
    st.caption(f"Uploaded patient {plain(up['label'])}, as last predicted on the Predict page.")
    if up["server_path"] or not up["slide"]:
        one = A.with_slide(up["cohort"], up["server_path"])
        if A.uses_images(bundle) and not up["server_path"]:
            st.info(
                f"The uploaded patient has no kept slide (none given, or over {KEEP_SLIDE_MB} MB); the image branch cannot be explained."
            )
        return up["label"], _explain_patient(bundle_key, f"upload:{up['key']}", n_steps, bundle, one)
    with private_temp_file(up["slide"], up["suffix"]) as tmp:
        one = A.with_slide(up["cohort"], str(tmp))
        return up["label"], _explain_patient(bundle_key, f"upload:{up['key']}", n_steps, bundle, one)


def _patient_view(bundle, cohort, bundle_key: str) -> None:
    c = st.columns([1, 1], vertical_alignment="bottom")
    n_steps = c[0].number_input("IG steps", 8, 200, 32, step=8, key="explain.steps")
    k = c[1].number_input("Top features per block", 3, 50, 10, key="explain.k")
    chosen = _explain_chosen(bundle, cohort, bundle_key, int(n_steps))
    if chosen is None:
        return
    label, out = chosen
    pred = out["pred"].iloc[0]
    if pred["status"] != "ok":
        st.error(
            plain(f"Insufficient data: the model cannot judge {label}, so there is nothing to explain. Missing: {pred['reason']}"),
            icon=":material/block:",
        )
        return
    sh = out["shares"].iloc[0]
    if bool(sh.get("separable", True)):
        shares = Metric("Genomic / image share of |θ|", f"{sh['genomic_share']:.0%} / {sh['image_share']:.0%}")
    else:
        shares = Metric("Modality shares", "n/a", help="Kronecker fusion: θ does not split into modality terms")
    metric_row(
        [
            Metric(
                "Model's raw score θ",
                f"{pred['theta']:.3f}",
                help=f"θ = W^G·G + W^P·P + b, what the attributions explain; the calibrated risk is {pred['risk']:.3f}",
            ),
            Metric(
                "IG convergence delta",
                f"{out['delta']:.2e}",
                help="Σ attributions − (θ(x) − θ(baseline)); near 0 = the integral converged. Raise the IG steps if it is large.",
            ),
            Metric("θ at baseline (average patient)", f"{out['baseline_theta']:.3f}"),
            shares,
        ]
    )
    left, right = st.columns([3, 2])
    with left:
        top = out["table"].sort_values("magnitude", ascending=False)
        top = top.groupby("block", sort=False, group_keys=False).head(int(k))
        st.plotly_chart(
            P.attribution_bar_figure(top, value="attribution", by_block=True, title="Top genomic features by block (integrated gradients)"),
            width="stretch",
            key="explain.top",
        )
    with right:
        from pathgptomic.explain import block_summary

        st.markdown("**By block** (sum of signed IG; share of Σ|IG|)")
        st.dataframe(block_summary(out["table"]), hide_index=True, width="stretch")
        st.plotly_chart(P.modality_shares_figure(out["shares"]), width="stretch", key="explain.shares")
    _signature_view(out["table"], "attribution")
    _tile_view(out)


def _tile_view(out: dict) -> None:
    if "tiles" not in out:
        return
    st.markdown("**Per-tile attribution** (IG on the patch features, summed over feature dimensions; red raises the risk, blue lowers it)")
    tiling = out.get("tiling")
    if tiling is not None:
        tiles = out["tiles"].dropna(subset=["x", "y"])
        st.plotly_chart(
            P.tile_heatmap_figure(
                tiling["thumbnail"],
                tiles[["x", "y"]].to_numpy(float),
                tiling["step"],
                tiling["downsample"],
                tiles["ig"].to_numpy(float),
                score_name="IG",
                diverging=True,
                title="Per-tile integrated gradients",
            ),
            width="stretch",
            key="explain.tiles",
        )
    if out["tiles"]["attention"].notna().any():
        st.caption("MIL attention weights are in the table below.")
    with st.expander("Tile table"):
        st.dataframe(out["tiles"], hide_index=True, width="stretch")


def _cohort_view(bundle, cohort, bundle_key: str) -> None:
    c = st.columns(2)
    n = c[0].slider("Patients (first n of the demo cohort)", 10, int(cohort.n), min(50, int(cohort.n)), step=10, key="explain.n")
    n_steps = c[1].number_input("IG steps", 8, 100, 32, step=8, key="explain.cohort_steps")
    out = _explain_cohort(bundle_key, int(n), int(n_steps), bundle, cohort)
    cs = out["cohort_shares"]
    metric_row(
        [
            Metric("Patients", out["n"]),
            Metric("Max |IG delta|", f"{np.nanmax(np.abs(out['delta'])):.2e}"),
            Metric("Mean genomic share of |θ|", "n/a" if np.isnan(cs["genomic"]) else f"{cs['genomic']:.0%}"),
            Metric("Mean image share of |θ|", "n/a" if np.isnan(cs["image"]) else f"{cs['image']:.0%}"),
        ]
    )
    top = out["summary"].groupby("block", sort=False, group_keys=False).head(10)
    st.caption(
        "Bar length: mean |IG| over the patients; colour: the sign of the mean IG (red: on average raises the risk, blue: lowers it)."
    )
    st.plotly_chart(
        P.attribution_bar_figure(
            top,
            value="mean_abs_attribution",
            sign="mean_attribution",
            by_block=True,
            title="Top genomic features by block, cohort (integrated gradients)",
        ),
        width="stretch",
        key="explain.cohort_top",
    )
    _signature_view(out["summary"], "mean_abs_attribution")


def main() -> None:
    st.title("Explain")
    bundle = current_bundle()
    if bundle is None:
        return
    st.caption(
        "θ = W^G·G + W^P·P + b splits exactly into a genomic and an image part; inside each branch, "
        "Captum integrated gradients (baseline: the average training patient, z = 0) attribute the part "
        "to the inputs."
    )
    cohort = demo_cohort()
    mode = st.segmented_control("View", MODES, default=MODES[0], key="explain.mode") or MODES[0]
    path = selected_bundle_path() or ""
    key = f"{path}@{file_mtime(path + '/config.json')}"
    if mode == MODES[0]:
        _patient_view(bundle, cohort, key)
    else:
        _cohort_view(bundle, cohort, key)


run_guarded(main)
