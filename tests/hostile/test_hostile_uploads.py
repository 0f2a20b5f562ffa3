"""Hostile uploads through the dashboard's helpers (``components.uploads``, ``components.inputs``).

Outcome classes: ``error`` = :class:`InputValidationError` whose message names the upload (never a
server path), the row/column where there is one, and a fix; ``same`` = the table the command line reads.
"""

from __future__ import annotations

import codecs
import gzip
import time
import tracemalloc
import zlib

import pytest
from hostile_helpers import FakeUpload, tcga_table

from components.uploads import read_csv_upload, read_upload_header
from pathgptomic.data.validation import read_csv_checked
from pathgptomic.errors import InputValidationError

pytestmark = pytest.mark.timeout(120)
IDS = ("case_id", "slide_id", "patient_id", "path")


def _bomb(expanded_mb: int) -> bytes:
    comp = zlib.compressobj(9, wbits=31)
    out = [comp.compress(b"case_id,EGFR_cnv\n")]
    out += [comp.compress(b"P1,1\n" * (1024 * 1024 // 5)) for _ in range(expanded_mb)]
    return b"".join(out) + comp.flush()


UPLOAD_ERRORS = [
    ("semicolons", lambda t: t.replace(",", ";").encode(), r"the uploaded cohort CSV: row 1 \(header\) is separated by semicolons"),
    ("xlsx", lambda t: b"PK\x03\x04\x14\x00\x06\x00[Content_Types].xml" + bytes(30), r"the uploaded cohort CSV: is an Excel workbook"),
    ("latin1", lambda t: t.replace("P02", "Pé2").encode("latin-1"), r"the uploaded cohort CSV: row 3, column 'case_id': byte 0xe9"),
    ("utf16-no-bom", lambda t: t.encode("utf-16-be"), r"UTF-16 text without a byte-order mark"),
    ("gzip-rows-over-cap", lambda t: gzip.compress(t.encode()), r"the uploaded cohort CSV: the cohort CSV has more than 5 data rows"),
    ("pickle", lambda t: b"\x80\x05\x95\x00\x00", r"the uploaded cohort CSV: is a Python pickle"),
]


@pytest.mark.parametrize(("case", "make", "pattern"), UPLOAD_ERRORS, ids=[c[0] for c in UPLOAD_ERRORS])
def test_upload_refusals_name_the_upload_and_the_fix(case, make, pattern, clean_csv_text):
    """Outcome: error, worded for a dashboard user (no server path), with a fix."""
    with pytest.raises(InputValidationError, match=pattern) as info:
        read_csv_upload(FakeUpload(make(clean_csv_text)), what="cohort CSV", max_rows=5)
    assert "Fix:" in str(info.value) and "/tmp" not in str(info.value)


@pytest.mark.parametrize(
    "encode",
    [lambda t: codecs.BOM_UTF8 + t.encode(), lambda t: t.encode("utf-16"), lambda t: gzip.compress(t.encode())],
    ids=["bom", "utf16-bom", "gzip-named-csv"],
)
def test_upload_variants_read_like_the_command_line(encode, clean_csv_text, tmp_path):
    """Outcome: same (upload and command line give the same table)."""
    data = encode(clean_csv_text)
    (tmp_path / "c.csv").write_bytes(data)
    up = read_csv_upload(FakeUpload(data), what="cohort CSV")
    cli = read_csv_checked(tmp_path / "c.csv", id_columns=IDS)
    assert list(up.columns) == list(cli.columns) == list(tcga_table().columns)
    assert up.equals(cli)
    assert read_upload_header(FakeUpload(data), what="cohort CSV") == list(tcga_table().columns)


def test_gzip_bomb_upload_memory_and_time_are_bounded():
    """Outcome: error at the 100 MB upload bound; a 400 MB expansion never sits in memory."""
    bomb = _bomb(400)
    assert len(bomb) < 2 * 1024 * 1024
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        with pytest.raises(InputValidationError, match=r"the uploaded cohort CSV: .*more than 100 MB of text once gzip-decompressed"):
            read_csv_upload(FakeUpload(bomb), what="cohort CSV", max_rows=None)
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 120 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"
    assert elapsed < 60


# Omics uploads of the Predict page (components.inputs.read_omics_upload): the page must give what
# the command line gives; these need inputs.py to read through read_upload_header/upload_read_limits.
def test_omics_upload_with_bom_is_read(clean_csv_text):
    """Outcome: same (Excel's "CSV UTF-8" omics file is read, not refused for a missing case_id)."""
    from components.inputs import read_omics_upload

    plain, _ = read_omics_upload(FakeUpload(clean_csv_text.encode()))
    bom, _ = read_omics_upload(FakeUpload(codecs.BOM_UTF8 + clean_csv_text.encode()))
    assert list(bom.ids) == list(plain.ids)


def test_omics_upload_gzip_bomb_is_bounded():
    """Outcome: error naming the bound; no unbounded decompression."""
    from components.inputs import read_omics_upload

    with pytest.raises(InputValidationError, match=r"more than \d+ MB of text once gzip-decompressed|binary"):
        read_omics_upload(FakeUpload(_bomb(300)))


def test_omics_upload_semicolons_get_the_separator_message(clean_csv_text):
    """Outcome: error naming the separator and the fix."""
    from components.inputs import read_omics_upload

    with pytest.raises(InputValidationError, match=r"separated by semicolons"):
        read_omics_upload(FakeUpload(clean_csv_text.replace(",", ";").encode()))
