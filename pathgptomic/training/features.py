"""From a :class:`~pathgptomic.data.cohort.Cohort` to model tensors.

Two steps, kept apart so that cross-validation never leaks:

1. :func:`compute_cohort_features` — fold-independent, possibly expensive, cached work:
   genomic tables, frozen scGPT / MLP-A RNA embeddings, frozen image-encoder patch
   features (through :mod:`pathgptomic.slides`).
2. :class:`FeatureScaling` — fitted on the *training* patients of a fold only: median
   imputation and z-scoring of every tabular input and of patch features, then
   :meth:`FeatureScaling.transform` builds :class:`~pathgptomic.nn.fusion.ModelInputs`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import torch

from pathgptomic.data.cohort import Cohort
from pathgptomic.data.columns import BLOCK_SUFFIXES
from pathgptomic.errors import ConfigError, InputValidationError
from pathgptomic.nn.fusion import ModelInputs

logger = logging.getLogger(__name__)


@dataclass
class FeatureSettings:
    """What to feed the model (part of the training configuration).

    Attributes:
        genomic_blocks: Blocks that go through the CNV/mutation SNN (G1).
        use_clinical: Also feed the ``clinical`` block (age, sex …) to G1.
        rna_encoder: ``snn`` (standardised expression), ``scgpt`` / ``scgpt_smooth``
            (frozen embeddings, see :func:`pathgptomic.genomics.rna_features`) or ``none``.
        scgpt_dir: scGPT checkpoint folder (default: env ``PATHGPTOMIC_SCGPT_DIR`` or the demo).
        mlp_a: MLP-A file for ``scgpt_smooth`` (default: the one beside the checkpoint).
        use_images: Compute patch features from the cohort's slides.
        image_encoder: timm / project encoder name for patch features.
        image_encoder_weights: Local weights file for the encoder (``None`` = random init
            with ``image_encoder_seed``; the initialised weights are then saved in the bundle).
        image_encoder_seed: Seed of a random-init encoder.
        patch_size: Tile size in pixels.
        target_mpp: Magnification of the tiles in µm/px.
        assumed_mpp: µm/px assumed for images without metadata.
        max_patches: Cap on patches per slide (deterministic sampling), ``None`` = all.
        cache_dir: Feature / embedding cache folder (``None`` = env ``PATHGPTOMIC_CACHE_DIR``
            or ``~/.cache/pathgptomic``). Not carried by bundles: a loaded bundle uses the
            default of the machine it runs on.
    """

    genomic_blocks: tuple[str, ...] = ("cnv", "mut")
    use_clinical: bool = False
    rna_encoder: str = "snn"
    scgpt_dir: str | None = None
    mlp_a: str | None = None
    use_images: bool = True
    image_encoder: str = "resnet18"
    image_encoder_weights: str | None = None
    image_encoder_seed: int = 0
    patch_size: int = 224
    target_mpp: float = 0.5
    assumed_mpp: float = 0.5
    max_patches: int | None = 64
    cache_dir: str | None = None

    def __post_init__(self) -> None:
        self.genomic_blocks = tuple(self.genomic_blocks)
        bad = [b for b in self.genomic_blocks if b not in ("cnv", "mut", "rnaseq")]
        if bad:
            raise ConfigError(f"genomic_blocks may hold cnv, mut, rnaseq; got {bad}")
        if self.rna_encoder not in ("snn", "scgpt", "scgpt_smooth", "none"):
            raise ConfigError(f"rna_encoder must be snn, scgpt, scgpt_smooth or none; got {self.rna_encoder!r}")
        if self.patch_size < 16:
            raise ConfigError(f"patch_size must be >= 16 pixels, got {self.patch_size}")
        if self.max_patches is not None and self.max_patches < 1:
            raise ConfigError(f"max_patches must be >= 1 or None, got {self.max_patches}")

    def resolved_cache_dir(self) -> Path:
        """The cache folder, created on demand."""
        default = os.environ.get("PATHGPTOMIC_CACHE_DIR") or Path.home() / ".cache" / "pathgptomic"
        path = Path(self.cache_dir) if self.cache_dir else Path(default)
        path.mkdir(parents=True, exist_ok=True)
        return path


@dataclass
class CohortFeatures:
    """Fold-independent inputs of every patient, in cohort order.

    Attributes:
        ids: Patient ids, shape ``(n,)``.
        cnv_mut: Table ``(n, p1)``; column names keep their block suffix (``TP53_cnv``).
        rna: Table ``(n, p2)``: expression (``<GENE>_rnaseq``) or embedding dims.
        patches: Per patient, patch features ``(n_i, D)`` (empty list without images), or
            uint8 tile pixels ``(n_i, 3, H, W)`` when the encoder is trained end to end.
        coords: Per patient, patch coordinates ``(n_i, 2)`` at level 0.
        slide_index: Per patient, which slide each patch came from ``(n_i,)``.
        info: Provenance (encoder, checkpoint hashes, RNA coverage …).
    """

    ids: np.ndarray
    cnv_mut: pd.DataFrame
    rna: pd.DataFrame
    patches: list[np.ndarray] = field(default_factory=list)
    coords: list[np.ndarray] = field(default_factory=list)
    slide_index: list[np.ndarray] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def image_dim(self) -> int:
        """Width ``D`` of a patch feature (0 without images or with pixel tiles)."""
        return int(self.patches[0].shape[1]) if self.patches and not self.pixels else 0

    @property
    def pixels(self) -> bool:
        """True when ``patches`` hold uint8 tiles ``(n_i, 3, H, W)`` for end-to-end training."""
        return bool(self.patches) and self.patches[0].ndim == 4

    def subset(self, index: Sequence[int] | np.ndarray) -> "CohortFeatures":
        """Patients at positional ``index``."""
        idx = np.asarray(index, dtype=int)
        pick = (lambda xs: [xs[i] for i in idx]) if self.patches else (lambda xs: [])
        return CohortFeatures(
            self.ids[idx],
            self.cnv_mut.iloc[idx],
            self.rna.iloc[idx],
            pick(self.patches),
            pick(self.coords),
            pick(self.slide_index),
            self.info,
        )


def _suffixed(cohort: Cohort, block: str) -> pd.DataFrame:
    df = cohort.block(block)
    suffix = BLOCK_SUFFIXES.get(block, "")  # the clinical block has no suffix
    return df.rename(columns=lambda c: f"{c}{suffix}" if suffix and not str(c).endswith(suffix) else str(c))


def genomic_tables(cohort: Cohort, settings: FeatureSettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tabular genomic inputs: ``(cnv_mut (n, p1), rna (n, p2))`` with suffixed names.

    Raises:
        InputValidationError: A requested block is missing from the cohort.
    """
    blocks = [b for b in settings.genomic_blocks if b != "rnaseq"]
    if settings.use_clinical:
        blocks.append("clinical")
    parts = []
    for block in blocks:
        if block not in cohort.blocks:
            raise InputValidationError(
                f"{cohort.source or 'cohort'}: no '{block}' feature columns; add them "
                f"(TCGA layout: '<GENE>{BLOCK_SUFFIXES.get(block, '')}' columns) or drop '{block}' from the genomic blocks."
            )
        parts.append(_suffixed(cohort, block))
    cnv_mut = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=cohort.ids)
    rna = pd.DataFrame(index=cohort.ids)
    if settings.rna_encoder == "snn" and ("rnaseq" in settings.genomic_blocks or "rnaseq" in cohort.blocks):
        if "rnaseq" not in cohort.blocks:
            raise InputValidationError(
                f"{cohort.source or 'cohort'}: no RNA-seq columns ('<GENE>_rnaseq'); add them or use --rna-encoder none."
            )
        rna = _suffixed(cohort, "rnaseq")
    return cnv_mut.astype(np.float32), rna.astype(np.float32)


