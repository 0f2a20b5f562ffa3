"""Every input check raises InputValidationError naming file, row/column and the fix."""

from __future__ import annotations

import gzip
import io
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pathgptomic.data import read_generic, read_tcga
from pathgptomic.errors import DataQualityWarning, InputValidationError


def test_valid_frame_reads_without_warning(tcga_frame, write_csv):
    path = write_csv(tcga_frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cohort = read_tcga(path)
    assert cohort.n == 8 and cohort.n_events == 4


def test_missing_required_column(tcga_frame, write_csv):
    path = write_csv(tcga_frame.drop(columns=["survival_months"]))
    with pytest.raises(InputValidationError, match=r"cohort\.csv: missing required column\(s\) 'survival_months'.*Fix"):
        read_tcga(path)


def test_missing_column_suggests_case_fix(generic_files, tmp_path):
    df = pd.read_csv(generic_files["clinical"]).rename(columns={"time": "Time"})
    df.to_csv(tmp_path / "c2.csv", index=False)
    with pytest.raises(InputValidationError, match=r"missing required column\(s\) 'time'.*'Time' -> 'time'"):
        read_generic(tmp_path / "c2.csv", [generic_files["omics"]])


def test_non_numeric_feature_names_row_column_value(tcga_frame, write_csv):
    df = tcga_frame.astype({"EGFR_cnv": object})
    df.loc[3, "EGFR_cnv"] = "amp"
    path = write_csv(df)
    # data row index 3 -> spreadsheet row 5 (header is row 1)
    with pytest.raises(InputValidationError, match=r"row 5 \(patient P04\), column 'EGFR_cnv': value 'amp' is not a number"):
        read_tcga(path)


def test_non_numeric_outcome(tcga_frame, write_csv):
    df = tcga_frame.astype({"survival_months": object})
    df.loc[2, "survival_months"] = "ten"
    with pytest.raises(InputValidationError, match=r"row 4 \(patient P03\), column 'survival_months': value 'ten'"):
        read_tcga(write_csv(df))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [(0.0, r"is 0 \(must be > 0\)"), (-3.0, r"is -3 \(must be > 0\)"), (np.nan, "is missing"), (np.inf, "infinite")],
)
def test_bad_time(tcga_frame, write_csv, value, fragment):
    df = tcga_frame.copy()
    df.loc[4, "survival_months"] = value
    with pytest.raises(InputValidationError, match=rf"row 6 \(patient P05\), column 'survival_months'.*{fragment}"):
        read_tcga(write_csv(df))


def test_bad_time_generic(generic_files, tmp_path):
    df = pd.read_csv(generic_files["clinical"])
    df.loc[0, "time"] = -1
    df.to_csv(tmp_path / "clinical_bad.csv", index=False)
    with pytest.raises(InputValidationError, match=r"clinical_bad\.csv: row 2 \(patient G1\), column 'time'"):
        read_generic(tmp_path / "clinical_bad.csv", [generic_files["omics"]])


def test_event_not_binary(generic_files, tmp_path):
    df = pd.read_csv(generic_files["clinical"])
    df.loc[2, "event"] = 2
    df.to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(InputValidationError, match=r"row 4 \(patient G3\), column 'event': value 2 is not 0 or 1.*1 = death"):
        read_generic(tmp_path / "c.csv", [generic_files["omics"]])


def test_censorship_not_binary(tcga_frame, write_csv):
    df = tcga_frame.astype({"censorship": float})
    df.loc[1, "censorship"] = 0.5
    with pytest.raises(InputValidationError, match=r"column 'censorship': value 0.5 is not 0 or 1.*1 = censored"):
        read_tcga(write_csv(df))


def test_conflicting_duplicate_patient(tcga_frame, write_csv):
    df = tcga_frame.copy()
    df.loc[8, "survival_months"] = 99.0  # second slide of P01 disagrees
    with pytest.raises(InputValidationError, match=r"patient P01 appears in rows 2, 10 with conflicting 'survival_months'"):
        read_tcga(write_csv(df))


