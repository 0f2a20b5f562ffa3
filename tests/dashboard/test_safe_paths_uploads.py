"""Slide-root path checks and upload helpers (plain functions, no Streamlit run)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "dashboard"))

from components.safe_paths import list_slide_files, resolve_inside  # noqa: E402
from components.uploads import (  # noqa: E402
    check_numeric_columns,
    check_size,
    private_temp_file,
    read_csv_upload,
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


@pytest.mark.parametrize("bad", ["../secret.svs", "sub/../../secret.svs", "escape.svs", "up/secret.svs",
                                 "/etc/passwd", "missing.svs", "a.svs\x00.png"])
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
        folder = path.parent
    assert not folder.exists()


def test_csv_parsing_names_bad_column() -> None:
    df = read_csv_upload(FakeUpload(b"patient_id,TP53_cnv\nP1,abc\n"))
    with pytest.raises(InputValidationError, match="column 'TP53_cnv'.*'abc'"):
        check_numeric_columns(df, ["TP53_cnv"])
    with pytest.raises(InputValidationError, match="binary"):
        read_csv_upload(FakeUpload(b"\x00\x01\x02"))
    with pytest.raises(InputValidationError, match="repeats"):
        read_csv_upload(FakeUpload(b"a,a\n1,2\n"))


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

    monkeypatch.setattr(I, "MAX_CSV_ROWS", 3)
    rows = b"patient_id,EGFR_cnv\n" + b"".join(b"P%d,1\n" % i for i in range(5))
    with pytest.raises(InputValidationError, match="more than 3 rows"):
        I.read_omics_upload(FakeUpload(rows))
    with pytest.raises(InputValidationError, match="binary"):
        I.read_omics_upload(FakeUpload(b"\x80\x04\x95pickle\x00\x00"))
