"""Trainer, cross-validation, bundles and the CLI on a small synthetic cohort."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pathgptomic.cli import main
from pathgptomic.errors import BundleError
from pathgptomic.nn.fusion import ModelConfig
from pathgptomic.training.bundle import list_bundles, load_bundle, save_bundle
from pathgptomic.training.features import FeatureSettings
from pathgptomic.training.trainer import TrainConfig, cross_validate

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from pathgptomic.data import write_demo_cohort

    folder = tmp_path_factory.mktemp("demo")
    write_demo_cohort(folder, n_patients=48, seed=3, layout="tcga")
    return folder


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


def _cfg(fusion: str, cache_dir: Path, **kw) -> TrainConfig:
    return TrainConfig(
        model=ModelConfig(fusion=fusion, snn_hidden=(16, 16, 16, 16), mlp_b_hidden=32, genomic_dim=8, image_dim=8, image_hidden=16),
        features=FeatureSettings(image_encoder="test_resnet", patch_size=224, max_patches=4, cache_dir=str(cache_dir)),
        epochs=3,
        batch_size=16,
        seed=0,
        device="cpu",
        **kw,
    )


def test_cv_logs_balance_andbranch_cindices(demo_dir: Path, cache_dir: Path) -> None:
    from pathgptomic.data import read_cohort

    cohort = read_cohort(demo_dir)
    res = cross_validate(cohort, _cfg("gradmod", cache_dir), n_folds=3, final_fit=False, show_progress=False)
    assert len(res.folds) == 3 and len(res.predictions) == cohort.n
    assert set(res.predictions["patient_id"]) == set(cohort.ids)
    assert res.history[["rho_g", "coef_g", "coef_p", "grad_norm_g", "grad_norm_p"]].notna().any().all()
    assert (res.history["coef_g"] <= 1).all() and (res.history["coef_p"] <= 1).all()
    # ρ^P = 1/ρ^G on every modulated step
    h = res.history.dropna(subset=["rho_g"])
    np.testing.assert_allclose(h["rho_g"] * h["rho_p"], 1.0, rtol=1e-5)
    assert res.epochs[["val_cindex", "val_cindex_genomic", "val_cindex_image"]].notna().all().all()
    assert 0.0 <= res.summary["cindex_mean"] <= 1.0


def test_concat_logs_rho_but_never_scales(demo_dir: Path, cache_dir: Path) -> None:
    from pathgptomic.data import read_cohort

    cohort = read_cohort(demo_dir)
    res = cross_validate(cohort, _cfg("concat", cache_dir, log_balance=True), n_folds=2, final_fit=False, show_progress=False)
    assert res.history["rho_g"].notna().any()
    assert (res.history["coef_g"] == 1).all() and (res.history["coef_p"] == 1).all()
    # without log_balance, concat skips the balance computation (ρ not logged) and trains identically
    plain = cross_validate(cohort, _cfg("concat", cache_dir), n_folds=2, final_fit=False, show_progress=False)
    assert plain.history["rho_g"].isna().all()
    np.testing.assert_allclose(plain.predictions["risk"], res.predictions["risk"], rtol=1e-5, atol=1e-6)


def test_same_seed_same_result(demo_dir: Path, cache_dir: Path) -> None:
    from pathgptomic.data import read_cohort

    cohort = read_cohort(demo_dir)
    a = cross_validate(cohort, _cfg("genomic", cache_dir), n_folds=2, final_fit=False, show_progress=False)
    b = cross_validate(cohort, _cfg("genomic", cache_dir), n_folds=2, final_fit=False, show_progress=False)
    pd.testing.assert_frame_equal(a.predictions, b.predictions)


def test_early_stopping_uses_inner_split_only(demo_dir: Path, cache_dir: Path) -> None:
    from pathgptomic.data import read_cohort

    cfg = _cfg("genomic", cache_dir, early_stopping=True, patience=1)
    cfg.epochs = 6
    res = cross_validate(read_cohort(demo_dir), cfg, n_folds=2, final_fit=False, show_progress=False)
    assert res.epochs["inner_val_cindex"].notna().all()
    for fold, eps in res.epochs.groupby("fold"):
        best = int(res.folds.loc[res.folds["fold"] == fold, "best_epoch"].iloc[0])
        finite = eps.dropna(subset=["inner_val_cindex"])
        assert best == int(finite.loc[finite["inner_val_cindex"].idxmax(), "epoch"])


def test_weight_average_is_the_mean_of_the_last_epochs_weights(demo_dir: Path, cache_dir: Path) -> None:
    """average_fraction keeps the mean of the weights after each of the last round(f · epochs) epochs.

    Reference: the weights after epoch e of a longer run equal the final weights of a run of
    e + 1 epochs (same seed, same batches), so the expected average is the plain mean of the
    final weights of k shorter runs, computed here without the averaging code.
    """
    from pathgptomic.data import read_cohort

    cohort = read_cohort(demo_dir)
    folds = [(np.arange(0, 32), np.arange(32, cohort.n))]

    def fold_model(epochs: int, average_fraction: float) -> torch.nn.Module:
        cfg = _cfg("genomic", cache_dir, average_fraction=average_fraction)
        cfg.epochs = epochs
        return cross_validate(cohort, cfg, folds=folds, final_fit=False, show_progress=False).fold_models[0].model

    averaged = fold_model(4, 0.75)  # the last 3 of 4 epochs
    snapshots = [dict(fold_model(e, 0).named_parameters()) for e in (2, 3, 4)]
    last = dict(snapshots[-1])
    for name, param in averaged.named_parameters():
        expected = torch.stack([s[name].detach() for s in snapshots]).mean(dim=0)
        torch.testing.assert_close(param.detach(), expected, rtol=1e-5, atol=1e-6)
    assert any(not torch.allclose(p.detach(), last[n].detach()) for n, p in averaged.named_parameters())
    # averaging one epoch is the last epoch's model
    one = dict(fold_model(4, 0.1).named_parameters())  # rounds to 0 epochs, kept at 1
    for name, param in last.items():
        torch.testing.assert_close(one[name].detach(), param.detach())


def test_weight_average_recomputes_batchnorm_statistics_for_the_averaged_weights() -> None:
    """With batch normalisation (an encoder trained end to end), the running statistics after
    averaging are those of the averaged weights on the training batches, computed here by hand:
    the mean over batches of each batch's mean and of its unbiased variance."""
    from pathgptomic.training.steps import WeightAverage

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    averager = WeightAverage()
    weights = []
    for _ in range(3):
        with torch.no_grad():
            model[0].weight.normal_()
            model[0].bias.normal_()
        weights.append((model[0].weight.clone(), model[0].bias.clone()))
        averager.update(model)
    batches = [torch.randn(8, 3) for _ in range(4)]
    assert averager.apply(model, lambda: iter(batches)) == 3
    w = torch.stack([a for a, _ in weights]).mean(0)
    b = torch.stack([c for _, c in weights]).mean(0)
    hidden = [x @ w.T + b for x in batches]
    torch.testing.assert_close(model[0].weight, w)
    torch.testing.assert_close(model[1].running_mean, torch.stack([h.mean(0) for h in hidden]).mean(0))
    torch.testing.assert_close(model[1].running_var, torch.stack([h.var(0, unbiased=True) for h in hidden]).mean(0))


