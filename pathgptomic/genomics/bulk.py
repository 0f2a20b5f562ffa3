"""Bulk RNA-seq → scGPT inputs: reading, gene mapping, coverage, and how values are used.

Inputs:

* the ``rnaseq`` block of a :class:`~pathgptomic.data.cohort.Cohort` (TCGA layout: the
  ``<GENE>_rnaseq`` columns, already stripped of their suffix by the reader);
* a generic expression CSV, samples × genes (first column = sample id, other columns = gene
  symbols), or genes × samples with ``genes_as_rows=True``. A trailing ``_rnaseq`` on a
  column name is removed, so the TCGA file itself also works.

Gene symbols are matched to the checkpoint vocabulary by exact string (as in the official
code). The coverage report lists the genes found and the missing ones; an input with fewer
than ``min_genes`` mapped genes is refused with :class:`InputValidationError`.

How values become scGPT inputs (``value_mode``):

* ``"counts"`` — non-negative expression (counts, TPM, log-normalised): the official rule;
  zeros mean "not expressed" and are left out of the sequence, the non-zero values are
  binned per sample.
* ``"ranks"`` — values with negatives, e.g. the z-scores of the MCAT/PORPOISE TCGA-GBMLGG file: there is
  no "not expressed" value (a z-score of 0 is the gene's cohort mean), so every finite value
  is kept and the values are binned by their **within-sample ranks**. This equals shifting
  each sample by its minimum (so all values are > 0) and applying the official binning; it
  keeps the sample's rank order exactly and is invariant to any strictly increasing
  transform of the sample.
* ``"auto"`` (default) — ``"ranks"`` when the matrix holds any negative value, else ``"counts"``.

What this means: scGPT sees only which genes are present and, per sample, in which of 50
quantile bins each gene falls. For z-scores the bins rank a gene *relative to its own cohort
mean and spread*, not its absolute abundance, so a gene that is low in absolute terms but
high for this tumour lands in a high bin. That is a different input distribution from the
single-cell counts scGPT was pre-trained on; the embeddings are still deterministic functions
of each sample's expression ranks. NaN values (not measured) are left out of that sample's
sequence. A sample with more than ``max_length - 1`` kept genes is represented by a
(deterministically seeded) random subset of them, as in the official embedding.

Gene set (``rna_features`` default, ``max_length=None``): every sample is embedded with the
**same** genes — all mapped genes, or, for panels larger than :data:`MAX_BULK_GENES`, one fixed
seeded subset (:func:`select_genes`) — and the sequence is long enough that nothing is sampled
per sample. Why: the official per-sample random subset (when a sample has more than
``max_length - 1`` genes) gives each patient a different random part of the panel; with
z-scores every gene is "expressed", so on TCGA-GBMLGG (1,544 genes, ``max_length`` 1,200) each
patient would see a random 78 % of the genes, and that sampling noise swamped the signal
(demo model, 10 PCs + penalised Cox over the 5 PORPOISE splits: C-index 0.48 with per-sample
sampling, 0.73 with the fixed gene set; ``benchmarks/results/scgpt_cindex_pca_cox.md``). The official
behaviour stays available by passing an integer ``max_length``.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from pathgptomic.errors import DataQualityWarning, InputValidationError
from pathgptomic.genomics.vocab import GeneCoverage, GeneVocab

if TYPE_CHECKING:
    from pathgptomic.data.cohort import Cohort

logger = logging.getLogger(__name__)

#: Fewest genes that must map to the vocabulary before an input is embedded.
DEFAULT_MIN_GENES = 100
#: Below this fraction of mapped genes a DataQualityWarning is issued.
WARN_FRACTION = 0.5
#: Most genes a bulk sample is embedded with by default (sequence length 2048 with ``<cls>``).
MAX_BULK_GENES = 2047


@dataclass(frozen=True)
class MappedExpression:
    """Expression restricted to vocabulary genes.

    Attributes:
        sample_ids: Sample/patient ids, shape ``(n,)``.
        genes: Mapped gene symbols, shape ``(g,)``.
        gene_ids: Their vocabulary ids, shape ``(g,)`` int64.
        values: Expression, shape ``(n, g)`` float64; NaN = not measured.
        value_mode: ``"counts"`` or ``"ranks"`` (how values are binned).
        coverage: Genes found / given and the missing ones.
    """

    sample_ids: np.ndarray
    genes: tuple[str, ...]
    gene_ids: np.ndarray
    values: np.ndarray
    value_mode: str
    coverage: GeneCoverage


def _strip_suffix(columns: pd.Index) -> list[str]:
    return [str(c)[: -len("_rnaseq")] if str(c).endswith("_rnaseq") else str(c).strip() for c in columns]


def expression_from_cohort(cohort: "Cohort") -> pd.DataFrame:
    """The cohort's ``rnaseq`` block, shape ``(n, g)``, indexed by patient id.

    Raises:
        InputValidationError: When the cohort has no ``rnaseq`` block or it is empty.
    """
    if "rnaseq" not in cohort.blocks:
        raise InputValidationError(
            f"cohort {cohort.source or ''} has no 'rnaseq' block (blocks: {sorted(cohort.blocks)}); "
            "scGPT features need RNA-seq columns (<GENE>_rnaseq in the TCGA layout, or an rnaseq CSV in the generic layout)"
        )
    df = cohort.blocks["rnaseq"]
    if df.shape[1] == 0:
        raise InputValidationError(f"cohort {cohort.source or ''}: the 'rnaseq' block has no columns")
    return df


def read_expression_csv(path: str | Path, *, genes_as_rows: bool = False) -> pd.DataFrame:
    """Read a generic expression CSV into a samples × genes DataFrame.

    Args:
        path: CSV (optionally .gz). Samples × genes: first column = sample id, the other
            columns gene symbols. With ``genes_as_rows=True`` it is genes × samples: first
            column = gene symbol, the other columns sample ids.
        genes_as_rows: The file is genes × samples.

    Returns:
        Float DataFrame, shape ``(n, g)``, index = sample ids (str), columns = gene symbols.

    Raises:
        InputValidationError: Missing file, duplicate sample ids, non-numeric values.
    """
    path = Path(path)
    if not path.is_file():
        raise InputValidationError(f"{path}: expression file not found")
    df = pd.read_csv(path, index_col=0)
    if genes_as_rows:
        df = df.T
    df.index = df.index.astype(str)
    df.columns = _strip_suffix(df.columns)
    if df.index.duplicated().any():
        dup = df.index[df.index.duplicated()][0]
        raise InputValidationError(
            f"{path}: sample id {dup!r} appears more than once; ids must be unique "
            f"(use genes_as_rows={not genes_as_rows} if the file is transposed)"
        )
    non_numeric = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if non_numeric:
        raise InputValidationError(
            f"{path}: column(s) {', '.join(map(str, non_numeric[:5]))} are not numeric; an expression CSV holds a sample-id column "
            "then numeric gene columns (pass genes_as_rows=True for a genes × samples file)"
        )
    return df.astype(np.float64)


def detect_value_mode(values: np.ndarray) -> str:
    """``"ranks"`` when any finite value is negative, else ``"counts"``."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    return "ranks" if finite.size and finite.min() < 0 else "counts"


