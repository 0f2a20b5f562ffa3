"""Single-cell data for pre-training: scanpy's bundled ``pbmc68k_reduced`` or any ``.h5ad``.

``pbmc68k_reduced`` (700 cells × 765 genes, 10 cell types in ``obs["bulk_labels"]``) ships
inside the scanpy package (``scanpy/datasets/10x_pbmc68k_reduced.h5ad``); it is read with
``anndata.read_h5ad`` from that path, so nothing is downloaded. Its ``.X`` is scaled
(negative values); ``.raw.X`` holds the non-negative log-normalised expression used here.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pathgptomic.errors import InputValidationError

logger = logging.getLogger(__name__)

PBMC68K_NAME = "pbmc68k_reduced"
PBMC68K_LABELS = "bulk_labels"


@dataclass(frozen=True)
class CellData:
    """Dense single-cell expression with cell-type labels.

    Attributes:
        x: Expression, shape ``(n_cells, n_genes)`` float32, non-negative.
        genes: Gene symbols, shape ``(n_genes,)``.
        labels: Cell-type label per cell, shape ``(n_cells,)`` str.
        source: Where it came from (path + matrix used).
    """

    x: np.ndarray
    genes: np.ndarray
    labels: np.ndarray
    source: str

    @property
    def cell_types(self) -> list[str]:
        """Sorted distinct labels."""
        return sorted(set(self.labels.tolist()))


def pbmc68k_reduced_path() -> Path:
    """Path of scanpy's bundled ``10x_pbmc68k_reduced.h5ad`` (no import of scanpy, no download).

    Raises:
        InputValidationError: When scanpy (or the file inside it) is not installed.
    """
    spec = importlib.util.find_spec("scanpy")
    if spec is None or not spec.submodule_search_locations:
        raise InputValidationError("scanpy is not installed; `pip install scanpy` (it ships pbmc68k_reduced) or pass an .h5ad path")
    path = Path(list(spec.submodule_search_locations)[0]) / "datasets" / "10x_pbmc68k_reduced.h5ad"
    if not path.is_file():
        raise InputValidationError(f"{path} is missing from the scanpy installation; pass an .h5ad path instead")
    return path


def load_cells(path: str | Path | None = None, *, cell_type_col: str = PBMC68K_LABELS, use_raw: bool | None = None) -> CellData:
    """Read an ``.h5ad`` with a cell-type column.

    Args:
        path: The ``.h5ad``; ``None`` or ``"pbmc68k_reduced"`` = scanpy's bundled file.
        cell_type_col: Column of ``obs`` with the cell type.
        use_raw: Use ``.raw.X``; ``None`` = when ``.raw`` exists.

    Returns:
        The dense expression, genes and labels.

    Raises:
        InputValidationError: Missing file/column, or negative expression (scaled data).
    """
    import anndata  # heavy optional import

    p = pbmc68k_reduced_path() if path is None or str(path) == PBMC68K_NAME else Path(path)
    if not p.is_file():
        raise InputValidationError(f"{p}: .h5ad file not found")
    with warnings.catch_warnings():
        # old-format notices of the bundled file (".uns['neighbors'] ... adjacency", OldFormatWarning)
        warnings.filterwarnings("ignore", category=FutureWarning, module="anndata")
        warnings.filterwarnings("ignore", message=".*(very old version of AnnData|without encoding metadata).*")
        adata = anndata.read_h5ad(p)
    if cell_type_col not in adata.obs.columns:
        raise InputValidationError(f"{p}: obs has no column {cell_type_col!r}; available: {list(adata.obs.columns)}")
    raw = adata.raw is not None if use_raw is None else use_raw
    if raw and adata.raw is None:
        raise InputValidationError(f"{p}: use_raw was asked but the file has no .raw")
    mat = adata.raw.X if raw else adata.X
    genes = np.asarray(adata.raw.var_names if raw else adata.var_names).astype(str)
    x = mat.toarray() if hasattr(mat, "toarray") else np.asarray(mat)
    x = x.astype(np.float32)
    if np.nanmin(x) < 0:
        raise InputValidationError(
            f"{p}: {'.raw.X' if raw else '.X'} has negative values (scaled data); scGPT expects non-negative expression — "
            "use the raw/log-normalised matrix"
        )
    labels = np.asarray(adata.obs[cell_type_col].astype(str))
    return CellData(x=x, genes=genes, labels=labels, source=f"{p}{' (.raw.X)' if raw else ' (.X)'}")
