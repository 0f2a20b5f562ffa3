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
    with pytest.raises(InputValidationError, match=r"picture\.csv: is a PNG image, not a text CSV"):
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
    with pytest.raises(InputValidationError, match=r"s\.csv: row 1 \(header\) is separated by semicolons \(3 col.*Fix: export"):
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
    with pytest.raises(
        InputValidationError,
        match=r"no feature columns for the requested block 'mut' "
        r"\(expected columns named <GENE>_mut\)",
    ):
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


# --------------------------------------------------------------------------- bounded, encoding-aware reading

from pathgptomic.data import validation as V  # noqa: E402
from pathgptomic.errors import ConfigError  # noqa: E402

GOOD = "case_id,slide_id,EGFR_cnv\n007,a.svs,1\nP2,b.svs,-1\n"


def _named(data: bytes, name: str = "up.csv") -> io.BytesIO:
    buf = io.BytesIO(data)
    buf.name = name
    return buf


@pytest.mark.parametrize(
    "data",
    [
        GOOD.encode(),
        b"\xef\xbb\xbf" + GOOD.encode(),  # Excel "CSV UTF-8"
        GOOD.encode("utf-16"),  # with BOM
        GOOD.encode("utf-32"),
        gzip.compress(GOOD.encode()),  # gzip content named .csv
        gzip.compress(GOOD.encode()[:20]) + gzip.compress(GOOD.encode()[20:]),  # two gzip members
        gzip.compress(GOOD.encode()) + b"\x00" * 7,  # zero padding after the stream
        __import__("bz2").compress(GOOD.encode()),
        __import__("lzma").compress(GOOD.encode()),
        ("\n\n" + GOOD).encode(),  # blank lines before the header
    ],
    ids=["utf8", "bom", "utf16", "utf32", "gzip-as-csv", "gzip-members", "gzip-padding", "bz2", "xz", "blank-lines"],
)
def test_accepted_encodings_and_compressions_read_identically(data):
    df = V.read_csv_checked(_named(data), id_columns=("case_id", "slide_id"))
    assert list(df.columns) == ["case_id", "slide_id", "EGFR_cnv"]
    assert df["case_id"].tolist() == ["007", "P2"] and df["EGFR_cnv"].tolist() == [1, -1]
    assert V.read_header_checked(_named(data), what="cohort CSV") == ["case_id", "slide_id", "EGFR_cnv"]


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        (b"", r"up\.csv: the cohort CSV is empty \(0 bytes\)"),
        (b"\n \n\t\n", r"up\.csv: the cohort CSV is empty \(it holds only blank lines"),
        (gzip.compress(b""), r"up\.csv: the cohort CSV is empty once gzip-decompressed"),
        (b"case_id,EGFR_cnv\n", r"up\.csv: the cohort CSV has a header row but no data rows"),
        (b"case_id;EGFR_cnv\nA;1,5\n", r"up\.csv: row 1 \(header\) is separated by semicolons \(2 columns"),
        (b"case_id\tEGFR_cnv\nA\t1\n", r"up\.csv: row 1 \(header\) is separated by tabs"),
        (b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml", r"up\.csv: is an Excel workbook \(\.xlsx\).*CSV UTF-8"),
        (b"PK\x03\x04\x14\x00\x00\x00data.csv", r"up\.csv: is a zip archive.*extract the CSV"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), r"up\.csv: is an Excel 97-2003 workbook"),
        (gzip.compress(b"\x89PNG\r\n\x1a\n" + bytes(50)), r"up\.csv: is a PNG image \(inside the gzip compression\)"),
        (bytes(range(256)) * 8, r"up\.csv: is not a text CSV \(it contains binary data"),
        (GOOD.encode("utf-16-le"), r"up\.csv: is UTF-16 text without a byte-order mark.*save the table as 'CSV UTF-8"),
        (b"case_id,EGFR_cnv\nA,1\nJos\xe9,2\n", r"up\.csv: row 3, column 'case_id': byte 0xe9 \(probably 'é'.*CSV UTF-8"),
        (gzip.compress(gzip.compress(GOOD.encode())), r"up\.csv: is compressed twice"),
        (gzip.compress(GOOD.encode())[:-12], r"up\.csv: is not a valid gzip file \(the compressed stream is truncated\)"),
        (b"a,b,a\n1,2,3\n", r"up\.csv: column\(s\) 'a' appear more than once in the header \(row 1; 'a' at column positions 1, 3\)"),
    ],
    ids=[
        "empty",
        "blank",
        "empty-gzip",
        "header-only",
        "semicolon",
        "tab",
        "xlsx",
        "zip",
        "xls",
        "gzip-png",
        "binary",
        "utf16-no-bom",
        "latin1",
        "double-gzip",
        "truncated-gzip",
        "duplicates",
    ],
)
def test_refusals_are_precise_and_the_same_for_header_and_full_reads(data, pattern):
    with pytest.raises(InputValidationError, match=pattern) as full:
        V.read_csv_checked(_named(data), what="cohort CSV")
    assert "Fix:" in str(full.value)
    if "truncated" in pattern:  # the header read stops before the damaged end, by design
        assert V.read_header_checked(_named(data), what="cohort CSV") == ["case_id", "slide_id", "EGFR_cnv"]
        return
    with pytest.raises(InputValidationError) as head:
        V.read_header_checked(_named(data), what="cohort CSV")
    assert str(head.value) == str(full.value)


