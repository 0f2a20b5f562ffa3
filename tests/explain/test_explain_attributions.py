"""Integrated gradients: analytic values on toy models, completeness, grouping and tile scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from explain_toy_models import (
    AttentionToy,
    BasicModel2Toy,
    GenomicOnlyToy,
    LinearToy,
    ToyInputs,
    masked_mean,
    random_inputs,
)

from pathgptomic.errors import InputValidationError
from pathgptomic.explain.attributions import (
    block_summary,
    cohort_summary,
    feature_block,
    genomic_attribution_table,
    group_by_signature,
    integrated_gradients,
    load_gene_signatures,
    tile_attributions,
    top_genomic_features,
)

NAMES = {
    "cnv_mut": ["TP53_cnv", "EGFR_cnv", "IDH1_mut", "age"],
    "rna": ["EGFR_rnaseq", "PTEN_rnaseq", "MYC_rnaseq", "TP53_rnaseq", "ABL1_rnaseq"],
}


def test_linear_model_ig_is_exact() -> None:
    x = random_inputs()
    model = LinearToy(4, 5, 3)
    res = integrated_gradients(model, x, n_steps=20)
    w1, w2, w3 = (p.detach().numpy() for p in (model.w1, model.w2, model.w3))
    np.testing.assert_allclose(res["cnv_mut"], x.cnv_mut.numpy() * w1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res["rna"], x.rna.numpy() * w2, rtol=1e-5, atol=1e-6)
    n_valid = x.image_mask.sum(1, keepdim=True).unsqueeze(-1).numpy()
    np.testing.assert_allclose(res["image"], x.image.numpy() * w3 / n_valid, rtol=1e-5, atol=1e-6)
    assert np.all(res["image"][0, -2:] == 0)  # padded tiles get nothing
    np.testing.assert_allclose(res.delta, 0.0, atol=1e-5)
    np.testing.assert_allclose(res.baseline_theta, 0.3, atol=1e-6)


def test_linear_model_with_median_baselines() -> None:
    x = random_inputs()
    model = LinearToy(4, 5, 3)
    med = torch.linspace(-1, 1, 4)
    res = integrated_gradients(model, x, baselines={"cnv_mut": med}, n_steps=10)
    expected = (x.cnv_mut - med).numpy() * model.w1.detach().numpy()
    np.testing.assert_allclose(res["cnv_mut"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(res["rna"], x.rna.numpy() * model.w2.detach().numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(InputValidationError, match="broadcast"):
        integrated_gradients(model, x, baselines={"cnv_mut": torch.zeros(3)})
    with pytest.raises(InputValidationError, match="baselines"):
        integrated_gradients(model, x, baselines="training_median")


def test_basic_model2_paper_values() -> None:
    # Captum's test_multivariable_vanilla: f = ReLU(ReLU(x1) - 1 - ReLU(x2)) at (3, 1) -> (1.5, -0.5)
    x = (torch.tensor([[3.0, 1.0]]), torch.zeros(1, 0), torch.zeros(1, 1, 1), torch.ones(1, 1, dtype=torch.bool))
    res = integrated_gradients(BasicModel2Toy(), x, n_steps=500)
    np.testing.assert_allclose(res["cnv_mut"], [[1.5, -0.5]], atol=0.02)
    assert res["rna"] is None and res["image"] is None  # empty / unused inputs are not attributed
    assert abs(res.delta[0]) < 0.02


def test_completeness_on_nonlinear_attention_model() -> None:
    x = random_inputs(b=4, seed=1)
    model = AttentionToy(4, 5, 3).eval()
    res = integrated_gradients(model, x, n_steps=64, internal_batch_size=50)
    total = sum(a.reshape(a.shape[0], -1).sum(1) for a in res.as_dict().values())
    np.testing.assert_allclose(total, res.theta - res.baseline_theta, atol=2e-3)
    np.testing.assert_allclose(res.delta, total - (res.theta - res.baseline_theta), atol=1e-5)
    assert np.all(np.abs(res.delta) < 2e-3)
    np.testing.assert_allclose(res.relative_delta, np.abs(res.delta) / np.abs(res.theta - res.baseline_theta))
    with torch.no_grad():
        np.testing.assert_allclose(res.theta, model.forward_tensors(x.cnv_mut, x.rna, x.image, x.image_mask), rtol=1e-5)
    totals = res.totals()
    assert list(totals.columns) == ["cnv_mut_sum", "cnv_mut_abs", "rna_sum", "rna_abs", "image_sum", "image_abs"]


def test_unused_inputs_are_skipped_and_validation() -> None:
    x = random_inputs()
    res = integrated_gradients(GenomicOnlyToy(), x, n_steps=32)
    assert res["image"] is None and res["cnv_mut"] is not None
    with pytest.raises(InputValidationError, match="nothing to attribute"):
        integrated_gradients(GenomicOnlyToy(), x, attribute=("image",))
    with pytest.raises(InputValidationError, match="n_steps"):
        integrated_gradients(GenomicOnlyToy(), x, n_steps=0)
    with pytest.raises(InputValidationError, match="batch size"):
        integrated_gradients(GenomicOnlyToy(), (x.cnv_mut, x.rna[:2], x.image, x.image_mask))
    with pytest.raises(InputValidationError, match="tuple"):
        integrated_gradients(GenomicOnlyToy(), (x.cnv_mut, x.rna))


def test_feature_block_names() -> None:
    assert feature_block("TP53_cnv") == ("cnv", "TP53")
    assert feature_block("EGFR_rnaseq") == ("rna", "EGFR")
    assert feature_block("IDH1_mut") == ("mut", "IDH1")
    assert feature_block("scgpt_17") == ("scgpt", None)
    assert feature_block("mlpa_3") == ("mlpa", None)
    assert feature_block("age") == ("other", None)


def test_top_features_sign_magnitude_and_blocks() -> None:
    attr = {"cnv_mut": np.array([[0.5, -2.0, 0.1, 0.0]]), "rna": np.array([[1.0, -0.3, 3.0, 0.2, -0.05]])}
    top = top_genomic_features(attr, NAMES, k=3)
    assert list(top["feature"]) == ["MYC_rnaseq", "EGFR_cnv", "EGFR_rnaseq"]
    assert list(top["sign"]) == ["+", "−", "+"]
    assert list(top["block"]) == ["rna", "cnv", "rna"]
    assert list(top["rank"]) == [1, 2, 3]
    per = top_genomic_features(attr, NAMES, k=1, per_block=True)
    assert dict(zip(per["block"], per["feature"])) == {"rna": "MYC_rnaseq", "cnv": "EGFR_cnv", "mut": "IDH1_mut", "other": "age"}
    blocks = block_summary(genomic_attribution_table(attr, NAMES)).set_index("block")
    assert blocks.loc["rna", "sum_abs"] == pytest.approx(4.55)
    assert blocks.loc["cnv", "sum"] == pytest.approx(-1.5)
    assert blocks["share_abs"].sum() == pytest.approx(1.0)
    with pytest.raises(InputValidationError, match="feature_names"):
        top_genomic_features(attr, {"cnv_mut": NAMES["cnv_mut"][:2], "rna": NAMES["rna"]})


def test_group_by_signature_wide_layout(tmp_path) -> None:  # noqa: ANN001
    csv = tmp_path / "sigs.csv"
    csv.write_text("Oncogenes,Protein Kinases,Tumor Suppressor Genes\nEGFR,ABL1,TP53\nMYC,EGFR,PTEN\nABL1,,\n")
    sigs = load_gene_signatures(csv)
    assert len(sigs) == 7
    attr = {"cnv_mut": np.array([[0.5, -2.0, 0.1, 0.0]]), "rna": np.array([[1.0, -0.3, 3.0, 0.2, -0.05]])}
    table = genomic_attribution_table(attr, NAMES)
    out = group_by_signature(table, sigs).set_index("signature")
    # Oncogenes: EGFR_cnv -2.0, EGFR_rnaseq 1.0, MYC 3.0, ABL1 -0.05
    assert out.loc["Oncogenes", "sum"] == pytest.approx(1.95)
    assert out.loc["Oncogenes", "sum_abs"] == pytest.approx(6.05)
    assert out.loc["Oncogenes", "n_features"] == 4 and out.loc["Oncogenes", "n_genes"] == 3
    assert out.loc["Oncogenes", "top_features"] == "MYC_rnaseq, EGFR_cnv, EGFR_rnaseq"
    # Tumour suppressors: TP53_cnv 0.5, TP53_rnaseq 0.2, PTEN -0.3
    assert out.loc["Tumor Suppressor Genes", "sum"] == pytest.approx(0.4)
    assert out.index[0] == "Oncogenes"  # sorted by sum_abs
    with pytest.raises(InputValidationError, match="does not exist"):
        load_gene_signatures(tmp_path / "missing.csv")


def test_group_by_real_signature_file(shared_data_dir) -> None:  # noqa: ANN001
    sigs = load_gene_signatures(shared_data_dir / "tcga_gbmlgg" / "gene_signatures.csv")
    assert sigs["signature"].nunique() == 6
    table = pd.DataFrame({"gene": ["TP53", "EGFR"], "feature": ["TP53_cnv", "EGFR_rnaseq"], "attribution": [1.0, -1.0]})
    out = group_by_signature(table, sigs)
    assert out["n_features"].sum() >= 2


def test_cohort_summary_mean_abs() -> None:
    x = random_inputs(b=3)
    model = LinearToy(4, 5, 3)
    res = integrated_gradients(model, x, n_steps=8)
    summary = cohort_summary(res, NAMES).set_index("feature")
    expected = np.abs(x.cnv_mut.numpy() * model.w1.detach().numpy()).mean(0)
    np.testing.assert_allclose(summary.loc[NAMES["cnv_mut"], "mean_abs_attribution"], expected, rtol=1e-5)
    assert (summary["n_patients"] == 3).all()
    assert summary["mean_abs_attribution"].is_monotonic_decreasing


def test_tile_attributions_linear_exact_and_shape() -> None:
    x = random_inputs()
    model = LinearToy(4, 5, 3)
    tiles = tile_attributions(model, x, "P0", n_steps=8)
    assert len(tiles) == 4  # patient 0 has 6 slots, 2 padded
    expected = (x.image[0, :4].numpy() @ model.w3.detach().numpy()) / 4
    np.testing.assert_allclose(tiles["ig"], expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(tiles["x"], np.arange(4) * 224)
    assert tiles["attention"].isna().all()  # no MIL attention in this model
    assert abs(tiles.attrs["delta"]) < 1e-5


def test_tile_attributions_with_attention() -> None:
    x = random_inputs(seed=2)
    model = AttentionToy(4, 5, 3).eval()
    tiles = tile_attributions(model, x, 1, n_steps=64)
    assert list(tiles.columns) == ["tile", "x", "y", "ig", "ig_abs", "attention"]
    assert len(tiles) == 6
    assert tiles["attention"].sum() == pytest.approx(1.0, abs=1e-5)
    with torch.no_grad():
        full = model.forward_tensors(x.cnv_mut[1:2], x.rna[1:2], x.image[1:2], x.image_mask[1:2])
        no_img = model.forward_tensors(x.cnv_mut[1:2], x.rna[1:2], torch.zeros_like(x.image[1:2]), x.image_mask[1:2])
    assert tiles["ig"].sum() == pytest.approx(float(full - no_img), abs=2e-3)  # completeness over tiles
    with pytest.raises(InputValidationError, match="not an index"):
        tile_attributions(model, x, "nobody")
    empty = ToyInputs(x.cnv_mut, x.rna, x.image, torch.zeros_like(x.image_mask))
    with pytest.raises(InputValidationError, match="no tiles"):
        tile_attributions(model, empty, 0)


def test_masked_mean_helper_ignores_padding() -> None:
    x = random_inputs()
    m = masked_mean(x.image, x.image_mask)
    torch.testing.assert_close(m[0], x.image[0, :4].mean(0))
