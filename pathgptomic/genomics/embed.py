"""Sample embeddings with a frozen scGPT encoder, following the official ``embed_data``.

Procedure (official ``scgpt/tasks/cell_emb.py``: ``embed_data`` → ``get_batch_cell_embeddings``), per sample:

1. genes are restricted to the vocabulary (the caller passes vocabulary ids; -1 = absent);
2. only expressed genes are kept — non-zero finite values (``value_mode="counts"``, the
   official rule) or every finite value (``value_mode="ranks"``, used for z-scored bulk data);
3. ``<cls>`` is prepended with value ``pad_value``;
4. the kept values are binned per sample into ``1..n_bins-1`` (official quantile binning;
   ``"ranks"`` bins the within-sample ranks), using all kept genes before any sampling.
   ``"counts"`` bins the values as ``float32``, as the official code does (its dataset casts
   them with ``.float()`` before the collator bins), so values that are distinct in float64
   but equal in float32 are tied as in the official code;
5. a sample longer than ``max_length`` keeps ``<cls>`` plus a random subset of
   ``max_length - 1`` genes (without replacement, like the official collator);
6. samples are padded with ``<pad>`` / ``pad_value`` to the longest in the batch, run through
   the encoder with the padding mask (CUDA + fp16 autocast when available, CPU otherwise);
7. the output at the ``<cls>`` position is L2-normalised:
   :math:`z = h_{cls} / \\lVert h_{cls} \\rVert_2`.

Deterministic mode (the default): tie-breaking in the binning and gene sampling draw from a
generator seeded by ``seed`` and a hash of the sample's own genes and value ranks, so the same
sample gives the same embedding whatever its batch, position or chunking (unlike the
official code, issue #281). ``deterministic=False`` uses NumPy's/torch's global generators
like the official code.

CPU thread policy: on the CPU the encoder runs with one torch intra-op thread unless
``cpu_threads=`` or ``$PATHGPTOMIC_CPU_THREADS`` says otherwise, and the caller's thread
count is restored afterwards — the same policy, chosen by the same measurement, as patch
encoding (:mod:`pathgptomic.slides.features`; figures in
``benchmarks/results/inference_threads.md``).
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from dataclasses import dataclass

import numpy as np
import torch

from pathgptomic.errors import DataQualityWarning, InputValidationError
from pathgptomic.genomics.binning import binning, dense_ranks, rank_binning
from pathgptomic.genomics.scgpt import LoadedScGPT

logger = logging.getLogger(__name__)

VALUE_MODES = ("counts", "ranks")


@dataclass(frozen=True)
class Tokenized:
    """One sample ready for the encoder.

    Attributes:
        genes: Token ids, shape ``(s,)`` int64, ``<cls>`` first.
        values: Binned values, shape ``(s,)`` float32, ``pad_value`` first.
    """

    genes: np.ndarray
    values: np.ndarray

    def __len__(self) -> int:
        return int(self.genes.shape[0])


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``device`` as a torch device; ``None`` = CUDA when available, else CPU."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def sample_rng(seed: int, genes: np.ndarray, values: np.ndarray) -> np.random.Generator:
    """Generator seeded by ``seed`` and a hash of one sample's genes and value ranks.

    Hashing the within-sample (dense) ranks rather than the raw values keeps the bins
    invariant to strictly increasing transforms of the sample, as the binning itself is.
    """
    h = hashlib.blake2b(digest_size=8)
    h.update(np.ascontiguousarray(genes, dtype=np.int64).tobytes())
    h.update(np.ascontiguousarray(dense_ranks(values), dtype=np.int64).tobytes())
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, int.from_bytes(h.digest(), "little")])


def tokenize_sample(
    values: np.ndarray,
    gene_ids: np.ndarray,
    *,
    cls_id: int,
    pad_value: float,
    n_bins: int = 51,
    max_length: int = 1200,
    value_mode: str = "counts",
    seed: int | None = 0,
) -> Tokenized:
    """Steps 1-5 of the procedure for one sample.

    Args:
        values: Expression of one sample, shape ``(g,)``; NaN = not measured.
        gene_ids: Vocabulary ids, shape ``(g,)``; -1 = not in the vocabulary (dropped).
        cls_id: Id of ``<cls>``.
        pad_value: Value of ``<cls>`` (and padding).
        n_bins: Number of bins (51 in the official embedding).
        max_length: Longest sequence including ``<cls>``.
        value_mode: ``"counts"`` (non-zero values are expressed and binned as float32; official) or ``"ranks"``
            (all finite values are expressed, binned by within-sample rank).
        seed: Deterministic mode seed; ``None`` = official global random generators.

    Returns:
        The tokenized sample (only ``<cls>`` when nothing is expressed).
    """
    if value_mode not in VALUE_MODES:
        raise ValueError(f"value_mode must be one of {VALUE_MODES}, got {value_mode!r}")
    values = np.asarray(values, dtype=np.float64)
    gene_ids = np.asarray(gene_ids, dtype=np.int64)
    keep = (gene_ids >= 0) & np.isfinite(values)
    if value_mode == "counts":
        keep &= values != 0
    genes, vals = gene_ids[keep], values[keep]
    if value_mode == "counts":
        vals = vals.astype(np.float32)  # official: torch.from_numpy(values).float() before binning
    rng = None if seed is None else sample_rng(seed, genes, vals)
    if vals.size:
        bins = rank_binning(vals, n_bins, rng) if value_mode == "ranks" else binning(vals, n_bins, rng)
    else:
        bins = np.zeros(0, dtype=np.int64)
    g = np.concatenate([[cls_id], genes]).astype(np.int64)
    v = np.concatenate([[pad_value], bins.astype(np.float64)]).astype(np.float32)
    if len(g) > max_length:
        n = len(g) - 1
        if rng is None:
            idx = torch.randperm(n)[: max_length - 1].numpy()
        else:
            idx = rng.permutation(n)[: max_length - 1]
        idx = np.concatenate([[0], idx + 1])
        g, v = g[idx], v[idx]
    return Tokenized(genes=g, values=v)


def collate(batch: list[Tokenized], pad_id: int, pad_value: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Pad to the longest sample: gene ids ``(B, S)`` int64 and values ``(B, S)`` float32."""
    s = max(len(t) for t in batch)
    genes = np.full((len(batch), s), pad_id, dtype=np.int64)
    vals = np.full((len(batch), s), pad_value, dtype=np.float32)
    for i, t in enumerate(batch):
        genes[i, : len(t)] = t.genes
        vals[i, : len(t)] = t.values
    return torch.from_numpy(genes), torch.from_numpy(vals)


