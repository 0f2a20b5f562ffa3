"""Per-sample value binning, faithful to scGPT's ``scgpt.preprocess.binning``.

scGPT turns each cell's expression values into integer bins before the value encoder:

.. math::

    e = \\operatorname{quantile}(x_{nz}, \\operatorname{linspace}(0, 1, n_{bins} - 1)),\\qquad
    b_i = \\lceil u_i \\cdot (r_i - l_i) + l_i \\rceil,\\; u_i \\sim U[0, 1)

with :math:`l_i` = ``np.digitize(x_i, e)`` and :math:`r_i` = ``np.digitize(x_i, e, right=True)``
(``_digitize``: values tied with bin edges are spread uniformly over the bins they span).
Zeros stay 0 ("not expressed"); non-zero values get bins in ``1..n_bins-1``.

The official code draws :math:`u` from NumPy's global generator, so the bins of tied values
change between runs. Passing ``rng`` (a seeded ``numpy.random.Generator``) gives the
deterministic mode: same input and seed, same bins.

Because the edges are quantiles of the sample's own values and each value is only compared
with them, the bins depend only on the within-sample ranks: any strictly increasing
transform (scaling, ``log1p``, a shift) leaves them unchanged. :func:`rank_binning` makes this
exact (it bins the tie-preserving dense ranks) and is what the bulk RNA-seq path uses.
"""

from __future__ import annotations

import logging

import numpy as np

logger = logging.getLogger(__name__)


def digitize(x: np.ndarray, bins: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Official ``_digitize(x, bins, side="both")`` with optional seeded tie-breaking.

    Args:
        x: Values, shape ``(m,)``.
        bins: Increasing bin edges, shape ``(k,)``.
        rng: Generator for the uniform draws; ``None`` uses ``np.random.rand`` like the official code.

    Returns:
        int64 bin indices, shape ``(m,)``, in ``0..k``.
    """
    x = np.asarray(x)
    left = np.digitize(x, bins)
    right = np.digitize(x, bins, right=True)
    rands = np.random.rand(len(x)) if rng is None else rng.random(len(x))
    return np.ceil(rands * (right - left) + left).astype(np.int64)


def binning(row: np.ndarray, n_bins: int = 51, rng: np.random.Generator | None = None) -> np.ndarray:
    """Official ``scgpt.preprocess.binning`` of one sample.

    Args:
        row: Expression values of one sample, shape ``(g,)``; zeros mean "not expressed".
        n_bins: Number of bins including the zero bin (51 for every released checkpoint).
        rng: Seeded generator for deterministic tie-breaking; ``None`` = official random.

    Returns:
        int64 bins, shape ``(g,)``: 0 where ``row == 0``, otherwise in ``1..n_bins-1``.
        An all-zero (or empty) row gives all zeros.
    """
    row = np.asarray(row, dtype=np.float64)
    if row.size == 0 or row.max() == 0:
        return np.zeros(row.shape, dtype=np.int64)
    edges_q = np.linspace(0, 1, n_bins - 1)
    if row.min() <= 0:
        nz = np.nonzero(row)[0]
        nz_row = row[nz]
        bins = np.quantile(nz_row, edges_q)
        out = np.zeros(row.shape, dtype=np.int64)
        out[nz] = digitize(nz_row, bins, rng)
        return out
    bins = np.quantile(row, edges_q)
    return digitize(row, bins, rng)


def dense_ranks(row: np.ndarray) -> np.ndarray:
    """Tie-preserving dense ranks ``1..k`` of ``row`` (equal values share a rank)."""
    row = np.asarray(row)
    _, inverse = np.unique(row, return_inverse=True)
    return inverse.reshape(row.shape).astype(np.float64) + 1.0


def rank_binning(row: np.ndarray, n_bins: int = 51, rng: np.random.Generator | None = None) -> np.ndarray:
    """Bins of every value of ``row`` from its within-sample ranks (no zero bin).

    Equals :func:`binning` of the sample shifted to be strictly positive (all values count as
    expressed), and is exactly invariant to any strictly increasing transform of the row,
    including negative z-scores.

    Args:
        row: Finite values of one sample, shape ``(g,)``; may be negative.
        n_bins: Number of bins including the (unused) zero bin.
        rng: Seeded generator for deterministic tie-breaking; ``None`` = official random.

    Returns:
        int64 bins in ``1..n_bins-1``, shape ``(g,)``.
    """
    row = np.asarray(row, dtype=np.float64)
    if row.size == 0:
        return np.zeros(0, dtype=np.int64)
    return binning(dense_ranks(row), n_bins=n_bins, rng=rng)
