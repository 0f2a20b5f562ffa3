"""FeatureStandardizer: training-fold median imputation, z-scoring, JSON round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pathgptomic.data import FeatureStandardizer
from pathgptomic.errors import DataQualityWarning, InputValidationError


@pytest.fixture
def train() -> pd.DataFrame:
    return pd.DataFrame({"a": [1.0, 2.0, np.nan, 4.0, 10.0], "b": [0.0, 0.0, 0.0, 0.0, 0.0], "c": [5.0, np.nan, np.nan, 7.0, 6.0]})


def test_fit_statistics_and_imputation_counts(train):
    st = FeatureStandardizer().fit(train)
    np.testing.assert_allclose(st.median_, [3.0, 0.0, 6.0])
    filled_a = np.array([1.0, 2.0, 3.0, 4.0, 10.0])
    np.testing.assert_allclose(st.mean_[0], filled_a.mean())
    np.testing.assert_allclose(st.std_[0], filled_a.std())
    assert st.std_[1] == st.std_floor  # constant column: floored, stays finite
    z, report = st.transform_with_report(train)
    assert z.dtype == np.float32 and z.shape == (5, 3)
    assert report.count == 3
    assert report.per_column == {"a": 1, "c": 2}
    assert not hasattr(st, "last_imputed_count_")  # nothing per call is stored on the shared object
    np.testing.assert_allclose(z[:, 0], (filled_a - filled_a.mean()) / filled_a.std(), rtol=1e-6)
    assert np.all(z[:, 1] == 0.0) and np.isfinite(z).all()


def test_transform_realigns_and_reports_missing_columns(train):
    st = FeatureStandardizer().fit(train)
    new = pd.DataFrame({"c": [6.0, 8.0], "extra": [1.0, 2.0], "a": [3.0, np.nan]})
    with pytest.warns(DataQualityWarning, match=r"1 feature column\(s\) seen in training are absent.*: b"):
        z, report = st.transform_with_report(new)
    assert z.shape == (2, 3)
    assert report.missing_columns == ["b"] and report.extra_columns == ["extra"]
    assert report.count == 3  # a[1] plus both cells of b
    ref = st.transform(pd.DataFrame({"a": [3.0, 3.0], "b": [0.0, 0.0], "c": [6.0, 8.0]}))
    np.testing.assert_array_equal(z, ref)


def test_json_round_trip(train):
    st = FeatureStandardizer().fit(train)
    clone = FeatureStandardizer.from_dict(json.loads(json.dumps(st.to_dict())))
    new = pd.DataFrame({"a": [0.5, np.nan], "b": [1.0, 0.0], "c": [9.0, 6.5]})
    np.testing.assert_array_equal(st.transform(new), clone.transform(new))
    assert clone.columns_ == ["a", "b", "c"]


def test_all_missing_training_column_and_errors():
    st = FeatureStandardizer().fit(pd.DataFrame({"x": [np.nan, np.nan], "y": [1.0, 3.0]}))
    assert st.median_[0] == 0.0
    with pytest.raises(InputValidationError, match="not fitted"):
        FeatureStandardizer().transform(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(InputValidationError, match="inconsistent lengths"):
        FeatureStandardizer.from_dict({"columns": ["a"], "median": [1.0, 2.0], "mean": [0.0], "std": [1.0]})
