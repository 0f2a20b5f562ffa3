"""T2T-ViT (Tokens-to-Token Vision Transformer), registered in timm's model registry.

Yuan et al., "Tokens-to-Token ViT: Training Vision Transformers from Scratch on ImageNet",
ICCV 2021 (https://arxiv.org/abs/2101.11986). Path-GPTomic uses T2T-ViT-14 as its
image encoder.

Architecture (written for this project, following the paper):

* **T2T module**: three soft splits (``nn.Unfold``: kernel 7 / stride 4 / padding 2, then
  twice kernel 3 / stride 2 / padding 1) separated by two *token transformers* (the
  "transformer" T2T variant, ``T2T-ViT_t`` in the release; the Performer variant is not
  implemented), then a linear projection to ``embed_dim``. A 224² image gives
  ``(224 / 16)² = 196`` tokens.
* **Backbone**: class token + fixed sinusoidal position table, ``depth`` pre-norm ViT
  blocks (timm's ``Block``), final LayerNorm; the class token is the image embedding.

Importing this module registers ``t2t_vit_7``, ``t2t_vit_14`` and the tiny
``t2t_vit_test``; then ``timm.create_model("t2t_vit_14", num_classes=0)`` returns a
384-d encoder. Module and parameter names match the official release checkpoints
(``tokens_to_token.*``, ``cls_token``, ``pos_embed``, ``blocks.*``, ``norm``, ``head``);
:func:`checkpoint_filter_fn` unwraps and remaps them.

Notes on the official checkpoints: the released ``T2T_ViT_14``/``_7`` weights are the
*Performer* T2T variant and are refused with a message; ``T2T_ViT_t_14`` (transformer
T2T, 384-d, depth 14) loads into ``t2t_vit_14`` here, and ``T2T_ViT_t_*`` of other sizes
into a model built with the matching ``embed_dim``/``depth``/``num_heads``.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD
from timm.layers import Mlp, trunc_normal_
from timm.models import build_model_with_cfg, register_model
from timm.models.vision_transformer import Block

logger = logging.getLogger(__name__)

__all__ = ["T2TViT", "T2TModule", "TokenTransformer", "checkpoint_filter_fn", "sinusoid_table"]


def sinusoid_table(n_position: int, dim: int) -> torch.Tensor:
    """Fixed sinusoidal position table of Vaswani et al.

    .. math::
        P_{p, 2i} = \\sin(p / 10000^{2i/d}),\\quad P_{p, 2i+1} = \\cos(p / 10000^{2i/d})

    Args:
        n_position: Number of positions (tokens incl. the class token).
        dim: Embedding width ``d``.

    Returns:
        Tensor of shape ``(1, n_position, dim)``, float32.
    """
    pos = torch.arange(n_position, dtype=torch.float64)[:, None]
    idx = torch.arange(dim, dtype=torch.float64)[None, :]
    angle = pos / torch.pow(10000.0, 2 * torch.div(idx, 2, rounding_mode="floor") / dim)
    table = torch.empty_like(angle)
    table[:, 0::2] = torch.sin(angle[:, 0::2])
    table[:, 1::2] = torch.cos(angle[:, 1::2])
    return table.float().unsqueeze(0)


class TokenAttention(nn.Module):
    """Attention whose value width (``out_dim``) differs from its input width (``dim``).

    The output is ``proj(softmax(q kᵀ · scale) v) + v``: the residual goes through ``v``
    because input and output widths differ. ``scale`` defaults to
    ``(dim / num_heads) ** -0.5`` (input width, as in the reference implementation).
    """

    def __init__(
        self,
        dim: int,
        out_dim: int,
        num_heads: int = 1,
        qkv_bias: bool = False,
        qk_scale: float | None = None,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ) -> None:
        super().__init__()
        if out_dim % num_heads:
            raise ValueError(f"out_dim {out_dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.out_dim = out_dim
        self.scale = qk_scale or (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, out_dim * 3, bias=qkv_bias)
        self.attn_drop = attn_drop
        self.proj = nn.Linear(out_dim, out_dim)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, N, dim) -> (B, N, out_dim)``."""
        b, n, _ = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, self.num_heads, self.out_dim // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop if self.training else 0.0, scale=self.scale)
        y = self.proj_drop(self.proj(y.transpose(1, 2).reshape(b, n, self.out_dim)))
        return v.transpose(1, 2).reshape(b, n, self.out_dim) + y


