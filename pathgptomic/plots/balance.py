"""Modality-balance figures: ρ, modulation coefficients, gradient norms and per-branch C-index.

Inputs are two tables of a model bundle (docs/ARCHITECTURE.md, "Model bundle"):

- ``history`` (one row per training step): ``fold, epoch, step, loss, rho_g, rho_p,
  coef_g, coef_p, grad_norm_g, grad_norm_p, modulated``;
- ``epochs`` (one row per fold x epoch): ``fold, epoch, train_loss, val_cindex,
  val_cindex_genomic, val_cindex_image``.

ρ^G = s^G / s^P and ρ^P = 1/ρ^G compare the branches' partial-likelihood contributions;
the coefficients are k^m = min(1 − tanh(α·(ρ^m − 1)), 1) (docs/ARCHITECTURE.md, "Balance"). Pure data steps
(:func:`balance_series`, :func:`epoch_series`, :func:`balance_reading`) are tested; the
figure steps only draw.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from pathgptomic.errors import InputValidationError
from pathgptomic.plots._common import BRANCH_COLOURS, legend_below, require_columns, wrap_title

#: (row title, column of the genomic branch, column of the image branch, log y axis)
BALANCE_PANELS: tuple[tuple[str, str, str, bool], ...] = (
    ("ρ (dominance)", "rho_g", "rho_p", True),
    ("coefficient k", "coef_g", "coef_p", False),
    ("gradient norm", "grad_norm_g", "grad_norm_p", True),
)
#: ``fold`` value of the final fit on all patients in ``history``/``epochs`` (CV folds are 0, 1, ...).
FINAL_FIT = -1
BALANCE_COLUMNS: tuple[str, ...] = tuple(c for _, g, p, _ in BALANCE_PANELS for c in (g, p))
EPOCH_COLUMNS: tuple[str, ...] = ("val_cindex", "val_cindex_genomic", "val_cindex_image")
_EPOCH_LABELS = {"val_cindex": "fused", "val_cindex_genomic": "genomic", "val_cindex_image": "image"}
_RUN_DASH = ("solid", "dash", "dot", "dashdot")


def _as_runs(tables: pd.DataFrame | Sequence[pd.DataFrame], labels: Sequence[str] | None) -> tuple[list[pd.DataFrame], list[str]]:
    runs = [tables] if isinstance(tables, pd.DataFrame) else list(tables)
    if not runs:
        raise InputValidationError("Pass at least one run's table.")
    names = list(labels) if labels is not None else [f"run {i + 1}" for i in range(len(runs))]
    if len(names) != len(runs):
        raise InputValidationError(f"{len(runs)} runs but {len(names)} labels; pass one label per run.")
    return runs, names


def fold_label(fold: Any) -> str:
    """``"final fit"`` for :data:`FINAL_FIT`, ``"CV fold <i + 1>"`` for CV fold ``i`` (counted from 1)."""
    return "final fit" if int(fold) == FINAL_FIT else f"CV fold {int(fold) + 1}"


def history_folds(history: pd.DataFrame) -> list[int]:
    """The fits recorded in a ``history`` (or ``epochs``) table: the final fit first, then the CV folds.

    Args:
        history: A table with a ``fold`` column (``-1`` = final fit).

    Returns:
        Distinct fold values as ints; empty when the table has no ``fold`` column or no rows.
    """
    if "fold" not in getattr(history, "columns", ()):
        return []
    values = pd.to_numeric(history["fold"], errors="coerce").dropna().astype(int).unique().tolist()
    return sorted(values, key=lambda f: (f != FINAL_FIT, f))


def trailing_mean(values: pd.Series, window: int) -> pd.Series:
    """Trailing rolling mean over ``window`` steps, NaNs skipped, the first steps over fewer values.

    The one smoother of the training curves (:func:`balance_series`, :func:`training_curves_figure`).
    """
    return pd.to_numeric(values, errors="coerce").astype(float).rolling(int(window), min_periods=1).mean()


def balance_series(history: pd.DataFrame, *, window: int = 25, fold: Any | None = None) -> pd.DataFrame:
    """Per-step balance quantities of one fit (or averaged over folds), raw and smoothed.

    Pass ``fold`` to read one fit: a CV fold or the final fit (:data:`FINAL_FIT`).
    The coefficients k^G and k^P of one step are never both below 1 (only the dominant
    branch is slowed), but a mean over folds can be: readers that show k or raw values
    (the dashboard) pick one fit. Steps restart in every fold, so with several folds
    and ``fold=None`` each quantity is the mean over folds at the same ``step`` (the
    benchmark report's summary over cells). NaN entries, e.g. batches without events
    where ρ is undefined, are skipped. Smoothing is a trailing rolling mean,

    .. math:: \\bar x_s = \\frac{1}{|W_s|} \\sum_{j \\in W_s} x_j, \\quad
              W_s = \\{j \\le s : s - j < w,\\ x_j \\text{ not NaN}\\},

    so the first points are means over fewer steps, never dropped.

    Args:
        history: The bundle's ``history`` table (needs ``step`` and the six balance
            columns; ``fold`` optional).
        window: Rolling window ``w`` in steps (1 = no smoothing).
        fold: Keep one fold only (value of the ``fold`` column).

    Returns:
        DataFrame indexed 0..m-1 with ``step``, each balance column raw, and
        ``<column>_smooth``.

    Raises:
        InputValidationError: On missing columns, ``window < 1`` or an unknown fold.
    """
    require_columns(history, ("step",) + BALANCE_COLUMNS, "The training history")
    if int(window) < 1:
        raise InputValidationError(f"window must be >= 1 step, not {window}.")
    df = history
    if fold is not None:
        if "fold" not in df.columns or not np.any(df["fold"] == fold):
            raise InputValidationError(f"The training history has no rows for fold {fold!r}.")
        df = df[df["fold"] == fold]
    cols = list(BALANCE_COLUMNS)
    numeric = df[["step"] + cols].apply(pd.to_numeric, errors="coerce")
    per_step = numeric.groupby("step", sort=True)[cols].mean().reset_index()
    for c in cols:
        per_step[f"{c}_smooth"] = trailing_mean(per_step[c], window)
    return per_step


def balance_figure(
    histories: pd.DataFrame | Sequence[pd.DataFrame],
    labels: Sequence[str] | None = None,
    *,
    window: int = 25,
    raw: bool = False,
    fold: Any | None = None,
    height: int = 720,
) -> go.Figure:
    """ρ^G/ρ^P, k^G/k^P and per-branch gradient norms per step; runs side by side.

    One column per run (e.g. concat vs gradmod), three rows (ρ, k, gradient norm) with
    y axes shared across the runs of a row, so the runs read on the same scale. Genomic
    in green, image in purple; a dotted line marks ρ = 1 (balance). Run names head the
    columns, the quantities title the y axes of the first column and the legend sits
    in a band under the x-axis titles, so no two texts overlap at any width.

    Args:
        histories: One ``history`` table or a list of them (one per run).
        labels: Run names, one per table (column titles).
        window: Smoothing window in steps (see :func:`balance_series`).
        raw: Also draw the unsmoothed values, faint, behind the smoothed lines.
        fold: The fit to draw in every run (a CV fold or :data:`FINAL_FIT`); None: the
            mean over folds per step (a summary: k^G and k^P of a mean can both be < 1).
        height: Figure height in pixels.

    Returns:
        Figure with, per run and row, two smoothed traces (+ two raw ones when ``raw``).
    """
    runs, names = _as_runs(histories, labels)
    fig = make_subplots(
        rows=len(BALANCE_PANELS),
        cols=len(runs),
        shared_xaxes=True,
        shared_yaxes=True,
        column_titles=[wrap_title(n) for n in names],
        horizontal_spacing=0.04,
        vertical_spacing=0.06,
    )
    for j, (hist, name) in enumerate(zip(runs, names), start=1):
        series = balance_series(hist, window=window, fold=fold)
        for i, (_, col_g, col_p, _) in enumerate(BALANCE_PANELS, start=1):
            for col, branch in ((col_g, "genomic"), (col_p, "image")):
                colour = BRANCH_COLOURS[branch]
                show = j == 1 and i == 1
                if raw:
                    fig.add_trace(
                        go.Scatter(
                            x=series["step"],
                            y=series[col],
                            mode="lines",
                            line={"color": colour, "width": 0.8},
                            opacity=0.3,
                            name=f"{branch} (raw)",
                            legendgroup=f"{branch}-raw",
                            showlegend=show,
                            hovertemplate=f"{name} {col}=%{{y:.3g}}<br>step %{{x}}<extra></extra>",
                        ),
                        row=i,
                        col=j,
                    )
                fig.add_trace(
                    go.Scatter(
                        x=series["step"],
                        y=series[f"{col}_smooth"],
                        mode="lines",
                        line={"color": colour, "width": 2},
                        name=branch,
                        legendgroup=branch,
                        showlegend=show,
                        hovertemplate=f"{name} {col} (smoothed)=%{{y:.3g}}<br>step %{{x}}<extra></extra>",
                    ),
                    row=i,
                    col=j,
                )
            if i == 1:
                fig.add_hline(y=1.0, line={"dash": "dot", "color": "#888888", "width": 1}, row=i, col=j)
        fig.update_xaxes(title_text="step", row=len(BALANCE_PANELS), col=j)
    for i, (title, _, _, log) in enumerate(BALANCE_PANELS, start=1):
        fig.update_yaxes(title_text=title, row=i, col=1)
        if log:
            fig.update_yaxes(type="log", row=i)
    fig.update_annotations(font={"size": 13})  # the run names over the columns
    which = "mean over folds" if fold is None else fold_label(fold)
    fig.update_layout(
        height=height,
        template="plotly_white",
        margin={"t": 130},
        title={
            "text": "Modality balance per training step",
            "yref": "container",
            "y": 1 - 12 / height,
            "yanchor": "top",
            "subtitle": {"text": f"{which}, smoothed over {int(window)} steps"},
        },
    )
    return legend_below(fig)


def epoch_series(epochs: pd.DataFrame) -> pd.DataFrame:
    """Validation C-index per epoch (fused, genomic-only, image-only), mean ± sd over folds.

    Args:
        epochs: The bundle's ``epochs`` table (``epoch`` + the three ``val_cindex*``
            columns; ``fold`` optional). Missing branch columns count as NaN.

    Returns:
        DataFrame with ``epoch``, and per column ``<c>`` (mean over folds), ``<c>_sd``
        (0 with one fold) and ``<c>_n`` (number of folds with a value).
    """
    require_columns(epochs, ("epoch", "val_cindex"), "The per-epoch table")
    df = epochs.copy()
    for c in EPOCH_COLUMNS:
        if c not in df.columns:
            df[c] = np.nan
    num = df[["epoch", *EPOCH_COLUMNS]].apply(pd.to_numeric, errors="coerce")
    grouped = num.groupby("epoch", sort=True)[list(EPOCH_COLUMNS)]
    mean, sd, count = grouped.mean(), grouped.std(ddof=1).fillna(0.0), grouped.count()
    out = mean.copy()
    for c in EPOCH_COLUMNS:
        out[f"{c}_sd"] = sd[c].where(count[c] > 0)
        out[f"{c}_n"] = count[c]
    return out.reset_index()


def epoch_cindex_figure(
    epochs: pd.DataFrame | Sequence[pd.DataFrame],
    labels: Sequence[str] | None = None,
    *,
    height: int = 440,
) -> go.Figure:
    """Validation C-index per epoch of the fused score and of each branch alone.

    One panel per run, shared y axis; fused in blue, genomic in green, image in purple;
    a dotted line at 0.5 (chance). Shaded bands are ± 1 sd over folds when there are
    several folds.

    Args:
        epochs: One ``epochs`` table or a list of them (one per run).
        labels: Run names (panel titles).
        height: Figure height in pixels.

    Returns:
        Figure with, per run and column that has data, a line (+ a band with > 1 fold).
    """
    runs, names = _as_runs(epochs, labels)
    fig = make_subplots(rows=1, cols=len(runs), shared_yaxes=True, subplot_titles=[wrap_title(n) for n in names], horizontal_spacing=0.04)
    for j, (table, name) in enumerate(zip(runs, names), start=1):
        s = epoch_series(table)
        for c in EPOCH_COLUMNS:
            if s[f"{c}_n"].sum() == 0:
                continue
            branch = _EPOCH_LABELS[c]
            colour = BRANCH_COLOURS[branch]
            if s[f"{c}_n"].max() > 1:
                x = np.concatenate([s["epoch"], s["epoch"][::-1]])
                y = np.concatenate([s[c] + s[f"{c}_sd"], (s[c] - s[f"{c}_sd"])[::-1]])
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=y,
                        fill="toself",
                        line={"width": 0},
                        opacity=0.15,
                        fillcolor=colour,
                        hoverinfo="skip",
                        showlegend=False,
                        legendgroup=branch,
                        name=f"{branch} ± sd",
                    ),
                    row=1,
                    col=j,
                )
            fig.add_trace(
                go.Scatter(
                    x=s["epoch"],
                    y=s[c],
                    mode="lines+markers",
                    line={"color": colour, "width": 2},
                    name=branch,
                    legendgroup=branch,
                    showlegend=j == 1,
                    hovertemplate=f"{name} {branch}: %{{y:.3f}}<br>epoch %{{x}}<extra></extra>",
                ),
                row=1,
                col=j,
            )
        fig.add_hline(y=0.5, line={"dash": "dot", "color": "#888888", "width": 1}, row=1, col=j)
        fig.update_xaxes(title_text="epoch", row=1, col=j)
    fig.update_yaxes(title_text="validation C-index", row=1, col=1)
    fig.update_annotations(font={"size": 13})
    fig.update_layout(
        height=height,
        template="plotly_white",
        margin={"t": 130},
        title={
            "text": "Validation C-index per epoch",
            "yref": "container",
            "y": 1 - 12 / height,
            "yanchor": "top",
            "subtitle": {"text": "fused and each branch alone, mean ± sd over the CV folds"},
        },
    )
    return legend_below(fig)


def training_curves_figure(history: pd.DataFrame, *, window: int = 10, height: int = 340) -> go.Figure:
    """Cox loss and ρ^G/ρ^P of a (running) job per step, over all its fits in order.

    The live view of a training job: the rows of ``history.csv`` so far, one point per
    step, the CV folds and the final fit one after another (``step`` restarts in every
    fit, so the x axis is the row number). Smoothed with :func:`trailing_mean`.

    Args:
        history: ``history`` rows (``loss``, ``rho_g``, ``rho_p``; each optional).
        window: Smoothing window in steps.
        height: Figure height in pixels.

    Returns:
        Two panels side by side: loss (raw, faint, and smoothed) and ρ^G/ρ^P (log scale,
        dotted line at ρ = 1).
    """
    if int(window) < 1:
        raise InputValidationError(f"window must be >= 1 step, not {window}.")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Cox loss", "ρ^G and ρ^P (log scale)"))
    x = np.arange(len(history))
    if "loss" in history.columns:
        fig.add_trace(
            go.Scatter(x=x, y=history["loss"], mode="lines", name="loss (raw)", line={"color": "#BBBBBB", "width": 1}), row=1, col=1
        )
        fig.add_trace(
            go.Scatter(x=x, y=trailing_mean(history["loss"], window), mode="lines", name="loss", line={"color": "#444444", "width": 2}),
            row=1,
            col=1,
        )
    for col, name, branch in (("rho_g", "ρ^G", "genomic"), ("rho_p", "ρ^P", "image")):
        if col in history.columns:
            fig.add_trace(
                go.Scatter(
                    x=x, y=trailing_mean(history[col], window), mode="lines", name=name, line={"color": BRANCH_COLOURS[branch], "width": 2}
                ),
                row=1,
                col=2,
            )
    fig.add_hline(y=1.0, line={"color": "#888888", "dash": "dot", "width": 1}, row=1, col=2)
    fig.update_yaxes(type="log", row=1, col=2)
    fig.update_xaxes(title_text="step (all fits in order)")
    fig.update_layout(height=height, template="plotly_white", margin={"l": 10, "r": 10, "t": 40})
    return legend_below(fig, band=90)


def _final(epochs: pd.DataFrame) -> dict[str, float]:
    """Mean over folds of each C-index column at the last epoch that has a value."""
    s = epoch_series(epochs)
    out: dict[str, float] = {}
    for c in EPOCH_COLUMNS:
        valid = s[s[f"{c}_n"] > 0]
        out[_EPOCH_LABELS[c]] = float(valid[c].iloc[-1]) if len(valid) else float("nan")
    return out


def balance_reading(
    run_a_epochs: pd.DataFrame,
    run_b_epochs: pd.DataFrame | None = None,
    labels: Sequence[str] = ("without modulation", "with modulation"),
) -> str:
    """One line of plain text saying what the per-branch C-index curves show.

    Values are the validation C-index at the last epoch, averaged over folds.

    - Two runs (A = reference, B = e.g. gradient modulation): the branch whose
      C-index alone changed most is reported with its change, then the fused score,
      e.g. ``"image branch alone: 0.61 → 0.68 with modulation (genomic 0.80 → 0.79,
      fused 0.82 → 0.84)"``. When ``labels[1]`` starts with "with"/"without" it is
      used as is, otherwise as ``"in <label>"``.
    - One run: the two branches alone and the fused score, and which branch leads.

    Args:
        run_a_epochs: ``epochs`` table of the first (reference) run.
        run_b_epochs: ``epochs`` table of the second run, or None.
        labels: Names of run A and run B.

    Returns:
        The sentence (no trailing period).
    """
    a = _final(run_a_epochs)
    if run_b_epochs is None:
        g, p, f = a["genomic"], a["image"], a["fused"]
        if not (np.isfinite(g) and np.isfinite(p)):
            return f"fused C-index {f:.2f}; per-branch C-index not recorded for this run"
        lead, behind = ("genomic", "image") if g >= p else ("image", "genomic")
        return (
            f"genomic branch alone {g:.2f}, image branch alone {p:.2f}, fused {f:.2f}: "
            f"the {lead} branch leads the {behind} branch by {abs(g - p):.2f}"
        )
    b = _final(run_b_epochs)
    label_b = labels[1] if len(labels) > 1 else "run B"
    phrase = label_b if label_b.split(" ")[0] in ("with", "without") else f"in {label_b}"
    deltas = {k: b[k] - a[k] for k in ("genomic", "image") if np.isfinite(a[k]) and np.isfinite(b[k])}
    fused = f"fused {a['fused']:.2f} → {b['fused']:.2f}"
    if not deltas:
        return f"{fused} {phrase}; per-branch C-index not recorded for both runs"
    main = max(deltas, key=lambda k: abs(deltas[k]))
    other = [k for k in deltas if k != main]
    extra = "".join(f"{k} {a[k]:.2f} → {b[k]:.2f}, " for k in other)
    return f"{main} branch alone: {a[main]:.2f} → {b[main]:.2f} {phrase} ({extra}{fused})"