def compute_cohort_features(
    cohort: Cohort,
    settings: FeatureSettings,
    *,
    need_images: bool,
    pixels: bool = False,
    device: str | None = None,
    show_progress: bool = True,
) -> CohortFeatures:
    """Compute every fold-independent input of ``cohort`` (cached where expensive).

    Args:
        cohort: The patients.
        settings: Which blocks and encoders to use.
        need_images: Whether the model uses the image branch.
        pixels: Return tile pixels (for end-to-end encoder training) instead of frozen
            encoder features.
        device: Torch device for frozen encoders (``None`` = CUDA if available).
        show_progress: Show tqdm bars.

    Returns:
        The cohort's :class:`CohortFeatures`.

    Raises:
        InputValidationError: Missing blocks, or patients without slides for an image model.
    """
    cnv_mut, rna = genomic_tables(cohort, settings)
    info: dict[str, Any] = {"rna_encoder": settings.rna_encoder}
    if settings.rna_encoder in ("scgpt", "scgpt_smooth"):
        from pathgptomic.genomics import rna_features

        feats = rna_features(
            cohort,
            mode=settings.rna_encoder,
            scgpt_folder=settings.scgpt_dir,
            mlp_a_path=settings.mlp_a,
            cache_dir=settings.resolved_cache_dir() / "rna",
            device=device,
            show_progress=show_progress,
        )
        prefix = "mlpa" if settings.rna_encoder == "scgpt_smooth" else "scgpt"
        rna = pd.DataFrame(feats.matrix, index=cohort.ids, columns=[f"{prefix}_{i}" for i in range(feats.matrix.shape[1])])
        info.update(
            scgpt_checkpoint_hash=feats.checkpoint_hash,
            mlp_a_hash=getattr(feats, "mlp_a_hash", None),
            rna_coverage=_jsonable(getattr(feats, "coverage", None)),
        )
    patches: list[np.ndarray] = []
    coords: list[np.ndarray] = []
    slide_index: list[np.ndarray] = []
    if need_images:
        missing = [pid for pid in cohort.ids if not cohort.slides.get(pid)]
        if missing:
            shown = ", ".join(map(str, missing[:5])) + (" …" if len(missing) > 5 else "")
            raise InputValidationError(
                f"{cohort.source or 'cohort'}: {len(missing)} patient(s) have no slide/image ({shown}); "
                "add them to the slide manifest or train a genomic-only model (--fusion genomic)."
            )
        if pixels:
            by_patient, pixel_info = read_patient_tiles(cohort, settings, show_progress=show_progress)
            info.update(pixel_info)
        else:
            by_patient = extract_image_features(cohort, settings, device=device, show_progress=show_progress)
        for pid in cohort.ids:
            pf = by_patient[pid]
            if len(pf.features) == 0:
                raise InputValidationError(
                    f"patient {pid}: no tissue tiles were found on its slide(s); check the image or lower the tissue threshold."
                )
            patches.append(pf.features if pixels else np.asarray(pf.features, dtype=np.float32))
            coords.append(np.asarray(pf.coords))
            slide_index.append(np.asarray(pf.slide_index))
        info.update(image_encoder=settings.image_encoder)
    return CohortFeatures(np.asarray(cohort.ids), cnv_mut, rna, patches, coords, slide_index, info)


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "__dict__"):
        return _jsonable(vars(value))
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def extract_image_features(
    cohort: Cohort, settings: FeatureSettings, *, device: str | None = None, show_progress: bool = True
) -> dict[str, Any]:
    """Patch features per patient through the slides path (frozen encoder, cached on disk)."""
    from pathgptomic.slides import TilingConfig
    from pathgptomic.slides.features import extract_cohort_features

    tiling = TilingConfig(
        patch_size=settings.patch_size,
        target_mpp=settings.target_mpp,
        assumed_mpp=settings.assumed_mpp,
        max_patches=settings.max_patches,
    )
    weights = settings.image_encoder_weights
    if weights is None:
        weights = str(seeded_encoder_weights(settings))
    return extract_cohort_features(
        cohort,
        encoder=settings.image_encoder,
        weights=weights,
        tiling=tiling,
        cache_dir=settings.resolved_cache_dir() / "patches",
        device=device,
        show_progress=show_progress,
    )


