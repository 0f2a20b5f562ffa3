"""Patches of a slide through a frozen encoder, and the CPU thread policy of inference.

:class:`_PatchDataset` reads one slide's patches as normalised tensors (also inside
``DataLoader`` worker processes) and :func:`_encode` runs them through the encoder in batches
(CUDA + autocast when available, CPU float32 otherwise).

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
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from pathgptomic.errors import ConfigError

if TYPE_CHECKING:
    import torch

    from pathgptomic.nn.encoders import ImageEncoder
    from pathgptomic.slides.reader import Slide
    from pathgptomic.slides.tiling import TilingResult

__all__ = ["DEFAULT_CPU_THREADS", "resolve_cpu_threads", "torch_cpu_threads"]

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


def _resolve_device(device: str | torch.device | None) -> torch.device:
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


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


def _encode(
    dataset: _PatchDataset,
    encoder: ImageEncoder,
    device: torch.device,
    batch_size: int,
    num_workers: int,
    amp: bool,
    show_progress: bool,
    desc: str,
    cpu_threads: int | None = None,
) -> np.ndarray:
    """Encoder outputs of every patch, shape ``(n, D)`` float32.

    On the CPU the forward passes run with :func:`resolve_cpu_threads` threads (1 unless
    configured; see the module docstring) and the caller's thread count is restored.
    """
    import torch
    from torch.utils.data import DataLoader
    from tqdm.auto import tqdm

    if len(dataset) == 0:
        return np.zeros((0, encoder.num_features), dtype=np.float32)
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        num_workers=num_workers,  # type: ignore[arg-type]
        pin_memory=device.type == "cuda",
    )
    model = encoder.model.to(device).eval()
    use_amp = amp and device.type == "cuda"
    amp_dtype = torch.bfloat16 if (use_amp and torch.cuda.is_bf16_supported()) else torch.float16
    out: list[np.ndarray] = []
    threads = resolve_cpu_threads(cpu_threads) if device.type == "cpu" else None
    with (
        torch_cpu_threads(threads),
        torch.inference_mode(),
        tqdm(total=len(dataset), desc=desc, unit="patch", leave=False, disable=not show_progress) as bar,
    ):
        for batch in loader:
            batch = batch.to(device, non_blocking=True)
            with torch.autocast(device_type="cuda", dtype=amp_dtype, enabled=use_amp):
                f = model(batch)
            out.append(f.float().cpu().numpy())
            bar.update(batch.shape[0])
    return np.concatenate(out, axis=0).astype(np.float32)
