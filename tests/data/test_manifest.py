"""The one slide-manifest reader (generic cohorts, ``extract``, ``torchrun`` extraction, the dashboard)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pathgptomic.data.manifest import manifest_slides, read_slide_manifest
from pathgptomic.errors import DataQualityWarning, InputValidationError
from pathgptomic.slides import distributed


@pytest.fixture
def images(tmp_path: Path) -> Path:
    folder = tmp_path / "img"
    folder.mkdir()
    for name in ("a.png", "b.png", "c.png"):
        (folder / name).write_bytes(b"x")
    return folder


def test_relative_paths_resolve_against_the_manifest_folder_and_repeats_are_dropped(images: Path) -> None:
    manifest = images.parent / "slides.csv"
    manifest.write_text("patient_id,path\nP1,img/a.png\nP2,img/b.png\nP1,img/c.png\nP1,img/a.png\n")
    assert read_slide_manifest(manifest) == {
        "P1": [str(images / "a.png"), str(images / "c.png")],
        "P2": [str(images / "b.png")],
    }
    assert distributed.read_manifest is read_slide_manifest


def test_cohort_ids_get_an_entry_and_other_patients_are_ignored_with_a_warning(images: Path) -> None:
    table = pd.DataFrame({"patient_id": ["P1", "ZZ"], "path": ["a.png", "missing.png"]})
    with pytest.warns(DataQualityWarning, match=r"m\.csv: 1 patient\(s\) of the manifest are not in the cohort \(e\.g\. 'ZZ'\)"):
        slides = manifest_slides(table, file="m.csv", ids=["P1", "P2"], base=images)
    assert slides == {"P1": [str(images / "a.png")], "P2": []}


@pytest.mark.parametrize(
    ("path", "match"),
    [
        ("", r"m\.csv: row 3 \(patient P2\), column 'path': the path is empty"),
        ("nope.png", r"m\.csv: row 3 \(patient P2\), column 'path': file .*nope\.png does not exist.*manifest's folder"),
    ],
)
def test_bad_paths_name_the_row(images: Path, path: str, match: str) -> None:
    table = pd.DataFrame({"patient_id": ["P1", "P2"], "path": ["a.png", path]})
    with pytest.raises(InputValidationError, match=match):
        manifest_slides(table, file="m.csv", base=images)


def test_a_resolver_replaces_the_rule_and_its_refusal_names_the_row(images: Path) -> None:
    def confined(text: str) -> Path:
        if ".." in text:
            raise InputValidationError(f"slide path {text!r} points outside the slide root")
        return images / text

    table = pd.DataFrame({"patient_id": ["P1", "P2"], "path": ["b.png", "../secret.png"]})
    expected = r"^up: row 3 \(patient P2\), column 'path': slide path '\.\./secret\.png' points outside"
    with pytest.raises(InputValidationError, match=expected):
        manifest_slides(table, file="up", resolve=confined)
    table = pd.DataFrame({"patient_id": ["P1"], "path": ["gone.png"]})
    with pytest.raises(InputValidationError, match=r"file 'gone\.png' does not exist") as info:
        manifest_slides(table, file="up", resolve=confined)
    assert str(images) not in str(info.value)  # the resolved (server) path is not shown


def test_missing_columns_and_ids(tmp_path: Path) -> None:
    with pytest.raises(InputValidationError, match=r"missing required column\(s\) 'path'"):
        manifest_slides(pd.DataFrame({"patient_id": ["P1"]}), file="m.csv")
    with pytest.raises(InputValidationError, match=r"row 2, column 'patient_id': the patient id is empty"):
        manifest_slides(pd.DataFrame({"patient_id": [""], "path": ["a.png"]}), file="m.csv", base=tmp_path)
