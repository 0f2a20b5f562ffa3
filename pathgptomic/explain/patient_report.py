"""A self-contained per-patient report (HTML) of one :meth:`Bundle.predict` row.

The report holds what the dashboard's Predict page shows for one patient: the calibrated
risk with its band, percentile and risk group, survival at each reported time and the
median survival (with bands), the patient's predicted curve against the out-of-fold
Kaplan–Meier curve of its risk group (a base64 PNG drawn with matplotlib), the split of the
model's raw score θ = W^G·G + W^P·P + b, coverage per block and imputed values, every
warning, the model facts (bundle, fusion, calibration slope, C-index) and the research-use
notice. Everything is inline: no script, no stylesheet link, no remote image. Every text
that comes from users or files is HTML-escaped. No Streamlit here.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "ModelFacts",
    "NOTICE",
    "coverage_table",
    "model_facts",
    "patient_curve",
    "patient_report_html",
    "report_times",
    "survival_table",
    "theta_split",
    "time_label",
]

NOTICE = "Research use only — not for diagnosis or treatment decisions."
_SURVIVAL = re.compile(r"^survival_(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class ModelFacts:
    """What a report states about the model that made the prediction.

    Attributes:
        name: Bundle name.
        fusion: Fusion mode (``gradmod``, ``concat``, ...).
        time_unit: Unit of survival times (``months`` for TCGA).
        calibration_slope: Slope that maps the model's centred θ to the calibrated risk (None: uncalibrated).
        cindex_mean: Per-fold mean of the cross-validation C-index (None when absent).
        cindex_sd: Its standard deviation over folds.
        cindex_pooled: Pooled out-of-fold C-index.
        n_patients: Training patients.
        n_events: Training events.
        calibration_error: Mean |predicted − observed| survival over risk quartiles, per time.
        ibs: Integrated Brier score of the model (out of fold).
        ibs_null: Integrated Brier score of Kaplan–Meier alone.
    """

    name: str
    fusion: str
    time_unit: str = "months"
    calibration_slope: float | None = None
    cindex_mean: float | None = None
    cindex_sd: float | None = None
    cindex_pooled: float | None = None
    n_patients: int | None = None
    n_events: int | None = None
    calibration_error: dict[str, float] = field(default_factory=dict)
    ibs: float | None = None
    ibs_null: float | None = None


def _num(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None


def model_facts(bundle: Any) -> ModelFacts:
    """The :class:`ModelFacts` of a loaded bundle (config, ``metrics.json``)."""
    config = getattr(bundle, "config", {}) or {}
    metrics = getattr(bundle, "metrics", {}) or {}
    summary = metrics.get("summary") or {}
    cal_cfg = config.get("calibration") or {}
    cal = metrics.get("calibration") or {}
    cohort = config.get("cohort") or {}
    count = cohort.get("n_patients")
    events = cohort.get("n_events")
    return ModelFacts(
        name=str(getattr(bundle, "name", config.get("name", "model"))),
        fusion=str(bundle.train_config.model.fusion),
        time_unit=str(config.get("time_unit") or cohort.get("time_unit") or "months"),
        calibration_slope=_num(cal_cfg.get("slope")),
        cindex_mean=_num(summary.get("cindex_mean")),
        cindex_sd=_num(summary.get("cindex_sd")),
        cindex_pooled=_num((metrics.get("oof_cindex") or {}).get("c")),
        n_patients=int(count) if count is not None else None,
        n_events=int(events) if events is not None else None,
        calibration_error={str(k): float(v) for k, v in (cal.get("mean_abs_error") or {}).items()},
        ibs=_num(cal.get("ibs")),
        ibs_null=_num(cal.get("ibs_null")),
    )


def report_times(row: Mapping[str, Any]) -> list[float]:
    """The times of a prediction row's ``survival_<t>`` columns, increasing."""
    return sorted(float(m.group(1)) for k in row.keys() if (m := _SURVIVAL.match(str(k))))


