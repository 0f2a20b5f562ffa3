"""On-disk cache entries of patch features: keys, atomic writes, checksums, shipped features.

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
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pathgptomic.slides.tiling import TilingConfig

logger = logging.getLogger(__name__)

__all__ = [
    "CACHE_FORMAT_VERSION",
    "SHIPPED_FEATURES_DIRNAME",
    "cache_entry_path",
    "default_cache_dir",
    "slide_content_hash",
]

CACHE_FORMAT_VERSION = 1
_FULL_HASH_LIMIT = 64 << 20
_SAMPLE = 8 << 20
_HASH_MEMO: dict[tuple[str, int, int], str] = {}


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


def _settings_hash(encoder_key: str, tiling: TilingConfig) -> str:
    payload = json.dumps({"version": CACHE_FORMAT_VERSION, "encoder": encoder_key, "tiling": tiling.to_dict()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _safe_name(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "encoder"


def cache_entry_path(cache_dir: str | os.PathLike[str], slide_hash: str, encoder_name: str, encoder_key: str, tiling: TilingConfig) -> Path:
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
    np.savez(
        buf,
        features=features.astype(np.float32),
        coords=coords.astype(np.int64),
        meta=np.frombuffer(json.dumps(meta, default=str).encode(), dtype=np.uint8),
    )
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
