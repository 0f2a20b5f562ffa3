r"""Design of the penalized Cox baselines: their settings and design matrices.

The settings (:class:`CoxBaselineConfig`) are fixed in advance and stated in the reports;
:func:`design_matrices` builds a baseline's training and test inputs on one outer fold
(steps 1-3 of :mod:`pathgptomic.experiments.baselines`: median imputation and z-scores,
per-block principal components for RNA-seq and every wide genomic block, a final
standardisation), with every statistic taken from the training patients.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pathgptomic.data.cohort import Cohort
from pathgptomic.errors import InputValidationError


@dataclass(frozen=True)
class CoxBaselineConfig:
    """Settings of the penalized Cox baselines (fixed in advance, stated in the report).

    Attributes:
        n_components: Principal components kept per reduced block (RNA-seq, and every
            genomic block wider than ``max_raw_columns``).
        max_raw_columns: Widest genomic block (other than RNA-seq) that enters as raw
            columns; ``None`` never reduces them (the original design, ill-posed on wide data).
        penalizer: Fixed lifelines L2 penalizer :math:`\\lambda`; ``None`` chooses it by inner
            cross-validation over ``penalizer_grid``.
        penalizer_grid: Candidate penalizers of the inner cross-validation.
        inner_folds: Folds of the inner cross-validation (stratified by event).
        max_steps: Newton-Raphson steps before a fit counts as not converged.
        time_limit_s: Seconds per cell (all fits of the cell) before it counts as not converged.
        blocks: Genomic blocks used besides RNA-seq.
    """

    n_components: int = 10
    max_raw_columns: int | None = 50
    penalizer: float | None = None
    penalizer_grid: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
    inner_folds: int = 3
    max_steps: int = 100
    time_limit_s: float = 120.0
    blocks: tuple[str, ...] = ("cnv", "mut")

    def __post_init__(self) -> None:
        object.__setattr__(self, "blocks", tuple(self.blocks))
        object.__setattr__(self, "penalizer_grid", tuple(float(p) for p in self.penalizer_grid))
        if self.n_components < 1:
            raise InputValidationError(f"CoxBaselineConfig.n_components must be >= 1, got {self.n_components}")
        if self.penalizer is None and not self.penalizer_grid:
            raise InputValidationError("CoxBaselineConfig: give a penalizer or a non-empty penalizer_grid")
        if any(p <= 0 for p in self.penalizer_grid) or (self.penalizer is not None and self.penalizer < 0):
            raise InputValidationError("CoxBaselineConfig: penalizers must be > 0 (grid) / >= 0 (fixed)")
        if self.inner_folds < 2 or self.max_steps < 1 or self.time_limit_s <= 0:
            raise InputValidationError("CoxBaselineConfig: inner_folds >= 2, max_steps >= 1 and time_limit_s > 0 required")

    def describe(self) -> str:
        """One sentence stating the design, for reports."""
        raw = (
            "every other genomic block enters raw"
            if self.max_raw_columns is None
            else f"other genomic blocks enter raw up to {self.max_raw_columns} columns, wider ones are reduced the same way"
        )
        pen = (
            f"penalizer {self.penalizer} (fixed)"
            if self.penalizer is not None
            else f"penalizer chosen per training fold by inner {self.inner_folds}-fold CV over "
            f"{list(self.penalizer_grid)} (mean inner C-index)"
        )
        return (
            f"first {self.n_components} PCs of the RNA-seq block; {raw}; {pen}; Newton-Raphson capped at "
            f"{self.max_steps} steps and {self.time_limit_s:g} s per cell, a ConvergenceWarning is an error "
            "(status `not_converged`, excluded from every claim)"
        )


def _standardize(train: pd.DataFrame, test: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Median-impute and z-score with the training rows' statistics."""
    from pathgptomic.data import FeatureStandardizer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        std = FeatureStandardizer().fit(train)
        return np.asarray(std.transform(train), dtype=float), np.asarray(std.transform(test), dtype=float)


def _input_blocks(cohort: Cohort, inputs: str, cfg: CoxBaselineConfig) -> list[tuple[str, pd.DataFrame, bool]]:
    """``(name, block, reduce by PCA)`` for the baseline's inputs (non-empty blocks only)."""
    if inputs not in ("genomic", "genomic_clinical", "clinical"):
        raise InputValidationError(f"baseline inputs must be genomic, genomic_clinical or clinical, got {inputs!r}")
    out: list[tuple[str, pd.DataFrame, bool]] = []
    if inputs != "clinical":
        for name in ("rnaseq", *cfg.blocks):
            block = cohort.blocks.get(name)
            if block is None or block.shape[1] == 0 or any(o[0] == name for o in out):
                continue
            wide = cfg.max_raw_columns is not None and block.shape[1] > cfg.max_raw_columns
            out.append((name, block, name == "rnaseq" or wide))
        if not out:
            raise InputValidationError(f"{cohort.source or 'cohort'}: no genomic features for the Cox baseline.")
        if cfg.max_raw_columns is None and not any(reduce for _, _, reduce in out):
            # no RNA block and nothing wide: the PCA runs on all genomic columns together
            merged = pd.concat([b.add_suffix(f"_{n}") for n, b, _ in out], axis=1)
            out = [("genomic", merged, True)]
    if inputs != "genomic":
        clin = cohort.blocks.get("clinical")
        if clin is None or clin.shape[1] == 0:
            raise InputValidationError(
                f"{cohort.source or 'cohort'}: no clinical covariates; this baseline needs a 'clinical' block "
                "(TCGA layout: age, is_female; generic layout: extra clinical.csv columns)."
            )
        out.append(("clinical", clin, False))
    return out


def design_matrices(
    cohort: Cohort, train_idx: np.ndarray, test_idx: np.ndarray, inputs: str, config: CoxBaselineConfig
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Training and test designs of a baseline (steps 1-3 of the module docstring).

    Args:
        cohort: The patients.
        train_idx: Positions of the training patients (all statistics come from them).
        test_idx: Positions of the test patients.
        inputs: ``genomic``, ``genomic_clinical`` or ``clinical``.
        config: Component count and raw-width limit.

    Returns:
        ``(x_train, x_test, column descriptions)``, standardised with training statistics.

    Raises:
        InputValidationError: The cohort lacks the needed blocks.
    """
    from sklearn.decomposition import PCA

    tr, te = np.asarray(train_idx), np.asarray(test_idx)
    parts_tr, parts_te, names = [], [], []
    for name, block, reduce in _input_blocks(cohort, inputs, config):
        z_tr, z_te = _standardize(block.iloc[tr], block.iloc[te])
        if reduce:
            k = int(min(config.n_components, z_tr.shape[1], len(tr) - 1))
            pca = PCA(n_components=k, random_state=0).fit(z_tr)
            z_tr, z_te = pca.transform(z_tr), pca.transform(z_te)
            names += [f"{name}_PC{i + 1}" for i in range(k)]
        else:
            names += [f"{c}_{name}" for c in block.columns]
        parts_tr.append(z_tr)
        parts_te.append(z_te)
    x_tr, x_te = np.concatenate(parts_tr, axis=1), np.concatenate(parts_te, axis=1)
    keep = x_tr.std(axis=0) > 1e-8
    mu, sd = x_tr[:, keep].mean(axis=0), x_tr[:, keep].std(axis=0)
    return (x_tr[:, keep] - mu) / sd, (x_te[:, keep] - mu) / sd, [n for n, k in zip(names, keep) if k]


__all__ = ["CoxBaselineConfig", "design_matrices"]
