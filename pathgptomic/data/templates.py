"""Template CSVs of both cohort layouts (written by ``write_templates``, offered by the dashboard) and the
one-patient omics template for prediction uploads."""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Mapping, Sequence

import pandas as pd

from pathgptomic.data.cohort import CLINICAL_BLOCK
from pathgptomic.data.columns import (
    BLOCK_SUFFIXES,
    GENERIC_EVENT,
    GENERIC_ID,
    GENERIC_TIME,
    TCGA_CENSORSHIP,
    TCGA_ID,
    TCGA_SLIDE,
    TCGA_TIME,
    _check_block_names,
)
from pathgptomic.errors import ConfigError

_TEMPLATE_GENES = {"mut": ["IDH1", "TP53"], "cnv": ["EGFR", "CDKN2A"], "rnaseq": ["PTEN", "MKI67", "SOX2"]}


def _template_tables() -> dict[str, pd.DataFrame]:
    pids = ["PATIENT-001", "PATIENT-002", "PATIENT-003", "PATIENT-004"]
    clin = pd.DataFrame(
        {
            GENERIC_ID: pids,
            GENERIC_TIME: [14.2, 30.5, 8.1, 52.0],
            GENERIC_EVENT: [1, 0, 1, 0],
            "age": [61, 45, 70, 38],
            "is_female": [0, 1, 1, 0],
        }
    )
    values = {
        "IDH1_mut": [0, 1, 0, 1],
        "TP53_mut": [1, 1, 0, 0],
        "EGFR_cnv": [2, 0, 1, -1],
        "CDKN2A_cnv": [-2, 0, -1, 0],
        "PTEN_rnaseq": [-0.81, 0.42, -1.3, 0.95],
        "MKI67_rnaseq": [1.72, -0.35, 0.88, -1.1],
        "SOX2_rnaseq": [0.15, 0.6, None, -0.4],
    }
    omics = pd.DataFrame({GENERIC_ID: pids, **values})
    slides = pd.DataFrame(
        {
            GENERIC_ID: ["PATIENT-001", "PATIENT-001", "PATIENT-002"],
            "path": ["slides/P001_a.svs", "slides/P001_b.svs", "/data/slides/P002.tif"],
        }
    )
    rows = [0, 0, 1, 2, 3]
    tcga = pd.DataFrame(
        {
            TCGA_ID: [pids[i] for i in rows],
            TCGA_SLIDE: ["P001_a.svs", "P001_b.svs", "P002.svs", "P003.svs", "P004.svs"],
            TCGA_TIME: [clin[GENERIC_TIME][i] for i in rows],
            TCGA_CENSORSHIP: [1 - clin[GENERIC_EVENT][i] for i in rows],
            "age": [clin["age"][i] for i in rows],
            "is_female": [clin["is_female"][i] for i in rows],
            **{k: [v[i] for i in rows] for k, v in values.items()},
        }
    )
    return {"tcga": tcga, "clinical": clin, "omics": omics, "slides": slides}


#: File name of each template written by :func:`write_templates`.
TEMPLATE_FILES: dict[str, str] = {
    "tcga": "template_tcga.csv",
    "clinical": "template_clinical.csv",
    "omics": "template_omics.csv",
    "slides": "template_slides.csv",
}


def template_csv_text(kind: str) -> str:
    """CSV text of one template: ``"tcga"``, ``"clinical"``, ``"omics"`` or ``"slides"``.

    Raises:
        ConfigError: Unknown ``kind``.
    """
    tables = _template_tables()
    if kind not in tables:
        raise ConfigError(f"unknown template {kind!r}; choose from {sorted(tables)}.")
    return tables[kind].to_csv(index=False, lineterminator="\n")


def write_templates(folder: str | os.PathLike) -> dict[str, Path]:
    """Write small template CSVs of both layouts into ``folder`` (created if needed).

    Files (see :data:`TEMPLATE_FILES`): ``template_tcga.csv`` (one row per slide, patient
    PATIENT-001 has two slides), ``template_clinical.csv``, ``template_omics.csv`` (genes
    with block suffixes, one empty cell = missing value) and ``template_slides.csv``
    (the generic slide manifest; its paths are examples).

    Returns:
        Path of each template by kind.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, fname in TEMPLATE_FILES.items():
        path = out / fname
        path.write_text(template_csv_text(kind), encoding="utf-8")
        paths[kind] = path
    return paths


def omics_template_csv(feature_names: Mapping[str, Sequence[str]] | None = None, *, patient_id: str = "NEW-PATIENT-1") -> str:
    """CSV text to fill in for a one-patient omics upload (prediction).

    Header: ``patient_id`` then ``<GENE>_<block>`` for every feature (e.g. the feature
    names a model bundle was trained on); one row with the patient id and empty cells.
    Read the filled file with ``read_generic(None, [file], for_prediction=True)``;
    cells left empty are imputed with the training median.

    Args:
        feature_names: Gene names per genomic block (``"cnv"``, ``"mut"``, ``"rnaseq"``);
            default: a small example set.
        patient_id: Id written in the single data row.
    """
    names = dict(_TEMPLATE_GENES if feature_names is None else feature_names)
    header = [GENERIC_ID]
    for block, genes in names.items():
        if block == CLINICAL_BLOCK:
            continue
        _check_block_names([block])
        header.extend(f"{g}{BLOCK_SUFFIXES[block]}" for g in genes)
    row = [patient_id] + [""] * (len(header) - 1)
    buf = io.StringIO()
    pd.DataFrame([row], columns=header).to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue()
