"""Train: launch a cross-validation/training job, watch it live, cancel it.

Deployment limits (``components.settings``): the page can be switched off, launches per session
are rate-limited and queued + running jobs are capped for the whole deployment. An uploaded
cohort is stored privately (0600 in a 0700 folder) and removed when its job ends.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pandas as pd
import streamlit as st

from components import settings as S
from components.safe_paths import slide_root
from components.state import MODELS_DIR, available_bundles, bundle_label, job_store
from components.ui import plain, run_guarded, scrub_paths, show_error, show_warning
from components.uploads import DEFAULT_CSV_LIMIT_MB, read_csv_upload
from pathgptomic import jobs as J
from pathgptomic.errors import InputValidationError
from pathgptomic.plots import training_curves_figure
from pathgptomic.schema import OFFERED_IMAGE_ENCODERS, POOLINGS

STATE_ICONS = {
    J.QUEUED: ":material/schedule:",
    J.RUNNING: ":material/autorenew:",
    J.SUCCEEDED: ":material/check_circle:",
    J.FAILED: ":material/error:",
    J.CANCELLED: ":material/cancel:",
}


DEFAULT = "(default)"
#: Session key of the job picker (its value is the job shown in the detail panel).
JOB_PICKER = "train.job_select"
TEMPLATES_TITLE = "Cohort CSV templates (with outcome columns)"


def _scgpt_folders() -> list[str]:
    """scGPT checkpoint folders shipped under ``models/`` (args.json + vocab.json)."""
    if not MODELS_DIR.is_dir():
        return []
    return [str(p) for p in sorted(MODELS_DIR.iterdir()) if p.is_dir() and (p / "args.json").is_file() and (p / "vocab.json").is_file()]


def _short(path: str) -> str:
    """``models/<folder>[/<file>]`` for display."""
    if path == DEFAULT:
        return path
    try:
        return Path(path).relative_to(MODELS_DIR.parent).as_posix()
    except ValueError:
        return Path(path).name


def _mlp_a_files(folders: list[str]) -> list[str]:
    """MLP-A weight files (``mlp_a*.safetensors``) inside the scGPT folders."""
    return [str(f) for d in folders for f in sorted(Path(d).glob("mlp_a*.safetensors"))]


def _write_private(path: Path, text: str) -> None:
    """Create ``path`` (must not exist) readable by the server user only (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        fh.write(text)


def _save_uploaded_cohort(upload, fusion: str) -> Path:
    """Validate an uploaded TCGA-layout cohort CSV and store it privately for the job.

    The CSV goes to ``<data dir>/uploads/cohort-<random>/cohort.csv`` (0600 in a 0700 folder) next
    to an ``images`` link to the server slide folder, so the job resolves ``slide_id`` values there
    (and nowhere else). The job store removes the folder when the job ends.
    """
    df = read_csv_upload(upload, what="cohort CSV")
    if "case_id" not in df.columns:
        raise InputValidationError(
            "the training cohort must be in the TCGA layout: one row per slide with case_id, slide_id, "
            "survival_months, censorship, then the genomic columns; download the TCGA-layout template under "
            f"'{TEMPLATES_TITLE}' on this page"
        )
    folder = job_store().private_upload_dir("cohort")
    try:
        _write_private(folder / "cohort.csv", df.to_csv(index=False))
        root = slide_root()
        if root is not None:
            (folder / "images").symlink_to(root, target_is_directory=True)
        import warnings

        from pathgptomic.data import read_cohort

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cohort = read_cohort(folder)
        for w in caught:
            show_warning(str(w.message).replace(str(folder / "cohort.csv"), "uploaded cohort"))
        for pid, paths in cohort.slides.items():
            if any(root is None or root not in Path(p).resolve().parents for p in paths):
                raise InputValidationError(f"the slide of patient {pid!r} is outside the server slide folder")
        if cohort.n < 10 or cohort.n_events < 2:
            raise InputValidationError(
                f"the uploaded cohort has {cohort.n} patients and {cohort.n_events} events; "
                "training needs at least 10 patients and 2 events"
            )
        if fusion not in ("genomic",) and not cohort.has_images:
            raise InputValidationError(
                f"fusion '{fusion}' needs slides, and no slide_id of the cohort is a file in the server slide "
                "folder; choose fusion 'genomic' or put the slides there"
            )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return folder


def _templates() -> None:
    """Download buttons of the cohort templates that carry outcome columns (survival time and event)."""
    from pathgptomic.data import TEMPLATE_FILES, template_csv_text

    with st.expander(TEMPLATES_TITLE, icon=":material/download:"):
        st.caption(
            "The upload above takes the TCGA layout: one row per slide, with the outcome columns "
            "survival_months and censorship (1 = censored). The generic layout (clinical.csv with "
            "patient_id, time, event, plus omics CSVs keyed by patient_id) is a folder: train on it with "
            "the command line (pathgptomic cv --cohort <folder>)."
        )
        c = st.columns(2)
        c[0].download_button(
            "TCGA-layout cohort template",
            template_csv_text("tcga"),
            file_name=TEMPLATE_FILES["tcga"],
            mime="text/csv",
            key="train.template_tcga",
            icon=":material/download:",
            on_click="ignore",
        )
        c[1].download_button(
            "Generic-layout clinical template",
            template_csv_text("clinical"),
            file_name=TEMPLATE_FILES["clinical"],
            mime="text/csv",
            key="train.template_clinical",
            icon=":material/download:",
            on_click="ignore",
        )


def _launch_form() -> None:
    store = job_store()
    with st.form("train.form", border=True):
        st.markdown("#### New training job")
        c1, c2, c3 = st.columns(3)
        cohort_choice = c1.radio("Cohort", ["Demo cohort", "Upload a cohort CSV (TCGA layout)"], key="train.cohort_choice")
        upload = c1.file_uploader(
            "Cohort CSV",
            type=["csv"],
            key="train.upload",
            max_upload_size=DEFAULT_CSV_LIMIT_MB,
            help="Only used when 'Upload' is chosen. Slides are not uploaded here. "
            "Kept privately on the server and deleted when the job ends.",
        )
        mode = c2.selectbox(
            "Mode",
            ["cv", "train"],
            key="train.mode",
            format_func=lambda m: {"cv": "Cross-validation + final model", "train": "Train on all patients"}[m],
        )
        fusion = c2.selectbox(
            "Fusion",
            list(J.FUSIONS),
            index=list(J.FUSIONS).index("gradmod"),
            key="train.fusion",
            help="gradmod = concat with modality-balanced gradients (the paper's method)",
        )
        rna = c2.selectbox(
            "RNA encoder", list(J.RNA_ENCODERS), key="train.rna", help="scGPT options need a local scGPT checkpoint folder (no downloads)"
        )
        ckpts = _scgpt_folders()
        scgpt_dir = c2.selectbox(
            "scGPT checkpoint",
            [DEFAULT] + ckpts,
            key="train.scgpt_dir",
            format_func=_short,
            help="Folders under models/ holding an scGPT checkpoint (args.json + vocab.json). "
            "Only server-side checkpoints are offered; nothing is downloaded or uploaded.",
        )
        mlp_a = c2.selectbox("MLP-A weights (scgpt_smooth)", [DEFAULT] + _mlp_a_files(ckpts), key="train.mlp_a", format_func=_short)
        encoder = c1.selectbox(
            "Image encoder",
            list(OFFERED_IMAGE_ENCODERS),
            key="train.encoder",
            help="test_resnet: tiny and fast (the demo's); resnet18 / T2T-ViT: slower on CPU. "
            "Weights are local only (frozen random init unless the server provides some)",
        )
        max_patches = c1.number_input("Max tiles per slide", 1, 512, 16, key="train.max_patches")
        pooling = c1.selectbox("Tile pooling", list(POOLINGS), key="train.pooling")
        folds = c3.number_input("Folds", min_value=2, max_value=15, value=3, key="train.folds")
        epochs = c3.number_input("Epochs", min_value=1, max_value=200, value=5, key="train.epochs")
        seed = c3.number_input("Seed", min_value=0, max_value=2**31 - 1, value=0, key="train.seed")
        name = c3.text_input("Job name", value="", key="train.name", placeholder="e.g. gradmod-5ep", max_chars=J.MAX_NAME_CHARS)
        submitted = st.form_submit_button("Launch job", type="primary", icon=":material/play_arrow:")
    _templates()
    if not submitted:
        return
    now = time.time()
    S.check_launch_rate(now)
    if cohort_choice.startswith("Upload"):
        if upload is None:
            st.error("Choose a cohort CSV to upload, or pick the demo cohort.")
            return
        folder = _save_uploaded_cohort(upload, fusion)
        cohort, cleanup = str(folder), [folder]
    else:
        cohort, cleanup = "demo", []
    job_name = J.clean_job_name(name.strip()) or f"{fusion}-{mode}-{int(epochs)}ep"
    cmd = J.build_cli_command(
        mode=mode,
        cohort=cohort,
        fusion=fusion,
        epochs=int(epochs),
        folds=int(folds),
        seed=int(seed),
        rna_encoder=rna if rna != "snn" else None,
        scgpt_dir=None if scgpt_dir == DEFAULT else scgpt_dir,
        mlp_a=None if mlp_a == DEFAULT else mlp_a,
        extra=[
            "--image-encoder",
            encoder,
            "--max-patches",
            str(int(max_patches)),
            "--pooling",
            pooling,
            "--no-progress",
            f"--name={job_name}",
        ],
    )  # the bundle's display name (one argument)
    params = {
        "mode": mode,
        "cohort": "demo" if cohort == "demo" else "uploaded",
        "fusion": fusion,
        "rna": rna,
        "folds": int(folds),
        "epochs": int(epochs),
        "seed": int(seed),
        "encoder": encoder,
        "max_patches": int(max_patches),
        "pooling": pooling,
    }
    try:
        job = store.submit(cmd, name=job_name, params=params, max_active=S.max_active_jobs(), cleanup=cleanup)
    except BaseException:
        for folder in cleanup:
            shutil.rmtree(folder, ignore_errors=True)
        raise
    S.record_launch(now)
    # The job picker below is drawn after this form in the same run: setting its value here (before the
    # widget exists) makes the detail panel show the new job, not the one picked before.
    st.session_state[JOB_PICKER] = job.id
    st.toast(f"Job {job.id} {job.state}", icon=":material/rocket_launch:")


def _fold_text(progress: dict) -> str:
    """``"2/5"`` while cross-validating (folds counted from 1), ``"final fit"`` after."""
    fold, n = progress.get("fold"), progress.get("n_folds")
    if not isinstance(fold, int) or not n:
        return "–"
    return "final fit" if fold < 0 else f"{min(fold + 1, n)}/{n}"


def _epochs_text(progress: dict) -> str:
    """Epochs finished over all fits (the CV folds plus the final fit) of the planned total."""
    done, per_fit, n = progress.get("epoch"), progress.get("n_epochs"), progress.get("n_folds") or 0
    if not isinstance(done, int) or not per_fit:
        return "–"
    return f"{done}/{(n + 1) * per_fit}"


def _jobs_table(jobs: list[J.Job]) -> None:
    rows = []
    for j in jobs:
        rows.append(
            {
                "job": j.id,
                "name": j.name,
                "state": j.state,
                "fusion": j.params.get("fusion", ""),
                "epochs": j.params.get("epochs", ""),
                "folds": j.params.get("folds", ""),
                "created": pd.Timestamp(j.created, unit="s").strftime("%Y-%m-%d %H:%M:%S"),
                "duration (s)": None if j.duration is None else round(j.duration, 1),
            }
        )
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="train.jobs_table")


