r"""Classical baselines: penalized Cox on per-block principal components, clinical-only Cox
and late fusion — well-posed on wide blocks, with non-convergence reported, not hidden.

Everything is fitted per outer fold on the training patients only.

**Design matrix** (settings fixed in advance, :class:`CoxBaselineConfig`):

1. every input block is median-imputed and z-scored (:class:`~pathgptomic.data.FeatureStandardizer`);
2. the RNA-seq block, and every other genomic block wider than ``max_raw_columns``, is
   reduced to its first ``n_components`` principal components (PCA fitted on the training
   patients); narrower genomic blocks and the clinical covariates enter as columns;
3. the columns are standardised again; columns constant in the training fold are dropped.

So the number of model inputs is bounded by ``n_components`` per wide block plus
``max_raw_columns`` per narrow block, whatever the width of the data.

**Model**: lifelines' Cox partial likelihood (Efron ties) with an L2 penalty; lifelines
maximises, over standardised columns,

.. math:: \frac{1}{n}\,\ell(\beta) - \frac{\lambda}{2}\lVert\beta\rVert_2^2 .

**Penalizer** :math:`\lambda`: chosen on the training fold only, by inner stratified
``inner_folds``-fold cross-validation over the fixed grid ``penalizer_grid`` (mean inner
C-index; ties go to the larger penalizer); ``penalizer`` fixes it instead. The PCA of step
2 is unsupervised and fitted once on the whole training fold.

**Convergence**: a ``ConvergenceWarning`` raised inside lifelines' Newton-Raphson is
turned into an error, Newton-Raphson is capped at ``max_steps`` steps and the whole cell
at ``time_limit_s`` seconds (checked before each Newton step). A final fit that fails any
of these gives status ``not_converged`` (:data:`STATUS_NOT_CONVERGED`) and no risk — the
benchmark excludes such cells from every claim. An inner-CV candidate that fails is
dropped from the grid.

**Risk**: the linear predictor :math:`x^\top\hat\beta` of a test patient (higher = riskier).

Baselines (:data:`BASELINE_INPUTS`):

- ``genomic``: per-block PCs of the genomic blocks;
- ``genomic_clinical``: the same + the clinical covariates (age, sex in the TCGA layout);
- ``clinical``: the clinical covariates alone;
- ``late_fusion``: the ``genomic`` and ``clinical`` Cox models are fitted on the training
  fold; a second-stage Cox (same penalizer selection) is fitted on their *training-fold*
  risks :math:`(r^G_i, r^C_i)` and applied to the test fold's risks.
"""

from __future__ import annotations

import logging
import time as _time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pathgptomic.data.cohort import Cohort
from pathgptomic.errors import InputValidationError
from pathgptomic.experiments.cox_design import CoxBaselineConfig, design_matrices

logger = logging.getLogger(__name__)

STATUS_OK = "ok"
STATUS_NOT_CONVERGED = "not_converged"
#: Inputs of the classical baselines (``BenchmarkRow.baseline``).
BASELINE_INPUTS = ("genomic", "genomic_clinical", "clinical", "late_fusion")


@dataclass
class CoxFoldResult:
    """Outcome of one baseline cell.

    Attributes:
        risk: Test risks, shape ``(len(test_idx),)``; NaN when not converged.
        n_features: Model inputs (columns of the design; for late fusion, first-stage risks).
        seconds: Wall time of the cell.
        status: ``"ok"`` or ``"not_converged"``.
        reason: Why the cell did not converge ("" when ok).
        penalizer: The penalizer used (NaN when not converged before one was chosen).
        train_risk: In-sample risks of the training patients (used by late fusion).
    """

    risk: np.ndarray
    n_features: int
    seconds: float
    status: str = STATUS_OK
    reason: str = ""
    penalizer: float = float("nan")
    train_risk: np.ndarray = field(default_factory=lambda: np.empty(0))

    @property
    def converged(self) -> bool:
        """Whether the cell's final fit converged."""
        return self.status == STATUS_OK