@pytest.mark.parametrize("fraction", [-0.1, 1.5, float("nan")])
def test_weight_average_refuses_impossible_fractions(fraction: float) -> None:
    from pathgptomic.errors import ConfigError

    with pytest.raises(ConfigError, match="average_fraction must lie in"):
        TrainConfig(average_fraction=fraction)


def test_weight_average_counts_epochs_and_yields_to_early_stopping() -> None:
    assert TrainConfig(epochs=30).averaged_epochs == 20  # default rule: 2/3 from 30 epochs on
    assert TrainConfig(epochs=45).averaged_epochs == 30
    assert TrainConfig(epochs=29).averaged_epochs == 0  # shorter runs keep the last epoch's weights
    assert TrainConfig(epochs=10, average_fraction=0.5).averaged_epochs == 5  # a given fraction is kept
    assert TrainConfig(epochs=30, average_fraction=2 / 3).averaged_epochs == 20
    assert TrainConfig(epochs=30, average_fraction=0.0).averaged_epochs == 0
    assert TrainConfig(epochs=30, average_fraction=2 / 3, early_stopping=True).averaged_epochs == 0


def test_cli_cv_writes_loadable_bundle_that_reproduces_predictions(
    demo_dir: Path, cache_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "bundle"
    live = tmp_path / "live"
    rc = main(
        [
            "cv",
            "--cohort",
            str(demo_dir),
            "--out",
            str(out),
            "--folds",
            "2",
            "--epochs",
            "2",
            "--fusion",
            "gradmod",
            "--image-encoder",
            "test_resnet",
            "--max-patches",
            "4",
            "--cache-dir",
            str(cache_dir),
            "--device",
            "cpu",
            "--live-dir",
            str(live),
            "--no-progress",
            "--batch-size",
            "16",
            "--average-fraction",
            "0.5",
        ]
    )
    assert rc == 0
    assert "C-index (mean ± sd over 2 folds)" in capsys.readouterr().out
    assert "final weights: the mean of the weights after each of the last 1 epoch (weight averaging)" in (out / "README.md").read_text()
    assert json.loads((out / "config.json").read_text())["train_config"]["average_fraction"] == 0.5
    for f in (
        "config.json",
        "weights.safetensors",
        "image_encoder.safetensors",
        "metrics.json",
        "history.csv",
        "epochs.csv",
        "predictions.csv",
        "baseline_hazard.csv",
        "README.md",
    ):
        assert (out / f).is_file(), f
    progress = json.loads((live / "progress.json").read_text())
    assert progress["stage"] == "done" and progress["fraction"] == 1.0
    assert len(pd.read_csv(live / "history.csv")) > 0

    bundle = load_bundle(out)
    from pathgptomic.data import read_cohort

    cohort = read_cohort(demo_dir)
    pred = bundle.predict(cohort)
    stored = bundle.predictions[bundle.predictions["split"] == "train"].set_index("patient_id").loc[pred["patient_id"]]
    np.testing.assert_allclose(pred["risk"].to_numpy(), stored["risk"].to_numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pred["theta"], pred["genomic_term"] + pred["image_term"] + pred["bias"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(pred["risk"], bundle.calibration.slope * (pred["theta"] - bundle.final_centre), rtol=1e-6)
    assert pred["percentile"].between(0, 100).all()
    assert list_bundles(tmp_path) == [out]

    # predict + evaluate through the CLI
    preds_csv = tmp_path / "pred.csv"
    assert main(["predict", "--bundle", str(out), "--cohort", str(demo_dir), "--out", str(preds_csv), "--no-progress"]) == 0
    assert main(["evaluate", "--predictions", str(out / "predictions.csv"), "--n-boot", "50"]) == 0
    assert "log-rank p" in capsys.readouterr().out


def test_bundle_refuses_unknown_format_and_existing_folder(demo_dir: Path, cache_dir: Path, tmp_path: Path) -> None:
    from pathgptomic.data import read_cohort

    cohort = read_cohort(demo_dir)
    res = cross_validate(cohort, _cfg("genomic", cache_dir), n_folds=2, show_progress=False)
    path = save_bundle(res, tmp_path / "b", cohort=cohort)
    with pytest.raises(BundleError, match="already exists"):
        save_bundle(res, path, cohort=cohort)
    cfg = json.loads((path / "config.json").read_text())
    cfg["format_version"] = 99
    (path / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(BundleError, match="format version 99"):
        load_bundle(path)


def test_interrupted_save_leaves_no_bundle(demo_dir: Path, cache_dir: Path, tmp_path: Path, monkeypatch) -> None:
    import pathgptomic.training.bundle_save as bundle_mod
    from pathgptomic.data import read_cohort

    cohort = read_cohort(demo_dir)
    res = cross_validate(cohort, _cfg("genomic", cache_dir), n_folds=2, show_progress=False)

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(bundle_mod, "model_card", boom)
    with pytest.raises(KeyboardInterrupt):
        save_bundle(res, tmp_path / "half", cohort=cohort)
    assert not (tmp_path / "half").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".half")]


def test_cli_reports_user_errors_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["cv", "--cohort", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o")])
    assert rc == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("times", "match"),
    [
        ("0,-1", r"argument '--times' .* must be finite and > 0; index 0 is 0 \(must be > 0\) \(1 more bad time\(s\)\)"),
        ("12,inf", r"argument '--times' .* index 1 is infinite"),
        ("12,nan", r"argument '--times' .* index 1 is missing \(NaN\)"),
        ("12,abc", r"--times must be comma-separated numbers in the cohort's time unit \(months in the TCGA layout\), got '12,abc'"),
        (",", r"--times must list at least one time"),
    ],
)
def test_predict_refuses_bad_times_naming_the_flag(times: str, match: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``--times`` goes through validators.check_time (lower="positive") before the bundle is read."""
    import re

    from pathgptomic.cli import _parse_times

    rc = main(["predict", "--bundle", str(tmp_path / "no-bundle"), "--cohort", "demo", "--times", times])
    err = capsys.readouterr().err
    assert rc == 2 and re.search(match, err), err
    assert "--times 12,36,60" in err or "--times must" in err
    assert _parse_times(" 6, 24,60.5 ") == [6.0, 24.0, 60.5]


@pytest.mark.slow
def test_real_tcga_genomic_cv_over_shared_splits(tcga_csv: Path, tcga_splits_dir: Path, tmp_path: Path) -> None:
    from pathgptomic.data import read_split_files, read_tcga

    cohort = read_tcga(tcga_csv)
    assert cohort.n == 569
    folds = read_split_files(tcga_splits_dir, cohort.ids)
    cfg = TrainConfig(model=ModelConfig(fusion="genomic"), features=FeatureSettings(use_images=False), epochs=2, device="cpu")
    res = cross_validate(cohort, cfg, folds=folds, final_fit=False, show_progress=False)
    assert len(res.folds) == 5
    assert res.folds["cindex"].between(0.5, 1.0).all()


def test_end_to_end_encoder_finetuning_trains_and_reloads(tmp_path: Path, cache_dir: Path) -> None:
    """--finetune-encoder: tile pixels through a trainable encoder; bundle reproduces predictions."""
    from pathgptomic.data import read_cohort, write_demo_cohort

    folder = tmp_path / "small"
    write_demo_cohort(folder, n_patients=16, seed=5, layout="tcga", image_size=224)
    out = tmp_path / "ft"
    rc = main(
        [
            "train",
            "--cohort",
            str(folder),
            "--out",
            str(out),
            "--epochs",
            "1",
            "--fusion",
            "gradmod",
            "--image-encoder",
            "test_convnext",
            "--finetune-encoder",
            "--max-patches",
            "2",
            "--cache-dir",
            str(cache_dir),
            "--device",
            "cpu",
            "--no-progress",
            "--batch-size",
            "8",
        ]
    )
    assert rc == 0
    bundle = load_bundle(out)
    assert bundle.model.image_branch.encoder is not None
    enc_params = [p for n, p in bundle.model.named_parameters() if n.startswith("image_branch.encoder")]
    assert enc_params, "the encoder's weights travel with the bundle"
    pred = bundle.predict(read_cohort(folder))
    stored = bundle.predictions[bundle.predictions["split"] == "train"].set_index("patient_id").loc[pred["patient_id"]]
    np.testing.assert_allclose(pred["risk"].to_numpy(), stored["risk"].to_numpy(), rtol=1e-4, atol=1e-5)


def test_finetune_gradients_reach_the_encoder() -> None:
    from pathgptomic.nn.fusion import ModelInputs, PathGPTomic

    model = PathGPTomic(ModelConfig(fusion="gradmod", image_finetune=True, image_encoder="test_convnext"), 3, 4, 0)
    x = ModelInputs(
        torch.randn(4, 3),
        torch.randn(4, 4),
        torch.randint(0, 255, (4, 2, 3, 64, 64), dtype=torch.uint8),
        torch.ones(4, 2, dtype=torch.bool),
    )
    model(x).theta.sum().backward()
    enc = [p for p in model.image_parameters() if p in set(model.image_branch.encoder.parameters())]
    assert enc and all(p.grad is not None for p in enc)
    assert any(p.grad.abs().sum() > 0 for p in enc)


def test_missing_values_are_imputed_per_fold_and_counted(demo_dir: Path, cache_dir: Path) -> None:
    from dataclasses import replace as dc_replace

    from pathgptomic.data import read_cohort

    cohort = read_cohort(demo_dir)
    cnv = cohort.blocks["cnv"].copy()
    cnv.iloc[:5, 0] = np.nan
    cohort = dc_replace(cohort, blocks={**cohort.blocks, "cnv": cnv})
    res = cross_validate(cohort, _cfg("genomic", cache_dir), n_folds=2, final_fit=False, show_progress=False)
    # each fold sees every patient once, as training or as test patient
    assert ((res.folds["n_imputed_train"] + res.folds["n_imputed_test"]) == 5).all()
    assert (res.folds["n_imputed_test"] > 0).any()
    assert np.isfinite(res.predictions["risk"]).all()


def test_step_size_modulation_survives_adam(demo_dir: Path, cache_dir: Path, monkeypatch) -> None:
    """One Adam step with k^G = 0.5: scaling only the gradient leaves the update unchanged
    (Adam's first step is lr·g/|g|); scaling the branch step size halves it. The head moves
    the same in both."""
    import pathgptomic.training.trainer as trainer_mod
    from pathgptomic.data import read_cohort

    class FixedModulator:
        def __init__(self, genomic, image, config):
            self.genomic, self.image = genomic, image

        def step(self, *args, **kwargs):
            for p in self.genomic:
                if p.grad is not None:
                    p.grad.mul_(0.5)
            return {"rho_g": 2.0, "rho_p": 0.5, "coef_g": 0.5, "coef_p": 1.0, "grad_norm_g": 1.0, "grad_norm_p": 1.0, "modulated": True}

    monkeypatch.setattr(trainer_mod, "GradientModulator", FixedModulator)
    cohort = read_cohort(demo_dir)
    feats = trainer_mod.compute_cohort_features(cohort, _cfg("gradmod", cache_dir).features, need_images=True, show_progress=False)
    init = {}
    moved = {}
    for name, step in (("grad_only", False), ("step", True)):
        cfg = _cfg("gradmod", cache_dir, modulate_step_size=step)
        cfg.epochs, cfg.batch_size = 1, cohort.n
        cfg.model.dropout = cfg.model.snn_dropout = 0.0
        torch.manual_seed(0)
        init_model = trainer_mod.PathGPTomic(cfg.model, feats.cnv_mut.shape[1], feats.rna.shape[1], feats.image_dim)
        init[name] = {k: v.clone() for k, v in init_model.state_dict().items()}
        tm = trainer_mod.train_model(feats, cohort.time, cohort.event, np.arange(cohort.n), cfg)
        moved[name] = {k: (v - init[name][k]).abs().max().item() for k, v in tm.model.state_dict().items()}
    g_key = next(k for k in moved["step"] if k.startswith("genomic_branch") and k.endswith("weight"))
    assert moved["grad_only"][g_key] == pytest.approx(5e-4, rel=1e-2)  # Adam: |first update| = lr
    assert moved["step"][g_key] == pytest.approx(0.5 * 5e-4, rel=1e-2)
    assert moved["step"]["bias"] == pytest.approx(moved["grad_only"]["bias"], rel=1e-6)


def test_sgd_optimizer_runs(demo_dir: Path, cache_dir: Path) -> None:
    from pathgptomic.data import read_cohort

    res = cross_validate(
        read_cohort(demo_dir), _cfg("gradmod", cache_dir, optimizer="sgd"), n_folds=2, final_fit=False, show_progress=False
    )
    assert np.isfinite(res.predictions["risk"]).all()


def test_config_is_resolved_into_a_new_object_never_mutated() -> None:
    from pathgptomic.training.config import resolve_image_normalisation
    from pathgptomic.training.features import CohortFeatures

    ids = np.array(["A", "B"])
    pixels = [np.zeros((1, 3, 8, 8), dtype=np.uint8)] * 2
    feats = CohortFeatures(
        ids, pd.DataFrame(index=ids), pd.DataFrame(index=ids), pixels, [], [], {"image_mean": [0.1, 0.2, 0.3], "image_std": [0.4, 0.5, 0.6]}
    )
    cfg = TrainConfig(
        model=ModelConfig(fusion="image", image_finetune=True, image_encoder="test_resnet"),
        features=FeatureSettings(image_encoder="test_resnet"),
    )
    before = cfg.to_dict()
    resolved = resolve_image_normalisation(cfg, feats)
    assert resolved.model.image_mean == (0.1, 0.2, 0.3) and resolved.model.image_std == (0.4, 0.5, 0.6)
    assert cfg.to_dict() == before  # the caller's configuration is unchanged


def test_collapsed_branch_counts_one_half_and_diverged_fold_is_reported() -> None:
    """Per-fold C-indices come from evaluation.fold_cindex: a constant branch term is 0.5 and
    enters the fold mean; NaN risks (a diverged model) are NaN and counted as undefined."""
    from pathgptomic.errors import DataQualityWarning
    from pathgptomic.evaluation import concordance_index
    from pathgptomic.training.trainer import branch_cindices, summarize_folds

    time = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    event = np.array([1, 1, 0, 1, 0, 1])
    risk = np.array([3.0, 2.5, 0.1, 1.0, 0.2, 0.5])
    pred = pd.DataFrame({"risk": risk, "genomic_term": np.full(6, 0.3), "image_term": risk - 0.3, "bias": 0.0})
    c = branch_cindices(pred, ModelConfig(fusion="gradmod"), time, event)
    assert c["cindex_genomic"] == 0.5 and c["cindex"] == concordance_index(risk, time, event)
    assert np.isnan(branch_cindices(pred, ModelConfig(fusion="image"), time, event)["cindex_genomic"])  # absent branch
    with pytest.warns(DataQualityWarning, match="NaN or infinite"):
        diverged = branch_cindices(pred.assign(risk=np.nan), ModelConfig(fusion="gradmod"), time, event)
    assert np.isnan(diverged["cindex"])
    folds = pd.DataFrame([c, {**c, "cindex_genomic": 0.8}, diverged])
    summary = summarize_folds(folds)
    assert summary["cindex_genomic_mean"] == pytest.approx((0.5 + 0.8 + 0.5) / 3)  # the constant folds count
    assert "n_folds_defined_cindex_genomic" not in summary
    assert summary["cindex_mean"] == pytest.approx(c["cindex"]) and summary["n_folds_defined_cindex"] == 2


def test_kronecker_predictions_have_no_branch_cindex_and_raise_no_warning() -> None:
    import warnings

    from pathgptomic.nn.fusion import ModelConfig
    from pathgptomic.training.trainer import branch_cindices

    t = np.array([5.0, 3.0, 8.0, 1.0])
    e = np.array([1, 0, 1, 1])
    pred = pd.DataFrame({"risk": [0.1, 0.4, -0.2, 0.9], "genomic_term": np.nan, "image_term": np.nan})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the NaN branch terms of a Kronecker model are by design, not a divergence
        c = branch_cindices(pred, ModelConfig(fusion="kronecker"), t, e)
    assert np.isnan(c["cindex_genomic"]) and np.isnan(c["cindex_image"]) and 0.0 <= c["cindex"] <= 1.0