def read_patient_tiles(cohort: Cohort, settings: FeatureSettings, *, show_progress: bool = True) -> tuple[dict[str, Any], dict[str, Any]]:
    """Tile pixels per patient for end-to-end encoder training.

    Tiles come from the same tissue detection and grid as feature extraction, resized
    to the encoder's input size and kept as uint8 ``(n_i, 3, H, W)`` (normalisation
    happens inside the model, so it travels with the bundle).

    Returns:
        ``({patient_id: PatientFeatures-like object with features = pixels, coords,
        slide_index}, {"image_size", "image_mean", "image_std"})``.
    """
    from types import SimpleNamespace

    import torch.nn.functional as F
    from tqdm.auto import tqdm

    from pathgptomic.nn.encoders import create_image_encoder
    from pathgptomic.slides import TilingConfig, open_slide, tile_slide

    _, transform, _ = create_image_encoder(settings.image_encoder, weights=settings.image_encoder_weights)
    size = transform.size
    tiling = TilingConfig(
        patch_size=settings.patch_size,
        target_mpp=settings.target_mpp,
        assumed_mpp=settings.assumed_mpp,
        max_patches=settings.max_patches,
    )
    out: dict[str, Any] = {}
    for pid in tqdm(list(cohort.ids), desc="reading tiles", disable=not show_progress):
        tiles, coords, index = [], [], []
        for k, path in enumerate(cohort.slides.get(pid, [])):
            with open_slide(path) as slide:
                grid = tile_slide(slide, tiling)
                for x, y in grid.coords:
                    patch = np.asarray(slide.read_region((int(x), int(y)), grid.level, (grid.read_size, grid.read_size)))
                    t = torch.from_numpy(np.array(patch[..., :3], dtype=np.uint8, copy=True)).permute(2, 0, 1).float()
                    if tuple(t.shape[1:]) != size:
                        t = F.interpolate(t[None], size=size, mode="bilinear", align_corners=False, antialias=True)[0]
                    tiles.append(t.round().clamp(0, 255).to(torch.uint8).numpy())
                    coords.append((int(x), int(y)))
                    index.append(k)
        out[pid] = SimpleNamespace(
            features=np.stack(tiles) if tiles else np.zeros((0, 3, *size), dtype=np.uint8),
            coords=np.asarray(coords, dtype=np.int64).reshape(-1, 2),
            slide_index=np.asarray(index, dtype=np.int64),
        )
    info = {"image_size": list(size), "image_mean": list(transform.mean), "image_std": list(transform.std)}
    return out, info


