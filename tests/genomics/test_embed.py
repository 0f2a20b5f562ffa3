"""Embedding procedure and rna_features (tiny checkpoints made here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from scgpt_test_helpers import TINY_GENES

from pathgptomic.data.cohort import Cohort
from pathgptomic.errors import CheckpointError, ConfigError, DataQualityWarning
from pathgptomic.genomics import rna_features
from pathgptomic.genomics.embed import embed_matrix, tokenize_sample
from pathgptomic.genomics.scgpt import load_scgpt


def _counts(n: int, g: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).negative_binomial(1, 0.4, (n, g)).astype(float)


def test_tokenize_follows_official_steps():
    vals = np.array([0.0, 3.0, np.nan, 1.0, 5.0, 2.0])
    ids = np.array([10, 11, 12, -1, 14, 15])
    t = tokenize_sample(vals, ids, cls_id=99, pad_value=-2, n_bins=51, max_length=100, value_mode="counts", seed=0)
    assert t.genes.tolist() == [99, 11, 14, 15]  # zero, NaN and out-of-vocab dropped, <cls> first
    assert t.values[0] == -2 and t.values[1:].min() >= 1 and t.values[1:].max() <= 50
    assert t.values[2] == 50  # the largest value is in the top bin
    r = tokenize_sample(vals, ids, cls_id=99, pad_value=-2, value_mode="ranks", seed=0)
    assert r.genes.tolist() == [99, 10, 11, 14, 15]  # ranks: zero is a value like any other
    # longer than max_length: <cls> kept + a random subset, reproducible in deterministic mode
    big = np.arange(1, 301, dtype=float)
    a = tokenize_sample(big, np.arange(300), cls_id=999, pad_value=-2, max_length=50, seed=1)
    b = tokenize_sample(big, np.arange(300), cls_id=999, pad_value=-2, max_length=50, seed=1)
    assert len(a) == 50 and a.genes[0] == 999 and len(set(a.genes.tolist())) == 50
    assert np.array_equal(a.genes, b.genes) and np.array_equal(a.values, b.values)
    # bins come from all 300 genes before sampling: gene k keeps the bin of value k+1
    full = tokenize_sample(big, np.arange(300), cls_id=999, pad_value=-2, max_length=1000, seed=1)
    lookup = dict(zip(full.genes.tolist(), full.values.tolist()))
    assert all(lookup[g] == v for g, v in zip(a.genes[1:].tolist(), a.values[1:].tolist()))


def test_deterministic_and_batch_independent(tiny_folder):
    loaded = load_scgpt(tiny_folder())
    x = _counts(7, len(TINY_GENES))
    ids = np.arange(len(TINY_GENES))
    a = embed_matrix(loaded, x, ids, batch_size=3, show_progress=False)
    b = embed_matrix(loaded, x[::-1], ids, batch_size=7, show_progress=False)[::-1]
    c = embed_matrix(loaded, x[2:3], ids, show_progress=False)
    assert a.shape == (7, 16) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(a, b, atol=1e-6)
    np.testing.assert_allclose(a[2:3], c, atol=1e-6)
    # a different seed changes tie-breaking and therefore the embedding
    d = embed_matrix(loaded, x, ids, seed=5, show_progress=False)
    assert np.abs(a - d).max() > 1e-4
    # counts are binned per sample: per-sample scaling does not change anything
    e = embed_matrix(loaded, x * np.arange(1, 8)[:, None], ids, batch_size=3, show_progress=False)
    np.testing.assert_allclose(a, e, atol=1e-6)


def test_empty_sample_gets_nan_row_and_warning(tiny_folder):
    loaded = load_scgpt(tiny_folder())
    x = _counts(3, len(TINY_GENES))
    x[1] = 0
    with pytest.warns(DataQualityWarning, match="no expressed gene.*pB"):
        e = embed_matrix(loaded, x, np.arange(len(TINY_GENES)), show_progress=False, sample_names=["pA", "pB", "pC"])
    assert np.isnan(e[1]).all() and np.isfinite(e[[0, 2]]).all()


def _cohort(n: int = 6, seed: int = 0) -> Cohort:
    ids = np.array([f"P{i}" for i in range(n)])
    rna = pd.DataFrame(np.random.default_rng(seed).normal(size=(n, len(TINY_GENES))), index=ids, columns=TINY_GENES + [])
    rna["UNKNOWN1"] = 0.5
    return Cohort(ids=ids, time=np.ones(n), event=np.ones(n, dtype=int), blocks={"rnaseq": rna}, source="tiny")


def test_rna_features_scgpt_with_disk_cache(tiny_folder, tmp_path, monkeypatch):
    folder = tiny_folder()
    cohort = _cohort()
    f = rna_features(cohort, scgpt_folder=folder, cache_dir=tmp_path / "cache", min_genes=10, show_progress=False)
    assert f.matrix.shape == (6, 16) and f.matrix.dtype == np.float32
    assert list(f.patient_ids) == list(cohort.ids)
    assert f.checkpoint_hash == load_scgpt(folder).checkpoint_hash and f.mlp_a_hash is None
    assert f.coverage.n_found == len(TINY_GENES) and f.coverage.missing == ("UNKNOWN1",)
    assert f.value_mode == "ranks"
    cached = list((tmp_path / "cache").glob("*.npz"))
    assert len(cached) == 1 and not list((tmp_path / "cache").glob("*.tmp"))
    # second call reads the cache (the encoder must not run)
    import pathgptomic.genomics.features as features

    def boom(*a, **k):
        raise AssertionError("embedding recomputed despite the cache")

    monkeypatch.setattr(features, "embed_matrix", boom)
    g = rna_features(cohort, scgpt_folder=folder, cache_dir=tmp_path / "cache", min_genes=10, show_progress=False)
    np.testing.assert_array_equal(f.matrix, g.matrix)
    # a different input is a different key
    with pytest.raises(AssertionError, match="recomputed"):
        rna_features(_cohort(seed=1), scgpt_folder=folder, cache_dir=tmp_path / "cache", min_genes=10, show_progress=False)
    # rows follow the cohort order even when the block is ordered differently
    monkeypatch.undo()
    shuffled = Cohort(ids=cohort.ids[::-1].copy(), time=cohort.time, event=cohort.event, blocks={"rnaseq": cohort.blocks["rnaseq"]})
    h = rna_features(shuffled, scgpt_folder=folder, use_cache=False, min_genes=10, show_progress=False)
    np.testing.assert_allclose(h.matrix, f.matrix[::-1], atol=1e-6)


def test_rna_features_smooth_mode_checks_mlp_a(tiny_folder, tmp_path):
    from pathgptomic.genomics.smoothing import SmoothingModel, SmoothingResult, save_mlp_a

    folder = tiny_folder()
    cohort = _cohort()
    with pytest.raises(ConfigError, match="mode"):
        rna_features(cohort, mode="snn", scgpt_folder=folder)
    with pytest.raises(CheckpointError, match="needs an MLP-A"):
        rna_features(cohort, mode="scgpt_smooth", scgpt_folder=folder, min_genes=10)
    torch.manual_seed(0)
    model = SmoothingModel(16, 3, hidden=8, n_layers=3, dropout=0.0).eval()
    meta = {
        "format_version": 1,
        "in_dim": 16,
        "hidden": 8,
        "n_layers": 3,
        "dropout": 0.0,
        "cell_types": ["a", "b", "c"],
        "scgpt_checkpoint_hash": "0" * 64,
    }
    res = SmoothingResult(model=model, baseline=model, cell_types=["a", "b", "c"], metrics={}, meta=meta)
    wrong = save_mlp_a(res, tmp_path / "wrong.safetensors")
    with pytest.raises(CheckpointError, match="trained on scGPT checkpoint 000000000000"):
        rna_features(cohort, mode="scgpt_smooth", scgpt_folder=folder, mlp_a_path=wrong, min_genes=10, use_cache=False)
    meta["scgpt_checkpoint_hash"] = load_scgpt(folder).checkpoint_hash
    right = save_mlp_a(res, tmp_path / "right.safetensors")
    f = rna_features(cohort, mode="scgpt_smooth", scgpt_folder=folder, mlp_a_path=right, min_genes=10, use_cache=False, show_progress=False)
    raw = rna_features(cohort, scgpt_folder=folder, min_genes=10, use_cache=False, show_progress=False)
    assert f.matrix.shape == (6, 8) and f.mlp_a_hash is not None and len(f.mlp_a_hash) == 64
    with torch.no_grad():
        expect = model.mlp_a(torch.from_numpy(raw.matrix)).numpy()
    np.testing.assert_allclose(f.matrix, expect, atol=1e-6)


def test_rna_features_default_uses_the_same_genes_for_every_patient(tiny_folder):
    """Default: no per-sample gene sampling (each patient's embedding ignores the others' genes);
    an integer max_length gives the official per-sample random subset."""
    folder = tiny_folder()
    cohort = _cohort(n=4)
    full = rna_features(cohort, scgpt_folder=folder, use_cache=False, min_genes=10, show_progress=False)
    loaded = load_scgpt(folder)
    ids, _ = loaded.vocab.map_genes(TINY_GENES)
    rna = cohort.blocks["rnaseq"][TINY_GENES].to_numpy()
    expect = embed_matrix(loaded, rna, ids, value_mode="ranks", max_length=len(TINY_GENES) + 1, show_progress=False)
    np.testing.assert_allclose(full.matrix, expect, atol=1e-6)
    official = rna_features(cohort, scgpt_folder=folder, use_cache=False, min_genes=10, max_length=20, show_progress=False)
    assert np.abs(official.matrix - full.matrix).max() > 1e-3


def test_cpu_embedding_uses_one_thread_and_restores_the_callers(tiny_folder, monkeypatch):
    from pathgptomic.genomics.scgpt import load_scgpt

    loaded = load_scgpt(tiny_folder())
    seen: list[int] = []
    inner = loaded.model.cell_embedding
    monkeypatch.setattr(loaded.model, "cell_embedding", lambda *a: seen.append(torch.get_num_threads()) or inner(*a))
    monkeypatch.delenv("PATHGPTOMIC_CPU_THREADS", raising=False)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        embed_matrix(loaded, _counts(4, 44), np.arange(44), device="cpu", batch_size=2, show_progress=False)
        assert seen and set(seen) == {1} and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_fast_path_padded_batch_equals_each_sample_alone(tiny_folder):
    """Nested-tensor fast path (inference, padded batch) gives each sample's embedding alone."""
    from pathgptomic.genomics.scgpt import load_scgpt

    loaded = load_scgpt(tiny_folder())
    assert loaded.model.transformer_encoder.use_nested_tensor
    gen = torch.Generator().manual_seed(5)
    genes = torch.randint(0, len(loaded.vocab) - 3, (3, 12), generator=gen)
    genes[:, 0] = loaded.cls_id
    genes[1, 7:], genes[2, 3:] = loaded.pad_id, loaded.pad_id
    values = torch.randint(1, 51, (3, 12), generator=gen).float()
    values[genes == loaded.pad_id] = -2
    with torch.inference_mode():
        batch = loaded.model.cell_embedding(genes, values)
        for i, n in enumerate((12, 7, 3)):
            alone = loaded.model.cell_embedding(genes[i : i + 1, :n], values[i : i + 1, :n])
            assert torch.allclose(batch[i], alone[0], atol=1e-5)