def embed_tokenized(
    loaded: LoadedScGPT,
    samples: list[Tokenized],
    *,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    use_autocast: bool | None = None,
    normalize: bool = True,
    show_progress: bool = True,
    cpu_threads: int | None = None,
) -> np.ndarray:
    """Steps 6-7: run the encoder and pool the ``<cls>`` output.

    Samples are processed in order of length (less padding); results come back in input order.
    A sample with no expressed gene (only ``<cls>``) gets a NaN row.

    Args:
        loaded: The loaded checkpoint.
        samples: Tokenized samples.
        batch_size: Samples per forward pass.
        device: ``None`` = CUDA when available, else CPU.
        use_autocast: fp16 autocast; ``None`` = on for CUDA, off on CPU (never used on CPU).
        normalize: L2-normalise each row (official).
        show_progress: Show a tqdm bar.
        cpu_threads: Torch threads on the CPU (default 1 or ``$PATHGPTOMIC_CPU_THREADS``;
            see the module docstring); the caller's count is restored afterwards.

    Returns:
        float32 array, shape ``(n, E)``.
    """
    from pathgptomic.slides.features import resolve_cpu_threads, torch_cpu_threads

    dev = resolve_device(device)
    amp = (dev.type == "cuda") if use_autocast is None else (bool(use_autocast) and dev.type == "cuda")
    model = loaded.model.to(dev).eval()
    cfg = loaded.config
    pad_value = cfg.pad_value
    out = np.full((len(samples), cfg.embsize), np.nan, dtype=np.float32)
    order = np.argsort([len(t) for t in samples], kind="stable")
    order = np.array([i for i in order if len(samples[i]) > 1], dtype=np.int64)
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    iterator = batches
    if show_progress and batches:
        from tqdm.auto import tqdm

        iterator = tqdm(batches, desc="scGPT embedding", unit="batch")
    threads = resolve_cpu_threads(cpu_threads) if dev.type == "cpu" else None
    with torch_cpu_threads(threads), torch.inference_mode():
        for idx in iterator:
            genes, vals = collate([samples[i] for i in idx], loaded.pad_id, pad_value)
            genes, vals = genes.to(dev), vals.to(dev)
            if cfg.input_emb_style == "category":
                vals = vals.long()
            mask = genes.eq(loaded.pad_id)
            with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=amp):
                emb = model.cell_embedding(genes, vals, mask)
            out[idx] = emb.float().cpu().numpy()
    if normalize:
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (out / norms).astype(np.float32)
    return out


