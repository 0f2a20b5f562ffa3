"""The Path-GPTomic fusion model: genomic branch, image branch and a linear Cox head.

.. code-block:: text

    cnv ‖ mut ──► SNN ──► G1 ─┐
    rna ──► SNN (Exp. 1) or frozen scGPT → MLP-A features ──► G2 ─┤ MLP-B([G1‖G2]) ──┐
    (projected) cnv ‖ mut ‖ rna inputs ──► linear skip path L (zero at init) ─────────┴─ + ──► G
    patch features (B, N, D) ──► pool (mean | gated attention) ──► MLP ──► P
    θ = W^G·G + W^P·P + b                           (paper eq. 1; concat / gradmod)
    θ = head(gated Kronecker(G, P)) + b             (Pathomic Fusion; kronecker)

The branch terms ``W^G·G`` and ``W^P·P`` are returned separately so that balance
(ρ^G, ρ^P), per-branch C-indices and the exact modality decomposition can use them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from pathgptomic.errors import ConfigError
from pathgptomic.nn.snn import MLP, SNN
from pathgptomic.schema import DEFAULT_RNA_COMPONENTS, FUSION_MODES, POOLINGS, RNA_ENCODERS  # noqa: F401 - re-exported


@dataclass
class ModelConfig:
    """Hyper-parameters of :class:`PathGPTomic` (checked in ``__post_init__``).

    Attributes:
        fusion: ``concat`` | ``kronecker`` | ``gradmod`` | ``genomic`` | ``image``.
            ``gradmod`` has the ``concat`` architecture; its difference is in training.
        rna_encoder: ``snn`` (RNA through its own SNN), ``scgpt`` / ``scgpt_smooth``
            (precomputed frozen embeddings fed as G2), or ``none``.
        snn_hidden: Widths of the 4 SNN blocks for CNV + mutations (and RNA when ``snn``).
        snn_dropout: AlphaDropout probability in the SNNs.
        mlp_b_hidden: Hidden width of MLP-B (3 layers).
        genomic_dim: Width of G.
        image_dim: Width of P.
        image_hidden: Hidden width of the image projection.
        image_pooling: ``mean`` or ``attention`` (gated-attention MIL).
        dropout: Dropout in MLP-B and the image projection.
        kronecker_gate_dim: Width of each gated embedding before the Kronecker product.
        kronecker_hidden: Hidden width after the Kronecker product.
        image_finetune: Train the patch encoder end to end on ROI/patch images (the
            paper's setting) instead of consuming cached frozen features; the image input
            is then ``(B, N, 3, H, W)`` uint8 pixels.
        image_encoder: Encoder name for ``image_finetune`` (any timm / project name).
        image_mean: Per-channel normalisation mean (0..1 scale) for ``image_finetune``.
        image_std: Per-channel normalisation std for ``image_finetune``.
        rna_components: With ``rna_encoder="snn"`` and more RNA features than this, the
            standardised expression is first projected onto its leading principal
            components, fitted on the training patients only (a frozen linear layer:
            attributions still reach each gene), each scaled to unit variance; 0 = off.
        cnv_mut_components: The same projection for each *wide* block of the CNV/mutation
            SNN input (its ``cnv_mut_projected_blocks``); narrower blocks pass unchanged.
        cnv_mut_projected_blocks: Blocks of the CNV/mutation input that are projected
            (resolved per cohort; empty = no projection).
        cnv_mut_width: Width of the CNV/mutation SNN input after the projection (resolved per
            cohort with the blocks; 0 = no projection).
            The trainer keeps each projection only for a high-dimensional input (more
            features than patients, :func:`pathgptomic.training.config.resolve_block_projections`);
            measured in docs/DECISIONS.md, "RNA projection" and "Wide CNV/mutation blocks".
        linear_skip: Add a linear path from the genomic inputs to G, next to the networks:
            ``G = MLP-B([G1 ‖ G2]) + L·[x1 ‖ x2]`` with ``x1``/``x2`` the (projected) inputs
            of the two SNNs and ``L`` initialised at zero ("wide and deep"): the linear,
            Cox-like part of the genomic signal is learnt directly and the networks model
            what is left. Measured in docs/DECISIONS.md, "Linear skip path".
    """

    fusion: str = "gradmod"
    rna_encoder: str = "snn"
    snn_hidden: tuple[int, ...] = (64, 48, 32, 32)
    snn_dropout: float = 0.25
    mlp_b_hidden: int = 128
    genomic_dim: int = 32
    image_dim: int = 32
    image_hidden: int = 128
    image_pooling: str = "mean"
    dropout: float = 0.25
    kronecker_gate_dim: int = 16
    kronecker_hidden: int = 64
    image_finetune: bool = False
    image_encoder: str = ""
    image_mean: tuple[float, ...] = (0.485, 0.456, 0.406)
    image_std: tuple[float, ...] = (0.229, 0.224, 0.225)
    rna_components: int = DEFAULT_RNA_COMPONENTS
    cnv_mut_components: int = DEFAULT_RNA_COMPONENTS
    cnv_mut_projected_blocks: tuple[str, ...] = ()
    cnv_mut_width: int = 0
    linear_skip: bool = True

    def __post_init__(self) -> None:
        self.snn_hidden = tuple(int(h) for h in self.snn_hidden)
        if isinstance(self.cnv_mut_projected_blocks, str):
            raise ConfigError(f"cnv_mut_projected_blocks must be a list of block names, got the string {self.cnv_mut_projected_blocks!r}")
        self.cnv_mut_projected_blocks = tuple(str(b) for b in self.cnv_mut_projected_blocks)
        unknown = set(self.cnv_mut_projected_blocks) - {"cnv", "mut"}
        if unknown:
            raise ConfigError(f"cnv_mut_projected_blocks may hold 'cnv' and 'mut' only, got {sorted(unknown)}")
        if self.cnv_mut_projected_blocks and (int(self.cnv_mut_width) < 1 or int(self.cnv_mut_components) < 1):
            raise ConfigError(
                "projected CNV/mutation blocks need cnv_mut_components >= 1 and cnv_mut_width >= 1 "
                f"(got {self.cnv_mut_components} and {self.cnv_mut_width}); the configuration file was edited or is corrupt"
            )
        self.image_mean = tuple(float(v) for v in self.image_mean)
        self.image_std = tuple(float(v) for v in self.image_std)
        if self.image_finetune and not self.image_encoder:
            raise ConfigError("image_finetune needs image_encoder (a timm or project encoder name)")
        if self.fusion not in FUSION_MODES:
            raise ConfigError(f"fusion must be one of {FUSION_MODES}, got {self.fusion!r}")
        if self.rna_encoder not in RNA_ENCODERS:
            raise ConfigError(f"rna_encoder must be one of {RNA_ENCODERS}, got {self.rna_encoder!r}")
        if self.image_pooling not in POOLINGS:
            raise ConfigError(f"image_pooling must be one of {POOLINGS}, got {self.image_pooling!r}")
        for name in ("rna_components", "cnv_mut_components"):
            if int(getattr(self, name)) < 0:
                raise ConfigError(f"{name} must be >= 0 (0 = no projection), got {getattr(self, name)}")
        if len(self.snn_hidden) < 1 or min(self.snn_hidden) < 1:
            raise ConfigError(f"snn_hidden must be positive widths, got {self.snn_hidden}")
        for name in ("snn_dropout", "dropout"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ConfigError(f"{name} must lie in [0, 1), got {value}")
        for name in ("mlp_b_hidden", "genomic_dim", "image_dim", "image_hidden", "kronecker_gate_dim", "kronecker_hidden"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(self, name)}")

    @property
    def uses_genomics(self) -> bool:
        """True unless the model is image-only."""
        return self.fusion != "image"

    @property
    def uses_images(self) -> bool:
        """True unless the model is genomic-only."""
        return self.fusion != "genomic"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict."""
        d = asdict(self)
        for key in ("snn_hidden", "image_mean", "image_std"):
            d[key] = list(getattr(self, key))
        return d


@dataclass
class ModelInputs:
    """Tensors of one batch of patients.

    Attributes:
        cnv_mut: CNV + mutation (+ clinical) features, shape ``(B, p1)`` (``p1`` may be 0).
        rna: RNA features, shape ``(B, p2)``: standardised expression (``snn``) or frozen
            scGPT / MLP-A embeddings; ``p2`` may be 0.
        image: Patch features, shape ``(B, N, D)``, zero-padded.
        image_mask: ``True`` where a patch is real, shape ``(B, N)``.
        extras: Per-patient metadata that is not fed to the model (coords, slide index).
    """

    cnv_mut: torch.Tensor
    rna: torch.Tensor
    image: torch.Tensor
    image_mask: torch.Tensor
    extras: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.cnv_mut.shape[0])

    def index(self, idx: torch.Tensor | list[int]) -> "ModelInputs":
        """Rows ``idx`` of every tensor (extras are not carried)."""
        return ModelInputs(self.cnv_mut[idx], self.rna[idx], self.image[idx], self.image_mask[idx])

    def to(self, device: torch.device | str) -> "ModelInputs":
        """Move every tensor to ``device``."""
        return ModelInputs(self.cnv_mut.to(device), self.rna.to(device), self.image.to(device), self.image_mask.to(device), self.extras)


