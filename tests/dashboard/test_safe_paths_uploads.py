"""Slide-root path checks and upload helpers (plain functions, no Streamlit run)."""

from __future__ import annotations

import gzip
import os
import sys
import time
import tracemalloc
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dashboard"))

from components.safe_paths import list_slide_files, resolve_inside  # noqa: E402
from components.uploads import (  # noqa: E402
    UPLOAD_DIR_PREFIX,
    check_numeric_columns,
    check_size,
    private_temp_file,
    read_csv_upload,
    read_upload_header,
    remove_stale_uploads,
    sniff_image_type,
)
from pathgptomic.errors import InputValidationError  # noqa: E402


class FakeUpload:
    def __init__(self, data: bytes) -> None:
        self._data = data
        self.size = len(data)

    def getvalue(self) -> bytes:
        return self._data


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    r = tmp_path / "slides"
    (r / "sub").mkdir(parents=True)
    (r / "a.svs").write_bytes(b"II*\x00data")
    (r / "sub" / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (r / "notes.txt").write_text("x")
    secret = tmp_path / "secret.svs"
    secret.write_bytes(b"II*\x00secret")
    os.symlink(secret, r / "escape.svs")
    os.symlink(tmp_path, r / "up")  # a directory symlink leading out
    return r


def test_resolve_inside_accepts_files_in_root(root: Path) -> None:
    assert resolve_inside(root, "sub/b.png") == (root / "sub" / "b.png").resolve()


@pytest.mark.parametrize(
    "bad", ["../secret.svs", "sub/../../secret.svs", "escape.svs", "up/secret.svs", "/etc/passwd", "missing.svs", "a.svs\x00.png"]
)
def test_resolve_inside_refuses_escapes(root: Path, bad: str) -> None:
    with pytest.raises(InputValidationError):
        resolve_inside(root, bad)


def test_list_slide_files_skips_escapes_and_other_files(root: Path) -> None:
    assert list_slide_files(root) == ["a.svs", "sub/b.png"]


def test_check_size_and_sniff() -> None:
    check_size(FakeUpload(b"abc"), 1)
    with pytest.raises(InputValidationError, match="over the"):
        check_size(FakeUpload(b"x" * 2_000_000), 1)
    with pytest.raises(InputValidationError, match="empty"):
        check_size(FakeUpload(b""), 1)
    assert sniff_image_type(b"\x89PNG\r\n\x1a\nrest") == ("png", ".png")
    assert sniff_image_type(b"II*\x00") == ("tiff", ".tiff")
    assert sniff_image_type(b"PK\x03\x04 pickle or zip") is None


def test_private_temp_file_is_private_and_removed() -> None:
    with private_temp_file(b"hello", ".png") as path:
        assert path.read_bytes() == b"hello"
        assert path.name == "upload.png"
        assert (path.stat().st_mode & 0o777) == 0o600
        assert (path.parent.stat().st_mode & 0o777) == 0o700
        folder = path.parent
    assert not folder.exists()
    with pytest.raises(RuntimeError), private_temp_file(b"x", ".png") as path:
        folder = path.parent
        raise RuntimeError("page failed while the file was open")
    assert not folder.exists()


def test_stale_upload_folders_are_removed(tmp_path: Path) -> None:
    old, fresh = tmp_path / f"{UPLOAD_DIR_PREFIX}old", tmp_path / f"{UPLOAD_DIR_PREFIX}new"
    for folder in (old, fresh):
        folder.mkdir()
        (folder / "upload.tiff").write_bytes(b"II*\x00")
    os.utime(old, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    other = tmp_path / "unrelated"
    other.mkdir()
    os.utime(other, (0, 0))
    assert remove_stale_uploads(root=tmp_path) == 1
    assert not old.exists() and fresh.is_dir() and other.is_dir()


def test_csv_parsing_names_bad_column() -> None:
    df = read_csv_upload(FakeUpload(b"patient_id,TP53_cnv\nP1,abc\n"))
    with pytest.raises(InputValidationError, match="column 'TP53_cnv'.*'abc'"):
        check_numeric_columns(df, ["TP53_cnv"])
    with pytest.raises(InputValidationError, match="binary"):
        read_csv_upload(FakeUpload(b"\x00\x01\x02"))
    with pytest.raises(InputValidationError, match=r"the uploaded CSV: column\(s\) 'a' appear more than once.*positions 1, 2"):
        read_csv_upload(FakeUpload(b"a,a\n1,2\n"))


def test_numeric_columns_name_spreadsheet_row_and_refuse_infinity() -> None:
    df = read_csv_upload(FakeUpload(b"patient_id,TP53_cnv,EGFR_cnv\nP1,1,2\nP2,3,inf\n"))
    with pytest.raises(InputValidationError, match=r"row 3, column 'EGFR_cnv': value 'inf' is infinite"):
        check_numeric_columns(df, ["TP53_cnv", "EGFR_cnv"])
    out = check_numeric_columns(df.iloc[:1], ["TP53_cnv", "EGFR_cnv"])
    assert out[["TP53_cnv", "EGFR_cnv"]].to_numpy().tolist() == [[1.0, 2.0]]


def test_upload_with_bom_reads_like_the_command_line(tmp_path: Path) -> None:
    from pathgptomic.data.validation import read_csv_checked

    text = "case_id,slide_id,EGFR_cnv\n007,a.svs,1\n"
    data = b"\xef\xbb\xbf" + text.encode()
    (tmp_path / "bom.csv").write_bytes(data)
    up = read_csv_upload(FakeUpload(data))
    cli = read_csv_checked(tmp_path / "bom.csv", id_columns=("case_id", "slide_id"))
    assert list(up.columns) == list(cli.columns) == ["case_id", "slide_id", "EGFR_cnv"]
    assert up["case_id"].tolist() == cli["case_id"].tolist() == ["007"]
    assert read_upload_header(FakeUpload(data)) == ["case_id", "slide_id", "EGFR_cnv"]


def test_gzip_upload_row_cap_counts_decompressed_rows() -> None:
    rows = b"patient_id,EGFR_cnv\n" + b"".join(b"P%d,1\n" % i for i in range(50))
    packed = gzip.compress(rows)
    assert packed.count(b"\n") < 10  # the compressed bytes hide the rows
    df = read_csv_upload(FakeUpload(packed), max_rows=50)
    assert len(df) == 50 and df["patient_id"].iloc[-1] == "P49"
    with pytest.raises(InputValidationError, match=r"the uploaded CSV: the CSV has more than 10 data rows.*at most 10 rows"):
        read_csv_upload(FakeUpload(packed), max_rows=10)


@pytest.mark.timeout(60)
def test_gzip_bomb_upload_is_abandoned_at_the_text_limit(monkeypatch) -> None:
    import components.uploads as U

    monkeypatch.setattr(U, "UPLOAD_TEXT_LIMIT_MB", 4.0)
    bomb = gzip.compress(b"patient_id,EGFR_cnv\n" + b"P,1\n" * (64 * 1024 * 1024 // 4), 9)  # 64 MB of text
    assert len(bomb) < 1_000_000
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        with pytest.raises(InputValidationError, match=r"the uploaded CSV: .*more than 4 MB of text once gzip-decompressed"):
            read_csv_upload(FakeUpload(bomb), max_rows=None)
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024  # the 64 MB expansion never sits in memory
    assert elapsed < 20


def test_upload_refusals_name_the_upload_not_a_path() -> None:
    cases = {
        b"patient_id;EGFR_cnv\nP1;1\n": r"separated by semicolons",
        b"PK\x03\x04\x14\x00\x00\x00[Content_Types].xml": r"is an Excel workbook \(\.xlsx\)",
        "patient_id,EGFR_cnv\nP1,1\n".encode("utf-16"): None,
        b"patient_id,EGFR_cnv\nJos\xe9,1\n": r"row 2, column 'patient_id': byte 0xe9",
    }
    for data, pattern in cases.items():
        if pattern is None:
            assert read_csv_upload(FakeUpload(data))["patient_id"].tolist() == ["P1"]
            continue
        with pytest.raises(InputValidationError, match=pattern) as info:
            read_csv_upload(FakeUpload(data))
        assert str(info.value).startswith("the uploaded CSV: ") and "/tmp" not in str(info.value)


@pytest.mark.timeout(60)
def test_wide_upload_duplicate_check_is_linear() -> None:
    header = ",".join(["patient_id"] + [f"G{i}_rnaseq" for i in range(60_000)])
    data = (header + ",G17_rnaseq\n" + "P1" + ",1" * 60_001 + "\n").encode()
    t0 = time.perf_counter()
    with pytest.raises(InputValidationError, match=r"'G17_rnaseq' appear more than once.*positions 19, 60002"):
        read_csv_upload(FakeUpload(data))
    assert time.perf_counter() - t0 < 15


def test_slide_root_env(monkeypatch, tmp_path: Path) -> None:
    from components.safe_paths import DEFAULT_SLIDE_ROOT, slide_root

    monkeypatch.setenv("PATHGPTOMIC_SLIDE_ROOT", str(tmp_path))
    assert slide_root() == tmp_path.resolve()
    monkeypatch.setenv("PATHGPTOMIC_SLIDE_ROOT", "")
    assert slide_root() is None  # switched off
    monkeypatch.delenv("PATHGPTOMIC_SLIDE_ROOT")
    assert slide_root() == (DEFAULT_SLIDE_ROOT.resolve() if DEFAULT_SLIDE_ROOT.is_dir() else None)


def test_tcga_upload_slide_ids_cannot_leave_the_slide_root(tmp_path: Path) -> None:
    from components.inputs import read_omics_upload

    root = tmp_path / "root"
    root.mkdir()
    (root / "A.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    (tmp_path / "secret.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    ok = b"case_id,slide_id,EGFR_cnv,TP53_mut\nP1,A.png,1,0\n"
    cohort, _ = read_omics_upload(FakeUpload(ok), slide_root=root)
    assert cohort.slides["P1"] == [str(root / "A.png")]
    bad = b"case_id,slide_id,EGFR_cnv,TP53_mut\nP1,../secret.png,1,0\n"
    with pytest.raises(InputValidationError, match="outside the server slide folder"):
        read_omics_upload(FakeUpload(bad), slide_root=root)


def test_omics_upload_limits_rows_and_refuses_binary(monkeypatch) -> None:
    import components.inputs as I
    from components.uploads import MAX_CSV_ROWS

    rows = b"patient_id,EGFR_cnv\n" + b"".join(b"P%d,1\n" % i for i in range(MAX_CSV_ROWS + 1))
    with pytest.raises(InputValidationError, match=f"{MAX_CSV_ROWS:,}"):
        I.read_omics_upload(FakeUpload(rows))
    with pytest.raises(InputValidationError, match="binary"):
        I.read_omics_upload(FakeUpload(b"\x80\x04\x95pickle\x00\x00"))
