"""Benchmarks that reproduce the paper's tables (baselines, RNA encoder x fusion grid) and
the semi-synthetic multimodal cohort built on real TCGA genomics.

Entry points: :func:`run_benchmark` (``pathgptomic benchmark``) and
:func:`build_semisynthetic_cohort` (``pathgptomic semisynthetic``).

The names below are imported lazily (PEP 562 ``__getattr__``), so ``pathgptomic --help``
(which loads :mod:`pathgptomic.experiments.cli`) imports neither torch nor the runner.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pathgptomic import lazy_exports

if TYPE_CHECKING:
    from pathgptomic.experiments.baselines import CoxBaselineConfig, fit_predict_cox_pca
    from pathgptomic.experiments.rows import (
        ABLATION_ROWS,
        BASELINE_ROWS,
        SUITES,
        BenchmarkRow,
        rows_for_suite,
    )
    from pathgptomic.experiments.runner import (
        BenchmarkRun,
        BenchmarkSettings,
        load_results,
        run_benchmark,
    )
    from pathgptomic.experiments.semisynthetic import (
        build_semisynthetic_cohort,
        read_semisynthetic,
    )

#: Public name → submodule defining it.
_LAZY: dict[str, str] = {
    "ABLATION_ROWS": "rows",
    "BASELINE_ROWS": "rows",
    "SUITES": "rows",
    "BenchmarkRow": "rows",
    "BenchmarkRun": "runner",
    "BenchmarkSettings": "runner",
    "CoxBaselineConfig": "baselines",
    "build_semisynthetic_cohort": "semisynthetic",
    "fit_predict_cox_pca": "baselines",
    "load_results": "runner",
    "read_semisynthetic": "semisynthetic",
    "rows_for_suite": "rows",
    "run_benchmark": "runner",
}

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

__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
