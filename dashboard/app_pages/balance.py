"""Modality balance: ρ^G/ρ^P, k^G/k^P, gradient norms and per-branch C-index; two runs side by side."""

from __future__ import annotations

import html

import pandas as pd
import streamlit as st

from components.state import available_bundles, bundle_label, job_store, load_bundle, selected_bundle_path
from components.ui import plain, run_guarded
from pathgptomic import jobs as J

NONE = "(none)"


def _run_options() -> dict[str, str]:
    """Label -> run id (``bundle:<path>`` or ``job:<id>``) for every bundle and live/finished job."""
    opts = {bundle_label(p): f"bundle:{p}" for p in available_bundles()}
    for job in job_store().list(states=(J.RUNNING,), limit=10):
        opts[f"{job.name} · job {job.id} (running, live)"] = f"job:{job.id}"
    return opts


def _tables(run_id: str) -> tuple[pd.DataFrame, pd.DataFrame, str, str]:
    """(history, epochs, label, fusion) of a run."""
    kind, ref = run_id.split(":", 1)
    if kind == "bundle":
        b = load_bundle(ref)
        fusion = str(b.train_config.model.fusion) if hasattr(b, "train_config") else ""
        return b.history, b.epochs, f"{bundle_label(ref)} ({fusion})" if fusion else bundle_label(ref), fusion
    job = job_store().get(ref)
    fusion = str(job.params.get("fusion", ""))
    return J.read_history(job), J.read_epochs(job), f"{job.name} · job {job.id} ({fusion})", fusion


def _plot_text(text: str) -> str:
    """User text (bundle and job names) for Plotly titles: Plotly renders a subset of HTML, so escape it."""
    return html.escape(str(text), quote=False)


def _fold_choice(histories: list[pd.DataFrame]) -> int | None:
    """The fit to draw (a CV fold or the final fit), picked by the user among those the runs recorded.

    Balance quantities are never averaged over folds here: a mean of k^G and k^P over folds can have
    both below 1 although no single step does. Returns None only for a history without a ``fold``
    column (one sequence of steps, nothing to pick).
    """
    from pathgptomic.plots import FINAL_FIT, fold_label, history_folds

    per_run = [history_folds(h) for h in histories]
    if not any(per_run):
        return None
    options = sorted({f for folds in per_run for f in folds}, key=lambda f: (f != FINAL_FIT, f))
    if st.session_state.get("balance.fold") not in options:
        st.session_state["balance.fold"] = options[0]  # the final fit when recorded
    return st.selectbox(
        "Fit",
        options,
        format_func=fold_label,
        key="balance.fold",
        help="Each cross-validation fold or the final fit on all patients, one at a time (never "
        "averaged: the modulation slows one branch per step, a mean over folds would not show "
        "that)",
    )


def _draw(run_ids: list[str], window: int, raw: bool) -> None:
    from pathgptomic.plots import balance_figure, balance_reading, epoch_cindex_figure, fold_label, history_folds

    tables = [_tables(r) for r in run_ids]
    with_history = [t for t in tables if not t[0].empty]
    if not with_history:
        st.info("No per-step history recorded yet for the chosen run(s).")
        return
    fold = _fold_choice([t[0] for t in with_history])
    if fold is not None:
        for t in with_history:
            if fold not in history_folds(t[0]):
                st.info(f"{plain(t[2])} has no steps recorded for the {fold_label(fold)}.")
        with_history = [t for t in with_history if fold in history_folds(t[0])]
    with_epochs = [t for t in tables if not t[1].empty]
    epochs = [t[1] for t in with_epochs]
    ep_labels = [_plot_text(t[2]) for t in with_epochs]
    if epochs:
        if len(epochs) == 2:
            a, b = with_epochs
            if (a[3], b[3]) == ("gradmod", "concat"):
                a, b = b, a  # read "without → with modulation"
            names = ("without modulation", "with modulation") if (a[3], b[3]) == ("concat", "gradmod") else (a[2], b[2])
            reading = balance_reading(a[1], b[1], labels=names)
        else:
            reading = balance_reading(epochs[0])
        st.markdown(f"**Reading:** {plain(reading)} (validation C-index at the last epoch, mean over folds).")  # run names are user text
    if with_history:
        st.plotly_chart(
            balance_figure([t[0] for t in with_history], [_plot_text(t[2]) for t in with_history], window=window, raw=raw, fold=fold),
            width="stretch",
            key="balance.steps",
        )
    if epochs:
        st.plotly_chart(epoch_cindex_figure(epochs, ep_labels), width="stretch", key="balance.epochs")
    st.caption(
        "ρ^G = s^G/s^P compares each branch's share of the Cox partial likelihood (ρ > 1: genomics "
        "dominates); gradmod scales the dominant branch's gradients by k = min(1 − tanh(α(ρ − 1)), 1). "
        "Per-step curves show the chosen fit; the validation C-index per epoch is the mean ± sd over the "
        "CV folds, for monitoring only (never used for model selection). A model trained with weight averaging "
        "keeps the mean of its last epochs' weights, so its cross-validated C-index (Cohort page) can differ "
        "from the last epoch's point here."
    )


def main() -> None:
    st.title("Modality balance")
    opts = _run_options()
    if not opts:
        st.info("No model bundle or running job yet. Train one on the Train page.")
        return
    labels = list(opts)
    current = selected_bundle_path()
    default_a = next((i for i, lab in enumerate(labels) if opts[lab] == f"bundle:{current}"), 0)
    c = st.columns([2, 2, 1, 1], vertical_alignment="bottom")
    a = c[0].selectbox("Run A", labels, index=default_a, key="balance.a")
    others = [lab for lab in labels if lab != a]
    b = c[1].selectbox("Run B (optional, shared axes)", [NONE] + others, index=1 if others else 0, key="balance.b")
    window = c[2].number_input("Smoothing (steps)", 1, 500, 25, key="balance.window")
    raw = c[3].toggle("Raw values", value=False, key="balance.raw")
    run_ids = [opts[a]] + ([opts[b]] if b != NONE else [])
    live = any(r.startswith("job:") for r in run_ids)

    @st.fragment(run_every=3.0 if live else None)
    def panel() -> None:
        # Guarded inside: Streamlit handles a fragment's exception itself (a redacted error box).
        run_guarded(lambda: _draw(run_ids, int(window), bool(raw)))

    panel()


run_guarded(main)
