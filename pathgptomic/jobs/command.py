"""The command a training job runs: ``pathgptomic train|cv`` arguments built from the Train page's choices."""

from __future__ import annotations

import sys
from typing import Sequence

from pathgptomic.errors import ConfigError
from pathgptomic.schema import FUSION_MODES
from pathgptomic.schema import RNA_ENCODERS as SCHEMA_RNA_ENCODERS

#: Fusion modes and RNA encoders a job may use: the CLI's choices (pathgptomic.schema); a job
#: always has an RNA input, so "none" is not offered.
FUSIONS: tuple[str, ...] = FUSION_MODES
RNA_ENCODERS: tuple[str, ...] = tuple(e for e in SCHEMA_RNA_ENCODERS if e != "none")


def build_cli_command(
    *,
    mode: str = "cv",
    cohort: str = "demo",
    fusion: str = "gradmod",
    epochs: int = 10,
    folds: int = 5,
    seed: int = 0,
    rna_encoder: str | None = None,
    scgpt_dir: str | None = None,
    mlp_a: str | None = None,
    extra: Sequence[str] = (),
) -> list[str]:
    """Argument list of ``pathgptomic train|cv`` without ``--out``/``--live-dir``.

    The store appends ``--out <job>/bundle --live-dir <job>/live`` when it launches the job.

    Args:
        mode: ``"cv"`` (cross-validation, then a final model) or ``"train"``.
        cohort: ``"demo"`` or a path to a cohort (file or folder) on the server.
        fusion: One of :data:`FUSIONS`.
        epochs: Training epochs, >= 1.
        folds: Cross-validation folds, >= 2 for ``cv``.
        seed: Random seed.
        rna_encoder: One of :data:`RNA_ENCODERS`, or None for the CLI default.
        scgpt_dir: scGPT checkpoint folder (scGPT encoders only).
        mlp_a: MLP-A weights file (``scgpt_smooth`` only).
        extra: Further CLI arguments appended verbatim.

    Returns:
        ``[sys.executable, "-m", "pathgptomic", mode, ...]``.

    Raises:
        ConfigError: An argument is out of range.
    """
    if mode not in ("cv", "train"):
        raise ConfigError(f"job mode must be 'cv' or 'train', got {mode!r}")
    if fusion not in FUSIONS:
        raise ConfigError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
    if int(epochs) < 1:
        raise ConfigError(f"epochs must be >= 1, got {epochs}")
    if mode == "cv" and int(folds) < 2:
        raise ConfigError(f"folds must be >= 2 for cross-validation, got {folds}")
    if rna_encoder is not None and rna_encoder not in RNA_ENCODERS:
        raise ConfigError(f"rna encoder must be one of {RNA_ENCODERS}, got {rna_encoder!r}")
    cmd = [
        sys.executable,
        "-m",
        "pathgptomic",
        mode,
        "--cohort",
        str(cohort),
        "--fusion",
        fusion,
        "--epochs",
        str(int(epochs)),
        "--seed",
        str(int(seed)),
    ]
    if mode == "cv":
        cmd += ["--folds", str(int(folds))]
    if rna_encoder:
        cmd += ["--rna-encoder", rna_encoder]
    if scgpt_dir:
        cmd += ["--scgpt-dir", str(scgpt_dir)]
    if mlp_a:
        cmd += ["--mlp-a", str(mlp_a)]
    return cmd + [str(x) for x in extra]