def embed_matrix(
    loaded: LoadedScGPT,
    x: np.ndarray,
    gene_ids: np.ndarray,
    *,
    value_mode: str = "counts",
    max_length: int = 1200,
    n_bins: int = 51,
    seed: int = 0,
    deterministic: bool = True,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    use_autocast: bool | None = None,
    normalize: bool = True,
    show_progress: bool = True,
    sample_names: list[str] | None = None,
    cpu_threads: int | None = None,
) -> np.ndarray:
    """Embed every row of an expression matrix (the whole official procedure).

    Args:
        loaded: The loaded checkpoint.
        x: Expression, shape ``(n, g)``; NaN = not measured.
        gene_ids: Vocabulary ids of the columns, shape ``(g,)``; -1 = absent (dropped).
        value_mode: ``"counts"`` or ``"ranks"`` (see :func:`tokenize_sample`).
        max_length: Longest sequence including ``<cls>`` (1200 official).
        n_bins: Bins (51 official).
        seed: Seed of the deterministic mode.
        deterministic: Seeded per-sample randomness (default); False = official global RNGs.
        batch_size: Samples per forward pass.
        device: ``None`` = CUDA when available, else CPU.
        use_autocast: See :func:`embed_tokenized`.
        normalize: L2-normalise rows.
        show_progress: Show a tqdm bar.
        sample_names: Names for the warning about samples with nothing expressed.
        cpu_threads: See :func:`embed_tokenized`.

    Returns:
        float32 embeddings, shape ``(n, E)``; NaN rows for samples with no expressed
        in-vocabulary gene (a :class:`DataQualityWarning` names them).

    Raises:
        InputValidationError: When ``x`` and ``gene_ids`` disagree in shape.
    """
    x = np.asarray(x)
    gene_ids = np.asarray(gene_ids, dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != gene_ids.shape[0]:
        raise InputValidationError(
            f"expression matrix has shape {x.shape} but {gene_ids.shape[0]} gene ids were given; columns must match genes"
        )
    if max_length < 2:
        raise InputValidationError(f"max_length must be at least 2 (<cls> + one gene), got {max_length}")
    samples = [
        tokenize_sample(
            x[i],
            gene_ids,
            cls_id=loaded.cls_id,
            pad_value=loaded.config.pad_value,
            n_bins=n_bins,
            max_length=max_length,
            value_mode=value_mode,
            seed=seed if deterministic else None,
        )
        for i in range(x.shape[0])
    ]
    empty = [i for i, t in enumerate(samples) if len(t) <= 1]
    if empty:
        names = [sample_names[i] if sample_names else str(i) for i in empty]
        warnings.warn(
            f"{len(empty)} sample(s) have no expressed gene in the scGPT vocabulary and get NaN embeddings: "
            f"{', '.join(names[:10])}{' ...' if len(names) > 10 else ''}",
            DataQualityWarning,
            stacklevel=2,
        )
    return embed_tokenized(
        loaded,
        samples,
        batch_size=batch_size,
        device=device,
        use_autocast=use_autocast,
        normalize=normalize,
        show_progress=show_progress,
        cpu_threads=cpu_threads,
    )
