r"""A wide test cohort: a real cohort whose CNV block is widened with copy-number noise.

The real CNV columns are kept; ``n_columns - p_real`` noise columns are appended. Noise
comes in gene blocks (a chromosome segment shares its copy number), and each column has
the marginal distribution of a real CNV column:

.. math::

    z_{ib} \sim N(0, 1), \qquad
    x_{ij} = \sqrt{r}\, z_{i\,b(j)} + \sqrt{1 - r}\,\varepsilon_{ij}, \quad \varepsilon_{ij} \sim N(0, 1),

    v_{ij} = \hat F_{t(b)}^{-1}\big(\Phi(x_{ij})\big),

where :math:`b(j)` is the block of column :math:`j` (block sizes drawn uniformly in
``block_size``), :math:`r` the within-block latent correlation and :math:`\hat F_{t(b)}^{-1}`
the empirical quantile function (inverted CDF) of a real CNV column :math:`t(b)` drawn per
block. Values are therefore the real discrete calls (-2..2) with the real frequencies, columns
of one block are strongly correlated (as the real chr7 / chr9p columns are), and the noise is
independent of survival by construction. Deterministic by ``seed``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from pathgptomic.data.cohort import Cohort
from pathgptomic.errors import InputValidationError

#: Prefix of the noise columns' names (``NOISECNV0001`` …): never a real gene symbol.
NOISE_PREFIX = "NOISECNV"


def _block_sizes(n: int, block_size: tuple[int, int], rng: np.random.Generator) -> list[int]:
    """Sizes in ``[lo, hi]`` summing to ``n``."""
    lo, hi = block_size
    sizes: list[int] = []
    while sum(sizes) < n:
        sizes.append(int(rng.integers(lo, hi + 1)))
    sizes[-1] -= sum(sizes) - n
    return [s for s in sizes if s > 0]


def copy_number_noise(
    template: pd.DataFrame,
    n_columns: int,
    *,
    seed: int = 0,
    block_size: tuple[int, int] = (5, 40),
    correlation: float = 0.9,
) -> pd.DataFrame:
    """``n_columns`` noise CNV columns for the patients (rows) of ``template``.

    Args:
        template: Real CNV calls, shape ``(n, p)``; each block copies the marginal of one of
            its columns (missing values ignored).
        n_columns: Noise columns to draw.
        seed: Seed of the draw.
        block_size: Inclusive range of gene-block sizes.
        correlation: Within-block latent correlation :math:`r \\in [0, 1)`.

    Returns:
        Float frame ``(n, n_columns)`` indexed like ``template``, columns ``NOISECNV0001`` ….

    Raises:
        InputValidationError: Empty template or settings out of range.
    """
    from scipy.stats import norm

    usable = [c for c in template.columns if template[c].notna().sum() > 1 and template[c].nunique() > 1]
    if not usable:
        raise InputValidationError("the CNV template has no non-constant column to copy marginals from")
    if n_columns < 1 or not 0 <= correlation < 1 or not 1 <= block_size[0] <= block_size[1]:
        raise InputValidationError(
            f"n_columns >= 1, 0 <= correlation < 1 and 1 <= block_size[0] <= block_size[1] required; got "
            f"{n_columns}, {correlation}, {block_size}"
        )
    rng = np.random.default_rng(seed)
    n = len(template)
    cols: list[np.ndarray] = []
    for size in _block_sizes(n_columns, block_size, rng):
        values = template[usable[int(rng.integers(len(usable)))]].dropna().to_numpy(dtype=float)
        latent = rng.standard_normal(n)
        x = np.sqrt(correlation) * latent[:, None] + np.sqrt(1 - correlation) * rng.standard_normal((n, size))
        cols.append(np.quantile(values, norm.cdf(x), method="inverted_cdf"))
    data = np.concatenate(cols, axis=1)
    names = [f"{NOISE_PREFIX}{j + 1:04d}" for j in range(n_columns)]
    return pd.DataFrame(data, index=template.index, columns=names)


def widen_cnv(
    cohort: Cohort,
    n_columns: int = 1000,
    *,
    seed: int = 0,
    block_size: tuple[int, int] = (5, 40),
    correlation: float = 0.9,
) -> Cohort:
    """``cohort`` with its CNV block widened to ``n_columns`` columns (real ones first).

    Args:
        cohort: A cohort with a ``cnv`` block (e.g. TCGA-GBMLGG, 30 real CNV columns).
        n_columns: Total CNV width after widening (must exceed the real width).
        seed, block_size, correlation: See :func:`copy_number_noise`.

    Returns:
        A new cohort (other blocks, outcomes and slides unchanged); ``meta["wide_cnv"]``
        records the settings and the real width, and ``source`` says it was widened.

    Raises:
        InputValidationError: No CNV block, or ``n_columns`` not above its width.
    """
    cnv = cohort.blocks.get("cnv")
    if cnv is None or cnv.shape[1] == 0:
        raise InputValidationError(f"{cohort.source or 'cohort'}: no CNV block to widen")
    if n_columns <= cnv.shape[1]:
        raise InputValidationError(f"n_columns ({n_columns}) must exceed the real CNV width ({cnv.shape[1]})")
    noise = copy_number_noise(cnv, n_columns - cnv.shape[1], seed=seed, block_size=block_size, correlation=correlation)
    info = {
        "real_columns": int(cnv.shape[1]),
        "n_columns": int(n_columns),
        "seed": seed,
        "block_size": list(block_size),
        "correlation": correlation,
    }
    return replace(
        cohort,
        blocks={**cohort.blocks, "cnv": pd.concat([cnv, noise], axis=1)},
        source=f"{cohort.source} (CNV widened to {n_columns} columns with copy-number noise, seed {seed})",
        meta={**cohort.meta, "wide_cnv": info},
    )


def keep_events(cohort: Cohort, n_events: int, *, seed: int = 0) -> Cohort:
    """Every censored patient plus ``n_events`` patients with an event, drawn at random.

    Lowers the number of events per training fold (e.g. GBMLGG: 569 patients, 187 events;
    ``n_events=94`` leaves ~381 patients and ~75 events per 80 % training fold, the regime
    in which a Cox model on ~1,000 raw columns becomes ill-posed). Patient order is kept.

    Raises:
        InputValidationError: ``n_events`` not in ``[1, cohort.n_events]``.
    """
    event = np.asarray(cohort.event, dtype=int)
    if not 1 <= n_events <= int(event.sum()):
        raise InputValidationError(f"n_events must lie in [1, {int(event.sum())}], got {n_events}")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(np.flatnonzero(event == 1), size=n_events, replace=False)
    keep = np.sort(np.concatenate([np.flatnonzero(event == 0), chosen]))
    sub = cohort.subset(keep)
    return replace(
        sub,
        source=f"{cohort.source}; all censored + {n_events} random event patients (seed {seed})",
        meta={**cohort.meta, "keep_events": {"n_events": n_events, "seed": seed}},
    )


__all__ = ["NOISE_PREFIX", "copy_number_noise", "keep_events", "widen_cnv"]
