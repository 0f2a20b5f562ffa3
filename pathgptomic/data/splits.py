"""Cross-validation splits: stratified k-fold, PORPOISE split files, inner validation.

All functions return positional indices (sorted ``int`` arrays) into the cohort's patient
order, so ``cohort.subset(train_idx)`` gives the training fold.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from pathgptomic.data.validation import check_folder, check_required_columns, check_split_fold, read_csv_checked
from pathgptomic.errors import ConfigError, DataQualityWarning, InputValidationError
from pathgptomic.validators import check_event

logger = logging.getLogger(__name__)

Split = tuple[np.ndarray, np.ndarray]


def stratified_kfold(event: Sequence[int] | np.ndarray, n_folds: int = 15, seed: int = 0) -> list[Split]:
    """K folds stratified by event status (shuffled, seeded).

    Wraps :class:`sklearn.model_selection.StratifiedKFold` (``shuffle=True``,
    ``random_state=seed``): each test fold holds about ``n_events / n_folds`` events.

    Args:
        event: Event indicator per patient, shape ``(n,)``.
        n_folds: Number of folds (the paper's protocol: 15).
        seed: Shuffling seed.

    Returns:
        ``n_folds`` pairs ``(train_idx, test_idx)``; every patient is in exactly one test fold.

    Raises:
        ConfigError: ``n_folds < 2``, or more folds than patients or than events (some test
            folds would hold no event and their C-index would be undefined).
        InputValidationError: an event value other than 0/1 (:func:`pathgptomic.validators.check_event`).
    """
    from sklearn.model_selection import StratifiedKFold

    ev = check_event(event).astype(int)
    n, n_ev = len(ev), int(ev.sum())
    if n_folds < 2:
        raise ConfigError(f"n_folds must be at least 2 (got {n_folds}).")
    if n_folds > n:
        raise ConfigError(f"n_folds={n_folds} is more than the {n} patients. Fix: use at most {n} folds.")
    if n_folds > n_ev:
        raise ConfigError(
            f"n_folds={n_folds} is more than the {n_ev} observed events, so some test folds would hold no event. "
            f"Fix: use at most {max(n_ev, 2)} folds, or add patients."
        )
    n_cens = n - n_ev
    if 0 < n_cens < n_folds:
        warnings.warn(
            f"only {n_cens} censored patients for {n_folds} folds; some test folds hold no censored patient.",
            DataQualityWarning,
            stacklevel=2,
        )
    skf = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return [(np.sort(tr), np.sort(te)) for tr, te in skf.split(np.zeros(n), ev)]


def inner_validation_split(event: Sequence[int] | np.ndarray, fraction: float = 0.15, seed: int = 0) -> Split:
    """Carve a stratified validation set out of a training fold (for early stopping).

    The validation set has ``max(1, round(fraction * n))`` patients, stratified by event
    when both classes have at least 2 patients (plain random otherwise).

    Args:
        event: Event indicator of the training-fold patients, shape ``(n,)``.
        fraction: Share of patients held out, in ``(0, 1)``.
        seed: Random seed.

    Returns:
        ``(train_idx, val_idx)``, positions into ``event``.

    Raises:
        ConfigError: ``fraction`` outside ``(0, 1)`` or fewer than 2 patients.
        InputValidationError: an event value other than 0/1 (:func:`pathgptomic.validators.check_event`).
    """
    from sklearn.model_selection import train_test_split

    ev = check_event(event).astype(int)
    n = len(ev)
    if not 0.0 < float(fraction) < 1.0:
        raise ConfigError(f"validation fraction must be in (0, 1) (got {fraction}).")
    if n < 2:
        raise ConfigError(f"cannot carve a validation set from {n} patient(s); need at least 2.")
    n_val = min(max(1, int(round(fraction * n))), n - 1)
    counts = np.bincount(ev, minlength=2)
    stratify = ev if counts.min() >= 2 and n_val >= 2 and n - n_val >= 2 else None
    tr, va = train_test_split(np.arange(n), test_size=n_val, stratify=stratify, random_state=seed)
    return np.sort(tr), np.sort(va)


def _split_number(path: Path) -> int:
    m = re.search(r"(\d+)", path.name)
    return int(m.group(1)) if m else -1


def read_split_files(split_dir: str | os.PathLike, ids: Sequence[str] | np.ndarray) -> list[Split]:
    """Read PORPOISE-layout split files ``splits_K.csv`` (columns ``train``, ``val``).

    Columns hold case ids; the ``val`` column is usually shorter (padded with empty cells).
    The ``val`` patients are the evaluation fold. Ids absent from the cohort are ignored
    with one :class:`~pathgptomic.errors.DataQualityWarning` giving their number.

    Args:
        split_dir: Folder with ``splits_0.csv``, ``splits_1.csv``, ... (read in numeric order).
        ids: The cohort's patient ids, shape ``(n,)``.

    Returns:
        One ``(train_idx, test_idx)`` pair per file, positions into ``ids``.

    Raises:
        InputValidationError: Folder missing or without split files, a file without
            ``train``/``val`` columns, an id in both columns of a file, or a fold whose
            train or test set matches no cohort patient.
    """
    folder = check_folder(split_dir, what="split folder", fix="give the folder holding splits_K.csv files")
    files = sorted(folder.glob("splits_*.csv"), key=_split_number)
    if not files:
        raise InputValidationError(f"{folder}: no splits_K.csv files found. Fix: name split files splits_0.csv, splits_1.csv, ...")
    position = {str(pid): i for i, pid in enumerate(np.asarray(ids).astype(str))}
    unknown: set[str] = set()
    out: list[Split] = []
    for f in files:
        df = read_csv_checked(f, id_columns=("train", "val"), what="split file")
        check_required_columns(df, ["train", "val"], file=str(f), layout="PORPOISE split")
        tr = [s.strip() for s in df["train"].dropna().astype(str) if s.strip()]
        va = [s.strip() for s in df["val"].dropna().astype(str) if s.strip()]
        check_split_fold(tr, va, position, file=str(f))
        unknown.update(x for x in tr + va if x not in position)
        tr_idx = np.array(sorted({position[x] for x in tr if x in position}), dtype=int)
        va_idx = np.array(sorted({position[x] for x in va if x in position}), dtype=int)
        out.append((tr_idx, va_idx))
    if unknown:
        warnings.warn(
            f"{folder}: {len(unknown)} id(s) in the split files are not in the cohort (e.g. {sorted(unknown)[0]!r}); they are ignored.",
            DataQualityWarning,
            stacklevel=2,
        )
    return out