@dataclass
class ModelOutput:
    """Risk score and its exact decomposition.

    Attributes:
        theta: Risk score θ, shape ``(B,)`` (higher = higher risk).
        genomic_term: ``W^G·G``, shape ``(B,)`` (0 for image-only; NaN for kronecker).
        image_term: ``W^P·P``, shape ``(B,)`` (0 for genomic-only; NaN for kronecker).
        bias: ``b``, scalar tensor.
        attention: MIL attention over patches, shape ``(B, N)``, or ``None``.
    """

    theta: torch.Tensor
    genomic_term: torch.Tensor
    image_term: torch.Tensor
    bias: torch.Tensor
    attention: torch.Tensor | None = None


def _make_pooling(kind: str, dim: int, dropout: float) -> nn.Module:
    from pathgptomic.nn.mil import GatedAttentionMIL, MeanPooling

    if kind == "attention":
        return GatedAttentionMIL(dim, hidden=128, dropout=dropout)
    return MeanPooling(dim)


@torch.no_grad()
def _fit_pca(z: torch.Tensor, projection: torch.Tensor, scale: torch.Tensor) -> None:
    r"""Write the leading signed principal axes of ``z`` ``(n, p)`` into ``projection`` ``(p, k)`` and
    the per-component sd :math:`s_j/\sqrt{n-1}` into ``scale`` ``(k,)``.

    Only directions the training patients actually span are kept: a component whose singular
    value is below :math:`10^{-6} s_1` (the centred data has rank at most ``n - 1``, and
    collinear columns lower it further) is left as a zero column with scale 1, so a held-out
    patient's input there is 0 instead of its noise divided by a near-zero sd.
    """
    k = projection.shape[1]
    z = z.detach().double().cpu()
    z = z - z.mean(dim=0, keepdim=True)
    _, sv, vh = torch.linalg.svd(z, full_matrices=False)
    keep = int((sv > sv[:1].clamp_min(1e-300) * 1e-6).sum()) if sv.numel() else 0
    keep = min(keep, k)
    v = vh[:keep].T  # (p, keep)
    if keep:
        sign = torch.sign(v.gather(0, v.abs().argmax(dim=0, keepdim=True)))
        v = v * torch.where(sign == 0, torch.ones_like(sign), sign)
    sd = torch.ones(k, dtype=torch.float64)
    if keep:
        sd[:keep] = sv[:keep] / max(z.shape[0] - 1, 1) ** 0.5
    projection.copy_(torch.nn.functional.pad(v, (0, k - keep)).to(projection))
    scale.copy_(sd.to(scale))


