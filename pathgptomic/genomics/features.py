"""Genomic branch input G2 from bulk RNA-seq: frozen scGPT (+ frozen MLP-A), cached on disk.

``mode="scgpt"`` gives the raw L2-normalised ``<cls>`` embedding (paper Exp. 2-3, no
smoothing); ``mode="scgpt_smooth"`` passes it through the frozen MLP-A and returns the
128-d hidden output (Exp. 4-6). The scGPT checkpoint folder is ``scgpt_folder``, else the
environment variable ``PATHGPTOMIC_SCGPT_DIR``, else ``models/scgpt-demo`` under the current
working directory (where a checkout keeps the shipped demo model); no other location is
looked up (:func:`default_scgpt_folder`).

Embeddings are cached as ``<cache_dir>/<key>.npz`` where ``key`` is a sha256 over the
checkpoint hash, the input (patient ids, mapped genes, values) and the embedding settings;
files are written atomically (temp file + rename). The default cache folder is
``$PATHGPTOMIC_CACHE_DIR/scgpt`` or ``~/.cache/pathgptomic/scgpt``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from pathgptomic.errors import CheckpointError, ConfigError
from pathgptomic.genomics.bulk import (
    DEFAULT_MIN_GENES,
    MAX_BULK_GENES,
    MappedExpression,
    expression_from_cohort,
    map_expression,
    select_genes,
)
from pathgptomic.genomics.embed import embed_matrix, resolve_device
from pathgptomic.genomics.scgpt import LoadedScGPT, load_scgpt
from pathgptomic.genomics.smoothing import LoadedMLPA, load_mlp_a
from pathgptomic.genomics.vocab import GeneCoverage

if TYPE_CHECKING:
    from pathgptomic.data.cohort import Cohort

logger = logging.getLogger(__name__)

MODES = ("scgpt", "scgpt_smooth")
ENV_SCGPT_DIR = "PATHGPTOMIC_SCGPT_DIR"
ENV_CACHE_DIR = "PATHGPTOMIC_CACHE_DIR"
#: Default checkpoint folder, relative to the current working directory (see :func:`default_scgpt_folder`).
DEFAULT_SCGPT_RELATIVE = Path("models") / "scgpt-demo"
MLP_A_FILENAME = "mlp_a.safetensors"
_CACHE_VERSION = 1


@dataclass(frozen=True)
class RnaFeatures:
    """Frozen RNA features of a cohort.

    Attributes:
        matrix: float32, shape ``(n, d)``: ``d = E`` (``"scgpt"``) or MLP-A width
            (``"scgpt_smooth"``); rows follow ``patient_ids``; a NaN row marks a patient
            without any usable RNA value.
        patient_ids: shape ``(n,)``, the cohort's ids in order.
        checkpoint_hash: sha256 of the scGPT folder (args.json + vocab.json + best_model.pt).
        mlp_a_hash: sha256 of the MLP-A weights (``None`` in ``"scgpt"`` mode).
        coverage: Genes found in the vocabulary / given, and the missing ones.
        mode: ``"scgpt"`` or ``"scgpt_smooth"``.
        value_mode: How values were binned (``"counts"`` or ``"ranks"``).
        scgpt_folder: The checkpoint folder used.
    """

    matrix: np.ndarray
    patient_ids: np.ndarray
    checkpoint_hash: str
    mlp_a_hash: str | None
    coverage: GeneCoverage
    mode: str = "scgpt"
    value_mode: str = "ranks"
    scgpt_folder: str = ""

    @property
    def feature_names(self) -> list[str]:
        """Column names ``scgpt_0..`` or ``scgpt_smooth_0..``."""
        return [f"{self.mode}_{k}" for k in range(self.matrix.shape[1])]

    def to_frame(self) -> pd.DataFrame:
        """The matrix as a DataFrame indexed by patient id."""
        return pd.DataFrame(self.matrix, index=pd.Index(self.patient_ids, name="patient_id"), columns=self.feature_names)


def default_scgpt_folder() -> Path:
    """The scGPT checkpoint folder used when none is passed.

    ``$PATHGPTOMIC_SCGPT_DIR`` when set; else ``models/scgpt-demo`` under the current working
    directory, as an absolute path (a checkout run from its root, as the CLI, the dashboard and
    the Docker image are, finds the shipped demo model there). The package itself reads no
    folder of its own checkout.
    """
    env = os.environ.get(ENV_SCGPT_DIR)
    return Path(env).expanduser() if env else Path.cwd() / DEFAULT_SCGPT_RELATIVE


def default_cache_dir() -> Path:
    """``$PATHGPTOMIC_CACHE_DIR/scgpt``, else ``$XDG_CACHE_HOME/pathgptomic/scgpt`` or ``~/.cache/...``."""
    env = os.environ.get(ENV_CACHE_DIR)
    if env:
        return Path(env).expanduser() / "scgpt"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pathgptomic" / "scgpt"


def embedding_cache_key(loaded: LoadedScGPT, mapped: MappedExpression, settings: dict) -> str:
    """sha256 over checkpoint hash, input (ids, genes, values) and settings."""
    h = hashlib.sha256()
    h.update(json.dumps({"v": _CACHE_VERSION, "ckpt": loaded.checkpoint_hash, **settings}, sort_keys=True).encode())
    h.update("\x00".join(map(str, mapped.sample_ids)).encode())
    h.update(b"\x01" + "\x00".join(mapped.genes).encode())
    h.update(np.ascontiguousarray(mapped.values, dtype=np.float64).tobytes())
    return h.hexdigest()


def _atomic_save_npz(path: Path, **arrays: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".npz.tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def embed_mapped(
    loaded: LoadedScGPT,
    mapped: MappedExpression,
    *,
    cache_dir: str | Path | None = None,
    use_cache: bool = True,
    device: str | torch.device | None = None,
    seed: int = 0,
    max_length: int | None = None,
    batch_size: int | None = None,
    use_autocast: bool | None = None,
    show_progress: bool = True,
) -> np.ndarray:
    """Embeddings of mapped bulk expression, from the disk cache when present.

    Args:
        max_length: ``None`` = one fixed gene set for every sample (see
            :mod:`pathgptomic.genomics.bulk`): at most :data:`MAX_BULK_GENES` genes, sequence
            long enough that nothing is sampled per sample; an integer = the official
            per-sample random subset when a sample has more than ``max_length - 1`` genes.
        use_autocast: fp16 autocast on CUDA (``None`` = on for CUDA); part of the cache key.

    Returns:
        float32, shape ``(n, E)``, L2-normalised rows (NaN rows for empty samples).
    """
    if max_length is None:
        mapped = select_genes(mapped, MAX_BULK_GENES, seed)
        max_length = len(mapped.genes) + 1
    dev = resolve_device(device)
    amp = dev.type == "cuda" and (use_autocast is None or bool(use_autocast))
    if batch_size is None:
        batch_size = 64 if dev.type == "cuda" else 8  # CPU: no speed gain from large batches, much more memory
    settings = {
        "value_mode": mapped.value_mode,
        "max_length": max_length,
        "n_bins": 51,
        "seed": seed,
        "deterministic": True,
        "precision": "fp16-autocast" if amp else "fp32",
    }
    if mapped.value_mode == "counts":  # binned as float32 like the official code; entries before that binned float64
        settings["counts_binned_as"] = "float32"
    path = None
    if use_cache:
        path = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
        path = path / f"{embedding_cache_key(loaded, mapped, settings)}.npz"
        if path.is_file():
            try:
                with np.load(path, allow_pickle=False) as z:
                    emb = z["embeddings"]
                if emb.shape == (len(mapped.sample_ids), loaded.config.embsize):
                    logger.info("scGPT embeddings from cache %s", path)
                    return emb.astype(np.float32)
            except (OSError, ValueError, KeyError) as exc:
                logger.warning("ignoring unreadable embedding cache %s (%s)", path, exc)
    emb = embed_matrix(
        loaded,
        mapped.values,
        mapped.gene_ids,
        value_mode=mapped.value_mode,
        max_length=max_length,
        seed=seed,
        deterministic=True,
        batch_size=batch_size,
        device=dev,
        use_autocast=amp,
        show_progress=show_progress,
        sample_names=[str(s) for s in mapped.sample_ids],
    )
    if path is not None:
        _atomic_save_npz(path, embeddings=emb, sample_ids=np.asarray(mapped.sample_ids, dtype=str))
    return emb


def rna_features(
    cohort: "Cohort",
    *,
    mode: str = "scgpt",
    scgpt_folder: str | Path | None = None,
    mlp_a_path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    show_progress: bool = True,
    seed: int = 0,
    value_mode: str = "auto",
    max_length: int | None = None,
    min_genes: int = DEFAULT_MIN_GENES,
    batch_size: int | None = None,
    use_cache: bool = True,
    use_autocast: bool | None = None,
) -> RnaFeatures:
    """Frozen scGPT (+ MLP-A) features of the cohort's ``rnaseq`` block (the G2 input).

    Args:
        cohort: Cohort with an ``rnaseq`` block (gene-symbol columns).
        mode: ``"scgpt"`` (raw L2-normalised ``<cls>`` embedding, Exp. 2-3) or
            ``"scgpt_smooth"`` (MLP-A hidden output, Exp. 4-6).
        scgpt_folder: Official-format checkpoint folder; default ``$PATHGPTOMIC_SCGPT_DIR``
            or ``models/scgpt-demo`` under the current working directory.
        mlp_a_path: MLP-A weights (``"scgpt_smooth"``); default ``<scgpt_folder>/mlp_a.safetensors``.
        cache_dir: Embedding cache folder (default :func:`default_cache_dir`).
        device: ``None`` = CUDA when available, else CPU.
        show_progress: Show a tqdm bar.
        seed: Seed of the deterministic binning/gene sampling.
        value_mode: ``"auto"``, ``"counts"`` or ``"ranks"`` (see :mod:`pathgptomic.genomics.bulk`).
        max_length: ``None`` (default) = every sample embedded with the same genes (all
            mapped genes, or a fixed seeded subset of :data:`MAX_BULK_GENES` for larger
            panels) and no per-sample gene sampling; an integer = scGPT sequence length
            including ``<cls>`` with the official per-sample random gene subset for longer
            samples (``1200`` is the official value).
        min_genes: Refuse inputs with fewer genes in the vocabulary.
        batch_size: Samples per forward pass; ``None`` = 64 on CUDA (official), 8 on CPU.
        use_cache: Read/write the on-disk embedding cache.
        use_autocast: fp16 autocast on CUDA; ``None`` = on for CUDA. The small demo model's
            embeddings differ between patients only slightly (cosine similarity ≈ 0.99999 on
            TCGA-GBMLGG), so pass ``False`` (fp32) with it on a GPU.

    Returns:
        The features with checkpoint/MLP-A hashes and the gene coverage; rows in
        ``cohort.ids`` order.

    Raises:
        ConfigError: Unknown mode.
        CheckpointError: Unloadable scGPT folder or MLP-A, or an MLP-A of another checkpoint.
        InputValidationError: No ``rnaseq`` block or too few genes in the vocabulary.
    """
    df = expression_from_cohort(cohort)
    ids = [str(i) for i in cohort.ids]
    if list(map(str, df.index)) != ids:
        df = df.copy()
        df.index = df.index.astype(str)
        df = df.reindex(ids)
    source = f"cohort {cohort.source} rnaseq block" if cohort.source else "cohort rnaseq block"
    feats = expression_features(
        df,
        mode=mode,
        scgpt_folder=scgpt_folder,
        mlp_a_path=mlp_a_path,
        cache_dir=cache_dir,
        device=device,
        show_progress=show_progress,
        seed=seed,
        value_mode=value_mode,
        max_length=max_length,
        min_genes=min_genes,
        batch_size=batch_size,
        use_cache=use_cache,
        use_autocast=use_autocast,
        source=source,
    )
    return replace(feats, patient_ids=np.asarray(cohort.ids))


def expression_features(
    expression: pd.DataFrame,
    *,
    mode: str = "scgpt",
    scgpt_folder: str | Path | None = None,
    mlp_a_path: str | Path | None = None,
    cache_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    show_progress: bool = True,
    seed: int = 0,
    value_mode: str = "auto",
    max_length: int | None = None,
    min_genes: int = DEFAULT_MIN_GENES,
    batch_size: int | None = None,
    use_cache: bool = True,
    use_autocast: bool | None = None,
    source: str = "expression input",
) -> RnaFeatures:
    """Like :func:`rna_features` for a samples × genes DataFrame (index = sample ids)."""
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}, got {mode!r}")
    folder = Path(scgpt_folder).expanduser() if scgpt_folder is not None else default_scgpt_folder()
    loaded = load_scgpt(folder)
    mlp: LoadedMLPA | None = None
    if mode == "scgpt_smooth":
        mp = Path(mlp_a_path).expanduser() if mlp_a_path is not None else folder / MLP_A_FILENAME
        if not mp.is_file():
            raise CheckpointError(
                f"mode 'scgpt_smooth' needs an MLP-A file but {mp} does not exist; train one with "
                f"`pathgptomic smooth --scgpt-dir {folder} --out {mp}` or pass mlp_a_path"
            )
        mlp = load_mlp_a(mp, expected_checkpoint_hash=loaded.checkpoint_hash)
    mapped = map_expression(expression, loaded.vocab, value_mode=value_mode, min_genes=min_genes, source=source)
    emb = embed_mapped(
        loaded,
        mapped,
        cache_dir=cache_dir,
        use_cache=use_cache,
        device=device,
        seed=seed,
        max_length=max_length,
        batch_size=batch_size,
        use_autocast=use_autocast,
        show_progress=show_progress,
    )
    matrix = mlp.transform(emb) if mlp is not None else emb
    return RnaFeatures(
        matrix=np.ascontiguousarray(matrix, dtype=np.float32),
        patient_ids=np.asarray(mapped.sample_ids),
        checkpoint_hash=loaded.checkpoint_hash,
        mlp_a_hash=mlp.sha256 if mlp is not None else None,
        coverage=mapped.coverage,
        mode=mode,
        value_mode=mapped.value_mode,
        scgpt_folder=str(loaded.folder),
    )
