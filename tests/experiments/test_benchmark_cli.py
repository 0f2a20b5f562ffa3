"""End-to-end tests of ``pathgptomic benchmark`` on tiny synthetic cohorts (seconds each)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pathgptomic.cli import main
from pathgptomic.experiments import rows_for_suite
from pathgptomic.experiments import runner as runner_mod
from pathgptomic.experiments.report import paired_wilcoxon
from pathgptomic.schema import DEFAULT_AVERAGE_FRACTION

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def tiny_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pathgptomic.data import write_demo_cohort

    folder = tmp_path_factory.mktemp("tiny_cohort")
    write_demo_cohort(folder, n_patients=40, seed=3, image_size=128)
    return folder


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bench_cache")


def _args(cohort: Path, out: Path, cache: Path, *extra: str) -> list[str]:
    return [
        "benchmark",
        "--cohort",
        str(cohort),
        "--folds",
        "2",
        "--seeds",
        "1",
        "--epochs",
        "2",
        "--out",
        str(out),
        "--image-encoder",
        "test_resnet",
        "--max-patches",
        "2",
        "--patch-size",
        "64",
        "--cache-dir",
        str(cache),
        "--threads",
        "1",
        "--no-progress",
        *extra,
    ]


@pytest.fixture(scope="module")
def full_run(tiny_cohort: Path, cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench_all") / "run"
    assert main(_args(tiny_cohort, out, cache_dir, "--suite", "all")) == 0
    return out


def test_tiny_benchmark_reports_every_row(full_run: Path) -> None:
    report = (full_run / "report.md").read_text()
    results = pd.read_csv(full_run / "results.csv")
    rows = rows_for_suite("all")
    assert len(rows) == 17  # 9 baselines (4 Cox, incl. clinical-only and late fusion) + 8 further grid rows
    assert len(results) == len(rows) * 2  # rows x 2 folds x 1 seed
    for row in rows:
        assert row.label in report, row.label
        part = results[results["config"] == row.key]
        assert sorted(part["fold"]) == [0, 1]
        assert set(part["status"]) <= ({"ok", "not available", "not_converged"} if row.kind == "cox" else {"ok", "not available"})
        na = part[part["status"] != "ok"]
        assert na["reason"].fillna("").astype(str).str.len().gt(10).all(), "a row that cannot run must say why"
        assert na["cindex"].isna().all(), "no number for a cell that did not run or converge"
    # the rows that need nothing optional ran and gave C-indices in [0, 1]
    must_run = ["cox_clinical", "genomic_snn", "image", "kronecker_snn", "concat_snn", "gradmod_snn"]
    ok = results[results["config"].isin(must_run)]
    assert (ok["status"] == "ok").all()
    assert ok["cindex"].between(0, 1).all()
    # 20 training patients and ~55 genomic inputs at the CLI's fixed penalizer 0.1: lifelines may not converge
    # (p > n); such a cell is reported as not converged with lifelines' message, never scored
    cox = results[results["kind"] == "cox"]
    assert set(cox["status"]) <= {"ok", "not_converged"}
    assert cox.loc[cox["status"] == "ok", "cindex"].between(0, 1).all()
    # branch-alone C-indices exist for the separable fusions, not for Kronecker
    conc = results[results["config"] == "concat_snn"]
    assert conc["cindex_image"].between(0, 1).all() and conc["cindex_genomic"].between(0, 1).all()
    assert results.loc[results["config"] == "kronecker_snn", "cindex_image"].isna().all()
    assert "Table 3 layout" in report and "Wilcoxon" in report and "pathgptomic benchmark --cohort" in report
    # genomic, genomic + clinical and clinical-only side by side, and the reading names the strongest baseline
    assert "| Penalized Cox, clinical only | clinical |" in report
    assert "Strongest converged baseline: **" in report and "never the clinical covariates" in report
    assert "ρ/k evidence (SNN): gradmod mean log10 ρ^G" in report and "concat mean log10 ρ^G" in report
    for fig in ("cindex_by_config.html", "cindex_by_config.png", "rho_concat_vs_gradmod_snn.html", "rho_concat_vs_gradmod_snn.png"):
        assert (full_run / "figures" / fig).stat().st_size > 1000, fig
    assert (full_run / "curves" / "gradmod_snn" / "seed0_fold0_history.csv").is_file()


def test_resume_reuses_finished_cells(
    full_run: Path, tiny_cohort: Path, cache_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run_dir = tmp_path / "resume"
    shutil.copytree(full_run, run_dir)
    before = pd.read_csv(run_dir / "results.csv")
    calls = {"deep": 0, "cox": 0}
    deep, cox = runner_mod._run_deep_cell, runner_mod._run_cox_cell

    def count_deep(*a, **k):
        calls["deep"] += 1
        return deep(*a, **k)

    def count_cox(*a, **k):
        calls["cox"] += 1
        return cox(*a, **k)

    monkeypatch.setattr(runner_mod, "_run_deep_cell", count_deep)
    monkeypatch.setattr(runner_mod, "_run_cox_cell", count_cox)
    # the recorded command is the same apart from --out, which is not part of the settings
    assert main(_args(tiny_cohort, run_dir, cache_dir, "--suite", "all")) == 0
    assert calls == {"deep": 0, "cox": 0}, "a resumed run must not retrain finished cells"
    after = pd.read_csv(run_dir / "results.csv")
    ok_before = before[before["status"] == "ok"].reset_index(drop=True)
    ok_after = after[after["status"] == "ok"].reset_index(drop=True)
    pd.testing.assert_frame_equal(ok_before, ok_after)  # same cells, same timestamps
    assert len(after) == len(before)


def test_resume_runs_only_missing_cells(tiny_cohort: Path, cache_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "partial"
    assert main(_args(tiny_cohort, out, cache_dir, "--suite", "baselines", "--rows", "cox_pca,genomic_snn")) == 0
    first = pd.read_csv(out / "results.csv")
    assert len(first) == 4
    calls = []
    deep = runner_mod._run_deep_cell
    monkeypatch.setattr(runner_mod, "_run_deep_cell", lambda *a, **k: calls.append(a[0].key) or deep(*a, **k))
    # a second seed: only its 4 cells are new
    args = _args(tiny_cohort, out, cache_dir, "--suite", "baselines", "--rows", "cox_pca,genomic_snn")
    args[args.index("--seeds") + 1] = "2"
    assert main(args) == 0
    second = pd.read_csv(out / "results.csv")
    assert len(second) == 8 and calls == ["genomic_snn", "genomic_snn"]
    pd.testing.assert_frame_equal(second.iloc[:4].reset_index(drop=True), first)


def test_changed_settings_refuse_to_resume(tiny_cohort: Path, cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    assert main(_args(tiny_cohort, out, cache_dir, "--suite", "baselines", "--rows", "cox_pca")) == 0
    args = _args(tiny_cohort, out, cache_dir, "--suite", "baselines", "--rows", "cox_pca")
    args[args.index("--epochs") + 1] = "3"
    assert main(args) == 2
    assert "different benchmark" in capsys.readouterr().err


def test_rows_without_images_are_not_available(tiny_cohort: Path, cache_dir: Path, tmp_path: Path) -> None:
    csv = tmp_path / "no_images.csv"
    shutil.copy(tiny_cohort / "cohort_tcga.csv", csv)  # a bare CSV: no slide folder, so no images
    out = tmp_path / "run"
    assert main(_args(csv, out, cache_dir, "--suite", "baselines")) == 0
    res = pd.read_csv(out / "results.csv")
    for key in ("image", "kronecker_snn"):
        part = res[res["config"] == key]
        assert (part["status"] == "not available").all()
        assert part["reason"].astype(str).str.contains("no images").all()
        assert part["cindex"].isna().all(), "no number may be invented for a row that did not run"
    assert (res.loc[res["config"].isin(["cox_clinical", "genomic_snn"]), "status"] == "ok").all()
    assert res.loc[res["config"] == "cox_pca", "status"].isin(["ok", "not_converged"]).all()
    report = (out / "report.md").read_text()
    assert "## Not available / failed / not converged rows" in report
    assert "| Image only | not available |" in report and "no images" in report


def test_paired_wilcoxon_matches_scipy() -> None:
    from scipy.stats import wilcoxon

    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.5, 0.8, 10), rng.uniform(0.5, 0.8, 10)
    cells = [(s, f) for s in range(2) for f in range(5)]
    df = pd.DataFrame(
        [{"config": "x", "seed": s, "fold": f, "status": "ok", "cindex": a[i]} for i, (s, f) in enumerate(cells)]
        + [{"config": "concat_snn", "seed": s, "fold": f, "status": "ok", "cindex": b[i]} for i, (s, f) in enumerate(cells)]
        + [{"config": "x", "seed": 9, "fold": 0, "status": "ok", "cindex": 0.9}]  # unpaired: ignored
    )
    t = paired_wilcoxon(df, "x", "concat_snn")
    assert t["n"] == 10
    assert t["p"] == pytest.approx(wilcoxon(a, b).pvalue)
    assert t["delta"] == pytest.approx((a - b).mean())


@pytest.mark.parametrize("seeds", [[0], [0, 1, 2], [1], [2, 5]])
def test_recorded_seeds_read_back_as_the_same_seeds(seeds: list[int]) -> None:
    """The command a report records reruns the same seeds (a single seed 1 is "1,", not "1" = seed 0)."""
    from pathgptomic.experiments.cli import _seeds, _seeds_text

    assert _seeds(_seeds_text(seeds)) == seeds


@pytest.mark.parametrize("value", ["1.5", "-0.1", "half"])
def test_benchmark_refuses_an_impossible_average_fraction(value: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["benchmark", "--cohort", "demo", "--out", "unused", "--average-fraction", value])
    assert exc.value.code == 2 and "--average-fraction" in capsys.readouterr().err


def test_averaging_does_not_enter_the_fingerprint_when_nothing_is_averaged() -> None:
    """Folders written before weight averaging existed (or with early stopping, which ignores it) still resume."""
    base = runner_mod.BenchmarkSettings(average_fraction=0.0).fingerprint_dict()
    assert "average_fraction" not in base
    assert "average_fraction" not in runner_mod.BenchmarkSettings(early_stopping=True).fingerprint_dict()
    assert runner_mod.BenchmarkSettings().fingerprint_dict()["average_fraction"] == DEFAULT_AVERAGE_FRACTION > 0
    assert "average_fraction" not in runner_mod.BenchmarkSettings(epochs=10).fingerprint_dict()  # short runs: none
    with pytest.raises(Exception, match="average-fraction"):
        runner_mod.BenchmarkSettings(average_fraction=1.5)
