"""`smooth` / `embed-rna` subcommands (stand-alone parser; ``register()`` also wires them into pathgptomic.cli)."""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
import pytest
from scgpt_test_helpers import TINY_GENES

from pathgptomic.genomics.cli import main, register


def test_register_adds_subcommands_with_help(capsys):
    parser = argparse.ArgumentParser(prog="pathgptomic")
    sub = parser.add_subparsers(dest="cmd")
    register(sub)
    for cmd in ("smooth", "embed-rna"):
        with pytest.raises(SystemExit) as exc:
            parser.parse_args([cmd, "--help"])
        assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "mix-up" in text and "--scgpt-dir" in text and "--genes-as-rows" in text


def test_embed_rna_expression_csv(tiny_folder, tmp_path, capsys):
    folder = tiny_folder()
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.poisson(2.0, (4, len(TINY_GENES))), index=[f"s{i}" for i in range(4)], columns=TINY_GENES)
    df.T.to_csv(tmp_path / "expr.csv")
    out = tmp_path / "emb.csv"
    rc = main(
        [
            "embed-rna",
            "--expression-csv",
            str(tmp_path / "expr.csv"),
            "--genes-as-rows",
            "--scgpt-dir",
            str(folder),
            "--out",
            str(out),
            "--min-genes",
            "10",
            "--no-cache",
            "--no-progress",
        ]
    )
    assert rc == 0
    res = pd.read_csv(out, index_col=0)
    assert res.shape == (4, 16) and list(res.index) == ["s0", "s1", "s2", "s3"]
    np.testing.assert_allclose(np.linalg.norm(res.to_numpy(), axis=1), 1.0, atol=1e-5)
    assert "44/44 genes" in capsys.readouterr().out
    npz = tmp_path / "emb.npz"
    assert (
        main(
            [
                "embed-rna",
                "--expression-csv",
                str(tmp_path / "expr.csv"),
                "--genes-as-rows",
                "--scgpt-dir",
                str(folder),
                "--out",
                str(npz),
                "--min-genes",
                "10",
                "--no-cache",
                "--no-progress",
            ]
        )
        == 0
    )
    z = np.load(npz)
    np.testing.assert_allclose(z["matrix"], res.to_numpy(), atol=1e-6)
    # a user error exits 2 with a message, no traceback
    assert main(["embed-rna", "--expression-csv", str(tmp_path / "expr.csv"), "--scgpt-dir", str(folder), "--out", str(out)]) == 2
    assert "genes are in the scGPT vocabulary" in capsys.readouterr().err
