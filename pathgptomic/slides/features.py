"""Patch-feature extraction with an on-disk cache.

For every slide: tile it (:func:`pathgptomic.slides.tiling.tile_slide`), read the
patches through a ``DataLoader`` (optional worker processes), encode them in batches
(CUDA + autocast when available, CPU float32 otherwise) and store
``features (n, D) float32`` + ``coords (n, 2)`` in ``cache_dir``.

Cache entries are keyed by

* the slide's content hash (SHA-256 of the bytes; for files above 64 MiB of the size and
  three 8 MiB samples at start/middle/end, so a 3 GB slide is not re-read in full),
* the encoder identity (name, weights-file SHA-256 or ``random-init:seed``, model kwargs),
* the tiling settings (:meth:`TilingConfig.to_dict`) and the cache format version.

After a miss, entries precomputed beside the slides in a :data:`SHIPPED_FEATURES_DIRNAME`
folder (same layout and keys) are used read-only.

Entries are written to a temporary file and renamed (atomic on POSIX), so a killed run
leaves either a whole entry or none, and a rerun continues where it stopped. Each entry
carries a SHA-256 of its arrays; an entry that fails to load or to verify is logged,
removed and recomputed.

CPU thread policy: encoding on the CPU runs with :data:`DEFAULT_CPU_THREADS` = 1 torch
intra-op thread (override per call with ``cpu_threads=`` or for the process with the
environment variable ``PATHGPTOMIC_CPU_THREADS``), and the caller's thread count is
restored afterwards (:func:`torch_cpu_threads`). Measured on the project's shared 2-core
machine (``benchmarks/results/inference_threads.md``): two threads gained little when the
machine was otherwise idle and were several times slower once another process competed
for the cores (OpenMP threads spin-wait for each other), which is the normal state of a
shared server or a dashboard running a training job beside a prediction. On a dedicated
many-core machine set ``PATHGPTOMIC_CPU_THREADS`` to the cores you want to use.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from pathgptomic.errors import ConfigError, DataQualityWarning, SlideError
from pathgptomic.slides.reader import Slide, open_slide
from pathgptomic.slides.tiling import TilingConfig, TilingResult, tile_slide

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

CACHE_FORMAT_VERSION = 1
_FULL_HASH_LIMIT = 64 << 20
_SAMPLE = 8 << 20
_HASH_MEMO: dict[tuple[str, int, int], str] = {}

#: Torch intra-op threads for CPU inference (patch encoding, scGPT embedding); see the
#: module docstring for the measurement behind it.
DEFAULT_CPU_THREADS = 1


def resolve_cpu_threads(cpu_threads: int | None = None) -> int:
    """Threads for CPU inference: ``cpu_threads``, else ``$PATHGPTOMIC_CPU_THREADS``, else 1.

    Raises:
        ConfigError: A value below 1 or a non-integer environment variable.
    """
    if cpu_threads is None:
        env = os.environ.get("PATHGPTOMIC_CPU_THREADS", "").strip()
        try:
            cpu_threads = int(env) if env else DEFAULT_CPU_THREADS
        except ValueError:
            raise ConfigError(f"PATHGPTOMIC_CPU_THREADS must be a whole number of threads (>= 1), got {env!r}") from None
    if int(cpu_threads) < 1:
        raise ConfigError(f"cpu_threads must be >= 1, got {cpu_threads}")
    return int(cpu_threads)


@contextlib.contextmanager
def torch_cpu_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads, then restore the caller's count.

    Args:
        n: Threads inside the block; ``None`` leaves the count unchanged (e.g. on CUDA).
    """
    import torch

    previous = torch.get_num_threads()
    if n is not None and n != previous:
        torch.set_num_threads(int(n))
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


def default_cache_dir() -> Path:
    """``$PATHGPTOMIC_CACHE_DIR/features`` or ``~/.cache/pathgptomic/features``."""
    root = os.environ.get("PATHGPTOMIC_CACHE_DIR")
    return Path(root) / "features" if root else Path.home() / ".cache" / "pathgptomic" / "features"