class GenomicBranch(nn.Module):
    """G = MLP-B([G1 ‖ G2]) (+ L·[x1 ‖ x2]) with G1 = SNN(x1), G2 = SNN(x2) or frozen embeddings.

    ``x1`` is the CNV/mutation (+ clinical) input and ``x2`` the RNA input, each after its
    frozen projection when it has one; ``L`` is the optional linear skip path
    (``cfg.linear_skip``, zero at initialisation).
    """

    def __init__(self, cfg: ModelConfig, cnv_mut_dim: int, rna_dim: int) -> None:
        super().__init__()
        if cnv_mut_dim == 0 and rna_dim == 0:
            raise ConfigError("the genomic branch has no input features: give CNV/mutation and/or RNA columns")
        if cnv_mut_dim == 0 and cfg.rna_encoder == "none":
            raise ConfigError(
                "the genomic branch has no input features: there are no CNV/mutation columns and the RNA encoder is 'none'; "
                "choose an RNA encoder (e.g. --rna-encoder snn) or give CNV/mutation columns"
            )
        self.projects_cnv_mut = bool(cfg.cnv_mut_projected_blocks) and cfg.cnv_mut_width > 0 and cnv_mut_dim > 0
        if self.projects_cnv_mut:  # frozen block-wise PCA, set by fit_projections on the training patients
            self.register_buffer("cnv_mut_projection", torch.zeros(cnv_mut_dim, cfg.cnv_mut_width))
            self.register_buffer("cnv_mut_projection_scale", torch.ones(cfg.cnv_mut_width))
        self.cnv_mut_components = cfg.cnv_mut_components
        self.cnv_mut_projected_blocks = cfg.cnv_mut_projected_blocks
        width1 = cfg.cnv_mut_width if self.projects_cnv_mut else cnv_mut_dim
        self.snn = SNN(width1, cfg.snn_hidden, cfg.snn_dropout) if cnv_mut_dim > 0 else None
        self.projects_rna = cfg.rna_encoder == "snn" and 0 < cfg.rna_components < rna_dim
        if self.projects_rna:  # frozen PCA, set by fit_projections on the training patients
            self.register_buffer("rna_projection", torch.zeros(rna_dim, cfg.rna_components))
            self.register_buffer("rna_projection_scale", torch.ones(cfg.rna_components))
        if rna_dim > 0 and cfg.rna_encoder == "snn":
            width = cfg.rna_components if self.projects_rna else rna_dim
            self.rna_snn: nn.Module | None = SNN(width, cfg.snn_hidden, cfg.snn_dropout)
            g2 = self.rna_snn.num_features
        else:
            self.rna_snn = None
            g2 = rna_dim if cfg.rna_encoder != "none" else 0
        self.use_rna = rna_dim > 0 and cfg.rna_encoder != "none"
        g1 = self.snn.num_features if self.snn is not None else 0
        self.mlp_b = MLP(g1 + g2, cfg.mlp_b_hidden, cfg.genomic_dim, n_layers=3, dropout=cfg.dropout)
        self.skip: nn.Linear | None = None
        if cfg.linear_skip:
            x2 = (cfg.rna_components if self.projects_rna else rna_dim) if self.use_rna else 0
            self.skip = nn.Linear((width1 if cnv_mut_dim > 0 else 0) + x2, cfg.genomic_dim)
            nn.init.zeros_(self.skip.weight)
            nn.init.zeros_(self.skip.bias)
        self.num_features = cfg.genomic_dim

    @torch.no_grad()
    def fit_projections(self, cnv_mut: torch.Tensor, rna: torch.Tensor, cnv_mut_blocks: Sequence[str | None] = ()) -> None:
        r"""Set the frozen projections from the training patients' standardised inputs.

        For each projected input :math:`Z` ``(n, p)`` (already z-scored on the same patients,
        so centred), the projection is :math:`V_k` (``(p, k)``), the leading right singular
        vectors, each signed so that its largest loading is positive (deterministic), and the
        scale the standard deviation of :math:`Z V_k` per component: inputs become
        :math:`Z V_k / \mathrm{sd}`. The CNV/mutation input is projected block by block: the
        columns of each block in ``cnv_mut_projected_blocks`` become its ``cnv_mut_components``
        PCs (first, in that order), every other column passes unchanged (identity, scale 1).

        Args:
            cnv_mut: Training patients' CNV/mutation inputs, ``(n, p1)``.
            rna: Training patients' RNA inputs, ``(n, p2)``.
            cnv_mut_blocks: Block of each CNV/mutation column (``"cnv"``, ``"mut"``, ``None``),
                length ``p1``; needed when the CNV/mutation input is projected.

        Raises:
            ConfigError: The block labels do not match the input or the configured width.
        """
        if self.projects_cnv_mut:
            self._fit_cnv_mut(cnv_mut, list(cnv_mut_blocks))
        if self.projects_rna:
            _fit_pca(rna, self.rna_projection, self.rna_projection_scale)

    def _fit_cnv_mut(self, cnv_mut: torch.Tensor, blocks: list[str | None]) -> None:
        p1, width = self.cnv_mut_projection.shape
        if len(blocks) != p1:
            raise ConfigError(f"fit_projections: {len(blocks)} block labels for {p1} CNV/mutation columns")
        proj = torch.zeros(p1, width, dtype=self.cnv_mut_projection.dtype)
        scale = torch.ones(width, dtype=self.cnv_mut_projection_scale.dtype)
        col = 0
        for block in self.cnv_mut_projected_blocks:
            idx = [i for i, b in enumerate(blocks) if b == block]
            k = min(self.cnv_mut_components, len(idx))
            if not idx or col + k > width:
                raise ConfigError(f"fit_projections: block {block!r} has {len(idx)} columns; the model expects it projected")
            v, sd = torch.zeros(len(idx), k), torch.ones(k)
            _fit_pca(cnv_mut[:, idx], v, sd)
            proj[idx, col : col + k] = v.to(proj)
            scale[col : col + k] = sd.to(scale)
            col += k
        rest = [i for i, b in enumerate(blocks) if b not in self.cnv_mut_projected_blocks]
        if col + len(rest) != width:
            raise ConfigError(f"fit_projections: {col + len(rest)} projected CNV/mutation features, the model expects {width}")
        for j, i in enumerate(rest):
            proj[i, col + j] = 1.0
        self.cnv_mut_projection.copy_(proj)
        self.cnv_mut_projection_scale.copy_(scale)

    def forward(self, cnv_mut: torch.Tensor, rna: torch.Tensor) -> torch.Tensor:
        """``(B, p1), (B, p2) → G (B, genomic_dim)``."""
        inputs, parts = [], []
        if self.snn is not None:
            if self.projects_cnv_mut:
                cnv_mut = (cnv_mut @ self.cnv_mut_projection) / self.cnv_mut_projection_scale
            inputs.append(cnv_mut)
            parts.append(self.snn(cnv_mut))
        if self.use_rna:
            if self.projects_rna:
                rna = (rna @ self.rna_projection) / self.rna_projection_scale
            inputs.append(rna)
            parts.append(self.rna_snn(rna) if self.rna_snn is not None else rna)
        g = self.mlp_b(torch.cat(parts, dim=1))
        return g + self.skip(torch.cat(inputs, dim=1)) if self.skip is not None else g