class TokenTransformer(nn.Module):
    """Transformer layer of the T2T module: ``y = attn(norm1(x)); y + mlp(norm2(y))``."""

    def __init__(
        self,
        dim: int,
        out_dim: int,
        num_heads: int = 1,
        mlp_ratio: float = 1.0,
        qkv_bias: bool = False,
        qk_scale: float | None = None,
        drop: float = 0.0,
        attn_drop: float = 0.0,
        norm_layer: Callable[..., nn.Module] = nn.LayerNorm,
    ) -> None:
        super().__init__()
        self.norm1 = norm_layer(dim)
        self.attn = TokenAttention(dim, out_dim, num_heads, qkv_bias, qk_scale, attn_drop, drop)
        self.norm2 = norm_layer(out_dim)
        self.mlp = Mlp(in_features=out_dim, hidden_features=int(out_dim * mlp_ratio), out_features=out_dim, drop=drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, N, dim) -> (B, N, out_dim)``."""
        x = self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def _unfold_out(size: int, kernel: int, stride: int, pad: int) -> int:
    return (size + 2 * pad - kernel) // stride + 1


class T2TModule(nn.Module):
    """Tokens-to-token: soft split → token transformer → re-structurize, twice, then project.

    Args:
        img_size: Input side in pixels (for the token count).
        in_chans: Input channels.
        embed_dim: Output token width.
        token_dim: Width of the intermediate tokens.
    """

    def __init__(self, img_size: int = 224, in_chans: int = 3, embed_dim: int = 384, token_dim: int = 64) -> None:
        super().__init__()
        self.soft_split0 = nn.Unfold(kernel_size=(7, 7), stride=(4, 4), padding=(2, 2))
        self.soft_split1 = nn.Unfold(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
        self.soft_split2 = nn.Unfold(kernel_size=(3, 3), stride=(2, 2), padding=(1, 1))
        self.attention1 = TokenTransformer(in_chans * 7 * 7, token_dim, num_heads=1, mlp_ratio=1.0)
        self.attention2 = TokenTransformer(token_dim * 3 * 3, token_dim, num_heads=1, mlp_ratio=1.0)
        self.project = nn.Linear(token_dim * 3 * 3, embed_dim)
        self.grid_size = self.output_grid(img_size, img_size)
        self.num_patches = self.grid_size[0] * self.grid_size[1]

    @staticmethod
    def output_grid(h: int, w: int) -> tuple[int, int]:
        """Token grid ``(h', w')`` for an input of ``h × w`` pixels."""
        h0, w0 = _unfold_out(h, 7, 4, 2), _unfold_out(w, 7, 4, 2)
        h1, w1 = _unfold_out(h0, 3, 2, 1), _unfold_out(w0, 3, 2, 1)
        return _unfold_out(h1, 3, 2, 1), _unfold_out(w1, 3, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` → tokens ``(B, h'·w', embed_dim)``."""
        b, _, h, w = x.shape
        h0, w0 = _unfold_out(h, 7, 4, 2), _unfold_out(w, 7, 4, 2)
        t = self.attention1(self.soft_split0(x).transpose(1, 2))  # (B, h0*w0, token_dim)
        t = t.transpose(1, 2).reshape(b, -1, h0, w0)
        h1, w1 = _unfold_out(h0, 3, 2, 1), _unfold_out(w0, 3, 2, 1)
        t = self.attention2(self.soft_split1(t).transpose(1, 2))
        t = t.transpose(1, 2).reshape(b, -1, h1, w1)
        t = self.soft_split2(t).transpose(1, 2)
        return self.project(t)