class CoxNotConverged(Exception):
    """A lifelines fit that did not converge (or ran past the cell's time cap)."""


@dataclass
class CoxFit:
    """Coefficients of one lifelines fit on a standardised design.

    Attributes:
        beta: Coefficients per input column (0 for columns constant in the fit data).
        converged: False when lifelines warned (only possible with ``strict=False``).
        warning: The ConvergenceWarning text ("" when none).
        seconds: Wall time of the fit.
    """

    beta: np.ndarray
    converged: bool
    warning: str
    seconds: float


def _capped_fitter(penalizer: float, deadline: float | None, strict: bool):
    """A lifelines ``SemiParametricPHFitter`` (what ``CoxPHFitter`` uses) with a wall-clock
    check before every Newton step and, when ``strict``, ConvergenceWarning as an error."""
    from lifelines.exceptions import ConvergenceWarning
    from lifelines.fitters.coxph_fitter import SemiParametricPHFitter

    class _Capped(SemiParametricPHFitter):
        def _choose_gradient_calculator(self, T, X, entries):
            inner: Callable = super()._choose_gradient_calculator(T, X, entries)

            def timed(*args):
                if deadline is not None and _time.perf_counter() > deadline:
                    raise CoxNotConverged("time cap per cell reached during Newton-Raphson")
                return inner(*args)

            return timed

        def _newton_raphson_for_efron_model(self, *args, **kwargs):
            with warnings.catch_warnings():
                warnings.simplefilter("error" if strict else "always", ConvergenceWarning)
                return super()._newton_raphson_for_efron_model(*args, **kwargs)

    return _Capped(penalizer=penalizer)


def fit_cox(
    x: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    penalizer: float,
    *,
    max_steps: int = 100,
    deadline: float | None = None,
    strict: bool = True,
) -> CoxFit:
    """Fit an L2-penalized Cox model with lifelines on the columns of ``x``.

    Columns constant in ``x`` get coefficient 0 (lifelines would refuse them).

    Args:
        x: Design, shape ``(n, p)``.
        time: Follow-up times, shape ``(n,)``.
        event: Event indicators, shape ``(n,)``.
        penalizer: lifelines penalizer :math:`\\lambda` (objective in the module docstring).
        max_steps: Newton-Raphson step cap.
        deadline: ``time.perf_counter()`` value after which no further Newton step starts.
        strict: Raise :class:`CoxNotConverged` on a ConvergenceWarning; otherwise return the
            fit with ``converged=False`` and the warning text.

    Returns:
        A :class:`CoxFit`.

    Raises:
        CoxNotConverged: Warning (strict), lifelines ``ConvergenceError``, or the deadline passed.
    """
    from lifelines.exceptions import ConvergenceError, ConvergenceWarning

    start = _time.perf_counter()
    x = np.asarray(x, dtype=float)
    keep = x.std(axis=0) > 1e-8
    beta = np.zeros(x.shape[1])
    if not keep.any():
        raise CoxNotConverged("no non-constant input column")
    cols = [f"x{i}" for i in range(int(keep.sum()))]
    df = pd.DataFrame(x[:, keep], columns=cols).assign(T=np.asarray(time, dtype=float), E=np.asarray(event, dtype=int))
    fitter = _capped_fitter(penalizer, deadline, strict)
    with warnings.catch_warnings(record=True) as caught:
        # lifelines' pre-fit data notes are ignored; convergence is judged inside Newton-Raphson (_capped_fitter)
        warnings.simplefilter("ignore")
        try:
            fitter.fit(df, duration_col="T", event_col="E", fit_options={"max_steps": max_steps})
        except ConvergenceWarning as exc:
            raise CoxNotConverged(f"lifelines: {' '.join(str(exc).split())[:160]}") from exc
        except ConvergenceError as exc:
            raise CoxNotConverged(f"lifelines ConvergenceError: {' '.join(str(exc).split())[:160]}") from exc
    conv = [str(w.message) for w in caught if issubclass(w.category, ConvergenceWarning)]
    beta[keep] = fitter.params_.reindex(cols).to_numpy()
    return CoxFit(beta, not conv, " ".join(" ".join(conv).split())[:200], _time.perf_counter() - start)


