"""Networks: SNN, MLP-B, fusion model, MIL pooling, image encoders (T2T-ViT registered in timm)."""

from pathgptomic.nn import t2t_vit as _t2t_vit  # noqa: F401  (registers t2t_vit_* in timm's model registry)