def test_gz_name_with_plain_content(tmp_path):
    (tmp_path / "x.csv.gz").write_text(GOOD)
    with pytest.raises(InputValidationError, match=r"x\.csv\.gz: the name ends in \.gz but the content is not compressed"):
        V.read_csv_checked(tmp_path / "x.csv.gz")


def test_trailing_garbage_after_gzip_is_refused():
    with pytest.raises(InputValidationError, match=r"not a valid gzip file \(unexpected data after the end"):
        V.read_csv_checked(_named(gzip.compress(GOOD.encode()) + b"garbage"))


@pytest.mark.timeout(60)
def test_gzip_bomb_memory_and_time_are_bounded(tmp_path):
    """A 1 GB expansion from a 1 MB file stops at the 8 MB bound: peak memory stays near the bound."""
    import time
    import tracemalloc

    comp = __import__("zlib").compressobj(9, wbits=31)
    block = b"0," * (1024 * 1024 // 2)  # 1 MB of text, compressed block by block (never 1 GB in memory)
    with (tmp_path / "bomb.csv").open("wb") as fh:
        fh.write(comp.compress(b"case_id,x\n"))
        for _ in range(1024):
            fh.write(comp.compress(block))
        fh.write(comp.flush())
    assert (tmp_path / "bomb.csv").stat().st_size < 2 * 1024 * 1024
    limits = V.ReadLimits(max_text_bytes=8 * 1024 * 1024)
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        with pytest.raises(
            InputValidationError,
            match=r"bomb\.csv: the CSV file expands to more than 8 MB of text once "
            r"gzip-decompressed.*compression bomb.*Fix: split",
        ):
            V.read_csv_checked(tmp_path / "bomb.csv", limits=limits)
        with V.read_limits(limits), pytest.raises(InputValidationError, match=r"more than 8 MB"):
            read_tcga(tmp_path / "bomb.csv")  # readers pick the bound up from read_limits
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 24 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for an 8 MB bound and a 1 GB bomb"
    assert elapsed < 20
    # the header alone is found without expanding the rest
    assert V.read_header_checked(tmp_path / "bomb.csv", what="CSV") == ["case_id", "x"]


def test_row_cap_counts_decompressed_rows():
    rows = b"case_id,x\n" + b"".join(b"P%d,1\n" % i for i in range(30))
    limits = V.ReadLimits(max_text_bytes=1024 * 1024, max_rows=20, fix="split it")
    with pytest.raises(InputValidationError, match=r"has more than 20 data rows \(reading stopped at row 22\)\. Fix: split it"):
        V.read_csv_checked(_named(gzip.compress(rows)), limits=limits)
    assert len(V.read_csv_checked(_named(gzip.compress(rows)), limits=V.ReadLimits(1024 * 1024, max_rows=30))) == 30


def test_text_bound_from_environment(monkeypatch, tmp_path):
    (tmp_path / "t.csv").write_text("case_id,x\n" + "P,1\n" * 300_000)  # 1.2 MB
    monkeypatch.setenv(V.MAX_TEXT_ENV, "1")
    with pytest.raises(InputValidationError, match=r"t\.csv: the CSV file holds more than 1 MB of text.*PATHGPTOMIC_MAX_TEXT_MB"):
        V.read_csv_checked(tmp_path / "t.csv")
    monkeypatch.setenv(V.MAX_TEXT_ENV, "2")
    assert len(V.read_csv_checked(tmp_path / "t.csv")) == 300_000
    monkeypatch.setenv(V.MAX_TEXT_ENV, "lots")
    with pytest.raises(ConfigError, match=r"PATHGPTOMIC_MAX_TEXT_MB='lots' is not a positive number"):
        V.read_csv_checked(tmp_path / "t.csv")


@pytest.mark.timeout(120)
def test_sixty_thousand_columns_read_in_seconds(tmp_path):
    import time

    genes = [f"G{i}_rnaseq" for i in range(60_000)]
    (tmp_path / "wide.csv").write_text("case_id," + ",".join(genes) + "\nP1" + ",0.5" * 60_000 + "\n")
    t0 = time.perf_counter()
    df = V.read_csv_checked(tmp_path / "wide.csv", id_columns=("case_id",))
    assert V.read_header_checked(tmp_path / "wide.csv", what="CSV")[-1] == "G59999_rnaseq"
    feats = V.coerce_numeric(df, genes, file="wide.csv")
    elapsed = time.perf_counter() - t0
    assert df.shape == (1, 60_001) and feats.to_numpy().sum() == pytest.approx(30_000.0)
    assert elapsed < 15, f"{elapsed:.1f} s"
    (tmp_path / "dup.csv").write_text("case_id," + ",".join(genes + ["G5_rnaseq"]) + "\nP1" + ",1" * 60_001 + "\n")
    t0 = time.perf_counter()
    with pytest.raises(InputValidationError, match=r"'G5_rnaseq' appear more than once.*positions 7, 60002"):
        V.read_csv_checked(tmp_path / "dup.csv")
    assert time.perf_counter() - t0 < 15


def test_wide_parser_matches_pandas(monkeypatch):
    text = (
        "case_id,slide_id,site,,A_cnv,B_cnv,C_rnaseq,D_rnaseq\n"
        "007,s1.svs,x,0,1,NA,0.5,inf\n\n"
        "P2,s2.svs,,1,-2,3,,1e5\n"
        "P3,s3.svs,y,2,0,1,2.25\n"
    ).encode()
    narrow = V.read_csv_checked(_named(text), id_columns=("case_id", "slide_id"))
    from pathgptomic.data import csv_reading

    monkeypatch.setattr(csv_reading, "WIDE_TABLE_COLUMNS", 3)
    wide = V.read_csv_checked(_named(text), id_columns=("case_id", "slide_id"))
    pd.testing.assert_frame_equal(wide, narrow.astype({c: float for c in narrow.columns if narrow[c].dtype.kind in "iu"}))
    with pytest.raises(InputValidationError, match=r"cannot be parsed as a comma-separated file \(row 2 has 9 fields, the header 8\)"):
        V.read_csv_checked(_named(text.replace(b"x,0,1,NA", b"x,0,1,NA,7")))


def test_rows_one_field_longer_than_the_header_are_refused_not_shifted():
    with pytest.raises(InputValidationError, match=r"r\.csv: row 2 has 3 fields but the header \(row 1\) has 2.*trailing comma"):
        V.read_csv_checked(_named(b"case_id,x\nP1,1,\nP2,3,\n", "r.csv"))


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (1e300, r"is 1e\+300 months, over the plausible maximum of 1200 months \(100 years\)"),
        (1201.0, r"is 1201 months, over the plausible maximum"),
        ("1e400", r"value '1e400' is too large: it overflows to infinity"),
    ],
)
def test_implausible_times_fail_at_reading_naming_the_patient(tcga_frame, write_csv, value, fragment):
    df = tcga_frame.astype({"survival_months": object})
    df.loc[4, "survival_months"] = value
    with pytest.raises(InputValidationError, match=rf"row 6 \(patient P05\), column 'survival_months'.*{fragment}"):
        read_tcga(write_csv(df))
    df.loc[4, "survival_months"] = 1200.0  # exactly 100 years is accepted
    assert read_tcga(write_csv(df)).time.max() == 1200.0


def test_time_bound_follows_the_unit():
    ids = ["A", "B"]
    V.check_time(np.array([1.0, 36000.0]), file="c.csv", column="time", ids=ids, unit="days")
    with pytest.raises(InputValidationError, match=r"row 3 \(patient B\), column 'time': follow-up time is 101 years"):
        V.check_time(np.array([1.0, 101.0]), file="c.csv", column="time", ids=ids, unit="years")
    V.check_time(np.array([1.0, 5000.0]), file="c.csv", column="time", ids=ids, unit="fortnights")  # unknown: no bound


def test_feature_overflow_and_infinity_are_errors_not_missing(tcga_frame, write_csv):
    df = tcga_frame.astype({"SOX2_rnaseq": object})
    df.loc[2, "SOX2_rnaseq"] = "1e999"
    with pytest.raises(InputValidationError, match=r"row 4 \(patient P03\), column 'SOX2_rnaseq': value '1e999' is too large"):
        read_tcga(write_csv(df))
    df.loc[2, "SOX2_rnaseq"] = "-inf"
    with pytest.raises(InputValidationError, match=r"row 4 \(patient P03\), column 'SOX2_rnaseq': value -inf is infinite"):
        read_tcga(write_csv(df))
