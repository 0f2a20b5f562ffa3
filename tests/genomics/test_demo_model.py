"""The committed demo scGPT-format model and its MLP-A."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pathgptomic.genomics.features import MLP_A_FILENAME, default_scgpt_folder
from pathgptomic.genomics.scgpt import load_scgpt
from pathgptomic.genomics.smoothing import load_mlp_a

#: The demo model committed in this repository.
REPO_DEMO_FOLDER = Path(__file__).resolve().parents[2] / "models" / "scgpt-demo"


def test_demo_folder_is_official_format_and_loads():
    assert sorted(p.name for p in REPO_DEMO_FOLDER.iterdir() if p.name in ("args.json", "vocab.json", "best_model.pt")) == [
        "args.json",
        "best_model.pt",
        "vocab.json",
    ]
    size_mb = (REPO_DEMO_FOLDER / "best_model.pt").stat().st_size / 2**20
    assert size_mb < 8
    loaded = load_scgpt(REPO_DEMO_FOLDER)
    assert loaded.config.nlayers == 4 and 64 <= loaded.config.embsize <= 128
    assert {"decoder.fc.0.weight", "mvc_decoder.W.weight"} <= set(loaded.ignored_keys)  # heads present, ignored
    genes = (REPO_DEMO_FOLDER / "genes_tcga_gbmlgg_rnaseq.txt").read_text().split()
    assert len(genes) == 1544 and all(g in loaded.vocab for g in genes)
    assert {"<pad>", "<cls>", "<eoc>"} <= set(json.loads((REPO_DEMO_FOLDER / "vocab.json").read_text()))


def test_default_folder_env(monkeypatch, tmp_path):
    monkeypatch.delenv("PATHGPTOMIC_SCGPT_DIR", raising=False)
    monkeypatch.chdir(REPO_DEMO_FOLDER.parents[1])  # run from the checkout's root: the shipped demo model
    assert default_scgpt_folder() == REPO_DEMO_FOLDER
    monkeypatch.chdir(tmp_path)  # elsewhere: models/scgpt-demo of that folder, never the package's checkout
    assert default_scgpt_folder() == tmp_path / "models" / "scgpt-demo"
    monkeypatch.setenv("PATHGPTOMIC_SCGPT_DIR", str(tmp_path))
    assert default_scgpt_folder() == tmp_path


def test_demo_mlp_a_matches_checkpoint():
    loaded = load_scgpt(REPO_DEMO_FOLDER)
    mlp = load_mlp_a(REPO_DEMO_FOLDER / MLP_A_FILENAME, expected_checkpoint_hash=loaded.checkpoint_hash)
    assert mlp.meta["hidden"] == 128 and mlp.meta["n_layers"] == 3 and len(mlp.meta["cell_types"]) == 10
    assert "pbmc68k_reduced" in mlp.meta["dataset"]
    m = mlp.meta["metrics"]
    assert m["mixup"]["mix_mae"] < m["no_mixup"]["mix_mae"]
    out = mlp.transform(np.ones((2, loaded.config.embsize), dtype=np.float32) / np.sqrt(loaded.config.embsize))
    assert out.shape == (2, 128) and np.isfinite(out).all()


def _cells_subset(n: int, seed: int = 0):
    from pathgptomic.genomics.datasets import load_cells

    cells = load_cells(None)
    idx = np.sort(np.random.default_rng(seed).choice(len(cells.labels), n, replace=False))
    return cells, idx


def test_demo_embeddings_separate_cell_types():
    """Cell types are linearly decodable from the (centred) demo embeddings well above the majority rate."""
    pytest.importorskip("anndata")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score

    from pathgptomic.genomics.embed import embed_matrix

    cells, idx = _cells_subset(300)
    loaded = load_scgpt(REPO_DEMO_FOLDER)
    ids, _ = loaded.vocab.map_genes(list(cells.genes))
    emb = embed_matrix(loaded, cells.x[idx], ids, show_progress=False)
    z = (emb - emb.mean(0)) / emb.std(0).mean()
    y = cells.labels[idx]
    acc = cross_val_score(LogisticRegression(max_iter=3000), z, y, cv=3).mean()
    majority = max((y == t).mean() for t in set(y))
    assert acc > majority + 0.15, (acc, majority)


def test_demo_masked_value_prediction_beats_constant():
    """The shipped GEP head predicts masked bins clearly better than the constant mean bin: the weights were trained.

    (An untrained model cannot beat the constant; the brief pre-training reaches about the
    per-gene-mean predictor, which is also reported in the assertion message.)
    """
    pytest.importorskip("anndata")
    import torch

    from pathgptomic.genomics.binning import binning
    from pathgptomic.genomics.demo_model import ExprDecoder

    cells, idx = _cells_subset(60, seed=1)
    loaded = load_scgpt(REPO_DEMO_FOLDER)
    state = torch.load(REPO_DEMO_FOLDER / "best_model.pt", weights_only=True)
    dec = ExprDecoder(loaded.config.embsize)
    dec.load_state_dict({k[len("decoder.") :]: v for k, v in state.items() if k.startswith("decoder.")})
    mean_bin = json.loads((REPO_DEMO_FOLDER / "training_log.json").read_text())["target_mean_bin"]
    ids, _ = loaded.vocab.map_genes(list(cells.genes))
    rng = np.random.default_rng(0)
    bins_all = np.stack([binning(r, 51, rng) for r in cells.x])
    gene_mean = np.where((bins_all > 0).sum(0) > 0, bins_all.sum(0) / np.maximum((bins_all > 0).sum(0), 1), mean_bin)
    err_model, err_gene, err_const = [], [], []
    for i in idx:
        nz = np.nonzero(bins_all[i])[0]
        mask = rng.random(len(nz)) < 0.5
        genes = torch.tensor(np.concatenate([[loaded.cls_id], ids[nz]]))[None]
        vals = np.concatenate([[-2.0], np.where(mask, -1.0, bins_all[i, nz])]).astype(np.float32)
        with torch.no_grad():
            pred = dec(loaded.model(genes, torch.from_numpy(vals)[None]))[0, 1:].numpy() + mean_bin
        err_model.append((pred[mask] - bins_all[i, nz][mask]) ** 2)
        err_gene.append((gene_mean[nz][mask] - bins_all[i, nz][mask]) ** 2)
        err_const.append((mean_bin - bins_all[i, nz][mask]) ** 2)
    mse_model, mse_gene, mse_const = (np.concatenate(e).mean() for e in (err_model, err_gene, err_const))
    assert mse_model < 0.85 * mse_const, (mse_model, mse_gene, mse_const)
