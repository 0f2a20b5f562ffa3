"""Path-GPTomic: multimodal (H&E pathology + genomics) survival prediction with balanced training.

Importing the package registers the project's T2T-ViT models in timm's registry, so
``timm.create_model("t2t_vit_14", num_classes=0)`` works afterwards.
"""

__version__ = "0.1.0"

try:  # registration needs torch + timm; keep the package importable without them
    from pathgptomic import nn as _nn  # noqa: F401
except ImportError:  # pragma: no cover - torch/timm missing
    pass