class T2TViT(nn.Module):
    """T2T-ViT image classifier / encoder (timm conventions).

    Args:
        img_size: Input side in pixels (sets the position table; other sizes are
            accepted at run time, the table is recomputed for them).
        in_chans: Input channels.
        num_classes: Classifier outputs; 0 = no head (``forward`` returns embeddings).
        embed_dim: Token width (= ``num_features``).
        depth: Number of ViT blocks.
        num_heads: Attention heads per block.
        mlp_ratio: MLP hidden width / ``embed_dim``.
        qkv_bias: Bias in the qkv projections (False in the paper).
        token_dim: Width of the T2T intermediate tokens.
        drop_rate: Dropout after position embedding / in MLPs.
        attn_drop_rate: Attention dropout.
        drop_path_rate: Stochastic-depth rate (linearly increasing over blocks).
        global_pool: ``"token"`` (class token, the paper) or ``"avg"`` (mean of patch tokens).
    """

    def __init__(
        self,
        img_size: int = 224,
        in_chans: int = 3,
        num_classes: int = 1000,
        embed_dim: int = 384,
        depth: int = 14,
        num_heads: int = 6,
        mlp_ratio: float = 3.0,
        qkv_bias: bool = False,
        token_dim: int = 64,
        drop_rate: float = 0.0,
        attn_drop_rate: float = 0.0,
        drop_path_rate: float = 0.0,
        global_pool: str = "token",
    ) -> None:
        super().__init__()
        if global_pool not in ("token", "avg"):
            raise ValueError(f"global_pool must be 'token' or 'avg', got {global_pool!r}")
        self.num_classes = num_classes
        self.global_pool = global_pool
        self.num_features = self.head_hidden_size = self.embed_dim = embed_dim
        self.num_prefix_tokens = 1
        self.grad_checkpointing = False
        self.tokens_to_token = T2TModule(img_size, in_chans, embed_dim, token_dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.register_buffer("pos_embed", sinusoid_table(self.tokens_to_token.num_patches + 1, embed_dim))
        self.pos_drop = nn.Dropout(drop_rate)
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()
        self.blocks = nn.ModuleList(
            [
                Block(
                    dim=embed_dim,
                    num_heads=num_heads,
                    mlp_ratio=mlp_ratio,
                    qkv_bias=qkv_bias,
                    proj_drop=drop_rate,
                    attn_drop=attn_drop_rate,
                    drop_path=dpr[i],
                )
                for i in range(depth)
            ]
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.head_drop = nn.Dropout(drop_rate)
        self.head = nn.Linear(embed_dim, num_classes) if num_classes > 0 else nn.Identity()
        trunc_normal_(self.cls_token, std=0.02)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    @torch.jit.ignore
    def no_weight_decay(self) -> set[str]:
        """Parameters excluded from weight decay."""
        return {"cls_token"}

    @torch.jit.ignore
    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """Recompute block activations in backward to save memory."""
        self.grad_checkpointing = enable

    @torch.jit.ignore
    def get_classifier(self) -> nn.Module:
        """The classifier head."""
        return self.head

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """Replace the head (``num_classes=0`` → identity, embeddings out)."""
        self.num_classes = num_classes
        if global_pool is not None:
            self.global_pool = global_pool
        self.head = nn.Linear(self.embed_dim, num_classes) if num_classes > 0 else nn.Identity()

    def _pos_embed_for(self, n_tokens: int) -> torch.Tensor:
        if self.pos_embed.shape[1] == n_tokens + 1:
            return self.pos_embed
        return sinusoid_table(n_tokens + 1, self.embed_dim).to(self.pos_embed.device)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` → normalised tokens ``(B, 1 + h'·w', embed_dim)``."""
        x = self.tokens_to_token(x)
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1)
        x = self.pos_drop(x + self._pos_embed_for(x.shape[1] - 1).to(x.dtype))
        for blk in self.blocks:
            if self.grad_checkpointing and not torch.jit.is_scripting():
                x = torch.utils.checkpoint.checkpoint(blk, x, use_reentrant=False)
            else:
                x = blk(x)
        return self.norm(x)

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Tokens ``(B, T, D)`` → embeddings ``(B, D)`` (``pre_logits``) or logits ``(B, num_classes)``."""
        x = x[:, 0] if self.global_pool == "token" else x[:, self.num_prefix_tokens :].mean(dim=1)
        x = self.head_drop(x)
        return x if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` → ``(B, num_classes)`` or ``(B, embed_dim)`` when ``num_classes=0``."""
        return self.forward_head(self.forward_features(x))


def checkpoint_filter_fn(state_dict: dict[str, Any], model: T2TViT) -> dict[str, torch.Tensor]:
    """Remap an official T2T-ViT release checkpoint (or a plain state dict) to this model.

    Handles: nesting under ``state_dict_ema`` / ``state_dict`` / ``model`` (EMA preferred,
    as the release evaluates it), the DataParallel ``module.`` prefix, the fixed
    ``pos_embed`` table (recomputed here, so a table of another length is dropped), and a
    classifier head of another size or a head-less model (``head.*`` dropped).

    Args:
        state_dict: Loaded checkpoint (possibly nested).
        model: The target model.

    Returns:
        A state dict for ``model.load_state_dict``.

    Raises:
        ValueError: For a Performer-variant checkpoint (not implemented here).
    """
    sd: Any = state_dict
    for key in ("state_dict_ema", "state_dict", "model"):
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
            break
    out: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        if not isinstance(v, torch.Tensor):
            continue
        if k.startswith("module."):
            k = k[len("module.") :]
        out[k] = v
    t2t_keys = [k for k in out if k.startswith("tokens_to_token.")]
    if any(k.endswith(".prm_exp") or ".kqv." in k or k.endswith(".attention1.w") for k in t2t_keys):
        raise ValueError(
            "this is a Performer-variant T2T-ViT checkpoint (keys like tokens_to_token.attention1.kqv); "
            "this project implements the transformer T2T variant: use a T2T_ViT_t_* release checkpoint"
        )
    pe = out.get("pos_embed")
    if pe is not None and pe.shape != model.pos_embed.shape:
        logger.info(
            "dropping checkpoint pos_embed %s (fixed sinusoid table, recomputed as %s)", tuple(pe.shape), tuple(model.pos_embed.shape)
        )
        out.pop("pos_embed")
    if "pos_embed" not in out:
        out["pos_embed"] = model.pos_embed.detach().clone()
    head_w = out.get("head.weight")
    if head_w is not None and (model.num_classes == 0 or head_w.shape[0] != model.num_classes):
        out.pop("head.weight", None)
        out.pop("head.bias", None)
    return out


def _cfg(**kwargs: Any) -> dict[str, Any]:
    return {
        "url": "",
        "num_classes": 1000,
        "input_size": (3, 224, 224),
        "pool_size": None,
        "crop_pct": 0.9,
        "interpolation": "bicubic",
        "fixed_input_size": False,
        "mean": IMAGENET_DEFAULT_MEAN,
        "std": IMAGENET_DEFAULT_STD,
        "first_conv": "tokens_to_token.soft_split0",
        "classifier": "head",
        "license": "bsd-3-clause-clear (official weights)",
        **kwargs,
    }


default_cfgs: dict[str, dict[str, Any]] = {
    "t2t_vit_7": _cfg(),
    "t2t_vit_14": _cfg(),
    "t2t_vit_test": _cfg(input_size=(3, 64, 64), crop_pct=1.0),
}


def _create(variant: str, pretrained: bool = False, **kwargs: Any) -> T2TViT:
    if pretrained and not kwargs.get("pretrained_cfg_overlay"):
        raise RuntimeError(
            f"{variant} has no downloadable weights; load a local checkpoint with "
            "pathgptomic.nn.encoders.create_image_encoder(name, weights=path)"
        )
    pretrained_cfg = kwargs.pop("pretrained_cfg", None) or default_cfgs[variant]
    return build_model_with_cfg(
        T2TViT,
        variant,
        pretrained,
        pretrained_cfg=pretrained_cfg,
        pretrained_filter_fn=checkpoint_filter_fn,
        **kwargs,
    )


@register_model
def t2t_vit_7(pretrained: bool = False, **kwargs: Any) -> T2TViT:
    """T2T-ViT-7 (256-d, depth 7, 4 heads, MLP ratio 2; transformer T2T)."""
    args = dict(embed_dim=256, depth=7, num_heads=4, mlp_ratio=2.0)
    return _create("t2t_vit_7", pretrained, **dict(args, **kwargs))


@register_model
def t2t_vit_14(pretrained: bool = False, **kwargs: Any) -> T2TViT:
    """T2T-ViT-14, the paper's encoder (384-d, depth 14, 6 heads, MLP ratio 3; transformer T2T)."""
    args = dict(embed_dim=384, depth=14, num_heads=6, mlp_ratio=3.0)
    return _create("t2t_vit_14", pretrained, **dict(args, **kwargs))


@register_model
def t2t_vit_test(pretrained: bool = False, **kwargs: Any) -> T2TViT:
    """Tiny T2T-ViT for tests (32-d, depth 2, 2 heads, token_dim 16, 64² input)."""
    args = dict(img_size=64, embed_dim=32, depth=2, num_heads=2, mlp_ratio=2.0, token_dim=16)
    return _create("t2t_vit_test", pretrained, **dict(args, **kwargs))


def count_tokens(img_size: int) -> int:
    """Number of patch tokens for a square input of ``img_size`` pixels."""
    h, w = T2TModule.output_grid(img_size, img_size)
    return h * w
