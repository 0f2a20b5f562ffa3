"""Path-GPTomic: multimodal (H&E pathology + genomics) survival prediction with balanced training.

Importing the package makes the project's T2T-ViT models available in timm's registry,
so ``timm.create_model("t2t_vit_14", num_classes=0)`` works afterwards. To keep
``import pathgptomic`` light (the dashboard's first page), timm is not imported here:
if timm is already imported the models are registered at once, otherwise a one-shot
import hook registers them right after timm's own import.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

__version__ = "0.1.0"


def lazy_exports(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """PEP 562 ``__getattr__`` and ``__dir__`` for a subpackage whose public names load on first use.

    Used as ``__getattr__, __dir__ = lazy_exports(__name__, {"name": "submodule", ...})`` so that
    importing the subpackage (e.g. for ``pathgptomic --help``) does not import torch.

    Args:
        package: The subpackage's ``__name__``.
        names: Public name → submodule (relative to ``package``) that defines it.

    Returns:
        ``(__getattr__, __dir__)`` for the subpackage's module namespace.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__


def _register_t2t() -> None:
    try:
        import pathgptomic.nn.t2t_vit  # noqa: F401  (registers t2t_vit_* in timm)
    except ImportError:  # pragma: no cover - torch missing
        pass


class _RegisterOnTimmImport(importlib.abc.MetaPathFinder):
    """Meta-path finder that runs :func:`_register_t2t` once ``timm`` has been imported."""

    def find_spec(self, fullname, path, target=None):  # noqa: ANN001, D102
        if fullname != "timm":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec("timm")
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_register(module):  # noqa: ANN001, ANN202
            exec_module(module)
            _register_t2t()

        spec.loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


if "timm" in sys.modules:
    _register_t2t()
elif not any(isinstance(f, _RegisterOnTimmImport) for f in sys.meta_path):
    sys.meta_path.insert(0, _RegisterOnTimmImport())
