"""Cohort: Kaplan–Meier curves per predicted risk group, log-rank, HR, C-index, td-AUC."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from components import analysis as A
from components import state as S
from components.inputs import read_omics_upload
from components.safe_paths import resolve_inside, slide_root
from components.state import current_bundle, demo_cohort, selected_bundle_path
from components.ui import fmt_p, run_guarded
from components.uploads import read_csv_upload
from pathgptomic.data.export import csv_text
from pathgptomic.errors import InputValidationError

SOURCES = ["Bundle's out-of-fold predictions", "Demo cohort through this model", "Upload a cohort"]


@st.cache_data(show_spinner="Predicting the cohort…", max_entries=16)
def _predict_cohort(bundle_key: str, cohort_key: str, _bundle, _cohort) -> pd.DataFrame:
    pred = S.predict(_bundle, _cohort)
    pred.insert(1, "time", np.asarray(_cohort.time, dtype=float))
    pred.insert(2, "event", np.asarray(_cohort.event, dtype=int))
    return pred


@st.cache_data(show_spinner="Computing survival statistics…", max_entries=32)
def _analyse(pred: pd.DataFrame, train: pd.DataFrame, cutoffs: tuple[float, ...], time_unit: str) -> dict:
    """Groups, KM table, tests, C-index (bootstrap CI), td-AUC and the figures (cached)."""
    from pathgptomic import evaluation as E
    from pathgptomic.plots import km_figure, km_statistics

    t = pred["time"].to_numpy(float)
    e = pred["event"].to_numpy(int)
    r = pred["risk"].to_numpy(float)
    groups = A.groups_for(r, cutoffs)
    km = E.kaplan_meier(t, e, groups)
    stats = km_statistics(t, e, groups)
    out = {"groups": groups, "km": km, "stats": stats}
    ci = E.bootstrap_cindex(r, t, e, n_boot=200, seed=0)
    out["cindex"] = (float(ci.c), float(ci.lower), float(ci.upper))
    td = E.time_dependent_auc(train["time"].to_numpy(float), train["event"].to_numpy(int), t, e, r)
    if len(td.table):
        out["td_auc"] = td.table
        out["td_auc_mean"] = float(td.mean_auc)
    else:
        out["td_auc_error"] = td.message
    out["figure"] = km_figure(t, e, groups, time_unit=time_unit, km_df=km, stats=stats, height=600,
                              title="Kaplan–Meier survival by predicted risk group")
    return out


def _uploaded_cohort(bundle):
    c1, c2 = st.columns(2)
    up = c1.file_uploader("Cohort CSV (TCGA layout with outcomes, or generic with patient_id, time, event "
                          "and omics columns)", type=["csv"], key="cohort.upload",
                          help="TCGA layout: each slide_id is looked up in the server slide folder")
    manifest = c2.file_uploader("Slide manifest (optional: patient_id, path relative to the server slide root)",
                                type=["csv"], key="cohort.manifest")
    if up is None:
        st.info("Choose a cohort CSV to continue.")
        return None, None
    cohort, notes = read_omics_upload(up, what="cohort CSV", slide_root=slide_root())
    for n in notes:
        st.warning(n)
    if not cohort.meta.get("has_outcomes", True) or not np.isfinite(np.asarray(cohort.time, float)).all():
        raise InputValidationError("the cohort CSV has no usable outcomes; it needs survival_months and "
                                   "censorship (TCGA layout) or time and event (generic layout) for every patient")
    key = hashlib.sha256(up.getvalue()).hexdigest()
    if manifest is not None:
        root = slide_root()
        if root is None:
            raise InputValidationError("slide manifests need a server slide folder; set PATHGPTOMIC_SLIDE_ROOT")
        table = read_csv_upload(manifest, what="slide manifest")
        missing = [c for c in ("patient_id", "path") if c not in table.columns]
        if missing:
            raise InputValidationError(f"the slide manifest lacks column(s) {missing}; it needs patient_id, path")
        ids = set(str(i) for i in cohort.ids)
        slides: dict[str, list[str]] = {pid: [] for pid in ids}
        for row, (pid, rel) in enumerate(zip(table["patient_id"].astype(str), table["path"].astype(str)), start=2):
            if pid not in ids:
                continue
            try:
                slides[pid].append(str(resolve_inside(root, rel)))
            except InputValidationError as exc:
                raise InputValidationError(f"slide manifest row {row}, column 'path': {exc}") from exc
        cohort = replace(cohort, slides=slides)
        key += hashlib.sha256(manifest.getvalue()).hexdigest()
    if A.uses_images(bundle) and not cohort.has_images:
        raise InputValidationError("this model has an image branch, and no patient of the cohort has a slide in "
                                   "the server slide folder; add a slide manifest (or slide_id values of files "
                                   "in that folder), or pick a genomics-only model in the sidebar")
    return cohort, key


def main() -> None:
    st.title("Cohort")
    bundle = current_bundle()
    if bundle is None:
        return
    bundle_key = selected_bundle_path() or ""
    src = st.segmented_control("Predictions", SOURCES, default=SOURCES[0], key="cohort.source") or SOURCES[0]
    unit = bundle.config.get("time_unit", "months") if isinstance(bundle.config, dict) else "months"
    if src == SOURCES[0]:
        pred = A.reference_predictions(bundle)[["patient_id", "time", "event", "risk", "genomic_term",
                                                "image_term", "bias"]].copy()
        st.caption("Each patient's risk comes from the fold model that did not train on them (honest estimate).")
    elif src == SOURCES[1]:
        cohort = demo_cohort()
        pred = _predict_cohort(bundle_key, "demo", bundle, cohort)
        st.caption("The demo cohort scored by this model. If the model was trained on it, this is in-sample "
                   "and optimistic; the out-of-fold view is the honest one.")
    else:
        cohort, key = _uploaded_cohort(bundle)
        if cohort is None:
            return
        pred = _predict_cohort(bundle_key, key, bundle, cohort)

    c1, c2 = st.columns([1, 2])
    scheme = c1.radio("Risk groups", A.SCHEMES, horizontal=True, key="cohort.scheme",
                      format_func=lambda s: {"median": "Median", "tertiles": "Tertiles", "custom": "Custom"}[s],
                      help="Cut-offs come from the training cohort's risks (never from these patients)")
    if scheme == "custom":
        text = c2.text_input("Cut-off(s) on θ, comma-separated", value=f"{np.median(bundle.train_risk):.3f}",
                             key="cohort.custom")
        cutoffs = A.parse_custom_cutoffs(text)
    else:
        cutoffs = A.cutoffs_for(bundle, scheme)
        c2.caption("Cut-offs on θ: " + ", ".join(f"{c:.3f}" for c in cutoffs))
    train = bundle.predictions[bundle.predictions["split"] == "train"][["time", "event"]]
    res = _analyse(pred, train if len(train) else pred[["time", "event"]], tuple(cutoffs), unit)
    stats, (c, lo, hi) = res["stats"], res["cindex"]
    m = st.columns(4)
    m[0].metric("Patients / events", f"{len(pred)} / {int(pred['event'].sum())}")
    m[1].metric("C-index", f"{c:.3f}", help="Harrell's C of θ (higher θ = higher risk)")
    m[1].caption(f"95% bootstrap CI {lo:.3f}–{hi:.3f}")
    m[2].metric("Log-rank p", fmt_p(stats["p"]) if stats.get("p") is not None else "n/a")
    if stats.get("hr") is not None:
        hr = stats["hr"]
        m[3].metric("Hazard ratio, high vs low", f"{hr[0]:.2f}")
        m[3].caption(f"95% CI {hr[1]:.2f}–{hr[2]:.2f}")
    else:
        m[3].metric("Hazard ratio", "n/a", help="Defined for two groups (median or one custom cut-off)")
    st.plotly_chart(res["figure"], width="stretch", key="cohort.km")
    left, right = st.columns([2, 1])
    with right:
        st.markdown("**Time-dependent AUC** (cumulative/dynamic, Uno)")
        if "td_auc" in res:
            st.dataframe(res["td_auc"], hide_index=True, width="stretch",
                         column_config={"time": st.column_config.NumberColumn(f"time ({unit})", format="%.1f"),
                                        "auc": st.column_config.NumberColumn("AUC", format="%.3f")})
            st.caption(f"Weighted mean AUC {res['td_auc_mean']:.3f}")
        else:
            st.caption(f"Not available: {res.get('td_auc_error', '')}")
    with left:
        counts = pd.Series(res["groups"]).value_counts().rename_axis("group").reset_index(name="patients")
        st.markdown("**Patients per group**")
        st.dataframe(counts, hide_index=True)
    table = pred.copy()
    table["risk_group"] = res["groups"]
    d = st.columns(3)
    d[0].download_button("Predictions (CSV)", csv_text(table), file_name="cohort_predictions.csv",
                         mime="text/csv", key="cohort.dl_csv", icon=":material/download:", on_click="ignore")
    from pathgptomic.plots import km_matplotlib

    t, e = pred["time"].to_numpy(float), pred["event"].to_numpy(int)
    for col, fmt, mime in ((d[1], "png", "image/png"), (d[2], "svg", "image/svg+xml")):
        col.download_button(f"Figure ({fmt.upper()})", data=lambda fmt=fmt: km_matplotlib(
            t, e, res["groups"], fmt=fmt, time_unit=unit, km_df=res["km"], stats=stats),
            file_name=f"kaplan_meier.{fmt}", mime=mime, key=f"cohort.dl_{fmt}", icon=":material/image:",
            on_click="ignore")


run_guarded(main)