def time_label(t: float, unit: str = "months") -> str:
    """``12`` months → ``"1 year"``, ``36`` → ``"3 years"``; other times as ``"18 months"``."""
    if unit == "months" and t > 0 and t % 12 == 0:
        years = int(t // 12)
        return f"{years} year{'s' if years != 1 else ''}"
    return f"{t:g} {unit}"


def survival_table(row: Mapping[str, Any], unit: str = "months") -> pd.DataFrame:
    """Survival at each reported time and the median survival, with their bands.

    Args:
        row: One row of :meth:`Bundle.predict` (a Series or dict).
        unit: Time unit (for the labels).

    Returns:
        Rows per time then ``median survival``: columns ``quantity``, ``time``,
        ``estimate``, ``low``, ``high`` (probabilities for times, durations in ``unit``
        for the median; NaN median = not reached within the training follow-up).
    """
    rows = []
    for t in report_times(row):
        col = f"survival_{t:g}"
        rows.append(
            {
                "quantity": f"survival at {time_label(t, unit)}",
                "time": t,
                "estimate": _f(row.get(col)),
                "low": _f(row.get(f"{col}_low")),
                "high": _f(row.get(f"{col}_high")),
            }
        )
    rows.append(
        {
            "quantity": f"median survival ({unit})",
            "time": np.nan,
            "estimate": _f(row.get("median_survival")),
            "low": _f(row.get("median_survival_low")),
            "high": _f(row.get("median_survival_high")),
        }
    )
    return pd.DataFrame(rows, columns=["quantity", "time", "estimate", "low", "high"])


def _f(value: Any) -> float:
    v = _num(value)
    return float("nan") if v is None else v


def theta_split(row: Mapping[str, Any]) -> pd.DataFrame:
    """The exact split θ = W^G·G + W^P·P + b of the model's raw score (not the calibrated risk).

    Returns:
        Rows ``W^G·G (genomic)``, ``W^P·P (image)``, ``b (bias)``, ``θ (raw model score)``
        with columns ``term`` and ``value`` (genomic/image NaN for kronecker fusion).
    """
    g, p, b, theta = (_f(row.get(k)) for k in ("genomic_term", "image_term", "bias", "theta"))
    return pd.DataFrame({"term": ["W^G·G (genomic)", "W^P·P (image)", "b (bias)", "θ (raw model score)"], "value": [g, p, b, theta]})


def coverage_table(row: Mapping[str, Any]) -> pd.DataFrame:
    """Share of the model's features measured per block (``coverage_<block>`` columns)."""
    rows = [{"block": str(k)[len("coverage_") :], "coverage": _f(v)} for k, v in row.items() if str(k).startswith("coverage_")]
    return pd.DataFrame(rows, columns=["block", "coverage"])


def patient_curve(baseline: Any, row: Mapping[str, Any]) -> pd.DataFrame:
    """Predicted survival curve of one patient with its band (from the risk band).

    Args:
        baseline: The bundle's :class:`~pathgptomic.evaluation.curves.BreslowBaseline`
            (on the calibrated risk scale).
        row: One ``ok`` row of :meth:`Bundle.predict`.

    Returns:
        Index = times; columns ``survival`` (at ``risk``), ``lower`` (at ``risk_high``)
        and ``upper`` (at ``risk_low``).
    """
    risks = [_f(row.get("risk")), _f(row.get("risk_high", row.get("risk"))), _f(row.get("risk_low", row.get("risk")))]
    curves = baseline.survival_function(np.asarray(risks, dtype=float))
    curves.columns = ["survival", "lower", "upper"]
    return curves


def curve_png(curve: pd.DataFrame, group_km: pd.DataFrame | None, *, group: str, unit: str, dpi: int = 110) -> bytes:
    """The patient's curve (with band) over its group's Kaplan–Meier curve, as PNG bytes (matplotlib)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.8), dpi=dpi)
    ax = fig.add_subplot()
    t = curve.index.to_numpy(dtype=float)
    if group_km is not None and len(group_km):
        ax.step(
            group_km["time"],
            group_km["survival"],
            where="post",
            color="#888888",
            linestyle="--",
            label=f"{group}-risk group, out-of-fold Kaplan–Meier",
        )
    ax.fill_between(t, curve["lower"], curve["upper"], step="post", color="#1f77b4", alpha=0.18, label="band (fold models)")
    ax.step(t, curve["survival"], where="post", color="#1f77b4", linewidth=2, label="this patient")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_xlabel(f"time ({unit})")
    ax.set_ylabel("survival probability")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def _fmt(v: Any, spec: str = ".3f", none: str = "n/a") -> str:
    x = _num(v)
    return none if x is None else format(x, spec)


def _table(df: pd.DataFrame, formats: Mapping[str, str]) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for _, r in df.iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            text = _fmt(v, formats[c], none="—") if c in formats else str(v)
            cells.append(f"<td>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _summary_html(row: Mapping[str, Any]) -> str:
    items = [
        (
            "Risk (calibrated log hazard ratio vs the average training patient)",
            f"{_fmt(row.get('risk'))} (band {_fmt(row.get('risk_low'))} to {_fmt(row.get('risk_high'))})",
        ),
        ("Percentile among the training patients' out-of-fold risks", _fmt(row.get("percentile"), ".1f")),
        ("Risk group (tertiles of those risks)", str(row.get("risk_group", ""))),
    ]
    return "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in items) + "</dl>"


def _survival_html(row: Mapping[str, Any], unit: str) -> str:
    table = survival_table(row, unit).drop(columns="time")
    out = _table(table, {"estimate": ".3f", "low": ".3f", "high": ".3f"})
    if _num(row.get("median_survival")) is None:
        out += "<p class='note'>Median survival: not reached within the training follow-up.</p>"
    return out


def _facts_html(facts: ModelFacts) -> str:
    cindex = "n/a" if facts.cindex_mean is None else f"{facts.cindex_mean:.3f} ± {_fmt(facts.cindex_sd)}"
    items = [
        ("Model bundle", facts.name),
        ("Fusion", facts.fusion),
        ("Calibration slope (out-of-fold)", _fmt(facts.calibration_slope)),
        ("C-index, per-fold mean ± sd", cindex),
        ("C-index, pooled out-of-fold", _fmt(facts.cindex_pooled)),
        (
            "Training patients / events",
            f"{facts.n_patients if facts.n_patients is not None else 'n/a'} / {facts.n_events if facts.n_events is not None else 'n/a'}",
        ),
    ]
    if facts.calibration_error:
        items.append(
            (
                "Mean |predicted − observed| survival by risk quartile",
                "; ".join(f"{time_label(float(t), facts.time_unit)}: {v:.3f}" for t, v in facts.calibration_error.items()),
            )
        )
    if facts.ibs is not None:
        items.append(("Integrated Brier score (Kaplan–Meier alone)", f"{facts.ibs:.3f} ({_fmt(facts.ibs_null)})"))
    return "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in items) + "</dl>"


_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:860px;margin:2em auto;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:.2em}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}"
    "th{background:#f3f3f3}td:first-child{text-align:left}dt{font-weight:600}dd{margin:0 0 .5em 1em}"
    ".notice{background:#fff4e5;border:1px solid #f0a030;padding:.6em}.note{color:#555}"
    ".refusal{background:#fdecea;border:1px solid #d9534f;padding:.6em}"
)


def patient_report_html(
    row: Mapping[str, Any],
    *,
    facts: ModelFacts,
    warnings: Sequence[str] = (),
    label: str | None = None,
    curve: pd.DataFrame | None = None,
    group_km: pd.DataFrame | None = None,
) -> str:
    """The per-patient report as one self-contained HTML document.

    Args:
        row: One row of :meth:`Bundle.predict` (Series or dict).
        facts: The model facts (:func:`model_facts`).
        warnings: Every warning of the prediction (``pred.attrs["warnings"]``) and of reading the inputs.
        label: Patient label (default: ``patient_id``).
        curve: :func:`patient_curve` output (omitted for refused patients).
        group_km: Kaplan–Meier table (``time``, ``survival``) of the patient's risk group.

    Returns:
        HTML text (UTF-8), no external resources.
    """
    unit = facts.time_unit
    name = str(label if label is not None else row.get("patient_id", "patient"))
    ok = str(row.get("status", "ok")) == "ok"
    parts = [
        f"<h1>Path-GPTomic prediction — {html.escape(name)}</h1>",
        f"<p class='notice'><strong>{html.escape(NOTICE)}</strong> The risk is a relative, model-based "
        "estimate from H&amp;E and genomics, calibrated on the training cohort's out-of-fold predictions.</p>",
    ]
    if ok:
        parts += ["<h2>Risk</h2>", _summary_html(row), "<h2>Survival</h2>", _survival_html(row, unit)]
        if curve is not None:
            png = base64.b64encode(curve_png(curve, group_km, group=str(row.get("risk_group", "")), unit=unit))
            parts.append(f"<img alt='predicted survival curve' src='data:image/png;base64,{png.decode('ascii')}'>")
        parts += [
            "<h2>Split of the model's raw score θ</h2>",
            "<p class='note'>θ = W^G·G + W^P·P + b is the model's raw score; the risk above is "
            "calibrated from it (slope × (θ − centre)).</p>",
            _table(theta_split(row), {"value": ".4f"}),
        ]
    else:
        parts.append(
            f"<p class='refusal'><strong>Insufficient data — no risk, group or survival given.</strong> "
            f"{html.escape(str(row.get('reason', '')))}</p>"
        )
    n_imp = _num(row.get("n_imputed"))
    parts += [
        "<h2>Input coverage</h2>",
        _table(coverage_table(row), {"coverage": ".2f"}),
        f"<p>Imputed input values (training medians): {'n/a' if n_imp is None else int(n_imp)}</p>",
        "<h2>Warnings</h2>",
    ]
    parts.append("<ul>" + "".join(f"<li>{html.escape(str(w))}</li>" for w in warnings) + "</ul>" if warnings else "<p>None.</p>")
    parts += ["<h2>Model</h2>", _facts_html(facts)]
    body = "\n".join(parts)
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>Path-GPTomic report — {html.escape(name)}</title><style>{_CSS}</style></head>"
        f"<body>\n{body}\n</body></html>\n"
    )