def map_expression(
    df: pd.DataFrame,
    vocab: GeneVocab,
    *,
    value_mode: str = "auto",
    min_genes: int = DEFAULT_MIN_GENES,
    source: str = "expression input",
) -> MappedExpression:
    """Map a samples × genes table onto the vocabulary and check coverage.

    Args:
        df: Expression, shape ``(n, g)``, index = sample ids, columns = gene symbols.
        vocab: The checkpoint vocabulary.
        value_mode: ``"auto"``, ``"counts"`` or ``"ranks"`` (module docstring).
        min_genes: Refuse inputs with fewer mapped genes.
        source: Name of the input for messages.

    Returns:
        The mapped expression (only vocabulary genes; the first of duplicate columns kept).

    Raises:
        InputValidationError: Too few mapped genes, or ``"counts"`` with negative values.
    """
    if value_mode not in ("auto", "counts", "ranks"):
        raise InputValidationError(f"value_mode must be 'auto', 'counts' or 'ranks', got {value_mode!r}")
    genes = [str(c) for c in df.columns]
    ids, coverage = vocab.map_genes(genes)
    seen: set[str] = set()
    keep = []
    for j, (g, i) in enumerate(zip(genes, ids)):
        if i >= 0 and g not in seen:
            keep.append(j)
            seen.add(g)
    if coverage.n_found < min_genes:
        hint = ""
        if sum(g.upper().startswith("ENSG") for g in genes) > len(genes) / 2:
            hint = " The columns look like Ensembl ids; scGPT vocabularies use gene symbols (HGNC names)."
        raise InputValidationError(
            f"{source}: only {coverage.n_found} of {coverage.n_given} genes are in the scGPT vocabulary {vocab.source} "
            f"(at least {min_genes} needed). Examples not found: {', '.join(coverage.missing[:8])}.{hint} "
            "Use gene symbols as column names, or point scgpt_folder at a checkpoint whose vocabulary covers your genes."
        )
    if coverage.fraction < WARN_FRACTION:
        warnings.warn(f"{source}: {coverage}", DataQualityWarning, stacklevel=2)
    else:
        logger.info("%s: %s", source, coverage)
    values = df.iloc[:, keep].to_numpy(dtype=np.float64)
    mode = detect_value_mode(values) if value_mode == "auto" else value_mode
    if mode == "counts" and np.nanmin(values, initial=0.0) < 0:
        raise InputValidationError(
            f"{source}: value_mode 'counts' needs non-negative expression but the input has negative values "
            "(z-scores?); use value_mode 'ranks' or 'auto'"
        )
    return MappedExpression(
        sample_ids=np.asarray(df.index.astype(str)),
        genes=tuple(genes[j] for j in keep),
        gene_ids=ids[keep].astype(np.int64),
        values=values,
        value_mode=mode,
        coverage=coverage,
    )


def select_genes(mapped: MappedExpression, max_genes: int = MAX_BULK_GENES, seed: int = 0) -> MappedExpression:
    """Keep at most ``max_genes`` genes, the same for every sample.

    The subset depends only on the set of mapped gene symbols and ``seed`` (a seeded
    permutation of the sorted symbols), so a new cohort with the same columns, in any order,
    gets the same genes.

    Args:
        mapped: Mapped expression, ``(n, g)``.
        max_genes: Most genes to keep.
        seed: Seed of the subset.

    Returns:
        ``mapped`` itself when ``g <= max_genes``, else a copy restricted to the subset
        (columns in the original order; ``coverage`` unchanged).
    """
    if len(mapped.genes) <= max_genes:
        return mapped
    order = sorted(range(len(mapped.genes)), key=lambda j: mapped.genes[j])
    chosen = {order[k] for k in np.random.default_rng(seed).permutation(len(order))[:max_genes]}
    keep = [j for j in range(len(mapped.genes)) if j in chosen]
    logger.info("using a fixed subset of %d of %d mapped genes (seed %d)", len(keep), len(mapped.genes), seed)
    return replace(mapped, genes=tuple(mapped.genes[j] for j in keep), gene_ids=mapped.gene_ids[keep], values=mapped.values[:, keep])