def _inner_cindex(x, time, event, penalizer, folds, cfg, deadline) -> float:
    """Mean C-index over the inner folds (NaN when a fold fails to converge; a constant risk counts 0.5)."""
    from pathgptomic.evaluation import fold_cindex

    scores = []
    for a, b in folds:
        try:
            fit = fit_cox(x[a], time[a], event[a], penalizer, max_steps=cfg.max_steps, deadline=deadline)
        except CoxNotConverged as exc:
            if "time cap" in str(exc):
                raise
            return float("nan")
        risk = x[b] @ fit.beta
        scores.append(fold_cindex(risk, time[b], event[b]))
    return float(np.mean(scores))


def choose_penalizer(
    x: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    config: CoxBaselineConfig,
    *,
    deadline: float | None = None,
    seed: int = 0,
) -> tuple[float, dict[float, float]]:
    """The penalizer of ``config`` (fixed) or the grid value with the best mean inner C-index.

    Inner folds: scikit-learn ``StratifiedKFold(inner_folds, shuffle=True, random_state=seed)``
    on the event indicator of the training patients passed in.

    Returns:
        ``(penalizer, {candidate: mean inner C-index})`` (empty dict when fixed).

    Raises:
        CoxNotConverged: No candidate converged on every inner fold, or the time cap passed.
    """
    from sklearn.model_selection import StratifiedKFold

    if config.penalizer is not None:
        return float(config.penalizer), {}
    n_splits = int(min(config.inner_folds, max(2, min(np.bincount(np.asarray(event, dtype=int), minlength=2)))))
    folds = list(StratifiedKFold(n_splits, shuffle=True, random_state=seed).split(x, event))
    scores = {p: _inner_cindex(x, time, event, p, folds, config, deadline) for p in config.penalizer_grid}
    valid = {p: s for p, s in scores.items() if np.isfinite(s)}
    if not valid:
        raise CoxNotConverged(f"no penalizer of {list(config.penalizer_grid)} converged on every inner fold")
    best = max(valid.values())
    return max(p for p, s in valid.items() if s >= best - 1e-12), scores


def _not_converged(n_test: int, n_features: int, start: float, reason: str, penalizer: float = float("nan")) -> CoxFoldResult:
    return CoxFoldResult(np.full(n_test, np.nan), n_features, _time.perf_counter() - start, STATUS_NOT_CONVERGED, reason, penalizer)


def _fit_stage(
    x_tr: np.ndarray,
    x_te: np.ndarray,
    time: np.ndarray,
    event: np.ndarray,
    config: CoxBaselineConfig,
    start: float,
    deadline: float,
) -> CoxFoldResult:
    """Penalizer selection + final fit on a ready design; never raises on non-convergence."""
    pen = float("nan")
    try:
        pen, _ = choose_penalizer(x_tr, time, event, config, deadline=deadline)
        fit = fit_cox(x_tr, time, event, pen, max_steps=config.max_steps, deadline=deadline)
    except CoxNotConverged as exc:
        return _not_converged(len(x_te), x_tr.shape[1], start, str(exc), pen)
    return CoxFoldResult(x_te @ fit.beta, x_tr.shape[1], _time.perf_counter() - start, STATUS_OK, "", pen, x_tr @ fit.beta)


