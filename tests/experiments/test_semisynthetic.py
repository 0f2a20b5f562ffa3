"""Tests of the semi-synthetic cohort builder (real genomics + outcomes, synthetic images)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pathgptomic.cli import main
from pathgptomic.errors import ConfigError, InputValidationError
from pathgptomic.experiments.semisynthetic import build_semisynthetic_cohort, image_latents, read_semisynthetic

torch.set_num_threads(1)


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_tcga_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30-patient TCGA-layout CSV (the demo generator's; any TCGA-layout file works)."""
    from pathgptomic.data import write_demo_cohort

    folder = tmp_path_factory.mktemp("src")
    write_demo_cohort(folder, n_patients=30, seed=5, image_size=96)
    return folder / "cohort_tcga.csv"


def test_deterministic_and_documented(small_tcga_csv: Path, tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    args = ["semisynthetic", "--tcga", str(small_tcga_csv), "--covariate", "age", "--noise", "0.5", "--image-size", "96", "--no-progress"]
    assert main(args + ["--seed", "1", "--out", str(a)]) == 0
    assert main(args + ["--seed", "1", "--out", str(b)]) == 0
    assert main(args + ["--seed", "2", "--out", str(c)]) == 0
    da, db, dc = _digest(a), _digest(b), _digest(c)
    assert da == db, "same seed must give byte-identical files"
    assert da["images/SYN-0001.png"] != dc["images/SYN-0001.png"]
    assert da["cnv.csv"] == dc["cnv.csv"], "the genomics are copied, not simulated"

    cohort = read_semisynthetic(a)
    assert cohort.meta["semi_synthetic"] is True
    from pathgptomic.data import read_cohort

    assert read_cohort(a).meta["semi_synthetic"] is True, "the plain reader (and so any bundle) must see the flag"
    assert "semi-synthetic" in cohort.source
    assert "age" not in cohort.blocks["clinical"].columns, "the covariate must be hidden from the clinical block"
    assert cohort.n == 30 and all(len(cohort.slides[p]) == 1 for p in cohort.ids)
    src = pd.read_csv(small_tcga_csv)
    assert np.allclose(cohort.time, src["survival_months"]) and np.array_equal(cohort.event, 1 - src["censorship"])
    readme = (a / "README.md").read_text()
    assert "Semi-synthetic" in readme and "synthetic" in readme.lower()
    info = json.loads((a / "cohort_info.json").read_text())["semi_synthetic_info"]
    assert info["semi_synthetic"] is True and info["covariate"] == "age" and info["noise"] == 0.5
    truth = pd.read_csv(a / "truth" / "image_latent.csv")
    assert np.allclose(truth["age"], src["age"])


def test_latent_noise_controls_correlation() -> None:
    x = np.random.default_rng(0).normal(60, 12, 2000)
    r = [np.corrcoef(x, image_latents(x, noise=s, seed=0)[1])[0, 1] for s in (0.0, 0.5, 2.0)]
    assert r[0] == pytest.approx(1.0)
    assert r[1] == pytest.approx(1 / np.sqrt(1 + 0.25), abs=0.02)
    assert r[2] == pytest.approx(1 / np.sqrt(5), abs=0.03)


def test_bad_arguments(small_tcga_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(InputValidationError, match="no column 'grade'"):
        build_semisynthetic_cohort(small_tcga_csv, tmp_path / "x", covariate="grade", show_progress=False)
    with pytest.raises(ConfigError, match="noise"):
        build_semisynthetic_cohort(small_tcga_csv, tmp_path / "x", noise=-1, show_progress=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "f.txt").write_text("x")
    with pytest.raises(ConfigError, match="overwrite"):
        build_semisynthetic_cohort(small_tcga_csv, tmp_path / "full", show_progress=False)


def test_image_signal_follows_noise(tcga_csv: Path, tmp_path: Path) -> None:
    """Image-only C-index on real TCGA-GBMLGG outcomes (120 patients): low noise > high noise.

    Fixed seeds; features of a frozen random-init test_resnet, one 224-px tile per patient,
    3-fold CV, 15 epochs. Also checks the weaker but steadier proxy: the cross-validated
    correlation between image features and the hidden covariate.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import cross_val_predict

    from pathgptomic.nn.fusion import ModelConfig
    from pathgptomic.training.features import FeatureSettings, compute_cohort_features
    from pathgptomic.training.trainer import TrainConfig, cross_validate

    df = pd.read_csv(tcga_csv, compression="gzip")
    keep = df["case_id"].drop_duplicates().iloc[:120]
    small = tmp_path / "gbmlgg_small.csv"
    df[df["case_id"].isin(keep)].to_csv(small, index=False)
    scores = {}
    for noise in (0.0, 3.0):
        cohort = build_semisynthetic_cohort(small, tmp_path / f"n{noise}", noise=noise, seed=0, image_size=224, show_progress=False)
        fs = FeatureSettings(image_encoder="test_resnet", max_patches=1, cache_dir=str(tmp_path / "cache"))
        feats = compute_cohort_features(cohort, fs, need_images=True, show_progress=False)
        cfg = TrainConfig(model=ModelConfig(fusion="image"), features=fs, epochs=15, seed=0)
        res = cross_validate(cohort, cfg, n_folds=3, final_fit=False, features=feats, show_progress=False)
        x = np.stack([p.mean(axis=0) for p in feats.patches])
        age = pd.read_csv(tmp_path / f"n{noise}" / "truth" / "image_latent.csv")["age"].to_numpy()
        pred = cross_val_predict(RidgeCV(alphas=np.logspace(-2, 3, 12)), x, age, cv=3)
        scores[noise] = (res.summary["cindex_mean"], float(np.corrcoef(pred, age)[0, 1]))
    print("image-only C-index, CV corr(features, age) by noise:", scores)
    (c0, r0), (c3, r3) = scores[0.0], scores[3.0]
    assert r0 > r3 + 0.2, scores
    assert c0 > c3, scores
    assert c0 > 0.6, scores
