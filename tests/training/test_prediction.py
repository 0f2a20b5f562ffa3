"""Scoring new patients: one reading path, batch invariance, calibrated survival, refusals, evaluation."""

from __future__ import annotations

import json
import os
import shutil
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from pathgptomic.cli import main
from pathgptomic.data import read_cohort, write_demo_cohort
from pathgptomic.errors import BundleError, DataQualityWarning, InputValidationError
from pathgptomic.nn.fusion import ModelConfig
from pathgptomic.training.bundle import load_bundle, save_bundle
from pathgptomic.training.features import FeatureSettings
from pathgptomic.training.trainer import TrainConfig, cross_validate

torch.set_num_threads(1)
OUTCOMES = ["survival_months", "censorship"]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("demo")
    write_demo_cohort(folder, n_patients=60, seed=5, layout="tcga")
    return folder


@pytest.fixture(scope="module")
def bundle_dir(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    cfg = TrainConfig(
        model=ModelConfig(fusion="gradmod", snn_hidden=(16, 16, 16, 16), mlp_b_hidden=32, genomic_dim=8, image_dim=8, image_hidden=16),
        features=FeatureSettings(image_encoder="test_resnet", max_patches=4, cache_dir=str(cache)),
        epochs=8,
        batch_size=16,
        seed=0,
        device="cpu",
    )
    cohort = read_cohort(demo_dir)
    res = cross_validate(cohort, cfg, n_folds=3, show_progress=False)
    return save_bundle(res, tmp_path_factory.mktemp("bundles") / "b", cohort=cohort)


@pytest.fixture(scope="module")
def bundle(bundle_dir: Path):
    return load_bundle(bundle_dir)


def _table(demo_dir: Path) -> pd.DataFrame:
    return pd.read_csv(next(demo_dir.glob("*.csv*")), dtype={"case_id": str})


def _folder(tmp_path: Path, demo_dir: Path, rows: pd.DataFrame, name: str = "new") -> Path:
    """A TCGA-layout prediction folder with the demo images beside the CSV."""
    folder = tmp_path / name
    folder.mkdir()
    (folder / "images").symlink_to((demo_dir / "images").resolve())
    rows.to_csv(folder / "new.csv", index=False)
    return folder


def _predict(bundle, folder: Path) -> tuple[pd.DataFrame, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataQualityWarning)
        pred = bundle.predict(read_cohort(folder, for_prediction=True))
    return pred, [str(w.message) for w in caught if issubclass(w.category, DataQualityWarning)]


def test_one_patient_without_outcomes_via_cli_equals_bundle_predict(bundle_dir, bundle, demo_dir, tmp_path) -> None:
    rows = _table(demo_dir).drop(columns=OUTCOMES).iloc[[4]]
    folder = _folder(tmp_path, demo_dir, rows)
    out = tmp_path / "pred.csv"
    assert (
        main(["predict", "--bundle", str(bundle_dir), "--cohort", str(folder), "--out", str(out), "--times", "6,24", "--no-progress"]) == 0
    )
    cli = pd.read_csv(out, dtype={"patient_id": str})
    lib = bundle.predict(read_cohort(folder, for_prediction=True), times=(6, 24))
    assert list(cli.columns) == list(lib.columns)
    for col in ("risk", "risk_low", "risk_high", "survival_6", "survival_24", "percentile", "theta", "n_imputed"):
        np.testing.assert_allclose(cli[col].to_numpy(float), lib[col].to_numpy(float), rtol=1e-6, err_msg=col)
    assert cli["status"].tolist() == ["ok"] and cli["patient_id"].tolist() == rows["case_id"].tolist()


def test_same_patient_same_score_alone_and_in_a_batch(bundle, demo_dir, tmp_path) -> None:
    table = _table(demo_dir).drop(columns=OUTCOMES)
    batch = table.iloc[[1, 2, 3]].copy()
    mut = [c for c in batch.columns if c.endswith("_mut")][0]
    batch[mut] = 1  # constant within the batch: must not be dropped or imputed
    alone, _ = _predict(bundle, _folder(tmp_path, demo_dir, batch.iloc[[1]], "alone"))
    together, _ = _predict(bundle, _folder(tmp_path, demo_dir, batch, "batch"))
    cols = ["risk", "risk_low", "risk_high", "survival_12", "survival_60", "median_survival", "percentile", "theta"]
    # equal up to float32 matrix-kernel rounding (BLAS paths differ with the batch size): ~1e-7 on θ
    np.testing.assert_allclose(alone[cols].to_numpy(float), together[cols].iloc[[1]].to_numpy(float), rtol=1e-5, atol=1e-6)
    assert together["n_imputed"].tolist() == [0, 0, 0]


def test_generic_layout_folder_predicts_like_tcga_layout(bundle, tmp_path) -> None:
    generic = tmp_path / "generic"
    tcga = tmp_path / "tcga"
    write_demo_cohort(generic, n_patients=60, seed=5, layout="generic")
    write_demo_cohort(tcga, n_patients=60, seed=5, layout="tcga")
    clinical = pd.read_csv(generic / "clinical.csv").drop(columns=["time", "event"])
    clinical.to_csv(generic / "clinical.csv", index=False)
    (generic / "true_risk.csv").unlink()
    a = bundle.predict(read_cohort(generic, for_prediction=True))
    b = bundle.predict(read_cohort(tcga, for_prediction=True)).set_index("patient_id").loc[a["patient_id"]]
    np.testing.assert_allclose(a["risk"].to_numpy(float), b["risk"].to_numpy(float), rtol=1e-5, atol=1e-6)


def test_patient_without_genomics_is_refused_with_reason(bundle, demo_dir, tmp_path) -> None:
    rows = _table(demo_dir).iloc[[0, 1]][["case_id", "slide_id", "age"]]
    pred, notes = _predict(bundle, _folder(tmp_path, demo_dir, rows))
    assert (pred["status"] == "insufficient_data").all()
    assert pred["risk"].isna().all() and pred["percentile"].isna().all() and pred["survival_60"].isna().all()
    assert (pred["risk_group"].fillna("") == "").all()
    assert all("cnv: 0%" in r and "mut: 0%" in r for r in pred["reason"])
    assert any("too little data" in n for n in notes)


def test_low_coverage_threshold_is_configurable(bundle, demo_dir, tmp_path) -> None:
    table = _table(demo_dir).drop(columns=OUTCOMES).iloc[[0]]
    cnv = [c for c in table.columns if c.endswith("_cnv")]
    table[cnv[: int(len(cnv) * 0.7)]] = np.nan  # 30 % of the CNV features measured
    cohort = read_cohort(_folder(tmp_path, demo_dir, table), for_prediction=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        strict = bundle.predict(cohort)
        lenient = bundle.predict(cohort, min_coverage=0.2)
    assert strict["status"].tolist() == ["insufficient_data"] and lenient["status"].tolist() == ["ok"]
    assert lenient["coverage_cnv"].iloc[0] == pytest.approx(len(cnv[int(len(cnv) * 0.7) :]) / len(cnv))
    assert lenient["n_imputed"].iloc[0] == int(len(cnv) * 0.7)


@pytest.mark.parametrize("value", [1e6, 1e308, np.inf])
def test_absurd_or_infinite_values_are_errors_naming_patient_and_column(bundle, demo_dir, tmp_path, value) -> None:
    table = _table(demo_dir).drop(columns=OUTCOMES).iloc[[0, 1]]
    col = [c for c in table.columns if c.endswith("_cnv")][0]
    table[col] = table[col].astype(float)
    table.loc[table.index[1], col] = value
    try:
        cohort = read_cohort(_folder(tmp_path, demo_dir, table), for_prediction=True)
    except InputValidationError as exc:  # the reader may already refuse it (infinite cells)
        assert col in str(exc)
        return
    with pytest.raises(InputValidationError) as exc:
        bundle.predict(cohort)
    assert col in str(exc.value) and str(table["case_id"].iloc[1]) in str(exc.value)


def test_out_of_range_value_warned_per_feature(bundle, demo_dir, tmp_path) -> None:
    table = _table(demo_dir).drop(columns=OUTCOMES).iloc[[0]]
    col = [c for c in table.columns if c.endswith("_cnv")][0]
    table[col] = 9.0
    pred, notes = _predict(bundle, _folder(tmp_path, demo_dir, table))
    assert pred["status"].tolist() == ["ok"]
    assert any(n.startswith(f"{col}: value(s) far outside the training range") for n in notes)


def test_suffix_case_and_unknown_columns(bundle, demo_dir, tmp_path) -> None:
    table = _table(demo_dir).drop(columns=OUTCOMES).iloc[[0, 1]]
    ref, _ = _predict(bundle, _folder(tmp_path, demo_dir, table, "ref"))
    upper = table.rename(columns=lambda c: c[:-4] + c[-4:].upper() if c.lower().endswith(("_cnv", "_mut")) else c)
    upper["MADEUP_cnv"] = 1.0
    upper["batch_note"] = 3
    pred, notes = _predict(bundle, _folder(tmp_path, demo_dir, upper, "upper"))
    np.testing.assert_allclose(pred["risk"], ref["risk"], rtol=1e-6)
    unused = [n for n in notes if "not used by this model" in n]
    assert len(unused) == 1 and "MADEUP_cnv" in unused[0] and "batch_note" in unused[0]


def test_risk_scale_is_calibrated_on_out_of_fold_risks(bundle) -> None:
    from lifelines import CoxPHFitter

    oof = bundle.predictions[bundle.predictions["split"] == "oof"]
    x = oof["theta"] - oof["centre"]
    cph = CoxPHFitter().fit(pd.DataFrame({"x": x, "T": oof["time"], "E": oof["event"]}), "T", "E")
    assert bundle.calibration.slope == pytest.approx(max(float(cph.params_["x"]), 0.0), rel=1e-4)
    np.testing.assert_allclose(oof["risk"], bundle.calibration.slope * x, rtol=1e-6)
    # survival matches lifelines' own Breslow prediction for the same one-covariate model (at event
    # times: between them lifelines interpolates linearly, the Breslow estimate is a step function)
    event_times = cph.baseline_cumulative_hazard_.index.to_numpy()
    times = [float(event_times[k]) for k in (2, len(event_times) // 2, len(event_times) - 3)]
    ours = bundle.calibration.survival(x.to_numpy(), times)
    if cph.params_["x"] > 0:
        theirs = cph.predict_survival_function(pd.DataFrame({"x": x}), times=times).to_numpy().T
    else:  # slope clamped at 0: every patient gets the Nelson–Aalen (Breslow with no covariate) survival
        from lifelines import NelsonAalenFitter

        na = NelsonAalenFitter().fit(oof["time"], oof["event"])
        theirs = np.tile(np.exp(-na.cumulative_hazard_at_times(times).to_numpy()), (len(x), 1))
    np.testing.assert_allclose(ours, theirs, atol=1e-6)
    cal = bundle.metrics["calibration"]
    assert set(cal) >= {"table", "mean_abs_error", "calibration_in_the_large", "ibs", "ibs_null", "extreme_share"}
    assert "Calibration (out of fold" in bundle.card and "clinical covariates" in bundle.card


def test_evaluate_cli_json_equals_library_and_counts_duplicates_once(bundle_dir, tmp_path, capsys) -> None:
    from lifelines.utils import concordance_index as lifelines_c

    from pathgptomic.evaluation import evaluate_predictions

    pred = pd.read_csv(bundle_dir / "predictions.csv")
    out = tmp_path / "report.json"
    assert main(["evaluate", "--predictions", str(bundle_dir / "predictions.csv"), "--n-boot", "100", "--out", str(out)]) == 0
    cli = json.loads(out.read_text())
    lib = json.loads(json.dumps(evaluate_predictions(pred, n_boot=100), default=str))
    assert cli == lib
    oof = pred[pred["split"] == "oof"]
    assert cli["cindex_pooled"]["c"] == pytest.approx(lifelines_c(oof["time"], -oof["risk"], oof["event"]))
    per_fold = [lifelines_c(g["time"], -g["risk"], g["event"]) for _, g in oof.groupby("fold")]
    assert cli["cindex_per_fold"]["mean"] == pytest.approx(np.mean(per_fold))
    sizes = [g["n"] for g in cli["risk_groups"]["groups"]]
    assert sizes == [len(oof) // 2, len(oof) - len(oof) // 2]  # cut on the same risks it groups
    tripled = pd.concat([oof] * 3, ignore_index=True)
    again = evaluate_predictions(tripled, n_boot=100)
    assert again["collapsed_duplicates"] == 2 * len(oof) and again["n_patients"] == len(oof)
    assert again["cindex_pooled"]["ci"] == pytest.approx(lib["cindex_pooled"]["ci"])


def test_corrupt_bundles_give_bundle_errors(bundle_dir, tmp_path) -> None:
    def copy(name: str) -> Path:
        dest = tmp_path / name
        shutil.copytree(bundle_dir, dest)
        return dest

    b = copy("trunc")
    data = (b / "weights.safetensors").read_bytes()
    (b / "weights.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(BundleError, match="weights.safetensors"):
        load_bundle(b)
    b = copy("notc")
    cfg = json.loads((b / "config.json").read_text())
    del cfg["train_config"]
    (b / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(BundleError, match="train_config"):
        load_bundle(b)
    b = copy("dims")
    cfg = json.loads((b / "config.json").read_text())
    cfg["input_dims"]["cnv_mut"] = 10**12
    (b / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(BundleError, match="impossible input width"):
        load_bundle(b)
    b = copy("preds")
    (b / "predictions.csv").write_bytes(b"\x00\xff garbage")
    with pytest.raises(BundleError, match="predictions.csv"):
        load_bundle(b)
    b = copy("fold")
    (b / "folds" / "fold_1.safetensors").write_bytes(b"")
    with pytest.raises(BundleError, match="fold_1"):
        load_bundle(b)


def test_save_removes_stale_temporary_folders(bundle_dir, demo_dir, tmp_path) -> None:
    from pathgptomic.training.bundle_save import STALE_TEMP_SECONDS

    stale = tmp_path / ".b.abc123"
    fresh = tmp_path / ".b.def456"
    for p in (stale, fresh):
        p.mkdir()
        (p / "weights.safetensors").write_bytes(b"x")
    old = time.time() - STALE_TEMP_SECONDS - 60
    os.utime(stale, (old, old))
    cohort = read_cohort(demo_dir)
    cfg = TrainConfig(
        model=ModelConfig(fusion="genomic", snn_hidden=(8, 8, 8, 8), mlp_b_hidden=8, genomic_dim=4),
        features=FeatureSettings(use_images=False),
        epochs=1,
        batch_size=16,
        device="cpu",
    )
    res = cross_validate(cohort, cfg, n_folds=2, show_progress=False)
    save_bundle(res, tmp_path / "b", cohort=cohort)
    assert not stale.exists() and fresh.exists()