def fit_predict_cox(
    cohort: Cohort,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    inputs: str = "genomic",
    config: CoxBaselineConfig = CoxBaselineConfig(),
    start: float | None = None,
) -> CoxFoldResult:
    """Fit one penalized Cox baseline on ``train_idx`` and score ``test_idx``.

    Args:
        cohort: The patients.
        train_idx: Positions of the training patients.
        test_idx: Positions of the test patients.
        inputs: ``genomic``, ``genomic_clinical`` or ``clinical`` (see the module docstring).
        config: Design, penalizer selection and caps.
        start: ``time.perf_counter()`` at the start of the cell (the time cap counts from it).

    Returns:
        A :class:`CoxFoldResult` (status ``not_converged`` and NaN risks when a fit failed).

    Raises:
        InputValidationError: The cohort lacks the needed blocks.
    """
    start = _time.perf_counter() if start is None else start
    x_tr, x_te, _ = design_matrices(cohort, train_idx, test_idx, inputs, config)
    tr = np.asarray(train_idx)
    time, event = np.asarray(cohort.time, dtype=float)[tr], np.asarray(cohort.event, dtype=int)[tr]
    return _fit_stage(x_tr, x_te, time, event, config, start, start + config.time_limit_s)


def fit_predict_cox_pca(
    cohort: Cohort,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    clinical: bool = False,
    config: CoxBaselineConfig = CoxBaselineConfig(),
) -> CoxFoldResult:
    """The genomic (``clinical=False``) or genomic + clinical penalized Cox baseline.

    Same as :func:`fit_predict_cox` with ``inputs="genomic"`` / ``"genomic_clinical"``.
    """
    return fit_predict_cox(cohort, train_idx, test_idx, inputs="genomic_clinical" if clinical else "genomic", config=config)


def fit_predict_late_fusion(
    cohort: Cohort,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    *,
    config: CoxBaselineConfig = CoxBaselineConfig(),
) -> CoxFoldResult:
    r"""Late fusion: a Cox model on the genomic and clinical baselines' risks.

    Stage 1 fits the ``genomic`` and ``clinical`` baselines on the training fold. Stage 2
    fits a penalized Cox (same penalizer selection) on their training-fold risks
    :math:`(r^G_i, r^C_i)`, standardised, and applies it to the test fold's stage-1 risks:
    :math:`\hat\eta = \gamma_G r^G + \gamma_C r^C`.

    Returns:
        A :class:`CoxFoldResult`; ``not_converged`` when any stage did not converge.

    Raises:
        InputValidationError: No genomic or no clinical block.
    """
    start = _time.perf_counter()
    parts = []
    for inputs in ("genomic", "clinical"):
        res = fit_predict_cox(cohort, train_idx, test_idx, inputs=inputs, config=config, start=start)
        if not res.converged:
            return _not_converged(len(test_idx), 2, start, f"stage-1 {inputs} model: {res.reason}")
        parts.append(res)
    r_tr = np.column_stack([p.train_risk for p in parts])
    r_te = np.column_stack([p.risk for p in parts])
    mu, sd = r_tr.mean(axis=0), r_tr.std(axis=0)
    sd[sd == 0] = 1.0
    tr = np.asarray(train_idx)
    time, event = np.asarray(cohort.time, dtype=float)[tr], np.asarray(cohort.event, dtype=int)[tr]
    return _fit_stage((r_tr - mu) / sd, (r_te - mu) / sd, time, event, config, start, start + config.time_limit_s)


def fit_predict_baseline(
    cohort: Cohort,
    train_idx: np.ndarray,
    test_idx: np.ndarray,
    inputs: str,
    config: CoxBaselineConfig,
) -> CoxFoldResult:
    """Dispatch on ``inputs`` (one of :data:`BASELINE_INPUTS`)."""
    if inputs == "late_fusion":
        return fit_predict_late_fusion(cohort, train_idx, test_idx, config=config)
    if inputs not in BASELINE_INPUTS:
        raise InputValidationError(f"unknown baseline {inputs!r}; known: {BASELINE_INPUTS}")
    return fit_predict_cox(cohort, train_idx, test_idx, inputs=inputs, config=config)


__all__ = [
    "BASELINE_INPUTS",
    "STATUS_NOT_CONVERGED",
    "CoxBaselineConfig",
    "CoxFit",
    "CoxFoldResult",
    "CoxNotConverged",
    "choose_penalizer",
    "design_matrices",
    "fit_cox",
    "fit_predict_baseline",
    "fit_predict_cox",
    "fit_predict_cox_pca",
    "fit_predict_late_fusion",
]
