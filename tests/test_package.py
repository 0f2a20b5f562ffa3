"""Importing the package registers T2T-ViT in timm, without importing timm eagerly."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_t2t_vit_registered_after_importing_pathgptomic_then_timm() -> None:
    out = _run(
        "import pathgptomic, sys; print('timm' in sys.modules); import timm; "
        "m = timm.create_model('t2t_vit_14', num_classes=0); print(m.num_features)"
    )
    assert out.splitlines() == ["False", "384"]


def test_t2t_vit_registered_when_timm_was_imported_first() -> None:
    assert _run("import timm, pathgptomic; print(timm.is_model('t2t_vit_7'))") == "True"


def _imported_modules(*args: str) -> set[str]:
    """Top-level modules imported by ``python -X importtime -m pathgptomic ARGS`` (which must exit 0)."""
    res = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pathgptomic", *args], capture_output=True, text=True, timeout=120, check=True
    )
    return {
        line.rsplit("|", 1)[-1].strip().split(".")[0] for line in res.stderr.splitlines() if line.startswith("import time:") and "|" in line
    }


def test_help_and_subcommand_help_do_not_import_torch() -> None:
    """``pathgptomic --help`` and a plugin subcommand's ``--help`` stay light (no torch, timm, scanpy)."""
    for args in (("--help",), ("embed-rna", "--help")):
        mods = _imported_modules(*args)
        assert "pathgptomic" in mods
        assert not mods & {"torch", "timm", "torchvision", "scanpy", "lifelines"}, (args, mods & {"torch", "timm"})


def test_lazy_subpackages_still_export_their_names() -> None:
    out = _run(
        "import sys, pathgptomic.genomics as g, pathgptomic.experiments as b; print('torch' in sys.modules); "
        "print(g.load_scgpt.__module__, b.rows_for_suite.__module__); print('torch' in sys.modules); "
        "print(all(getattr(m, n) is not None for m in (g, b) for n in m.__all__) and set(g.__all__) <= set(dir(g)))"
    )
    assert out.splitlines() == ["False", "pathgptomic.genomics.scgpt pathgptomic.experiments.rows", "True", "True"]