def slide_content_hash(path: str | os.PathLike[str]) -> str:
    """SHA-256 identifying a slide's content (see the module docstring for large files).

    Args:
        path: Slide file.

    Returns:
        Hex digest.
    """
    p = Path(path)
    st = p.stat()
    memo_key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if memo_key in _HASH_MEMO:
        return _HASH_MEMO[memo_key]
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        if st.st_size <= _FULL_HASH_LIMIT:
            while block := fh.read(1 << 20):
                h.update(block)
        else:
            h.update(f"sampled:{st.st_size}".encode())
            for off in (0, st.st_size // 2 - _SAMPLE // 2, st.st_size - _SAMPLE):
                fh.seek(off)
                h.update(fh.read(_SAMPLE))
    digest = h.hexdigest()
    _HASH_MEMO[memo_key] = digest
    return digest


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

            self._built = load_encoder(self.name, weights=self.weights, pretrained=self.pretrained, seed=self.seed,
                                       **self.model_kwargs)
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


def _resolve_device(device: str | torch.device | None) -> torch.device:
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _as_spec(encoder: str | EncoderSpec | ImageEncoder, weights: str | os.PathLike[str] | None,
             pretrained: bool, seed: int) -> EncoderSpec | ImageEncoder:
    if isinstance(encoder, str):
        return EncoderSpec(encoder, None if weights is None else str(weights), pretrained, seed)
    return encoder


def _settings_hash(encoder_key: str, tiling: TilingConfig) -> str:
    payload = json.dumps(
        {"version": CACHE_FORMAT_VERSION, "encoder": encoder_key, "tiling": tiling.to_dict()}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "encoder"


def cache_entry_path(cache_dir: str | os.PathLike[str], slide_hash: str, encoder_name: str, encoder_key: str,
                     tiling: TilingConfig) -> Path:
    """File of the cache entry for one slide / encoder / tiling combination."""
    return Path(cache_dir) / _safe_name(encoder_name) / f"{slide_hash[:32]}-{_settings_hash(encoder_key, tiling)}.npz"


def _checksum(features: np.ndarray, coords: np.ndarray) -> str:
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(features, dtype=np.float32).tobytes())
    h.update(np.ascontiguousarray(coords, dtype=np.int64).tobytes())
    return h.hexdigest()


def _write_entry(path: Path, features: np.ndarray, coords: np.ndarray, meta: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = dict(meta, checksum=_checksum(features, coords))
    buf = io.BytesIO()
    np.savez(buf, features=features.astype(np.float32), coords=coords.astype(np.int64),
             meta=np.frombuffer(json.dumps(meta, default=str).encode(), dtype=np.uint8))
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.getvalue())
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


#: Folder, beside a set of slides, holding their features precomputed in the cache layout
#: (``<encoder>/<entry>.npz``). It is read (never written) after a miss in the cache; an entry
#: matches only the same slide bytes, encoder weights and tiling, so stale features are never
#: used. The demo cohort ships its features this way (``assets/demo_cohort/images``), which
#: makes a cold demo prediction skip tiling and encoding.
SHIPPED_FEATURES_DIRNAME = ".pathgptomic-features"


def _read_entry(path: Path, *, remove_corrupt: bool = True) -> tuple[np.ndarray, np.ndarray, dict[str, Any]] | None:
    """The entry's arrays, or None (logged) when it is missing, unreadable or fails its checksum.

    A corrupt entry is deleted (so it is recomputed) unless ``remove_corrupt`` is False
    (features shipped beside the slides are never modified).
    """
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            features = np.asarray(z["features"], dtype=np.float32)
            coords = np.asarray(z["coords"], dtype=np.int64)
            meta = json.loads(bytes(z["meta"]).decode())
        if features.ndim != 2 or coords.shape != (features.shape[0], 2):
            raise ValueError(f"bad shapes {features.shape} / {coords.shape}")
        if meta.get("checksum") != _checksum(features, coords):
            raise ValueError("checksum mismatch")
    except Exception as exc:  # noqa: BLE001 - any failure means: recompute
        logger.warning("cache entry %s is corrupt (%s); recomputing it", path, exc)
        if remove_corrupt:
            try:
                path.unlink()
            except OSError:
                pass
        return None
    return features, coords, meta


class _PatchDataset:
    """Patches of one slide as normalised tensors (torch ``Dataset`` protocol)."""

    def __init__(self, slide: Slide, tiling: TilingResult, transform: Callable[[Any], Any]) -> None:
        self.slide = slide
        self.coords = tiling.coords
        self.level = tiling.level
        self.read_size = tiling.read_size
        self.transform = transform
        self._pid = os.getpid()

    def __len__(self) -> int:
        return len(self.coords)

    def __getitem__(self, i: int) -> Any:
        if self._pid != os.getpid():
            # A forked DataLoader worker must not share the parent's OpenSlide file handle
            # (shared file offsets); reopen lazily. Plain images keep their inherited pixels.
            self._pid = os.getpid()
            if self.slide.backend == "openslide":
                self.slide._osr = None
        x, y = self.coords[i]
        patch = self.slide.read_region((int(x), int(y)), self.level, (self.read_size, self.read_size))
        return self.transform(patch)


def _encode(dataset: _PatchDataset, encoder: ImageEncoder, device: torch.device, batch_size: int,
            num_workers: int, amp: bool, show_progress: bool, desc: str, cpu_threads: int | None = None) -> np.ndarray:
    """Encoder outputs of every patch, shape ``(n, D)`` float32.

    On the CPU the forward passes run with :func:`resolve_cpu_threads` threads (1 unless
    configured; see the module docstring) and the caller's thread count is restored.
    """
    import torch
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    if len(dataset) == 0:
        return np.zeros((0, encoder.num_features), dtype=np.float32)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers,  # type: ignore[arg-type]
                        pin_memory=device.type == "cuda")
    model = encoder.model.to(device).eval()
    use_amp = amp and device.type == "cuda"
    amp_dtype = torch.bfloat16 if (use_amp and torch.cuda.is_bf16_supported()) else torch.float16
    out: list[np.ndarray] = []
    threads = resolve_cpu_threads(cpu_threads) if device.type == "cpu" else None
    with torch_cpu_threads(threads), torch.inference_mode(), tqdm(
            total=len(dataset), desc=desc, unit="patch", leave=False, disable=not show_progress) as bar:
        for batch in loader:
            batch = batch.to(device, non_blocking=True)
            with torch.autocast(device_type="cuda", dtype=amp_dtype, enabled=use_amp):
                f = model(batch)
            out.append(f.float().cpu().numpy())
            bar.update(batch.shape[0])
    return np.concatenate(out, axis=0).astype(np.float32)


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
        features = _encode(ds, enc, dev, batch_size, num_workers, amp, show_progress, desc=p.name[:40],
                           cpu_threads=cpu_threads)
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
                sf = extract_slide_features(sp, spec, tiling=tiling, cache_dir=cache_dir, device=device,
                                            batch_size=batch_size, num_workers=num_workers, amp=amp,
                                            show_progress=show_progress, max_pixels=max_pixels,
                                            cpu_threads=cpu_threads)
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

