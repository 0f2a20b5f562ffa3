"""Penalized-Cox baselines: convergence is reported, the design stays narrow on wide data,
the penalizer comes from inner CV, and the report compares with the strongest converged baseline."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from pathgptomic.data.cohort import Cohort
from pathgptomic.evaluation import concordance_index
from pathgptomic.experiments import runner as runner_mod
from pathgptomic.experiments.baselines import (
    STATUS_NOT_CONVERGED,
    CoxBaselineConfig,
    CoxFoldResult,
    CoxNotConverged,
    choose_penalizer,
    design_matrices,
    fit_cox,
    fit_predict_baseline,
)
from pathgptomic.experiments.report import baseline_reading, strongest_baseline, summarize
from pathgptomic.experiments.rows import rows_for_suite
from pathgptomic.experiments.runner import BenchmarkSettings, run_benchmark
from pathgptomic.experiments.wide import widen_cnv


def _cox_data(n: int = 300, p: int = 5, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Exponential times with log-hazard x @ beta (beta = 1, -1, 0, ...), 30 % censored."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, p))
    beta = np.zeros(p)
    beta[:2] = [1.0, -1.0]
    t = rng.exponential(1.0 / np.exp(x @ beta))
    c = rng.exponential(3.0, n)
    return x, np.minimum(t, c), (t <= c).astype(int), beta


def _factor_cohort(n: int = 240, seed: int = 0) -> Cohort:
    """RNA-seq driven by two latent factors (PCA recovers them); log-hazard = f1 + 0.8 age_z; sex no effect.

    Measured on the test half (seed 0): oracle 0.801; genomic 0.650, clinical 0.669, genomic +
    clinical 0.750, late fusion 0.742 — both modalities carry signal, so the combined baselines
    must beat either alone (the ranges below do not overlap).
    """
    rng = np.random.default_rng(seed)
    ids = np.array([f"P{i:03d}" for i in range(n)])
    f = rng.standard_normal((n, 2))
    rna = f @ rng.standard_normal((2, 100)) + 0.7 * rng.standard_normal((n, 100))
    cnv = rng.integers(-2, 3, size=(n, 20)).astype(float)
    mut = (rng.random((n, 5)) < 0.2).astype(float)
    age = rng.normal(55, 12, n)
    sex = (rng.random(n) < 0.5).astype(float)
    eta = f[:, 0] + 0.8 * (age - 55) / 12
    t, c = rng.exponential(np.exp(-eta)), rng.exponential(2.0, n)

    def frame(a: np.ndarray, prefix: str) -> pd.DataFrame:
        return pd.DataFrame(a, index=ids, columns=[f"{prefix}{j}" for j in range(a.shape[1])])

    blocks = {
        "rnaseq": frame(rna, "G"),
        "cnv": frame(cnv, "C"),
        "mut": frame(mut, "M"),
        "clinical": pd.DataFrame({"age": age, "is_female": sex}, index=ids),
    }
    return Cohort(ids, np.minimum(t, c), (t <= c).astype(int), blocks, source="factor cohort", true_risk=eta)


def test_fit_cox_recovers_signs_and_zeroes_constant_columns() -> None:
    x, t, e, _ = _cox_data()
    x[:, 4] = 2.0  # constant: lifelines would refuse it; its coefficient is 0
    fit = fit_cox(x, t, e, 0.01)
    assert fit.converged and fit.warning == ""
    assert fit.beta[0] > 0.6 and fit.beta[1] < -0.6  # true 1, -1 (lightly shrunk)
    assert abs(fit.beta[2]) < 0.3 and fit.beta[4] == 0.0


def test_non_convergence_and_time_cap_are_errors() -> None:
    x, t, e, _ = _cox_data()
    with pytest.raises(CoxNotConverged, match="lifelines"):
        fit_cox(x, t, e, 1e-4, max_steps=1)  # one Newton step cannot converge: ConvergenceWarning -> error
    lenient = fit_cox(x, t, e, 1e-4, max_steps=1, strict=False)
    assert not lenient.converged and "converge" in lenient.warning
    with pytest.raises(CoxNotConverged, match="time cap"):
        fit_cox(x, t, e, 0.1, deadline=time.perf_counter() - 1.0)


def test_inner_cv_picks_from_the_grid_and_prefers_little_penalty_on_strong_signal() -> None:
    x, t, e, _ = _cox_data(n=400)
    cfg = CoxBaselineConfig(penalizer_grid=(0.001, 10.0, 1000.0))
    pen, scores = choose_penalizer(x, t, e, cfg)
    assert set(scores) == {0.001, 10.0, 1000.0}
    assert all(0.5 < s < 1 for s in scores.values())
    assert pen == 0.001  # strong signal, n >> p: the lightest penalty ranks best
    assert choose_penalizer(x, t, e, CoxBaselineConfig(penalizer=0.3)) == (0.3, {})


def test_design_stays_narrow_on_a_wide_cnv_block() -> None:
    cohort = _factor_cohort(160)
    wide = widen_cnv(cohort, 1000, seed=0)
    assert wide.blocks["cnv"].shape == (cohort.n, 1000)
    tr, te = np.arange(120), np.arange(120, cohort.n)
    cfg = CoxBaselineConfig(n_components=10)
    x_tr, x_te, names = design_matrices(wide, tr, te, "genomic", cfg)
    # 10 RNA PCs + 10 CNV PCs (1000 columns > 50) + the 5 raw mutation columns
    assert x_tr.shape[1] == 25 and x_te.shape == (len(te), 25)
    assert sum(n.startswith("cnv_PC") for n in names) == 10 and sum(n.startswith("rnaseq_PC") for n in names) == 10
    np.testing.assert_allclose(x_tr.mean(axis=0), 0, atol=1e-9)
    old = CoxBaselineConfig(max_raw_columns=None, penalizer=0.1)
    assert design_matrices(wide, tr, te, "genomic", old)[0].shape[1] > 1000  # the old design: every raw column
    x_c, _, names_c = design_matrices(wide, tr, te, "clinical", cfg)
    assert names_c == ["age_clinical", "is_female_clinical"] and x_c.shape == (120, 2)


@pytest.mark.parametrize(
    ("inputs", "low", "high"),
    [("genomic", 0.60, 0.72), ("clinical", 0.60, 0.72), ("genomic_clinical", 0.70, 0.80), ("late_fusion", 0.70, 0.80)],
)
def test_every_baseline_converges_and_ranks_on_a_known_signal(inputs: str, low: float, high: float) -> None:
    coh = _factor_cohort()
    tr, te = np.arange(0, 240, 2), np.arange(1, 240, 2)
    res = fit_predict_baseline(coh, tr, te, inputs, CoxBaselineConfig())
    assert res.converged, res.reason
    assert res.penalizer in CoxBaselineConfig().penalizer_grid
    c = concordance_index(res.risk, coh.time[te], coh.event[te])
    oracle = concordance_index(coh.true_risk[te], coh.time[te], coh.event[te])
    assert low < c < high and c < oracle + 0.02, (inputs, c, oracle)


def test_a_capped_fit_is_not_converged_with_nan_risk() -> None:
    cohort = _factor_cohort(160)
    res = fit_predict_baseline(cohort, np.arange(120), np.arange(120, 160), "genomic", CoxBaselineConfig(penalizer=1e-4, max_steps=1))
    assert res.status == STATUS_NOT_CONVERGED and not res.converged
    assert np.isnan(res.risk).all() and len(res.risk) == 40 and "lifelines" in res.reason


def test_runner_records_not_converged_and_report_uses_strongest_converged(tmp_path, monkeypatch) -> None:
    cohort = _factor_cohort(120)
    real = runner_mod.fit_predict_baseline

    def fake(coh, tr, te, inputs, cfg):
        if inputs == "genomic_clinical":  # pretend this baseline did not converge
            return CoxFoldResult(np.full(len(te), np.nan), 3, 0.1, STATUS_NOT_CONVERGED, "lifelines: test")
        return real(coh, tr, te, inputs, cfg)

    monkeypatch.setattr(runner_mod, "fit_predict_baseline", fake)
    keys = ["cox_pca", "cox_pca_clinical", "cox_clinical", "cox_late_fusion"]
    settings = BenchmarkSettings(
        suite="baselines", seeds=[0], n_folds=2, epochs=1, rows=keys, device="cpu", cox=CoxBaselineConfig(penalizer=0.1)
    )  # fixed penalizer: fast
    run = run_benchmark(cohort, settings, tmp_path / "run", show_progress=False)
    res = run.results.set_index(["config", "fold"])
    assert (res.loc["cox_pca_clinical", "status"] == STATUS_NOT_CONVERGED).all()
    assert res.loc["cox_pca_clinical", "cindex"].isna().all(), "no C-index for a non-converged cell"
    assert (res.loc["cox_pca", "status"] == "ok").all() and res.loc["cox_pca", "penalizer"].notna().all()
    summary = summarize(run.results, run.rows)
    best = strongest_baseline(summary)
    converged = summary[summary["config"].isin(["cox_pca", "cox_clinical", "cox_late_fusion"])]
    assert best["config"] == converged.loc[converged["cindex_mean"].idxmax(), "config"]
    report = (tmp_path / "run" / "report.md").read_text()
    assert f"Strongest converged baseline: **{best['label']}**" in report
    assert "Excluded from every comparison: Penalized Cox, genomic + clinical — 2 of 2 cells did not converge" in report
    assert "| Penalized Cox, genomic + clinical | genomic + clinical | not converged (2 cells) |" in report
    # a resumed run does not refit not-converged cells (they are final)
    calls = []
    monkeypatch.setattr(runner_mod, "fit_predict_baseline", lambda *a: calls.append(a) or fake(*a))
    run_benchmark(cohort, settings, tmp_path / "run", show_progress=False, write_report=False)
    assert calls == []


def test_reading_compares_deep_rows_with_the_named_strongest_baseline() -> None:
    rows = [r for r in rows_for_suite("baselines") if r.key in ("cox_pca", "cox_pca_clinical", "cox_clinical", "genomic_snn")]
    cells = []
    values = {"cox_pca": 0.80, "cox_pca_clinical": 0.85, "cox_clinical": 0.75, "genomic_snn": 0.81}
    for key, v in values.items():
        for f in range(5):
            status = "not_converged" if key == "cox_pca_clinical" and f == 3 else "ok"
            cells.append(
                {
                    "config": key,
                    "seed": 0,
                    "fold": f,
                    "status": status,
                    "reason": "x",
                    "cindex": np.nan if status != "ok" else v + 0.01 * f,
                    "cindex_genomic": np.nan,
                    "cindex_image": np.nan,
                    "train_seconds": 1.0,
                }
            )
    results = pd.DataFrame(cells)
    summary = summarize(results, rows)
    text = "\n".join(baseline_reading(summary, results))
    # genomic + clinical has one non-converged fold: excluded although its mean is the highest
    assert "Excluded from every comparison: Penalized Cox, genomic + clinical — 1 of 5" in text
    assert "Strongest converged baseline: **Penalized Cox, genomic (per-block PCs)** [genomic] 0.820" in text
    assert "Genomic only (SNN) [genomic] 0.830 ± 0.016: above Penalized Cox, genomic (per-block PCs)" in text
    assert "(Δ +0.010, paired Wilcoxon p = 0.062 over 5 cells)" in text


def test_a_constant_baseline_risk_is_a_c_index_of_one_half_not_a_dropped_cell(monkeypatch) -> None:
    """The runner's C-index is evaluation.fold_cindex: a converged baseline that ranks nobody scores 0.5."""
    cohort = _factor_cohort(60)
    tr, te = np.arange(40), np.arange(40, 60)
    row = next(r for r in rows_for_suite("baselines") if r.key == "cox_pca")
    settings = BenchmarkSettings(suite="baselines", seeds=[0], n_folds=2, rows=[row.key], device="cpu")
    monkeypatch.setattr(runner_mod, "fit_predict_baseline", lambda *a: CoxFoldResult(np.full(len(te), 0.2), 3, 0.1))
    out = runner_mod._run_cox_cell(row, cohort, settings, tr, te)
    assert out["status"] == "ok" and out["cindex"] == 0.5 and out["cindex_genomic"] == 0.5
    risk = np.linspace(-1.0, 1.0, len(te))
    monkeypatch.setattr(runner_mod, "fit_predict_baseline", lambda *a: CoxFoldResult(risk, 3, 0.1))
    out = runner_mod._run_cox_cell(row, cohort, settings, tr, te)
    assert out["cindex"] == concordance_index(risk, cohort.time[te], cohort.event[te])
