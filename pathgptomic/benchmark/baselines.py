r"""Classical baseline: penalized Cox proportional hazards on principal components.

Per fold, fitted on the training patients only:

1. every input block is median-imputed and z-scored (:class:`~pathgptomic.data.FeatureStandardizer`);
2. the RNA-seq block is reduced to its first ``n_components`` principal components
   (PCA fitted on the training patients); without an RNA-seq block the PCA runs on all
   genomic features instead;
3. the PCs, the raw (standardised) CNV and mutation columns and, optionally, the clinical
   covariates are standardised again and fed to lifelines' ``CoxPHFitter`` with an
   L2 penalty ``penalizer`` (lifelines maximises
   :math:`\ell(\beta) - \tfrac{\lambda}{2}\lVert\beta\rVert_2^2` for ``l1_ratio = 0``).

The risk of a test patient is the linear predictor :math:`x^\top\hat\beta` (higher = riskier).
The defaults (10 RNA PCs + CNV + mutations, penalizer 0.1) are those of the reference
figure in ``../shared/data/README.md`` (0.827 ± 0.018 on TCGA-GBMLGG's 5 splits).
"""

from __future__ import annotations

import logging
import time as _time
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pathgptomic.data.cohort import Cohort
from pathgptomic.errors import InputValidationError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CoxBaselineConfig:
    """Settings of the penalized Cox baseline (fixed in advance).

    Attributes:
        n_components: Principal components of the RNA-seq block (or of all genomic features).
        penalizer: lifelines L2 penalizer :math:`\\lambda`.
        blocks: Genomic blocks kept as raw columns beside the PCs.
    """

    n_components: int = 10
    penalizer: float = 0.1
    blocks: tuple[str, ...] = ("cnv", "mut")


@dataclass
class CoxFoldResult:
    """Test-fold risks of one fitted Cox model."""

    risk: np.ndarray
    n_features: int
    seconds: float


def _design(cohort: Cohort, clinical: bool, cfg: CoxBaselineConfig) -> tuple[pd.DataFrame | None, pd.DataFrame]:
    """``(rna block or None, other columns)`` with block-suffixed names."""
    raw = [cohort.blocks[b].add_suffix(f"_{b}") for b in cfg.blocks if b in cohort.blocks and cohort.blocks[b].shape[1]]
    rna = cohort.blocks.get("rnaseq")
    if rna is not None and rna.shape[1] == 0:
        rna = None
    if clinical:
        if "clinical" not in cohort.blocks or cohort.blocks["clinical"].shape[1] == 0:
            raise InputValidationError(
                f"{cohort.source or 'cohort'}: no clinical covariates; the Cox + clinical baseline needs a "
                "'clinical' block (TCGA layout: age, is_female; generic layout: extra clinical.csv columns)."
            )
        raw.append(cohort.blocks["clinical"].add_suffix("_clin"))
    other = pd.concat(raw, axis=1) if raw else pd.DataFrame(index=cohort.ids)
    if rna is None:
        # no RNA block: the PCA runs on all genomic columns (clinical stays raw)
        gen = [c for c in other.columns if not c.endswith("_clin")]
        rna, other = other[gen], other.drop(columns=gen)
    return rna.add_suffix("_rna") if rna is not None else None, other


def fit_predict_cox_pca(
    cohort: Cohort,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    clinical: bool = False,
    config: CoxBaselineConfig = CoxBaselineConfig(),
) -> CoxFoldResult:
    """Fit the penalized Cox baseline on ``train_idx`` and score ``test_idx``.

    Args:
        cohort: The patients.
        train_idx: Positions of the training patients.
        test_idx: Positions of the test patients.
        clinical: Also use the cohort's clinical covariates.
        config: PCs, penalizer and raw blocks.

    Returns:
        Test risks (linear predictor, shape ``(len(test_idx),)``), number of model inputs
        and fitting time in seconds.

    Raises:
        InputValidationError: No usable features, or lifelines fails to converge.
    """
    from lifelines import CoxPHFitter
    from lifelines.exceptions import ConvergenceError
    from sklearn.decomposition import PCA

    from pathgptomic.data import FeatureStandardizer

    start = _time.perf_counter()
    pca_block, other = _design(cohort, clinical, config)
    tr, te = np.asarray(train_idx), np.asarray(test_idx)
    parts_tr, parts_te = [], []
    if pca_block is not None and pca_block.shape[1]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            std = FeatureStandardizer().fit(pca_block.iloc[tr])
            z_tr, z_te = std.transform(pca_block.iloc[tr]), std.transform(pca_block.iloc[te])
        k = int(min(config.n_components, z_tr.shape[1], len(tr) - 1))
        pca = PCA(n_components=k, random_state=0).fit(z_tr)
        parts_tr.append(pca.transform(z_tr))
        parts_te.append(pca.transform(z_te))
    if other.shape[1]:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            std = FeatureStandardizer().fit(other.iloc[tr])
            parts_tr.append(std.transform(other.iloc[tr]))
            parts_te.append(std.transform(other.iloc[te]))
    if not parts_tr:
        raise InputValidationError(f"{cohort.source or 'cohort'}: no genomic features for the Cox baseline.")
    x_tr = np.concatenate(parts_tr, axis=1).astype(float)
    x_te = np.concatenate(parts_te, axis=1).astype(float)
    keep = x_tr.std(axis=0) > 1e-8  # columns constant in this training fold carry nothing
    x_tr, x_te = x_tr[:, keep], x_te[:, keep]
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    x_tr, x_te = (x_tr - mu) / sd, (x_te - mu) / sd
    cols = [f"x{i}" for i in range(x_tr.shape[1])]
    df = pd.DataFrame(x_tr, columns=cols)
    df["T"] = np.asarray(cohort.time, dtype=float)[tr]
    df["E"] = np.asarray(cohort.event, dtype=int)[tr]
    cph = CoxPHFitter(penalizer=config.penalizer)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cph.fit(df, duration_col="T", event_col="E")
    except ConvergenceError as exc:
        raise InputValidationError(
            f"penalized Cox (penalizer {config.penalizer}) did not converge on this fold: {exc}. "
            "Fix: raise the penalizer or use fewer components."
        ) from exc
    risk = x_te @ cph.params_.reindex(cols).to_numpy()
    return CoxFoldResult(np.asarray(risk, dtype=float), int(x_tr.shape[1]), _time.perf_counter() - start)
