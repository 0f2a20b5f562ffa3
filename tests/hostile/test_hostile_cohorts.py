"""Hostile cohort files through the command line (``pathgptomic train``/``predict``) and its reader.

Outcome classes: ``error`` = exit status 2 and one message naming the file, the row/column where
there is one, and a fix (never a traceback); ``same`` = the cohort read equals the clean one.
"""

from __future__ import annotations

import bz2
import codecs
import gzip
import re
import zlib
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pytest
from hostile_helpers import tcga_table

from pathgptomic.cli import load_cohort_arg

pytestmark = pytest.mark.timeout(120)


def _bomb(expanded_mb: int) -> bytes:
    """A gzip stream of ``expanded_mb`` MB of CSV text, built block by block (never expanded in memory)."""
    comp = zlib.compressobj(9, wbits=31)
    out = [comp.compress(b"case_id,survival_months,censorship,EGFR_cnv\n")]
    block = b"P1,1,0,1\n" * (1024 * 1024 // 9)
    out += [comp.compress(block) for _ in range(expanded_mb)]
    return b"".join(out) + comp.flush()


def _cell(text: str, row: int, column: str, value: str) -> str:
    """``text`` with data row ``row`` (0-based), column ``column`` set to ``value``."""
    df = pd.read_csv(pd.io.common.StringIO(text), dtype=str)
    df.loc[row, column] = value
    return df.to_csv(index=False)


# (id, how the clean text becomes the hostile bytes, name of the file, pattern the message must match)
ERROR_CASES: list[tuple[str, Callable[[str], bytes], str, str]] = [
    ("empty", lambda t: b"", "c.csv", r"c\.csv: the TCGA-layout CSV is empty \(0 bytes\)|c\.csv: the cohort CSV is empty \(0 bytes\)"),
    ("blank-lines", lambda t: b"\n\n   \n", "c.csv", r"c\.csv: the .* is empty \(it holds only blank lines"),
    ("header-only", lambda t: t.split("\n")[0].encode() + b"\n", "c.csv", r"c\.csv: the .* has a header row but no data rows"),
    ("semicolons", lambda t: t.replace(",", ";").encode(), "c.csv", r"c\.csv: row 1 \(header\) is separated by semicolons.*Fix: export"),
    ("tabs", lambda t: t.replace(",", "\t").encode(), "c.csv", r"c\.csv: row 1 \(header\) is separated by tabs.*Fix: export"),
    ("zip", lambda t: b"PK\x03\x04\x14\x00\x00\x00\x08\x00cohort.csv" + bytes(40), "c.csv", r"c\.csv: is a zip archive.*Fix: extract"),
    ("xlsx", lambda t: b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml" + bytes(40), "c.csv", r"c\.csv: is an Excel workbook \(\.xlsx\)"),
    ("xls", lambda t: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200), "c.csv", r"c\.csv: is an Excel 97-2003 workbook"),
    ("png", lambda t: b"\x89PNG\r\n\x1a\n" + bytes(64), "c.csv", r"c\.csv: is a PNG image, not a text CSV"),
    ("pickle", lambda t: b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94.", "c.csv", r"c\.csv: is a Python pickle \(never loaded\)"),
    ("binary", lambda t: bytes(range(256)) * 16, "c.csv", r"c\.csv: is not a text CSV \(it contains binary data"),
    ("utf16-no-bom", lambda t: t.encode("utf-16-le"), "c.csv", r"c\.csv: is UTF-16 text without a byte-order mark.*CSV UTF-8"),
    (
        "latin1",
        lambda t: t.replace("P03", "Pé3").encode("latin-1"),
        "c.csv",
        r"c\.csv: row 4, column 'case_id': byte 0xe9 \(probably 'é'.*Fix: save the file as 'CSV UTF-8",
    ),
    ("double-gzip", lambda t: gzip.compress(gzip.compress(t.encode())), "c.csv", r"c\.csv: is compressed twice"),
    ("truncated-gzip", lambda t: gzip.compress(t.encode())[:-40], "c.csv.gz", r"c\.csv\.gz: is not a valid gzip file"),
    ("gz-name-plain", lambda t: t.encode(), "c.csv.gz", r"c\.csv\.gz: the name ends in \.gz but the content is not compressed"),
    (
        "gzip-trailing-junk",
        lambda t: gzip.compress(t.encode()) + b"<html>",
        "c.csv",
        r"c\.csv: is not a valid gzip file \(unexpected data after the end",
    ),
    (
        "duplicate-column",
        lambda t: t.replace("PTEN_cnv", "EGFR_cnv", 1).encode(),
        "c.csv",
        r"c\.csv: column\(s\) 'EGFR_cnv' appear more than once in the header \(row 1; 'EGFR_cnv' at column positions 7, 8\)",
    ),
    (
        "trailing-commas",
        lambda t: t.replace("\n", ",\n").replace(",\n", "\n", 1).encode(),
        "c.csv",
        r"c\.csv: row 2 has 13 fields but the header \(row 1\) has 12.*trailing comma",
    ),
    ("ragged-row", lambda t: t.replace("P05,", "P05,1,2,3,", 1).encode(), "c.csv", r"c\.csv: cannot be parsed as a comma-separated file"),
    (
        "missing-time-column",
        lambda t: pd.read_csv(pd.io.common.StringIO(t)).drop(columns="survival_months").to_csv(index=False).encode(),
        "c.csv",
        r"c\.csv: missing required column\(s\) 'survival_months'",
    ),
    (
        "text-feature",
        lambda t: _cell(t, 2, "EGFR_cnv", "amp").encode(),
        "c.csv",
        r"c\.csv: row 4 \(patient P03\), column 'EGFR_cnv': value 'amp' is not a number",
    ),
    (
        "overflow-feature",
        lambda t: _cell(t, 2, "SOX2_rnaseq", "1e999").encode(),
        "c.csv",
        r"c\.csv: row 4 \(patient P03\), column 'SOX2_rnaseq': value '1e999' is too large",
    ),
    (
        "infinite-feature",
        lambda t: _cell(t, 5, "MKI67_rnaseq", "inf").encode(),
        "c.csv",
        r"c\.csv: row 7 \(patient P06\), column 'MKI67_rnaseq': value inf is infinite",
    ),
    (
        "time-1e300",
        lambda t: _cell(t, 3, "survival_months", "1e300").encode(),
        "c.csv",
        r"c\.csv: row 5 \(patient P04\), column 'survival_months': follow-up time is 1e\+300 months, over the plausible maximum",
    ),
    (
        "time-negative",
        lambda t: _cell(t, 0, "survival_months", "-4").encode(),
        "c.csv",
        r"c\.csv: row 2 \(patient P01\), column 'survival_months': follow-up time is -4 \(must be > 0\)",
    ),
    (
        "time-missing",
        lambda t: _cell(t, 1, "survival_months", "").encode(),
        "c.csv",
        r"c\.csv: row 3 \(patient P02\), column 'survival_months': follow-up time is missing",
    ),
    (
        "censorship-2",
        lambda t: _cell(t, 6, "censorship", "2").encode(),
        "c.csv",
        r"c\.csv: row 8 \(patient P07\), column 'censorship': value 2 is not 0 or 1",
    ),
    ("empty-id", lambda t: _cell(t, 4, "case_id", "").encode(), "c.csv", r"c\.csv: row 6, column 'case_id': the patient id is empty"),
]


@pytest.mark.parametrize(("case", "make", "name", "pattern"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_cli_train_refuses_hostile_cohort_with_a_precise_message(case, make, name, pattern, clean_csv_text, run_cli, tmp_path):
    """Outcome: error (exit 2, message names file/row/column and the fix), before any training."""
    path = tmp_path / name
    path.write_bytes(make(clean_csv_text))
    rc, err = run_cli(["train", "--cohort", str(path), "--out", str(tmp_path / "out"), "--fusion", "genomic", "--no-progress"])
    assert rc == 2, err
    assert err.startswith("error: ") and "Traceback" not in err
    assert re.search(pattern, err), err
    assert "Fix" in err or "fix" in err
    assert not (tmp_path / "out").exists()


def test_cli_gzip_bomb_named_csv_stops_at_the_bound(run_cli, tmp_path, monkeypatch):
    """Outcome: error naming the file and the bound; memory and time stay bounded (checked in tests/data)."""
    path = tmp_path / "bomb.csv"
    path.write_bytes(_bomb(64))
    assert path.stat().st_size < 1024 * 1024
    monkeypatch.setenv("PATHGPTOMIC_MAX_TEXT_MB", "4")
    rc, err = run_cli(["train", "--cohort", str(path), "--out", str(tmp_path / "out"), "--fusion", "genomic", "--no-progress"])
    assert rc == 2 and "bomb.csv" in err and "more than 4 MB of text once gzip-decompressed" in err
    assert "PATHGPTOMIC_MAX_TEXT_MB" in err


SAME_CASES: list[tuple[str, Callable[[str], bytes], str]] = [
    ("bom", lambda t: codecs.BOM_UTF8 + t.encode(), "c.csv"),
    ("utf16-bom", lambda t: t.encode("utf-16"), "c.csv"),
    ("gzip-named-csv", lambda t: gzip.compress(t.encode()), "c.csv"),
    ("gzip-two-members", lambda t: gzip.compress(t.encode()[:100]) + gzip.compress(t.encode()[100:]), "c.csv.gz"),
    ("bz2", lambda t: bz2.compress(t.encode()), "c.csv"),
    ("crlf", lambda t: t.replace("\n", "\r\n").encode(), "c.csv"),
    ("leading-blank-lines", lambda t: ("\n\n" + t).encode(), "c.csv"),
    ("spaces-around-names", lambda t: t.replace("case_id,", " case_id ,", 1).encode(), "c.csv"),
]


@pytest.mark.parametrize(("case", "make", "name"), SAME_CASES, ids=[c[0] for c in SAME_CASES])
def test_cli_reader_gives_the_clean_cohort_for_harmless_variants(case, make, name, clean_csv_text, tmp_path):
    """Outcome: same (the command line's cohort reader returns the clean cohort)."""
    (tmp_path / "clean").mkdir()
    clean = tmp_path / "clean" / "c.csv"
    clean.write_text(clean_csv_text)
    path = tmp_path / name
    path.write_bytes(make(clean_csv_text))
    a, b = load_cohort_arg(str(clean)), load_cohort_arg(str(path))
    assert list(b.ids) == list(a.ids) == [f"P{i:02d}" for i in range(1, 13)]
    np.testing.assert_array_equal(b.time, a.time)
    np.testing.assert_array_equal(b.event, a.event)
    for block in a.blocks:
        pd.testing.assert_frame_equal(b.blocks[block], a.blocks[block])


def _generic_folder(tmp: Path) -> Path:
    df = tcga_table()
    folder = tmp / "generic"
    folder.mkdir()
    clin = pd.DataFrame({"patient_id": df["case_id"], "time": df["survival_months"], "event": 1 - df["censorship"]})
    clin.to_csv(folder / "clinical.csv", index=False)
    omics = df[["case_id", "EGFR_cnv", "PTEN_cnv", "TP53_mut", "IDH1_mut"]].rename(columns={"case_id": "patient_id"})
    omics.to_csv(folder / "omics.csv", index=False)
    return folder


GENERIC_CASES: list[tuple[str, str, Callable[[str], bytes], str]] = [
    (
        "clinical-latin1",
        "clinical.csv",
        lambda t: t.replace("P02", "Pü2").encode("cp1252"),
        r"clinical\.csv: row 3, column 'patient_id': byte 0xfc \(probably 'ü'",
    ),
    (
        "clinical-time-1e300",
        "clinical.csv",
        lambda t: _cell(t, 3, "time", "1e300").encode(),
        r"clinical\.csv: row 5 \(patient P04\), column 'time': follow-up time is 1e\+300 months",
    ),
    ("omics-semicolons", "omics.csv", lambda t: t.replace(",", ";").encode(), r"omics\.csv: row 1 \(header\) is separated by semicolons"),
    (
        "omics-xlsx",
        "omics.csv",
        lambda t: b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml" + bytes(40),
        r"omics\.csv: is an Excel workbook \(\.xlsx\)",
    ),
    (
        "clinical-duplicate-columns",
        "clinical.csv",
        lambda t: t.replace("event", "time", 1).encode(),
        r"clinical\.csv: column\(s\) 'time' appear more than once",
    ),
]


@pytest.mark.parametrize(("case", "file", "make", "pattern"), GENERIC_CASES, ids=[c[0] for c in GENERIC_CASES])
def test_cli_generic_layout_hostile_files(case, file, make, pattern, run_cli, tmp_path):
    """Outcome: error naming the generic-layout file, row and column."""
    folder = _generic_folder(tmp_path)
    (folder / file).write_bytes(make((folder / file).read_text()))
    rc, err = run_cli(["train", "--cohort", str(folder), "--out", str(tmp_path / "out"), "--fusion", "genomic", "--no-progress"])
    assert rc == 2, err
    assert re.search(pattern, err), err


def test_cli_generic_clinical_with_bom_reads_like_the_clean_folder(tmp_path):
    """Outcome: same."""
    folder = _generic_folder(tmp_path)
    clean = load_cohort_arg(str(folder))
    (folder / "clinical.csv").write_bytes(codecs.BOM_UTF8 + (folder / "clinical.csv").read_bytes())
    bom = load_cohort_arg(str(folder))
    assert list(bom.ids) == list(clean.ids)
    np.testing.assert_array_equal(bom.time, clean.time)