class ImageBranch(nn.Module):
    """P = MLP(pool(patch features)); pooling is mean or gated-attention MIL.

    With ``cfg.image_finetune`` the branch starts with a trainable encoder
    (:class:`~pathgptomic.nn.mil.ROIEncoderBranch`) that turns patch pixels
    ``(B, N, 3, H, W)`` (uint8) into patch features first.
    """

    def __init__(self, cfg: ModelConfig, feature_dim: int) -> None:
        super().__init__()
        self.encoder: nn.Module | None = None
        if cfg.image_finetune:
            from pathgptomic.nn.mil import ROIEncoderBranch

            self.encoder = ROIEncoderBranch(cfg.image_encoder)
            feature_dim = self.encoder.num_features
            self.register_buffer("pixel_mean", torch.tensor(cfg.image_mean).view(1, 1, 3, 1, 1) * 255.0, persistent=False)
            self.register_buffer("pixel_std", torch.tensor(cfg.image_std).view(1, 1, 3, 1, 1) * 255.0, persistent=False)
        if feature_dim < 1:
            raise ConfigError("the image branch has no input features: the cohort needs slides/images")
        self.pool = _make_pooling(cfg.image_pooling, feature_dim, cfg.dropout)
        self.project = MLP(feature_dim, cfg.image_hidden, cfg.image_dim, n_layers=2, dropout=cfg.dropout, activation="relu")
        self.num_features = cfg.image_dim

    def forward(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(B, N, D), (B, N) → (P (B, image_dim), attention (B, N))``.

        With an encoder, ``image`` is ``(B, N, 3, H, W)`` pixels in 0..255.
        """
        if self.encoder is not None:
            pixels = (image.float() - self.pixel_mean) / self.pixel_std
            image = self.encoder(pixels, mask)
        pooled, attention = self.pool(image, mask)
        return self.project(pooled), attention


class KroneckerFusion(nn.Module):
    """Gated Kronecker fusion of two embeddings (Pathomic Fusion's bilinear fusion).

    Each embedding is gated by a bilinear function of both,
    ``o_m = σ(Bilinear(G, P)) ⊙ ReLU(Linear(h_m))``; a 1 is appended to each, the outer
    product ``[o_G, 1] ⊗ [o_P, 1]`` (which keeps the unimodal terms) is flattened and
    encoded by ``Linear → ReLU → Dropout`` to ``kronecker_hidden``.
    """

    def __init__(self, g_dim: int, p_dim: int, gate_dim: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.h_g = nn.Sequential(nn.Linear(g_dim, gate_dim), nn.ReLU())
        self.h_p = nn.Sequential(nn.Linear(p_dim, gate_dim), nn.ReLU())
        self.z_g = nn.Bilinear(g_dim, p_dim, gate_dim)
        self.z_p = nn.Bilinear(g_dim, p_dim, gate_dim)
        self.encoder = nn.Sequential(nn.Dropout(dropout), nn.Linear((gate_dim + 1) ** 2, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.num_features = hidden

    def forward(self, g: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        """``(B, g_dim), (B, p_dim) → (B, hidden)``."""
        o_g = torch.sigmoid(self.z_g(g, p)) * self.h_g(g)
        o_p = torch.sigmoid(self.z_p(g, p)) * self.h_p(p)
        ones = torch.ones(g.shape[0], 1, dtype=g.dtype, device=g.device)
        o_g = torch.cat([o_g, ones], dim=1)
        o_p = torch.cat([o_p, ones], dim=1)
        fused = torch.bmm(o_g.unsqueeze(2), o_p.unsqueeze(1)).flatten(1)
        return self.encoder(fused)


class PathGPTomic(nn.Module):
    """Multimodal Cox model ``θ = W^G·G + W^P·P + b`` (or a fused head for kronecker).

    Args:
        cfg: Model hyper-parameters.
        cnv_mut_dim: Number of CNV + mutation (+ clinical) input features ``p1``.
        rna_dim: Number of RNA input features ``p2`` (expression or embedding width).
        image_feature_dim: Width ``D`` of a patch feature vector (0 for genomic-only).

    Attributes:
        genomic_branch / image_branch: The two modality encoders (``None`` when unused).
        w_g / w_p: The head's linear maps ``W^G`` and ``W^P`` (no bias).
        bias: The shared scalar ``b``.
    """

    def __init__(self, cfg: ModelConfig, cnv_mut_dim: int, rna_dim: int, image_feature_dim: int) -> None:
        super().__init__()
        self.cfg = cfg
        self.genomic_branch = GenomicBranch(cfg, cnv_mut_dim, rna_dim) if cfg.uses_genomics else None
        self.image_branch = ImageBranch(cfg, image_feature_dim) if cfg.uses_images else None
        self.fusion: KroneckerFusion | None = None
        self.w_g: nn.Linear | None = None
        self.w_p: nn.Linear | None = None
        self.head: nn.Linear | None = None
        if cfg.fusion == "kronecker":
            self.fusion = KroneckerFusion(cfg.genomic_dim, cfg.image_dim, cfg.kronecker_gate_dim, cfg.kronecker_hidden, cfg.dropout)
            self.head = nn.Linear(cfg.kronecker_hidden, 1, bias=False)
        else:
            if self.genomic_branch is not None:
                self.w_g = nn.Linear(cfg.genomic_dim, 1, bias=False)
            if self.image_branch is not None:
                self.w_p = nn.Linear(cfg.image_dim, 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(()))

    # -- parameter groups (used by gradient modulation; selected by module, not tensor rank)
    def genomic_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters of the genomic branch (SNNs, MLP-B, linear skip); not the head."""
        return [p for p in self.genomic_branch.parameters() if p.requires_grad] if self.genomic_branch else []

    def image_parameters(self) -> list[nn.Parameter]:
        """Trainable parameters of the image branch (pooling, projection); not the head."""
        return [p for p in self.image_branch.parameters() if p.requires_grad] if self.image_branch else []

    def head_parameters(self) -> list[nn.Parameter]:
        """Shared head: ``W^G``, ``W^P``, ``b`` (and the Kronecker fusion layers)."""
        modules = [m for m in (self.w_g, self.w_p, self.fusion, self.head) if m is not None]
        return [p for m in modules for p in m.parameters()] + [self.bias]

    def forward(self, inputs: ModelInputs) -> ModelOutput:
        """Risk and its decomposition for one batch (see :class:`ModelOutput`)."""
        batch = inputs.cnv_mut.shape[0]
        zeros = inputs.cnv_mut.new_zeros(batch)
        g = self.genomic_branch(inputs.cnv_mut, inputs.rna) if self.genomic_branch is not None else None
        attention = None
        p = None
        if self.image_branch is not None:
            p, attention = self.image_branch(inputs.image, inputs.image_mask)
        if self.fusion is not None:
            fused = self.fusion(g, p)
            theta = self.head(fused).squeeze(1) + self.bias
            nan = torch.full_like(theta, float("nan"))
            return ModelOutput(theta, nan, nan, self.bias, attention)
        genomic_term = self.w_g(g).squeeze(1) if g is not None else zeros
        image_term = self.w_p(p).squeeze(1) if p is not None else zeros
        theta = genomic_term + image_term + self.bias
        return ModelOutput(theta, genomic_term, image_term, self.bias, attention)

    def forward_tensors(self, cnv_mut: torch.Tensor, rna: torch.Tensor, image: torch.Tensor, image_mask: torch.Tensor) -> torch.Tensor:
        """θ of shape ``(B,)`` from plain tensors (the callable Captum attributes)."""
        return self.forward(ModelInputs(cnv_mut, rna, image, image_mask)).theta
