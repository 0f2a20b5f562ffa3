"""Names and defaults defined once, without importing torch (the CLI parser reads them).

Every parser choice, config check and dashboard form takes its values from here.
"""

from __future__ import annotations

from pathgptomic.errors import ConfigError

#: Fusion modes of :class:`~pathgptomic.nn.fusion.PathGPTomic` (``gradmod`` = concat + balanced training).
FUSION_MODES: tuple[str, ...] = ("concat", "kronecker", "gradmod", "genomic", "image")
#: RNA-seq encoders: SNN on expression (paper Exp. 1), frozen scGPT (Exp. 2-3), scGPT + MLP-A (Exp. 4-6), none.
RNA_ENCODERS: tuple[str, ...] = ("snn", "scgpt", "scgpt_smooth", "none")
#: Feature blocks a cohort may hold, and the column-name suffix of each genomic block (``TP53_cnv``;
#: matched in any letter case). The clinical block's columns carry no suffix.
GENOMIC_BLOCKS: tuple[str, ...] = ("cnv", "mut", "rnaseq")
CLINICAL_BLOCK = "clinical"
BLOCK_SUFFIXES: dict[str, str] = {"cnv": "_cnv", "mut": "_mut", "rnaseq": "_rnaseq"}
#: Patch encoder of `pathgptomic train/cv` when none is named (any timm name or project encoder is accepted).
DEFAULT_IMAGE_ENCODER = "resnet18"
#: Patch encoders offered by the dashboard's Train form: the demo's tiny encoder, the CLI default, the paper's.
OFFERED_IMAGE_ENCODERS: tuple[str, ...] = ("test_resnet", DEFAULT_IMAGE_ENCODER, "t2t_vit_14")
#: Patch pooling of the image branch.
POOLINGS: tuple[str, ...] = ("mean", "attention")
#: Principal components the RNA-seq block (and the CNV/mutation input) is projected onto in front of
#: its SNN (0 = every column), when that input is high-dimensional (below). Chosen among 0 / 10 / 32 / 64
#: (docs/DECISIONS.md, "RNA projection").
DEFAULT_RNA_COMPONENTS = 32
#: A projection applies only when its input has more than this many features per patient (p > n).
PROJECTION_MIN_RATIO = 1.0
#: Share of the final training epochs whose weights are averaged into the trained model when none is
#: given (stochastic weight averaging, ``TrainConfig.average_fraction``): 30 epochs average epochs 11-30.
#: The window was chosen among three on TCGA-GBMLGG seeds 0-2, and averaging against the last epoch's
#: weights over 15 seeds (docs/DECISIONS.md, "Weight averaging").
DEFAULT_AVERAGE_FRACTION = 2 / 3
#: ... but only for runs of at least this many epochs: on shorter runs the averaged window reaches back
#: into under-trained weights (demo cohort, 5-20 epochs: 0.003-0.013 below the last epoch's weights).
MIN_AVERAGING_EPOCHS = 30


def effective_average_fraction(average_fraction: float | None, epochs: int) -> float:
    """The share of the final epochs averaged: ``average_fraction`` when given, else the default rule
    (:data:`DEFAULT_AVERAGE_FRACTION` for runs of at least :data:`MIN_AVERAGING_EPOCHS` epochs, else 0)."""
    if average_fraction is not None:
        return float(average_fraction)
    return DEFAULT_AVERAGE_FRACTION if epochs >= MIN_AVERAGING_EPOCHS else 0.0


def check_average_fraction(average_fraction: float | None, name: str = "average_fraction") -> None:
    """Refuse a share of averaged epochs outside [0, 1] (``None``, the default rule, passes).

    Raises:
        ConfigError: naming ``name`` (the field or the command-line option) and the value.
    """
    if average_fraction is not None and not 0.0 <= average_fraction <= 1.0:
        raise ConfigError(f"{name} must lie in [0, 1] (share of the final epochs averaged), got {average_fraction}")


#: Size and seed of the synthetic demo cohort (the shipped copy and a generated one are the same cohort).
DEMO_N_PATIENTS = 200
DEMO_SEED = 0
