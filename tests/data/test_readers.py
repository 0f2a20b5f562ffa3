"""Readers: real TCGA-GBMLGG file, generic layout, auto-detection, templates, prediction uploads."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pathgptomic.data import (
    omics_template_csv,
    read_cohort,
    read_generic,
    read_tcga,
    template_csv_text,
    write_templates,
)
from pathgptomic.errors import DataQualityWarning, InputValidationError


@pytest.fixture(scope="module")
def real_cohort(tcga_csv):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)  # the real file has no constant column
        return read_tcga(tcga_csv)


def test_real_tcga_patients_events_blocks(real_cohort, tcga_csv):
    raw = pd.read_csv(tcga_csv, usecols=["case_id", "censorship", "survival_months"])
    per_patient = raw.groupby("case_id").first()
    assert real_cohort.n == 569 == len(per_patient)
    assert real_cohort.n_events == int((1 - per_patient["censorship"]).sum())
    # 1,544 RNA-seq, 30 CNV, 16 mutation columns; none is constant, so none is dropped
    assert {k: v.shape for k, v in real_cohort.blocks.items()} == {
        "rnaseq": (569, 1544),
        "cnv": (569, 30),
        "mut": (569, 16),
        "clinical": (569, 2),
    }
    assert real_cohort.meta["dropped_columns"] == {}
    assert "EGFR" in real_cohort.blocks["cnv"].columns and "IDH1" in real_cohort.blocks["mut"].columns
    assert not any(c.endswith("_rnaseq") for c in real_cohort.blocks["rnaseq"].columns)
    assert real_cohort.meta["n_rows"] == 1011
    assert sum(len(v) for v in real_cohort.meta["slide_ids"].values()) == 1011
    assert all(v == [] for v in real_cohort.slides.values())
    t = per_patient.loc[real_cohort.ids, "survival_months"].to_numpy()
    np.testing.assert_array_equal(real_cohort.time, t)
    assert list(real_cohort.blocks["cnv"].index) == list(real_cohort.ids)


def test_generic_layout(generic_files):
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataQualityWarning)  # nothing dropped, nobody missing
        cohort = read_generic(generic_files["clinical"], [generic_files["omics"], generic_files["rnaseq"]], generic_files["slides"])
    assert list(cohort.ids) == ["G1", "G2", "G3", "G4", "G5", "G6"]
    assert cohort.n_events == 3
    assert list(cohort.blocks["cnv"].columns) == ["EGFR"]
    assert list(cohort.blocks["mut"].columns) == ["TP53"]
    assert list(cohort.blocks["rnaseq"].columns) == ["PTEN", "SOX2", "MKI67"]
    # rnaseq.csv lists patients in reverse order: aligned by id
    assert cohort.blocks["rnaseq"].loc["G1", "SOX2"] == 6.0
    assert np.isnan(cohort.blocks["rnaseq"].loc["G5", "PTEN"])
    assert list(cohort.blocks["clinical"].columns) == ["age"]
    assert len(cohort.slides["G1"]) == 1 and cohort.slides["G1"][0].endswith("img/G1.png")
    assert Path(cohort.slides["G1"][0]).is_absolute() or Path(cohort.slides["G1"][0]).exists()
    assert cohort.slides["G3"] == []


def test_read_cohort_detects_generic_folder(generic_files):
    cohort = read_cohort(generic_files["clinical"].parent)
    assert cohort.meta["layout"] == "generic" and cohort.n == 6 and set(cohort.blocks) == {"cnv", "mut", "rnaseq", "clinical"}


def test_read_cohort_detects_tcga_file(tcga_frame, write_csv):
    cohort = read_cohort(write_csv(tcga_frame, "x.csv"))
    assert cohort.meta["layout"] == "tcga" and cohort.n == 8


def test_read_cohort_unknown_folder(tmp_path):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputValidationError, match="neither clinical.csv"):
        read_cohort(tmp_path)


def test_manifest_missing_file(generic_files, tmp_path):
    pd.DataFrame({"patient_id": ["G1"], "path": ["img/missing.png"]}).to_csv(tmp_path / "m.csv", index=False)
    with pytest.raises(InputValidationError, match=r"m\.csv: row 2 \(patient G1\), column 'path': file .*missing\.png does not exist"):
        read_generic(generic_files["clinical"], [generic_files["omics"]], tmp_path / "m.csv")


def test_omics_column_without_block(generic_files, tmp_path):
    pd.DataFrame({"patient_id": ["G1", "G2"], "FOO": [1, 2]}).to_csv(tmp_path / "extra.csv", index=False)
    with pytest.raises(InputValidationError, match=r"extra\.csv: cannot tell which block column\(s\) 'FOO' belong to"):
        read_generic(generic_files["clinical"], [tmp_path / "extra.csv"])


def test_omics_patients_not_in_clinical_warned(generic_files, tmp_path):
    pd.DataFrame({"patient_id": ["G1", "ZZ"], "KRAS_mut": [1, 0]}).to_csv(tmp_path / "more.csv", index=False)
    with pytest.warns(DataQualityWarning) as rec:
        read_generic(generic_files["clinical"], [generic_files["omics"], tmp_path / "more.csv"])
    text = " | ".join(str(w.message) for w in rec)
    assert "1 patient(s) of the omics files are not in clinical.csv" in text
    assert "5 patient(s) of the cohort have no row in this file (e.g. 'G2'); their mut values count as missing" in text


def test_templates_are_readable(tmp_path):
    paths = write_templates(tmp_path / "tpl")
    assert set(paths) == {"tcga", "clinical", "omics", "slides"}
    tcga = read_tcga(paths["tcga"])
    assert tcga.n == 4 and tcga.meta["slide_ids"]["PATIENT-001"] == ["P001_a.svs", "P001_b.svs"]
    gen = read_generic(paths["clinical"], [paths["omics"]])
    assert gen.n == 4 and gen.n_events == tcga.n_events == 2
    np.testing.assert_array_equal(gen.blocks["cnv"].to_numpy(), tcga.blocks["cnv"].to_numpy())
    assert template_csv_text("slides").startswith("patient_id,path\n")
    with pytest.raises(Exception, match="unknown template"):
        template_csv_text("nope")


def test_one_patient_prediction_upload(tmp_path):
    text = omics_template_csv({"cnv": ["EGFR"], "mut": ["IDH1", "TP53"], "rnaseq": ["PTEN"]}, patient_id="NEW-1")
    assert text.splitlines() == ["patient_id,EGFR_cnv,IDH1_mut,TP53_mut,PTEN_rnaseq", "NEW-1,,,,"]
    filled = text.replace("NEW-1,,,,", "NEW-1,2,1,,0.5")
    (tmp_path / "new.csv").write_text(filled)
    cohort = read_generic(None, [tmp_path / "new.csv"], for_prediction=True)
    assert list(cohort.ids) == ["NEW-1"] and cohort.meta["has_outcomes"] is False
    assert cohort.blocks["mut"].loc["NEW-1", "IDH1"] == 1.0 and np.isnan(cohort.blocks["mut"].loc["NEW-1", "TP53"])
    assert np.isnan(cohort.time).all()
    with pytest.raises(InputValidationError, match="no clinical CSV"):
        read_generic(None, [tmp_path / "new.csv"])


def test_tcga_for_prediction_without_outcomes(tcga_frame, write_csv):
    df = tcga_frame.drop(columns=["survival_months", "censorship"]).iloc[:1]
    cohort = read_tcga(write_csv(df), for_prediction=True)
    assert cohort.n == 1 and cohort.blocks["rnaseq"].shape == (1, 2)


def test_tcga_prediction_upload_partial_columns(tmp_path):
    (tmp_path / "one.csv").write_text("case_id,IDH1_mut,EGFR_cnv\nNEW-2,1,\n")
    cohort = read_tcga(tmp_path / "one.csv", for_prediction=True)
    assert cohort.blocks["rnaseq"].shape == (1, 0)  # absent block: empty, imputed by the model
    assert list(cohort.blocks["clinical"].columns) == ["age", "is_female"]
    assert cohort.blocks["clinical"].isna().all().all()
    assert np.isnan(cohort.blocks["cnv"].loc["NEW-2", "EGFR"])
    (tmp_path / "none.csv").write_text("case_id,slide_id\nNEW-3,x.svs\n")
    with pytest.raises(InputValidationError, match=r"none\.csv: no feature columns"):
        read_tcga(tmp_path / "none.csv", for_prediction=True)


def test_generic_prediction_has_every_block(tmp_path):
    (tmp_path / "u.csv").write_text("patient_id,TP53_mut\nNEW-4,1\n")
    cohort = read_generic(None, [tmp_path / "u.csv"], for_prediction=True)
    assert {k: v.shape for k, v in cohort.blocks.items()} == {"mut": (1, 1), "cnv": (1, 0), "rnaseq": (1, 0), "clinical": (1, 0)}


def test_unknown_block_name(tcga_frame, write_csv):
    from pathgptomic.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown feature block\(s\) \['methylation'\]"):
        read_tcga(write_csv(tcga_frame), blocks=("methylation",))
