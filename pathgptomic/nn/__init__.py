"""Networks: SNN, MLP-B, fusion model, MIL pooling, image encoders (T2T-ViT registered in timm)."""
