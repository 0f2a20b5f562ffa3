"""Cross-validation splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pathgptomic.data import inner_validation_split, read_split_files, read_tcga, stratified_kfold
from pathgptomic.errors import ConfigError, DataQualityWarning, InputValidationError


def test_stratified_kfold_partitions_and_stratifies():
    rng = np.random.default_rng(0)
    event = (rng.random(150) < 0.4).astype(int)
    folds = stratified_kfold(event, n_folds=15, seed=1)
    assert len(folds) == 15
    tests = np.concatenate([te for _, te in folds])
    np.testing.assert_array_equal(np.sort(tests), np.arange(150))
    for tr, te in folds:
        assert len(np.intersect1d(tr, te)) == 0 and len(tr) + len(te) == 150
        assert abs(event[te].sum() - event.sum() / 15) <= 1
    again = stratified_kfold(event, n_folds=15, seed=1)
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(folds, again))
    other = stratified_kfold(event, n_folds=15, seed=2)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(folds, other))


def test_stratified_kfold_too_many_folds():
    event = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0])
    with pytest.raises(ConfigError, match=r"n_folds=5 is more than the 3 observed events"):
        stratified_kfold(event, n_folds=5)
    with pytest.raises(ConfigError, match=r"n_folds=11 is more than the 10 patients"):
        stratified_kfold(np.ones(10, dtype=int), n_folds=11)


def test_inner_validation_split():
    event = np.array([1] * 30 + [0] * 70)
    tr, va = inner_validation_split(event, fraction=0.15, seed=0)
    assert len(va) == 15 and len(tr) == 85 and len(np.intersect1d(tr, va)) == 0
    assert event[va].sum() in (4, 5)  # stratified: about 30 % events
    tr2, va2 = inner_validation_split(event, fraction=0.15, seed=0)
    np.testing.assert_array_equal(va, va2)
    with pytest.raises(ConfigError, match=r"fraction must be in \(0, 1\)"):
        inner_validation_split(event, fraction=1.5)


def test_read_split_files_synthetic(tmp_path):
    ids = np.array([f"C{i}" for i in range(10)])
    pd.DataFrame({"train": ["C0", "C1", "C2", "C3", "C4", "C5", "X9"], "val": ["C6", "C7", "C8", None, None, None, None]}).to_csv(
        tmp_path / "splits_0.csv"
    )
    pd.DataFrame({"train": ["C6", "C7", "C8", "C9"], "val": ["C0", "C1", None, None]}).to_csv(tmp_path / "splits_1.csv")
    with pytest.warns(DataQualityWarning, match=r"1 id\(s\) in the split files are not in the cohort"):
        folds = read_split_files(tmp_path, ids)
    np.testing.assert_array_equal(folds[0][0], [0, 1, 2, 3, 4, 5])
    np.testing.assert_array_equal(folds[0][1], [6, 7, 8])
    np.testing.assert_array_equal(folds[1][1], [0, 1])


def test_read_split_files_overlap_is_error(tmp_path):
    pd.DataFrame({"train": ["C0", "C1"], "val": ["C1", None]}).to_csv(tmp_path / "splits_0.csv")
    with pytest.raises(InputValidationError, match=r"splits_0\.csv: 1 id\(s\) are in both the train and val columns \(e\.g\. 'C1'\)"):
        read_split_files(tmp_path, ["C0", "C1"])


def test_read_split_files_real(tcga_csv, tcga_splits_dir):
    cohort = read_tcga(tcga_csv, blocks=("mut",), clinical=())
    folds = read_split_files(tcga_splits_dir, cohort.ids)
    assert len(folds) == 5
    for tr, te in folds:
        assert len(np.intersect1d(tr, te)) == 0
        assert len(tr) + len(te) == cohort.n  # every patient used in every split
        assert cohort.event[te].sum() > 0
    all_test = np.concatenate([te for _, te in folds])
    assert len(np.unique(all_test)) == cohort.n  # the val columns partition the cohort


def test_read_split_files_foreign_cohort(tmp_path):
    pd.DataFrame({"train": ["A1", "A2"], "val": ["A3", None]}).to_csv(tmp_path / "splits_0.csv")
    with pytest.raises(InputValidationError, match=r"splits_0\.csv: the train column matches no patient of the cohort"):
        read_split_files(tmp_path, ["C0", "C1"])
    with pytest.raises(InputValidationError, match=r"split folder .*nowhere does not exist"):
        read_split_files(tmp_path / "nowhere", ["C0"])
