"""The benchmark's rows: baselines and the paper's Table 3 ablation grid.

Each :class:`BenchmarkRow` is one configuration evaluated on every fold x seed cell.
Suites:

- ``baselines``: classical Cox baselines side by side — penalized Cox on per-block
  principal components of the genomic features, the same + the clinical covariates,
  the clinical covariates alone, and late fusion of the genomic and clinical Cox risks
  (:mod:`pathgptomic.experiments.baselines`) — then a genomic-only model (RNA through the
  SNN, and through frozen scGPT / scGPT + MLP-A features), an image-only model and
  Pathomic Fusion-style Kronecker fusion;
- ``paper-ablation``: RNA encoder in {SNN, scGPT, scGPT + smoothing (MLP-A)} x fusion in
  {concat, kronecker, gradmod} (the paper's Table 3);
- ``all``: both (the Kronecker/SNN row is shared).

Every deep row is compared with the ``concat`` row of the same RNA encoder; the
baselines are compared with ``concat`` on SNN features.
"""

from __future__ import annotations

from dataclasses import dataclass

from pathgptomic.errors import ConfigError

SUITES = ("paper-ablation", "baselines", "all")
RNA_ENCODERS = ("snn", "scgpt", "scgpt_smooth")
ABLATION_FUSIONS = ("concat", "kronecker", "gradmod")
RNA_LABELS = {"snn": "SNN", "scgpt": "scGPT", "scgpt_smooth": "scGPT + smoothing"}


@dataclass(frozen=True)
class BenchmarkRow:
    """One configuration of the benchmark.

    Attributes:
        key: Identifier used in ``results.csv`` (column ``config``).
        label: Human-readable name used in the report.
        kind: ``"cox"`` (lifelines penalized Cox baseline) or ``"deep"`` (PathGPTomic).
        fusion: Fusion mode of a deep row (``concat``, ``kronecker``, ``gradmod``,
            ``genomic``, ``image``); ``None`` for Cox rows.
        rna_encoder: RNA input of the genomic branch (``snn``, ``scgpt``, ``scgpt_smooth``).
        baseline: Cox rows only: the inputs, one of
            :data:`~pathgptomic.experiments.baselines.BASELINE_INPUTS` (``genomic``,
            ``genomic_clinical``, ``clinical``, ``late_fusion``).
        suite: ``"baselines"`` or ``"paper-ablation"`` (the first suite that lists it).
    """

    key: str
    label: str
    kind: str
    fusion: str | None = None
    rna_encoder: str = "snn"
    baseline: str = ""
    suite: str = "baselines"

    @property
    def clinical(self) -> bool:
        """Whether the row uses the clinical covariates (deep rows never do in the benchmark)."""
        return self.baseline in ("genomic_clinical", "clinical", "late_fusion")

    @property
    def inputs(self) -> str:
        """What the model sees, in words (``genomic``, ``genomic + clinical``, ``clinical``, ``image`` …)."""
        if self.kind == "cox":
            return _COX_INPUTS[self.baseline]
        return {"genomic": "genomic", "image": "image"}.get(self.fusion or "", "genomic + image")

    @property
    def needs_images(self) -> bool:
        """Whether the row uses the image branch."""
        return self.kind == "deep" and self.fusion != "genomic"

    @property
    def needs_genomics(self) -> bool:
        """Whether the row uses the genomic features."""
        return self.kind == "cox" or self.fusion != "image"

    @property
    def comparator(self) -> str | None:
        """Key of the row this one is compared with (Wilcoxon), ``None`` for itself."""
        ref = f"concat_{self.rna_encoder}" if self.kind == "deep" and self.fusion != "image" else "concat_snn"
        return None if ref == self.key else ref


_COX_INPUTS = {
    "genomic": "genomic",
    "genomic_clinical": "genomic + clinical",
    "clinical": "clinical",
    "late_fusion": "genomic + clinical (late fusion)",
}

BASELINE_ROWS: tuple[BenchmarkRow, ...] = (
    BenchmarkRow("cox_pca", "Penalized Cox, genomic (per-block PCs)", "cox", baseline="genomic"),
    BenchmarkRow("cox_pca_clinical", "Penalized Cox, genomic + clinical", "cox", baseline="genomic_clinical"),
    BenchmarkRow("cox_clinical", "Penalized Cox, clinical only", "cox", baseline="clinical"),
    BenchmarkRow("cox_late_fusion", "Late fusion: Cox on genomic-Cox and clinical-Cox risks", "cox", baseline="late_fusion"),
    BenchmarkRow("genomic_snn", "Genomic only (SNN)", "deep", fusion="genomic"),
    BenchmarkRow("genomic_scgpt", "Genomic only (scGPT RNA features)", "deep", fusion="genomic", rna_encoder="scgpt"),
    BenchmarkRow(
        "genomic_scgpt_smooth", "Genomic only (scGPT + smoothing RNA features)", "deep", fusion="genomic", rna_encoder="scgpt_smooth"
    ),
    BenchmarkRow("image", "Image only", "deep", fusion="image"),
    BenchmarkRow("kronecker_snn", "Kronecker fusion (Pathomic Fusion style), SNN", "deep", fusion="kronecker"),
)

ABLATION_ROWS: tuple[BenchmarkRow, ...] = tuple(
    BenchmarkRow(f"{fusion}_{rna}", f"{RNA_LABELS[rna]} / {fusion}", "deep", fusion=fusion, rna_encoder=rna, suite="paper-ablation")
    for rna in RNA_ENCODERS
    for fusion in ABLATION_FUSIONS
)


def rows_for_suite(suite: str, *, only: list[str] | None = None) -> list[BenchmarkRow]:
    """Rows of ``suite`` (duplicates removed, baselines first).

    Args:
        suite: ``paper-ablation``, ``baselines`` or ``all``.
        only: Keep only these row keys (in suite order).

    Raises:
        ConfigError: Unknown suite or row key.
    """
    if suite not in SUITES:
        raise ConfigError(f"--suite must be one of {SUITES}, got {suite!r}")
    rows: list[BenchmarkRow] = []
    if suite in ("baselines", "all"):
        rows += list(BASELINE_ROWS)
    if suite in ("paper-ablation", "all"):
        taken = {r.key for r in rows}
        rows += [r for r in ABLATION_ROWS if r.key not in taken]
    if only:
        known = {r.key for r in rows}
        bad = [k for k in only if k not in known]
        if bad:
            raise ConfigError(f"--rows: unknown row(s) {bad} for suite {suite!r}; known: {sorted(known)}")
        rows = [r for r in rows if r.key in only]
    return rows
