"""Cohort: the one evaluation (``evaluate_predictions``, as ``pathgptomic evaluate``) of a set of predictions.

Per-fold mean ± sd and pooled C-index, risk groups with events and median survival (95 % CI),
pairwise hazard ratios and the log-rank p-value all come from
:func:`pathgptomic.evaluation.evaluate_predictions`; the Kaplan–Meier plot draws its groups and the
calibration plot the bundle's stored calibration report (or the report's own for rescored cohorts).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import streamlit as st

from components import analysis as A
from components import state as S
from components.inputs import read_omics_upload
from components.safe_paths import resolve_inside, slide_root
from components.slide_view import file_mtime
from components.state import current_bundle, demo_cohort, selected_bundle_path
from components.ui import Metric, metric_row, plain, run_guarded, show_warning
from components.uploads import DEFAULT_CSV_LIMIT_MB, read_csv_upload
from pathgptomic.data.export import csv_text
from pathgptomic.data.manifest import manifest_slides
from pathgptomic.errors import InputValidationError

SOURCES = ["Bundle's out-of-fold predictions", "Demo cohort through this model", "Upload a cohort"]
#: Bootstrap resamples of the pooled C-index interval (the CLI's default).
N_BOOT = 1000


#: Patients per ``Bundle.predict`` call while rescoring a cohort (the progress bar's step).
CHUNK = 25


@st.cache_data(show_spinner=False, max_entries=64)
def _predict_chunk(bundle_id: str, cohort_key: str, start: int, stop: int, _bundle, _cohort) -> pd.DataFrame:
    """``Bundle.predict`` of patients ``start:stop`` (a patient's score does not depend on its batch)."""
    pred = S.predict(_bundle, _cohort.subset(np.arange(start, stop)))
    pred.attrs = {"warnings": list(pred.attrs.get("warnings", []))}
    return pred


def _predict_cohort(bundle_id: str, cohort_key: str, bundle, cohort) -> pd.DataFrame:
    """The cohort through ``Bundle.predict`` in chunks, with a progress bar; outcomes added."""
    bar = st.progress(0.0, text=f"Scoring {cohort.n} patients with this model…")
    parts, seen = [], []
    began = time.monotonic()
    for start in range(0, cohort.n, CHUNK):
        stop = min(start + CHUNK, cohort.n)
        part = _predict_chunk(bundle_id, cohort_key, start, stop, bundle, cohort)
        parts.append(part)
        seen += [w for w in part.attrs.get("warnings", []) if w not in seen]
        eta = (time.monotonic() - began) / stop * (cohort.n - stop)
        bar.progress(stop / cohort.n, text=f"Scored {stop} of {cohort.n} patients · about {eta:.0f} s left")
    bar.empty()
    pred = pd.concat(parts, ignore_index=True)
    pred.insert(1, "time", np.asarray(cohort.time, dtype=float))
    pred.insert(2, "event", np.asarray(cohort.event, dtype=int))
    pred.attrs = {"warnings": seen}
    return pred


@st.cache_data(show_spinner="Evaluating: C-index, risk groups, hazard ratios, calibration…", max_entries=32)
def _evaluate(data_key: str, groups: str | tuple[float, ...], _pred: pd.DataFrame) -> dict:
    """:func:`pathgptomic.evaluation.evaluate_predictions` (the CLI's ``evaluate``), cached per data and groups."""
    from pathgptomic.evaluation import evaluate_predictions

    return evaluate_predictions(_pred, groups=groups if isinstance(groups, str) else list(groups), n_boot=N_BOOT, seed=0)


@st.cache_data(show_spinner=False, max_entries=32)
def _td_auc(data_key: str, _pred: pd.DataFrame, _train: pd.DataFrame) -> dict:
    from pathgptomic.evaluation import time_dependent_auc

    rows = _pred[_pred["status"] == "ok"] if "status" in _pred.columns else _pred
    td = time_dependent_auc(
        _train["time"].to_numpy(float),
        _train["event"].to_numpy(int),
        rows["time"].to_numpy(float),
        rows["event"].to_numpy(int),
        rows["risk"].to_numpy(float),
    )
    if len(td.table):
        return {"table": td.table, "mean": float(td.mean_auc)}
    return {"error": td.message}


def _uploaded_cohort(bundle):
    c1, c2 = st.columns(2)
    up = c1.file_uploader(
        "Cohort CSV (TCGA layout with outcomes, or generic with patient_id, time, event and omics columns)",
        type=["csv"],
        key="cohort.upload",
        max_upload_size=DEFAULT_CSV_LIMIT_MB,
        help="TCGA layout: each slide_id is looked up in the server slide folder",
    )
    manifest = c2.file_uploader(
        "Slide manifest (optional: patient_id, path relative to the server slide root)",
        type=["csv"],
        key="cohort.manifest",
        max_upload_size=DEFAULT_CSV_LIMIT_MB,
    )
    if up is None:
        st.info("Choose a cohort CSV to continue.")
        return None, None
    cohort, notes = read_omics_upload(up, what="cohort CSV", slide_root=slide_root())
    for n in notes:
        show_warning(n)
    if not cohort.meta.get("has_outcomes", True) or not np.isfinite(np.asarray(cohort.time, float)).all():
        raise InputValidationError(
            "the cohort CSV has no usable outcomes; it needs survival_months and "
            "censorship (TCGA layout) or time and event (generic layout) for every patient"
        )
    key = hashlib.sha256(up.getvalue()).hexdigest()
    if manifest is not None:
        root = slide_root()
        if root is None:
            raise InputValidationError("slide manifests need a server slide folder; set PATHGPTOMIC_SLIDE_ROOT")
        table = read_csv_upload(manifest, what="slide manifest")
        slides = manifest_slides(
            table, file="the uploaded slide manifest", ids=list(cohort.ids), resolve=lambda rel: resolve_inside(root, rel)
        )
        cohort = replace(cohort, slides=slides)
        key += hashlib.sha256(manifest.getvalue()).hexdigest()
    if A.uses_images(bundle) and not cohort.has_images:
        raise InputValidationError(
            "this model has an image branch, and no patient of the cohort has a slide in "
            "the server slide folder; add a slide manifest (or slide_id values of files "
            "in that folder), or pick a genomics-only model in the sidebar"
        )
    return cohort, key


def _source(bundle, bundle_id: str) -> tuple[pd.DataFrame, str] | None:
    """The predictions to evaluate and a key naming them (None until an upload is chosen)."""
    src = st.segmented_control("Predictions", SOURCES, default=SOURCES[0], key="cohort.source") or SOURCES[0]
    if src == SOURCES[0]:
        st.caption("Each patient's risk comes from the fold model that did not train on them (honest estimate).")
        return A.reference_predictions(bundle), f"{bundle_id}|oof"
    if src == SOURCES[1]:
        pred = _predict_cohort(bundle_id, "demo", bundle, demo_cohort())
        st.caption(
            "The demo cohort scored by this model. If the model was trained on it, this is in-sample "
            "and optimistic; the out-of-fold view is the honest one."
        )
        key = f"{bundle_id}|demo"
    else:
        cohort, ckey = _uploaded_cohort(bundle)
        if cohort is None:
            return None
        pred = _predict_cohort(bundle_id, ckey, bundle, cohort)
        key = f"{bundle_id}|{ckey}"
    for w in pred.attrs.get("warnings", []):
        st.warning(plain(w), icon=":material/info:")
    return pred, key


def _groups_choice(pred: pd.DataFrame) -> str | tuple[float, ...]:
    c1, c2 = st.columns([1, 2])
    scheme = c1.radio(
        "Risk groups",
        A.SCHEMES,
        horizontal=True,
        key="cohort.scheme",
        format_func=lambda s: {"median": "Median", "tertiles": "Tertiles", "custom": "Custom"}[s],
        help="Median and tertiles are cut on these patients' own risks; custom cut-offs are values on the risk scale",
    )
    if scheme != "custom":
        return scheme
    ok = pred[pred["status"] == "ok"] if "status" in pred.columns else pred
    text = c2.text_input(
        "Cut-offs on the risk scale: at most two, increasing, comma-separated",
        value=f"{float(np.median(ok['risk'])):.3f}",
        key="cohort.custom",
    )
    return tuple(A.parse_custom_cutoffs(text))


def _fmt(v: float, d: int = 3) -> str:
    v = float(v)
    return "n/a" if np.isnan(v) else "not reached" if np.isinf(v) else f"{v:.{d}f}"


def _headline(report: dict) -> None:
    from pathgptomic.evaluation.groups import format_p

    pooled, per_fold, rg = report["cindex_pooled"], report["cindex_per_fold"], report["risk_groups"]
    if per_fold:
        fold_metric = Metric(
            "C-index, per-fold mean ± sd",
            f"{_fmt(per_fold['mean'])} ± {_fmt(per_fold['sd'])}",
            help="Mean over the cross-validation folds (each fold's risks compared among themselves)",
            caption=f"over {per_fold['n_folds_defined']} of {per_fold['n_folds']} folds",
        )
    else:
        fold_metric = Metric("C-index, per-fold mean ± sd", "n/a", help="Needs a fold column with at least two folds")
    metric_row(
        [
            Metric("Patients / events", f"{report['n_patients']} / {report['n_events']}"),
            fold_metric,
            Metric(
                "C-index, pooled",
                _fmt(pooled["c"]),
                help=report["convention"],
                caption=f"95% bootstrap CI {_fmt(pooled['ci'][0])}–{_fmt(pooled['ci'][1])}",
            ),
            Metric("Log-rank p", format_p(rg["logrank_p"]), caption="cut-offs " + ", ".join(f"{float(c):.3f}" for c in rg["cutoffs"])),
        ]
    )
    for note in report["notes"]:
        st.caption(f"Note: {note}.")


def _group_tables(report: dict) -> None:
    rg = report["risk_groups"]
    groups = pd.DataFrame(
        [
            {
                "group": g["group"],
                "patients": g["n"],
                "events": g["events"],
                "median survival": _fmt(g["median_survival"], 1),
                "95% CI": f"{_fmt(g['median_ci'][0], 1)}–{_fmt(g['median_ci'][1], 1)}",
            }
            for g in rg["groups"]
        ]
    )
    st.markdown("**Risk groups** (Kaplan–Meier median survival)")
    st.dataframe(groups, hide_index=True, width="stretch")
    if rg["hazard_ratios"]:
        hrs = pd.DataFrame(
            [
                {
                    "group": h["group"],
                    "vs": h["reference"],
                    "hazard ratio": _fmt(h["hr"], 2),
                    "95% CI": f"{_fmt(h['ci'][0], 2)}–{_fmt(h['ci'][1], 2)}",
                }
                for h in rg["hazard_ratios"]
            ]
        )
        st.markdown("**Hazard ratios** (Cox, one group against another)")
        st.dataframe(hrs, hide_index=True, width="stretch")


def _km_stats(report: dict) -> dict:
    """The KM figure's title statistics, taken from the report (not recomputed)."""
    from pathgptomic.plots.km_data import km_title_text

    rg = report["risk_groups"]
    out = {"p": rg["logrank_p"], "hr": None, "text": km_title_text(rg["logrank_p"])}
    if len(rg["groups"]) == 2 and rg["hazard_ratios"]:
        h = rg["hazard_ratios"][0]
        out["hr"] = (h["hr"], *h["ci"])
        out["text"] = km_title_text(rg["logrank_p"], out["hr"], h["group"], h["reference"])
    return out


def _calibration(report: dict, bundle, oof: bool, unit: str) -> None:
    from pathgptomic.plots import calibration_figure

    cal = (bundle.metrics.get("calibration") if oof else None) or report.get("calibration")
    if not cal:
        st.caption("No calibration plot: these predictions carry no survival probabilities.")
        return
    st.plotly_chart(calibration_figure(cal, time_unit=unit), width="stretch", key="cohort.calibration")
    errors = cal.get("mean_abs_error") or {}
    if errors:
        st.caption(
            "Mean |predicted − observed| over risk quartiles: "
            + "; ".join(f"{float(t):g} {unit}: {v:.3f}" for t, v in errors.items())
            + (" (stored with the bundle, cross-fitted out of fold)" if oof else "")
        )


def _downloads(table: pd.DataFrame, rows: pd.DataFrame, km: pd.DataFrame, stats: dict, unit: str) -> None:
    from pathgptomic.plots import km_matplotlib

    d = st.columns(3)
    d[0].download_button(
        "Predictions (CSV)",
        csv_text(table),
        file_name="cohort_predictions.csv",
        mime="text/csv",
        key="cohort.dl_csv",
        icon=":material/download:",
        on_click="ignore",
    )
    t, e, g = rows["time"].to_numpy(float), rows["event"].to_numpy(int), rows["risk_group"].to_numpy(object)
    for col, fmt, mime in ((d[1], "png", "image/png"), (d[2], "svg", "image/svg+xml")):
        col.download_button(
            f"Figure ({fmt.upper()})",
            data=lambda fmt=fmt: km_matplotlib(t, e, g, fmt=fmt, time_unit=unit, km_df=km, stats=stats),
            file_name=f"kaplan_meier.{fmt}",
            mime=mime,
            key=f"cohort.dl_{fmt}",
            icon=":material/image:",
            on_click="ignore",
        )


def main() -> None:
    st.title("Cohort")
    bundle = current_bundle()
    if bundle is None:
        return
    from pathgptomic.evaluation import kaplan_meier
    from pathgptomic.explain.patient_report import model_facts
    from pathgptomic.plots import km_figure

    path = selected_bundle_path() or ""
    bundle_id = f"{path}@{file_mtime(path + '/config.json')}"
    chosen = _source(bundle, bundle_id)
    if chosen is None:
        return
    pred, data_key = chosen
    unit = model_facts(bundle).time_unit
    groups = _groups_choice(pred)
    report = _evaluate(data_key, groups, pred)
    _headline(report)
    rows = A.evaluated_rows(pred, report)
    t, e, g = rows["time"].to_numpy(float), rows["event"].to_numpy(int), rows["risk_group"].to_numpy(object)
    km, stats = kaplan_meier(t, e, g), _km_stats(report)
    st.plotly_chart(
        km_figure(t, e, g, time_unit=unit, km_df=km, stats=stats, height=600, title="Kaplan–Meier survival by predicted risk group"),
        width="stretch",
        key="cohort.km",
    )
    left, right = st.columns([3, 2])
    with left:
        _group_tables(report)
    with right:
        _calibration(report, bundle, data_key.endswith("|oof"), unit)
    train = bundle.predictions[bundle.predictions["split"] == "train"][["time", "event"]]
    td = _td_auc(f"{data_key}", pred, train if len(train) else pred[["time", "event"]])
    st.markdown("**Time-dependent AUC** (cumulative/dynamic, Uno)")
    if "table" in td:
        st.dataframe(
            td["table"],
            hide_index=True,
            column_config={
                "time": st.column_config.NumberColumn(f"time ({unit})", format="%.1f"),
                "auc": st.column_config.NumberColumn("AUC", format="%.3f"),
            },
        )
        st.caption(f"Weighted mean AUC {td['mean']:.3f}")
    else:
        st.caption(f"Not available: {td.get('error', '')}")
    table = (
        pred.merge(rows[["patient_id", "risk_group"]].rename(columns={"risk_group": "evaluated_group"}), on="patient_id", how="left")
        if "patient_id" in pred.columns
        else pred
    )
    _downloads(table, rows, km, stats, unit)


run_guarded(main)
