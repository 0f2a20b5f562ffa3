"""Bulk RNA-seq input: gene mapping, coverage, refusal, value modes, CSV orientations, real TCGA columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pathgptomic.errors import DataQualityWarning, InputValidationError
from pathgptomic.genomics.bulk import detect_value_mode, map_expression, read_expression_csv
from pathgptomic.genomics.vocab import GeneVocab, build_vocab


def _vocab(n: int = 150) -> GeneVocab:
    return build_vocab([f"G{i}" for i in range(n)])


def test_coverage_reports_found_and_missing():
    vocab = _vocab()
    cols = [f"G{i}" for i in range(120)] + ["NOTAGENE", "ALSO_NOT", "<pad>"]
    df = pd.DataFrame(np.random.default_rng(0).random((3, len(cols))), columns=cols, index=["a", "b", "c"])
    m = map_expression(df, vocab, min_genes=100)
    assert m.coverage.n_given == 123 and m.coverage.n_found == 120
    assert m.coverage.missing == ("NOTAGENE", "ALSO_NOT", "<pad>")  # special tokens are never genes
    assert m.genes == tuple(cols[:120]) and np.array_equal(m.gene_ids, np.arange(120))
    assert "120/123 genes" in str(m.coverage)
    assert m.value_mode == "counts"


def test_too_few_genes_refused_with_clear_message():
    vocab = _vocab()
    cols = [f"G{i}" for i in range(10)] + [f"ENSG{i:011d}" for i in range(200)]
    df = pd.DataFrame(np.ones((2, len(cols))), columns=cols)
    with pytest.raises(InputValidationError, match=r"only 10 of 210 genes .*at least 100 needed.*Ensembl ids"):
        map_expression(df, vocab, min_genes=100, source="x.csv")


def test_low_coverage_warns():
    vocab = _vocab()
    cols = [f"G{i}" for i in range(100)] + [f"X{i}" for i in range(150)]
    df = pd.DataFrame(np.ones((2, len(cols))), columns=cols)
    with pytest.warns(DataQualityWarning, match="100/250"):
        map_expression(df, vocab, min_genes=100)


def test_value_modes():
    assert detect_value_mode(np.array([[0.0, 1.0], [2.0, np.nan]])) == "counts"
    assert detect_value_mode(np.array([[0.3, -1.0]])) == "ranks"
    vocab = _vocab()
    df = pd.DataFrame(np.random.default_rng(0).normal(size=(2, 120)), columns=[f"G{i}" for i in range(120)])
    assert map_expression(df, vocab).value_mode == "ranks"
    with pytest.raises(InputValidationError, match="negative values"):
        map_expression(df, vocab, value_mode="counts")


def test_read_csv_both_orientations(tmp_path):
    genes = [f"G{i}" for i in range(5)]
    df = pd.DataFrame(np.arange(15, dtype=float).reshape(3, 5), index=["s1", "s2", "s3"], columns=[g + "_rnaseq" for g in genes])
    df.index.name = "sample"
    df.to_csv(tmp_path / "samples_x_genes.csv")
    df.T.to_csv(tmp_path / "genes_x_samples.csv")
    a = read_expression_csv(tmp_path / "samples_x_genes.csv")
    b = read_expression_csv(tmp_path / "genes_x_samples.csv", genes_as_rows=True)
    assert list(a.columns) == genes and list(a.index) == ["s1", "s2", "s3"]
    pd.testing.assert_frame_equal(a, b, check_names=False)
    # the wrong orientation is caught at mapping: the "genes" are sample names
    wrong = read_expression_csv(tmp_path / "genes_x_samples.csv")
    with pytest.raises(InputValidationError, match=r"only 0 of 3 genes"):
        map_expression(wrong, _vocab(), min_genes=2)
    (tmp_path / "text.csv").write_text("sample,G1,G2\ns1,1,abc\n")
    with pytest.raises(InputValidationError, match="not numeric"):
        read_expression_csv(tmp_path / "text.csv")


def test_real_tcga_gbmlgg_columns_map_to_demo_vocabulary(tcga_csv, repo_root):
    from pathgptomic.data import read_tcga
    from pathgptomic.genomics.datasets import load_cells
    from pathgptomic.genomics.vocab import GeneVocab

    cohort = read_tcga(tcga_csv, blocks=("rnaseq",))
    rna = cohort.blocks["rnaseq"]
    assert rna.shape[1] == 1544
    demo_vocab = repo_root / "models" / "scgpt-demo" / "vocab.json"
    if not demo_vocab.is_file():
        pytest.skip("demo model not built")
    m = map_expression(rna, GeneVocab.from_file(demo_vocab))
    assert m.coverage.n_found == 1544 and m.coverage.missing == ()
    assert m.value_mode == "ranks"  # z-scores: negative values
    assert m.values.shape == (cohort.n, 1544)
    # the single-cell genes alone cover only 111 of them: too few → refused by name
    pbmc = build_vocab(load_cells(None).genes.tolist())
    with pytest.raises(InputValidationError, match=r"only 111 of 1544 genes"):
        map_expression(rna, pbmc, min_genes=200)


def test_select_genes_fixed_subset_independent_of_column_order():
    from pathgptomic.genomics.bulk import select_genes

    vocab = _vocab(300)
    cols = [f"G{i}" for i in range(250)]
    df = pd.DataFrame(np.random.default_rng(0).random((3, 250)), columns=cols)
    m = map_expression(df, vocab)
    assert select_genes(m, 300) is m
    a = select_genes(m, 100, seed=3)
    assert len(a.genes) == 100 and a.values.shape == (3, 100) and a.coverage == m.coverage
    shuffled = df[list(np.random.default_rng(1).permutation(cols))]
    b = select_genes(map_expression(shuffled, vocab), 100, seed=3)
    assert sorted(a.genes) == sorted(b.genes)
    # values stay attached to their genes
    j = a.genes.index(b.genes[0])
    np.testing.assert_array_equal(a.values[:, j], b.values[:, 0])
    assert sorted(select_genes(m, 100, seed=4).genes) != sorted(a.genes)
