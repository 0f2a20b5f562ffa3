"""Image encoders: one factory for T2T-ViT, any timm model and local foundation models.

``create_image_encoder(name)`` returns ``(model, transform, num_features)``: a model in
eval mode whose ``forward`` maps images ``(B, 3, H, W)`` to embeddings ``(B, D)``, a
transform mapping an RGB ``uint8`` patch ``(h, w, 3)`` to a normalised tensor
``(3, H, W)`` (resize to the model's input size, then mean/std from the model's timm data
config), and ``D``.

Nothing is downloaded unless ``pretrained=True`` is passed explicitly (timm's own
mechanism, needs network). Local weights (``weights=path``) are read with
``torch.load(weights_only=True)`` or safetensors; T2T-ViT release checkpoints are remapped
(:func:`pathgptomic.nn.t2t_vit.checkpoint_filter_fn`).

A local model that is not in timm can be added with :func:`register_image_encoder`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from pathgptomic.errors import CheckpointError, ConfigError
from pathgptomic.hashing import file_sha256

logger = logging.getLogger(__name__)

__all__ = [
    "ImageEncoder",
    "PatchTransform",
    "create_image_encoder",
    "file_sha256",
    "list_image_encoders",
    "load_encoder",
    "load_weights",
    "register_image_encoder",
]

#: Project-registered factories: name -> callable(num_classes=...) -> nn.Module.
_FACTORIES: dict[str, Callable[..., nn.Module]] = {}


def register_image_encoder(name: str, factory: Callable[..., nn.Module]) -> None:
    """Make ``name`` resolvable by :func:`create_image_encoder` (e.g. a local foundation model).

    Args:
        name: Encoder name (takes precedence over a timm model of that name).
        factory: Called as ``factory(num_classes=...)``; must return a module with
            ``num_features`` and timm-style ``pretrained_cfg`` (mean/std/input_size), or
            the ImageNet defaults at 224² are assumed.
    """
    _FACTORIES[name] = factory


def list_image_encoders(pattern: str = "") -> list[str]:
    """Project-registered encoders plus timm models matching ``pattern`` (glob, e.g. ``"resnet*"``)."""
    import timm

    _ensure_t2t_registered()
    names = sorted(_FACTORIES)
    return names + [m for m in timm.list_models(pattern or "*") if m not in _FACTORIES]


def _ensure_t2t_registered() -> None:
    import pathgptomic.nn.t2t_vit  # noqa: F401  (registers t2t_vit_* in timm)


class PatchTransform:
    """RGB ``uint8`` patch → normalised float tensor (picklable for DataLoader workers).

    .. math:: y_c = (x_c / 255 - \\mu_c) / \\sigma_c

    after resizing ``x`` to ``size`` (bilinear, antialiased) when it differs.

    Args:
        size: Output ``(height, width)``.
        mean: Per-channel mean ``μ`` (3 values, on the 0..1 scale).
        std: Per-channel std ``σ``.
    """

    def __init__(self, size: tuple[int, int], mean: tuple[float, ...], std: tuple[float, ...]) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)

    def __call__(self, patch: Any) -> torch.Tensor:
        """``(h, w, 3)`` uint8 array or PIL image → ``(3, H, W)`` float32 tensor."""
        arr = np.asarray(patch)
        if arr.ndim == 2:
            arr = np.repeat(arr[..., None], 3, axis=2)
        rgb = arr[..., :3]
        if not (rgb.flags.writeable and rgb.flags.c_contiguous):
            rgb = np.array(rgb, copy=True)  # e.g. read-only views of PIL images
        x = torch.from_numpy(rgb).permute(2, 0, 1).float().div_(255.0)
        if tuple(x.shape[1:]) != self.size:
            x = F.interpolate(x[None], size=self.size, mode="bilinear", align_corners=False, antialias=True)[0]
        mean = torch.tensor(self.mean).view(3, 1, 1)
        std = torch.tensor(self.std).view(3, 1, 1)
        return (x - mean) / std

    def __repr__(self) -> str:
        return f"PatchTransform(size={self.size}, mean={self.mean}, std={self.std})"


@dataclass
class ImageEncoder:
    """An encoder ready for feature extraction.

    Attributes:
        name: Encoder name as requested.
        model: Module mapping ``(B, 3, H, W)`` to ``(B, num_features)`` (eval mode).
        transform: Patch transform (see :class:`PatchTransform`).
        num_features: Embedding width ``D``.
        weights_hash: SHA-256 of the local weights file, ``"pretrained:<name>"`` for a timm
            download, or ``"random-init"``.
    """

    name: str
    model: nn.Module
    transform: PatchTransform
    num_features: int
    weights_hash: str

    @property
    def key(self) -> str:
        """Identity used in cache keys: name + weights + input transform."""
        return f"{self.name}|{self.weights_hash}|{self.transform!r}"


def _read_checkpoint(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CheckpointError(f"encoder weights file {path} does not exist; pass an existing .pth/.pt/.safetensors file")
    if path.suffix == ".safetensors":
        try:
            from safetensors.torch import load_file

            return dict(load_file(str(path), device="cpu"))
        except Exception as exc:  # noqa: BLE001
            raise CheckpointError(f"encoder weights {path} are not a readable safetensors file: {exc}") from exc
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001
        raise CheckpointError(
            f"encoder weights {path} cannot be loaded with torch.load(weights_only=True) ({exc}); "
            "it may be damaged, or contain pickled Python objects (re-save it as a plain state dict or safetensors)"
        ) from exc
    if isinstance(obj, nn.Module):  # pragma: no cover - weights_only refuses modules
        obj = obj.state_dict()
    if not isinstance(obj, dict):
        raise CheckpointError(f"encoder weights {path} hold a {type(obj).__name__}, not a state dict")
    return obj


def _unwrap(sd: dict[str, Any]) -> dict[str, torch.Tensor]:
    for key in ("state_dict_ema", "state_dict", "model", "module"):
        if key in sd and isinstance(sd[key], dict):
            sd = sd[key]
            break
    out = {}
    for k, v in sd.items():
        if isinstance(v, torch.Tensor):
            out[k[len("module.") :] if k.startswith("module.") else k] = v
    return out


def load_weights(model: nn.Module, path: str | os.PathLike[str]) -> None:
    """Load a local checkpoint into ``model`` (strict, classifier head excepted).

    Args:
        model: Target model (timm or T2T-ViT).
        path: ``.safetensors`` or a torch checkpoint (read with ``weights_only=True``).

    Raises:
        CheckpointError: Unreadable file, or keys/shapes that do not match the model
            (the message lists a few of them).
    """
    p = Path(path)
    raw = _read_checkpoint(p)
    from pathgptomic.nn.t2t_vit import T2TViT, checkpoint_filter_fn

    if isinstance(model, T2TViT):
        try:
            sd = checkpoint_filter_fn(raw, model)
        except ValueError as exc:
            raise CheckpointError(f"encoder weights {p}: {exc}") from exc
    else:
        sd = _unwrap(raw)
        cfg = getattr(model, "pretrained_cfg", None) or {}
        classifier = cfg.get("classifier") if isinstance(cfg, dict) else None
        own = model.state_dict()
        for head in [classifier] if isinstance(classifier, str) else list(classifier or []):
            for suffix in (".weight", ".bias"):
                k = f"{head}{suffix}"
                if k in sd and (k not in own or own[k].shape != sd[k].shape):
                    sd.pop(k)
    own = model.state_dict()
    bad_shape = [f"{k} {tuple(v.shape)} vs {tuple(own[k].shape)}" for k, v in sd.items() if k in own and own[k].shape != v.shape]
    if bad_shape:
        raise CheckpointError(
            f"encoder weights {p} do not fit this model (shape mismatch: {', '.join(bad_shape[:5])}); "
            "check the encoder name matches the checkpoint"
        )
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        raise CheckpointError(
            f"encoder weights {p} do not fit this model: missing {list(missing)[:5]} "
            f"({len(missing)} total), unexpected {list(unexpected)[:5]} ({len(unexpected)} total); "
            "check the encoder name matches the checkpoint"
        )
    logger.info("loaded encoder weights from %s (%d tensors)", p, len(sd))


def _data_config(model: nn.Module) -> dict[str, Any]:
    import timm.data

    try:
        cfg = timm.data.resolve_model_data_config(model)
    except Exception:  # noqa: BLE001 - custom models without pretrained_cfg
        cfg = {}
    return {
        "input_size": tuple(cfg.get("input_size", (3, 224, 224))),
        "mean": tuple(cfg.get("mean", (0.485, 0.456, 0.406))),
        "std": tuple(cfg.get("std", (0.229, 0.224, 0.225))),
    }


def create_image_encoder(
    name: str,
    *,
    weights: str | os.PathLike[str] | None = None,
    pretrained: bool = False,
    num_classes: int = 0,
    **model_kwargs: Any,
) -> tuple[nn.Module, PatchTransform, int]:
    """Build an image encoder by name.

    Args:
        name: ``"t2t_vit_14"`` (the paper), ``"t2t_vit_7"``, ``"t2t_vit_test"``, any timm
            model name (``"resnet50"``, ``"vit_small_patch16_224"``...), or a name added
            with :func:`register_image_encoder`.
        weights: Local checkpoint to load (``weights_only`` torch file or safetensors).
        pretrained: Opt in to timm's download of pretrained weights (needs network; off
            by default, and ignored when ``weights`` is given).
        num_classes: Classifier outputs; 0 = embeddings.
        **model_kwargs: Passed to the model constructor (e.g. ``img_size``).

    Returns:
        ``(model, transform, num_features)``; the model is in eval mode on the CPU.

    Raises:
        ConfigError: Unknown name.
        CheckpointError: Weights that cannot be read or do not fit.
    """
    import timm

    _ensure_t2t_registered()
    if name in _FACTORIES:
        model = _FACTORIES[name](num_classes=num_classes, **model_kwargs)
    else:
        if not timm.is_model(name):
            close = timm.list_models(f"*{name.split('_')[0]}*")[:8]
            raise ConfigError(
                f"unknown image encoder {name!r}; use t2t_vit_14, t2t_vit_7, a timm model name "
                f"(e.g. {', '.join(close) or 'resnet50'}), or register_image_encoder()"
            )
        use_pretrained = bool(pretrained) and weights is None
        if use_pretrained:
            logger.warning("downloading pretrained weights for %s through timm (opt-in)", name)
        try:
            model = timm.create_model(name, pretrained=use_pretrained, num_classes=num_classes, **model_kwargs)
        except Exception as exc:  # noqa: BLE001
            if use_pretrained:
                raise CheckpointError(f"could not fetch pretrained weights for {name!r} through timm: {exc}") from exc
            raise
    if weights is not None:
        load_weights(model, weights)
    elif not pretrained:
        logger.warning("image encoder %s has random weights (no weights= file, pretrained=False)", name)
    model.eval()
    dc = _data_config(model)
    transform = PatchTransform(dc["input_size"][1:], dc["mean"], dc["std"])
    num_features = int(getattr(model, "num_features", 0) or 0)
    if num_classes:
        num_features = int(num_classes)
    elif not num_features:
        with torch.no_grad():
            num_features = int(model(torch.zeros(1, *dc["input_size"])).shape[-1])
    return model, transform, num_features


def load_encoder(
    name: str,
    *,
    weights: str | os.PathLike[str] | None = None,
    pretrained: bool = False,
    seed: int = 0,
    **model_kwargs: Any,
) -> ImageEncoder:
    """:func:`create_image_encoder` with ``num_classes=0``, packed with its cache identity.

    Random initialisation (no weights, not pretrained) is seeded with ``seed`` so that the
    same name gives the same encoder, and thus valid cache entries, across runs.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model, transform, d = create_image_encoder(name, weights=weights, pretrained=pretrained, num_classes=0, **model_kwargs)
    if weights is not None:
        whash = file_sha256(weights)
    elif pretrained:
        whash = f"pretrained:{name}"
    else:
        whash = f"random-init:seed{seed}"
    return ImageEncoder(name=name, model=model, transform=transform, num_features=d, weights_hash=whash)
