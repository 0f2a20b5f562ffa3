"""Patch-feature extraction with an on-disk cache.

For every slide: tile it (:func:`pathgptomic.slides.tiling.tile_slide`), read the
patches through a ``DataLoader`` (optional worker processes), encode them in batches
(CUDA + autocast when available, CPU float32 otherwise) and store
``features (n, D) float32`` + ``coords (n, 2)`` in ``cache_dir``.

This module holds the encoder identity (:class:`EncoderSpec`), the result types and the
slide- and cohort-level extraction. Cache entries are keyed by the slide's content hash, the
encoder identity and the tiling settings, written atomically with a checksum, and also read
from features shipped beside the slides (:mod:`pathgptomic.slides.feature_cache`); a killed
run leaves whole entries or none, and a rerun continues where it stopped. Patch reading,
batched encoding and the CPU thread policy (:data:`DEFAULT_CPU_THREADS` = 1 torch thread unless
configured) are in :mod:`pathgptomic.slides.encoding`. The public names of both are importable
from here.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from pathgptomic.errors import ConfigError, DataQualityWarning, SlideError
from pathgptomic.slides.encoding import (
    DEFAULT_CPU_THREADS,
    _encode,
    _PatchDataset,
    _resolve_device,
    resolve_cpu_threads,
    torch_cpu_threads,
)
from pathgptomic.slides.feature_cache import (
    CACHE_FORMAT_VERSION,
    SHIPPED_FEATURES_DIRNAME,
    _read_entry,
    _write_entry,
    cache_entry_path,
    default_cache_dir,
    slide_content_hash,
)
from pathgptomic.slides.reader import open_slide
from pathgptomic.slides.tiling import TilingConfig, tile_slide

if TYPE_CHECKING:
    import torch

    from pathgptomic.data.cohort import Cohort
    from pathgptomic.nn.encoders import ImageEncoder

logger = logging.getLogger(__name__)

__all__ = [
    "CACHE_FORMAT_VERSION",
    "DEFAULT_CPU_THREADS",
    "EncoderSpec",
    "PatientFeatures",
    "SlideFeatures",
    "SHIPPED_FEATURES_DIRNAME",
    "default_cache_dir",
    "extract_cohort_features",
    "extract_slide_features",
    "resolve_cpu_threads",
    "slide_content_hash",
    "torch_cpu_threads",
]


@dataclass
class EncoderSpec:
    """A not-yet-built encoder: built only when a slide is missing from the cache.

    Attributes:
        name: Encoder name (see :func:`pathgptomic.nn.encoders.create_image_encoder`).
        weights: Local weights file or ``None``.
        pretrained: Opt-in timm download.
        seed: Seed of a random initialisation.
        model_kwargs: Extra constructor arguments.
    """

    name: str
    weights: str | None = None
    pretrained: bool = False
    seed: int = 0
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    _built: ImageEncoder | None = field(default=None, repr=False)
    _weights_hash: str | None = field(default=None, repr=False)

    @property
    def key(self) -> str:
        """Cache identity of this encoder (no model is built)."""
        if self.weights is not None:
            if self._weights_hash is None:
                from pathgptomic.nn.encoders import file_sha256

                if not Path(self.weights).is_file():
                    from pathgptomic.errors import CheckpointError

                    raise CheckpointError(f"encoder weights file {self.weights} does not exist")
                self._weights_hash = file_sha256(self.weights)
            whash = self._weights_hash
        elif self.pretrained:
            whash = f"pretrained:{self.name}"
        else:
            whash = f"random-init:seed{self.seed}"
        return f"{self.name}|{whash}|{json.dumps(self.model_kwargs, sort_keys=True, default=str)}"

    def build(self) -> ImageEncoder:
        """Build (once) and return the encoder."""
        if self._built is None:
            from pathgptomic.nn.encoders import load_encoder

            self._built = load_encoder(self.name, weights=self.weights, pretrained=self.pretrained, seed=self.seed, **self.model_kwargs)
        return self._built


@dataclass
class SlideFeatures:
    """Encoded patches of one slide.

    Attributes:
        features: Shape ``(n, D)`` float32.
        coords: Level-0 top-left corners, shape ``(n, 2)`` int64.
        path: Slide path.
        cache_path: Cache entry file.
        from_cache: True when read from the cache.
        meta: Tiling facts (level, read size, µm/px used and whether assumed, ...).
    """

    features: np.ndarray
    coords: np.ndarray
    path: str
    cache_path: Path
    from_cache: bool
    meta: dict[str, Any]


@dataclass
class PatientFeatures:
    """All patches of one patient (slides concatenated).

    Attributes:
        features: Shape ``(n_patches, D)`` float32.
        coords: Shape ``(n_patches, 2)`` int64, level-0 pixels of the slide each patch came from.
        slide_index: Shape ``(n_patches,)`` int64, index into ``slide_paths``.
        slide_paths: The patient's slides in order.
    """

    features: np.ndarray
    coords: np.ndarray
    slide_index: np.ndarray
    slide_paths: list[str] = field(default_factory=list)


def _as_spec(
    encoder: str | EncoderSpec | ImageEncoder, weights: str | os.PathLike[str] | None, pretrained: bool, seed: int
) -> EncoderSpec | ImageEncoder:
    if isinstance(encoder, str):
        return EncoderSpec(encoder, None if weights is None else str(weights), pretrained, seed)
    return encoder


def extract_slide_features(
    path: str | os.PathLike[str],
    encoder: str | EncoderSpec | ImageEncoder = "resnet18",
    *,
    tiling: TilingConfig = TilingConfig(),
    cache_dir: str | os.PathLike[str] | None = None,
    device: str | torch.device | None = None,
    batch_size: int = 64,
    num_workers: int = 0,
    amp: bool = True,
    show_progress: bool = True,
    max_pixels: int | None = None,
    cpu_threads: int | None = None,
) -> SlideFeatures:
    """Features of one slide, from the cache when present.

    Args:
        path: Slide or image file.
        encoder: Encoder name, :class:`EncoderSpec` or a built
            :class:`~pathgptomic.nn.encoders.ImageEncoder`.
        tiling: Tiling settings.
        cache_dir: Cache folder (default :func:`default_cache_dir`).
        device: ``"cuda"``, ``"cpu"``...; default CUDA when available.
        batch_size: Patches per forward pass.
        num_workers: DataLoader worker processes reading patches.
        amp: Autocast (bf16 when supported, else fp16) on CUDA; ignored on CPU.
        show_progress: tqdm bar over patches.
        max_pixels: Decompression-bomb limit for plain images.
        cpu_threads: Torch threads while encoding on the CPU (default
            :func:`resolve_cpu_threads`: 1 or ``$PATHGPTOMIC_CPU_THREADS``).

    Returns:
        The slide's features.

    Raises:
        SlideError: The slide cannot be read or is smaller than one patch.
    """
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    spec = _as_spec(encoder, None, False, 0)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    p = Path(path)
    if not p.is_file():
        from pathgptomic.slides.reader import SlideNotFoundError

        raise SlideNotFoundError(f"slide file {p} does not exist; check the manifest path")
    shash = slide_content_hash(p)
    entry = cache_entry_path(cache, shash, spec.name, spec.key, tiling)
    hit = _read_entry(entry)
    if hit is None:  # features shipped beside the slide (same keys: content hash, encoder, tiling)
        shipped = cache_entry_path(p.parent / SHIPPED_FEATURES_DIRNAME, shash, spec.name, spec.key, tiling)
        hit = _read_entry(shipped, remove_corrupt=False)
    if hit is not None:
        features, coords, meta = hit
        logger.debug("cache hit %s -> %s", p, entry)
        return SlideFeatures(features, coords, str(p), entry, True, meta)

    enc = spec.build() if isinstance(spec, EncoderSpec) else spec
    dev = _resolve_device(device)
    with open_slide(p, max_pixels=max_pixels) as slide:
        result = tile_slide(slide, tiling)
        ds = _PatchDataset(slide, result, enc.transform)
        features = _encode(ds, enc, dev, batch_size, num_workers, amp, show_progress, desc=p.name[:40], cpu_threads=cpu_threads)
    meta = {
        "version": CACHE_FORMAT_VERSION,
        "slide_path": str(p),
        "slide_hash": shash,
        "encoder": spec.key,
        "tiling": tiling.to_dict(),
        "level": result.level,
        "read_size": result.read_size,
        "step": result.step,
        "mpp": result.mpp,
        "mpp_assumed": result.mpp_assumed,
        "dimensions": list(result.dimensions),
        "n_candidates": result.n_candidates,
        "n_tissue": result.n_tissue,
        "device": str(dev),
    }
    _write_entry(entry, features, result.coords, meta)
    return SlideFeatures(features, result.coords.astype(np.int64), str(p), entry, False, meta)


def extract_cohort_features(
    cohort: Cohort | dict[str, list[str]],
    *,
    encoder: str | EncoderSpec | ImageEncoder = "resnet18",
    tiling: TilingConfig = TilingConfig(),
    cache_dir: str | os.PathLike[str] | None = None,
    device: str | torch.device | None = None,
    batch_size: int = 64,
    num_workers: int = 0,
    show_progress: bool = True,
    weights: str | os.PathLike[str] | None = None,
    pretrained: bool = False,
    seed: int = 0,
    amp: bool = True,
    on_error: Literal["raise", "skip"] = "raise",
    max_pixels: int | None = None,
    cpu_threads: int | None = None,
) -> dict[str, PatientFeatures]:
    """Patch features of every patient's slides (cached; see the module docstring).

    Args:
        cohort: A :class:`~pathgptomic.data.cohort.Cohort` (its ``slides``) or a mapping
            ``patient_id -> [slide paths]``.
        encoder: Encoder name (``"resnet18"``, ``"t2t_vit_14"``, any timm name), an
            :class:`EncoderSpec` or a built ``ImageEncoder``. Built only when some slide
            is not cached yet.
        tiling: Tiling settings (part of the cache key).
        cache_dir: Cache folder (default :func:`default_cache_dir`).
        device: Default CUDA when available, else CPU.
        batch_size: Patches per forward pass.
        num_workers: DataLoader worker processes.
        show_progress: tqdm bars (overall over slides, and per slide over patches).
        weights: Local weights file for a named encoder.
        pretrained: Opt-in timm download for a named encoder.
        seed: Seed of a random initialisation (no weights).
        amp: Autocast on CUDA.
        on_error: ``"raise"`` (default) stops at the first unreadable slide; ``"skip"``
            warns (:class:`DataQualityWarning`) and leaves that slide out.
        max_pixels: Decompression-bomb limit for plain images.
        cpu_threads: Torch threads while encoding on the CPU (default
            :func:`resolve_cpu_threads`: 1 or ``$PATHGPTOMIC_CPU_THREADS``).

    Returns:
        ``{patient_id: PatientFeatures}`` for every patient with at least one slide listed
        (a patient whose slides have no tissue gets ``n_patches == 0``; patients without
        slides are absent).

    Raises:
        SlideError: An unreadable slide (with ``on_error="raise"``).
    """
    from tqdm.auto import tqdm

    if on_error not in ("raise", "skip"):
        raise ConfigError(f"on_error must be 'raise' or 'skip', got {on_error!r}")
    slides_map: dict[str, list[str]] = cohort if isinstance(cohort, dict) else dict(cohort.slides)
    spec = _as_spec(encoder, weights, pretrained, seed)
    items = [(pid, str(sp)) for pid, paths in slides_map.items() for sp in (paths or [])]
    out: dict[str, PatientFeatures] = {}
    per_patient: dict[str, list[tuple[str, SlideFeatures]]] = {pid: [] for pid, paths in slides_map.items() if paths}
    n_cached = 0
    with tqdm(total=len(items), desc="slides", unit="slide", disable=not show_progress) as bar:
        for pid, sp in items:
            try:
                sf = extract_slide_features(
                    sp,
                    spec,
                    tiling=tiling,
                    cache_dir=cache_dir,
                    device=device,
                    batch_size=batch_size,
                    num_workers=num_workers,
                    amp=amp,
                    show_progress=show_progress,
                    max_pixels=max_pixels,
                    cpu_threads=cpu_threads,
                )
            except SlideError as exc:
                if on_error == "raise":
                    raise
                warnings.warn(f"patient {pid}: skipping slide: {exc}", DataQualityWarning, stacklevel=2)
                bar.update(1)
                continue
            n_cached += sf.from_cache
            per_patient[pid].append((sp, sf))
            bar.update(1)
            bar.set_postfix(cached=n_cached)
    for pid, lst in per_patient.items():
        if not lst:  # every slide of this patient was skipped
            continue
        feats = [sf.features for _, sf in lst]
        coords = [sf.coords for _, sf in lst]
        idx = [np.full(len(sf.features), i, dtype=np.int64) for i, (_, sf) in enumerate(lst)]
        out[pid] = PatientFeatures(
            features=np.concatenate(feats, axis=0).astype(np.float32),
            coords=np.concatenate(coords, axis=0).astype(np.int64),
            slide_index=np.concatenate(idx),
            slide_paths=[s for s, _ in lst],
        )
    logger.info("features for %d patients (%d slides, %d from cache)", len(out), len(items), n_cached)
    return out
