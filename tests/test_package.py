"""Importing the package registers T2T-ViT in timm, without importing timm eagerly."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_t2t_vit_registered_after_importing_pathgptomic_then_timm() -> None:
    out = _run("import pathgptomic, sys; print('timm' in sys.modules); import timm; "
               "m = timm.create_model('t2t_vit_14', num_classes=0); print(m.num_features)")
    assert out.splitlines() == ["False", "384"]


def test_t2t_vit_registered_when_timm_was_imported_first() -> None:
    assert _run("import timm, pathgptomic; print(timm.is_model('t2t_vit_7'))") == "True"
