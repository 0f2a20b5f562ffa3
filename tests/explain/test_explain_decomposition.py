"""Exact θ decomposition: shares, exactness check, kronecker NaN handling."""

from __future__ import annotations

import numpy as np
import pytest

from pathgptomic.errors import InputValidationError
from pathgptomic.explain.decomposition import cohort_modality_shares, modality_shares


def test_shares_hand_values() -> None:
    out = modality_shares([1.5, -0.2], [-0.5, 0.0], 0.0 + 1.0, theta=[2.0, 0.8], patient_ids=["a", "b"])
    row = out.iloc[0]
    assert row["patient_id"] == "a"
    assert row["genomic_share"] == pytest.approx(1.5 / 3.0)
    assert row["image_share"] == pytest.approx(0.5 / 3.0)
    assert row["bias_share"] == pytest.approx(1.0 / 3.0)
    assert row["image_signed"] == pytest.approx(-0.5 / 3.0)
    assert row["image_vs_genomic"] == pytest.approx(0.25)
    assert out.iloc[1]["image_share"] == 0.0


def test_shares_properties_random() -> None:
    rng = np.random.default_rng(0)
    g, p, b = rng.normal(size=50), rng.normal(size=50), 0.3
    out = modality_shares(g, p, b)
    np.testing.assert_allclose(out[["genomic_share", "image_share", "bias_share"]].sum(1), 1.0)
    np.testing.assert_allclose(out["theta"], g + p + b)
    signed = out[["genomic_signed", "image_signed", "bias_signed"]].sum(1)
    np.testing.assert_allclose(signed, (g + p + b) / (np.abs(g) + np.abs(p) + abs(b)))
    assert out["separable"].all()


def test_theta_must_equal_sum() -> None:
    with pytest.raises(InputValidationError, match="row 1"):
        modality_shares([1.0, 1.0], [0.5, 0.5], 0.1, theta=[1.6, 1.9])


def test_kronecker_nan_message_and_keep() -> None:
    nan = [np.nan, np.nan]
    with pytest.raises(InputValidationError, match="kronecker"):
        modality_shares(nan, nan, 0.1, theta=[0.3, -0.2])
    out = modality_shares(nan, nan, 0.1, theta=[0.3, -0.2], on_nan="keep")
    assert not out["separable"].any()
    assert out["genomic_share"].isna().all()
    np.testing.assert_allclose(out["theta"], [0.3, -0.2])
    assert cohort_modality_shares(out)["n"] == 0


def test_all_zero_terms_and_lengths() -> None:
    out = modality_shares(0.0, 0.0, 0.0)
    assert np.isnan(out.loc[0, "genomic_share"])
    with pytest.raises(InputValidationError, match="image_term"):
        modality_shares([1.0, 2.0], [1.0, 2.0, 3.0], 0.0)
    with pytest.raises(InputValidationError, match="on_nan"):
        modality_shares(1.0, 1.0, 0.0, on_nan="drop")


def test_cohort_summary_means() -> None:
    out = modality_shares([3.0, 1.0], [1.0, 1.0], 0.0)
    s = cohort_modality_shares(out)
    assert s["genomic"] == pytest.approx((0.75 + 0.5) / 2)
    assert s["image"] == pytest.approx((0.25 + 0.5) / 2)
    assert s["n"] == 2