def test_multi_slide_patient_collapses(tcga_frame, write_csv, tmp_path):
    (tmp_path / "slides").mkdir()
    for sid in ("P01-DX1.svs", "P01-DX2", "P02-DX1.tif"):
        (tmp_path / "slides" / sid.replace("P01-DX2", "P01-DX2.svs")).write_bytes(b"x")
    with pytest.warns(DataQualityWarning, match=r"6 slide\(s\) listed in .*cohort\.csv were not found"):
        cohort = read_tcga(write_csv(tcga_frame), slide_dir=tmp_path / "slides")
    assert cohort.n == 8
    assert list(cohort.ids) == [f"P{i:02d}" for i in range(1, 9)]
    assert cohort.meta["slide_ids"]["P01"] == ["P01-DX1.svs", "P01-DX2.svs"]
    assert [Path(p).name for p in cohort.slides["P01"]] == ["P01-DX1.svs", "P01-DX2.svs"]
    # slide_id P02-DX1.svs resolved to the .tif that exists
    assert [Path(p).name for p in cohort.slides["P02"]] == ["P02-DX1.tif"]
    assert cohort.slides["P03"] == []


def test_empty_file_zero_bytes(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    with pytest.raises(InputValidationError, match=r"empty\.csv: the TCGA-layout CSV is empty \(0 bytes\)"):
        read_tcga(tmp_path / "empty.csv")


def test_empty_file_header_only(tcga_frame, tmp_path):
    (tmp_path / "h.csv").write_text(",".join(tcga_frame.columns) + "\n")
    with pytest.raises(InputValidationError, match=r"h\.csv: the TCGA-layout CSV has a header row but no data rows"):
        read_tcga(tmp_path / "h.csv")


def test_not_a_csv(tmp_path):
    (tmp_path / "picture.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(InputValidationError, match=r"picture\.csv: is not a text CSV"):
        read_tcga(tmp_path / "picture.csv")


def test_corrupt_gzip(tmp_path):
    (tmp_path / "x.csv.gz").write_bytes(gzip.compress(b"case_id,a\n1,2\n")[:15])
    with pytest.raises(InputValidationError, match=r"x\.csv\.gz: is not a valid gzip file"):
        read_tcga(tmp_path / "x.csv.gz")


def test_ragged_rows(tmp_path):
    (tmp_path / "r.csv").write_text("case_id,survival_months\nA,1\nB,2,3,4\n")
    with pytest.raises(InputValidationError, match=r"r\.csv: cannot be parsed as a comma-separated file"):
        read_tcga(tmp_path / "r.csv")


def test_semicolon_separated(tmp_path):
    (tmp_path / "s.csv").write_text("case_id;survival_months;censorship\nA;1;0\n")
    with pytest.raises(InputValidationError, match=r"separator looks like"):
        read_tcga(tmp_path / "s.csv")


def test_missing_file(tmp_path):
    with pytest.raises(InputValidationError, match=r"nope\.csv: file not found"):
        read_tcga(tmp_path / "nope.csv")


def test_fewer_than_two_events(tcga_frame, write_csv):
    df = tcga_frame.copy()
    df["censorship"] = 1
    df.loc[1, "censorship"] = 0
    with pytest.raises(InputValidationError, match=r"cohort has 1 observed event\(s\) among 8 patients; at least 2"):
        read_tcga(write_csv(df))


def test_no_columns_for_requested_block(tcga_frame, write_csv):
    df = tcga_frame.drop(columns=["TP53_mut", "IDH1_mut"])
    with pytest.raises(InputValidationError, match=r"no feature columns for the requested block 'mut' \(expected columns named <GENE>_mut\)"):
        read_tcga(write_csv(df))
    cohort = read_tcga(write_csv(df), blocks=("cnv", "rnaseq"))
    assert set(cohort.blocks) == {"cnv", "rnaseq", "clinical"}


def test_constant_and_all_nan_columns_dropped_with_one_warning(tcga_frame, write_csv):
    df = tcga_frame.copy()
    df["KRAS_mut"] = 0
    df["MYC_cnv"] = np.nan
    df["GAPDH_rnaseq"] = 5.0
    with pytest.warns(DataQualityWarning) as record:
        cohort = read_tcga(write_csv(df))
    quality = [w for w in record if issubclass(w.category, DataQualityWarning)]
    assert len(quality) == 1
    msg = str(quality[0].message)
    assert "dropped 3 feature column(s)" in msg and "KRAS" in msg and "MYC" in msg and "GAPDH" in msg
    assert "KRAS" not in cohort.blocks["mut"].columns and "TP53" in cohort.blocks["mut"].columns
    assert "MYC" not in cohort.blocks["cnv"].columns and "GAPDH" not in cohort.blocks["rnaseq"].columns
    assert cohort.meta["dropped_columns"] == {"cnv": ["MYC"], "mut": ["KRAS"], "rnaseq": ["GAPDH"]}


def test_block_entirely_constant_is_an_error(tcga_frame, write_csv):
    df = tcga_frame.copy()
    df["TP53_mut"] = 0
    df["IDH1_mut"] = 1
    with pytest.raises(InputValidationError, match=r"every column of block 'mut' is empty or constant"):
        read_tcga(write_csv(df))


def test_non_numeric_clinical_covariate(generic_files, tmp_path):
    df = pd.read_csv(generic_files["clinical"])
    df["sex"] = ["F", "M", "F", "F", "M", "M"]
    df.to_csv(tmp_path / "c.csv", index=False)
    with pytest.raises(InputValidationError, match=r"row 2 \(patient G1\), column 'sex': value 'F' is not a number"):
        read_generic(tmp_path / "c.csv", [generic_files["omics"]])


def test_failed_read_leaves_no_state(tcga_frame, write_csv):
    """A second, valid read after a failure gives the same cohort as a fresh read."""
    good = write_csv(tcga_frame, "good.csv")
    bad = tcga_frame.copy()
    bad.loc[0, "censorship"] = 3
    with pytest.raises(InputValidationError):
        read_tcga(write_csv(bad, "bad.csv"))
    a, b = read_tcga(good), read_tcga(good)
    pd.testing.assert_frame_equal(a.blocks["rnaseq"], b.blocks["rnaseq"])


def test_upload_object_is_named(tcga_frame):
    buf = io.BytesIO(b"")
    buf.name = "upload.csv"
    with pytest.raises(InputValidationError, match=r"upload\.csv: the TCGA-layout CSV is empty"):
        read_tcga(buf)
    ok = io.BytesIO(tcga_frame.to_csv(index=False).encode())
    assert read_tcga(ok).n == 8


def test_slides_disagreeing_on_features_warn_and_fill(tcga_frame, write_csv):
    df = tcga_frame.astype({"SOX2_rnaseq": float, "MKI67_rnaseq": float})
    df.loc[0, "MKI67_rnaseq"] = np.nan  # first slide row of P01 misses MKI67: taken from its second row
    df.loc[8, "SOX2_rnaseq"] = 123.0  # second slide row of P01 disagrees on SOX2: first row wins
    with pytest.warns(DataQualityWarning, match=r"rows of the same patient disagree in feature column\(s\) 'SOX2_rnaseq'"):
        cohort = read_tcga(write_csv(df))
    assert cohort.blocks["rnaseq"].loc["P01", "SOX2"] == tcga_frame.loc[0, "SOX2_rnaseq"]
    assert cohort.blocks["rnaseq"].loc["P01", "MKI67"] == tcga_frame.loc[8, "MKI67_rnaseq"]


def test_duplicate_column_names(tmp_path):
    (tmp_path / "d.csv").write_text("patient_id,TP53_mut,TP53_mut\nA,1,0\n")
    with pytest.raises(InputValidationError, match=r"d\.csv: column\(s\) 'TP53_mut' appear more than once"):
        read_generic(None, [tmp_path / "d.csv"], for_prediction=True)


def test_gene_in_two_omics_files(generic_files, tmp_path):
    ids = [f"G{i}" for i in range(1, 7)]
    pd.DataFrame({"patient_id": ids, "PTEN": [0.3, 0.4, 0.1, 0.2, 0.5, 0.6]}).to_csv(tmp_path / "rna_extra.csv", index=False)
    with pytest.raises(InputValidationError, match=r"rna_extra\.csv: gene\(s\) 'PTEN' of block 'rnaseq' also appear in another omics file"):
        read_generic(generic_files["clinical"], [generic_files["omics"], tmp_path / "rna_extra.csv"])


def test_gene_with_and_without_suffix(tmp_path, generic_files):
    pd.DataFrame({"patient_id": ["G1", "G2"], "EGFR": [1, 0], "EGFR_cnv": [1, 0]}).to_csv(tmp_path / "cnv_x.csv", index=False)
    with pytest.raises(InputValidationError, match=r"cnv_x\.csv: gene\(s\) 'EGFR' appear twice in block 'cnv'"):
        read_generic(generic_files["clinical"], [tmp_path / "cnv_x.csv"])


def test_missing_slide_folder(tcga_frame, write_csv, tmp_path):
    with pytest.raises(InputValidationError, match=r"slide folder .*no_slides does not exist"):
        read_tcga(write_csv(tcga_frame), slide_dir=tmp_path / "no_slides")
