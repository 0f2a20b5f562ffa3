"""Benchmarks that reproduce the paper's tables (baselines, RNA encoder x fusion grid) and
the semi-synthetic multimodal cohort built on real TCGA genomics.

Entry points: :func:`run_benchmark` (``pathgptomic benchmark``) and
:func:`build_semisynthetic_cohort` (``pathgptomic semisynthetic``).
"""

from pathgptomic.benchmark.baselines import CoxBaselineConfig, fit_predict_cox_pca
from pathgptomic.benchmark.rows import ABLATION_ROWS, BASELINE_ROWS, SUITES, BenchmarkRow, rows_for_suite
from pathgptomic.benchmark.runner import BenchmarkRun, BenchmarkSettings, load_results, run_benchmark
from pathgptomic.benchmark.semisynthetic import build_semisynthetic_cohort, read_semisynthetic

__all__ = [
    "ABLATION_ROWS",
    "BASELINE_ROWS",
    "SUITES",
    "BenchmarkRow",
    "BenchmarkRun",
    "BenchmarkSettings",
    "CoxBaselineConfig",
    "build_semisynthetic_cohort",
    "fit_predict_cox_pca",
    "load_results",
    "read_semisynthetic",
    "rows_for_suite",
    "run_benchmark",
]