def _job_detail(job_id: str) -> None:
    """Live view of one job; polls every 2 s only while the job is queued or running."""
    store = job_store()
    job = store.get(job_id)
    run_every = 2.0 if job.is_active else None
    st.session_state["train.last_state"] = job.state

    @st.fragment(run_every=run_every)
    def live() -> None:
        # Guarded inside: Streamlit handles a fragment's exception itself (a redacted error box).
        run_guarded(_live_body)

    def _live_body() -> None:
        j = store.get(job_id)
        if j.state != st.session_state.get("train.last_state") and not j.is_active:
            st.session_state["train.last_state"] = j.state
            available_bundles.clear()  # the model picker must see the new bundle
            st.rerun()
        head = st.columns([3, 1])
        head[0].markdown(f"`{j.id}` · {STATE_ICONS.get(j.state, '')} **{j.state}**")
        head[0].text(f"Name: {j.name}")  # user text: shown as text, never as Markdown
        if j.is_active and head[1].button("Cancel job", key=f"train.cancel.{j.id}", icon=":material/cancel:"):
            store.cancel(j.id)
            st.rerun()
        progress = J.read_progress(j)
        if j.state == J.RUNNING:
            frac = float(progress.get("fraction", 0.0)) if progress else 0.0
            msg = progress.get("message", "") if progress else "starting…"
            st.progress(min(max(frac, 0.0), 1.0), text=f"{frac:.0%} · {msg}")
            if progress:
                m = st.columns(3)
                m[0].metric("Stage", str(progress.get("stage", "")))
                m[1].metric("Fold", _fold_text(progress))
                m[2].metric("Epochs done (all fits)", _epochs_text(progress))
        elif j.state == J.QUEUED:
            st.info("Waiting for a free slot (one job at a time by default).")
        elif j.state == J.SUCCEEDED:
            st.success(
                f"Finished in {j.duration or 0:.0f} s. Its bundle is in the sidebar model picker as "
                f"**{plain(bundle_label(str(j.bundle_path)))}**."
            )
        elif j.state in (J.FAILED, J.CANCELLED):
            show_error(j.error or j.state)
        if j.note:
            st.info(plain(j.note), icon=":material/info:")
        history = J.read_history(j)
        if not history.empty:
            st.plotly_chart(training_curves_figure(history), width="stretch", key=f"train.curves.{j.id}")
        with st.expander("Log (last 40 lines)", expanded=j.state == J.FAILED):
            st.code(scrub_paths(J.tail_log(j)) or "(empty)", language="text")  # no server paths

    live()


def main() -> None:
    st.title("Train a model")
    if not S.train_page_enabled():
        st.info("Training is switched off on this deployment (PATHGPTOMIC_PUBLIC / PATHGPTOMIC_TRAIN_PAGE).")
        return
    st.caption(
        "Each job runs as its own process (it survives page reloads and app restarts). "
        "A finished job's bundle appears in the sidebar model picker."
    )
    _launch_form()
    store = job_store()
    jobs = store.list(limit=50)
    st.markdown("#### Jobs")
    if not jobs:
        st.info("No jobs yet.")
        return
    _jobs_table(jobs)
    ids = [j.id for j in jobs]
    if st.session_state.get(JOB_PICKER) not in ids:
        st.session_state[JOB_PICKER] = ids[0]  # the newest job
    labels = {j.id: f"{j.name} · job {j.id}" for j in jobs}
    selected = st.selectbox("Job", ids, format_func=labels.get, key=JOB_PICKER)
    _job_detail(selected)


run_guarded(main)