def seeded_encoder_weights(settings: FeatureSettings) -> Path:
    """Weights file of a random-init encoder, created once per (name, seed) in the cache.

    A frozen random-init encoder is a legitimate (if weak) feature extractor; writing its
    weights to a file makes the features reproducible and lets a bundle ship them.

    Jobs may race to create the same file: each writes its own uniquely named temp file in the
    same folder and renames it over the target atomically (``os.replace``), so a reader sees
    either no file or a complete one (both writers produce identical bytes). A failed write
    leaves no temp file behind.
    """
    import tempfile

    import timm
    from safetensors.torch import save_file

    import pathgptomic.nn  # noqa: F401  (registers the project's timm models)

    path = settings.resolved_cache_dir() / "encoders" / f"{settings.image_encoder}-seed{settings.image_encoder_seed}.safetensors"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(settings.image_encoder_seed)
            model = timm.create_model(settings.image_encoder, pretrained=False, num_classes=0)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp)
            os.chmod(tmp, 0o644)  # random weights, not secret: readable like any cache file
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return path


class FeatureScaling:
    """Median imputation + z-scoring fitted on training patients only.

    For a column with training median :math:`m`, mean :math:`\\mu` and standard deviation
    :math:`\\sigma` (floored at ``1e-6``): :math:`x' = (\\mathrm{fillna}(x, m) - \\mu) / \\sigma`.
    Patch features are z-scored per dimension with statistics over all training patches.
    """

    def __init__(self) -> None:
        self.cnv_mut_: Any = None
        self.rna_: Any = None
        self.image_mean_: np.ndarray | None = None
        self.image_std_: np.ndarray | None = None

    def fit(self, feats: CohortFeatures) -> "FeatureScaling":
        """Fit on the training patients' features."""
        from pathgptomic.data import FeatureStandardizer

        self.cnv_mut_ = FeatureStandardizer().fit(feats.cnv_mut) if feats.cnv_mut.shape[1] else None
        self.rna_ = FeatureStandardizer().fit(feats.rna) if feats.rna.shape[1] else None
        if feats.patches and not feats.pixels:
            allp = np.concatenate(feats.patches, axis=0).astype(np.float64)
            self.image_mean_ = allp.mean(axis=0).astype(np.float32)
            self.image_std_ = np.maximum(allp.std(axis=0), 1e-6).astype(np.float32)
        return self

    @staticmethod
    def _table(scaler: Any, df: pd.DataFrame) -> tuple[np.ndarray, int]:
        if scaler is None:
            return np.zeros((len(df), 0), dtype=np.float32), 0
        out, report = scaler.transform_with_report(df)
        return np.asarray(out, dtype=np.float32), report.count

    def transform(self, feats: CohortFeatures) -> ModelInputs:
        """Build padded model tensors for ``feats`` (any patients, e.g. a test fold).

        The imputed-cell counts go into ``extras["n_imputed"]`` (``{"cnv_mut": k, "rna": k}``);
        nothing is stored on ``self``, so one fitted scaling can serve concurrent callers.
        """
        cnv_mut, n_cnv = self._table(self.cnv_mut_, feats.cnv_mut)
        rna, n_rna = self._table(self.rna_, feats.rna)
        n = len(feats.ids)
        if feats.pixels:
            n_max = max(len(p) for p in feats.patches)
            image = np.zeros((n, n_max, *feats.patches[0].shape[1:]), dtype=np.uint8)
            mask = np.zeros((n, n_max), dtype=bool)
            for i, p in enumerate(feats.patches):
                image[i, : len(p)] = p
                mask[i, : len(p)] = True
        elif feats.patches and self.image_mean_ is not None:
            n_max = max(len(p) for p in feats.patches)
            d = feats.patches[0].shape[1]
            image = np.zeros((n, n_max, d), dtype=np.float32)
            mask = np.zeros((n, n_max), dtype=bool)
            for i, p in enumerate(feats.patches):
                image[i, : len(p)] = (p - self.image_mean_) / self.image_std_
                mask[i, : len(p)] = True
        else:
            image = np.zeros((n, 1, 1), dtype=np.float32)
            mask = np.ones((n, 1), dtype=bool)
        return ModelInputs(
            torch.from_numpy(cnv_mut),
            torch.from_numpy(rna),
            torch.from_numpy(image),
            torch.from_numpy(mask),
            {
                "coords": feats.coords,
                "slide_index": feats.slide_index,
                "ids": list(feats.ids),
                "n_imputed": {"cnv_mut": n_cnv, "rna": n_rna},
            },
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state."""
        return {
            "cnv_mut": self.cnv_mut_.to_dict() if self.cnv_mut_ is not None else None,
            "rna": self.rna_.to_dict() if self.rna_ is not None else None,
            "image_mean": None if self.image_mean_ is None else self.image_mean_.tolist(),
            "image_std": None if self.image_std_ is None else self.image_std_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> "FeatureScaling":
        """Inverse of :meth:`to_dict`."""
        from pathgptomic.data import FeatureStandardizer

        obj = cls()
        obj.cnv_mut_ = FeatureStandardizer.from_dict(state["cnv_mut"]) if state.get("cnv_mut") else None
        obj.rna_ = FeatureStandardizer.from_dict(state["rna"]) if state.get("rna") else None
        if state.get("image_mean") is not None:
            obj.image_mean_ = np.asarray(state["image_mean"], dtype=np.float32)
            obj.image_std_ = np.asarray(state["image_std"], dtype=np.float32)
        return obj
