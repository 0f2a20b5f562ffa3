"""The one place where per-patient survival arrays are checked: follow-up times, event indicators,
risk scores and group labels.

Every layer that takes such arrays (the cohort readers, cross-validation splits, the Cox loss and
the balance scores, the evaluation metrics, the plots) calls these functions, so one rule has one
wording. Each check raises :class:`~pathgptomic.errors.InputValidationError` whose message names
the argument (or, given ``locate``, the file, row, patient and column) and the first offending
value, and says what to fix. The module is a leaf: it imports only numpy and
:mod:`pathgptomic.errors`. Torch tensors are accepted without importing torch (they are detached
and copied to the CPU for the checks).

Conventions (docs/ARCHITECTURE.md, "Conventions"): ``event = 1`` means death observed, ``0``
censored; follow-up times are finite. Whether a time of 0 (or below) is allowed differs between
callers and is their ``lower`` argument of :func:`check_time`: ``"positive"`` for the cohort
readers (a patient followed for no time at all is a data error), ``"nonnegative"`` for the
evaluation and the plots (lifelines and scikit-survival accept time 0), ``"any"`` for the Cox loss
and the balance scores (only the order of the times matters).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np

from pathgptomic.errors import ConfigError, InputValidationError

__all__ = [
    "MAX_FOLLOW_UP",
    "RISK_GROUP_ORDER",
    "TimeBound",
    "as_numeric",
    "as_vector",
    "check_event",
    "check_groups",
    "check_risk",
    "check_same_length",
    "check_survival",
    "check_time",
    "group_order",
    "vector_length",
]

#: Lower bound of a follow-up time: none (finite only), ``>= 0`` or ``> 0``.
TimeBound = Literal["any", "nonnegative", "positive"]

#: Names a position in a caller's own terms (e.g. ``"c.csv: row 4 (patient P03), column 'time'"``).
Locate = Callable[[int], str]

#: Longest plausible follow-up (100 years) per time unit; a longer time is a data-entry or unit error.
MAX_FOLLOW_UP: dict[str, float] = {"days": 36525.0, "weeks": 5218.0, "months": 1200.0, "years": 100.0}

#: Clinical order of the risk-group labels made by ``evaluation.assign_risk_groups``.
RISK_GROUP_ORDER: tuple[str, ...] = ("low", "intermediate", "high")

_TIME_RULES: dict[str, str] = {
    "any": "be finite (not NaN or infinite)",
    "nonnegative": "be finite and >= 0",
    "positive": "be finite and > 0",
}


def vector_length(shape: Sequence[int], name: str) -> int:
    """Number of patients of an array of shape ``(n,)`` or ``(n, 1)``.

    Takes a shape rather than an array, so numpy arrays and torch tensors (also while traced)
    are checked alike.

    Args:
        shape: The array's shape.
        name: Argument name, for the message.

    Returns:
        ``n``.

    Raises:
        InputValidationError: Any other shape.
    """
    dims = tuple(int(s) for s in shape)
    if len(dims) == 1 or (len(dims) == 2 and dims[1] == 1):
        return dims[0]
    raise InputValidationError(f"argument '{name}' must have shape (n,) or (n, 1), got shape {dims}; pass one value per patient.")


def check_same_length(name: str, shape: Sequence[int], reference: str, reference_shape: Sequence[int]) -> None:
    """Fail unless two per-patient arrays have the same number of patients (first dimension).

    Args:
        name: The array being checked.
        shape: Its shape.
        reference: The array it must match (e.g. ``"time"`` or ``"theta"``).
        reference_shape: That array's shape.

    Raises:
        InputValidationError: Names both arrays, their lengths and shapes.
    """
    if int(shape[0]) != int(reference_shape[0]):
        raise InputValidationError(
            f"dimension mismatch: argument '{name}' has {int(shape[0])} subjects (shape {tuple(int(s) for s in shape)}) "
            f"but '{reference}' has {int(reference_shape[0])} (shape {tuple(int(s) for s in reference_shape)}); "
            "pass one value per patient, in the same order."
        )


def as_vector(values: Any, name: str) -> np.ndarray:
    """``values`` (array, list, pandas Series, torch tensor) as a 1-D numpy array.

    Args:
        values: Shape ``(n,)`` or ``(n, 1)``.
        name: Argument name, for the message.

    Returns:
        Array of shape ``(n,)`` (a view when possible), dtype as given.

    Raises:
        InputValidationError: Any other shape.
    """
    if hasattr(values, "detach"):  # torch tensor, without importing torch
        values = values.detach().cpu()
        if str(values.dtype) in ("torch.bfloat16", "torch.float16"):
            values = values.float()
        values = values.numpy()
    arr = np.asarray(values)
    vector_length(arr.shape, name)
    return arr.reshape(-1)


def as_numeric(values: Any, name: str) -> np.ndarray:
    """:func:`as_vector` as float64 (NaN and ±inf kept), refusing booleans, complex numbers and text that is not a number.

    Args:
        values: Shape ``(n,)`` or ``(n, 1)``.
        name: Argument name, for the message.

    Returns:
        Float64 array of shape ``(n,)``.

    Raises:
        InputValidationError: Wrong shape or dtype.
    """
    arr = as_vector(values, name)
    if arr.dtype.kind in "bc":
        raise InputValidationError(f"argument '{name}' must be numeric, got dtype {arr.dtype}; pass real numbers.")
    try:
        return arr.astype(float)
    except (TypeError, ValueError):
        raise InputValidationError(f"argument '{name}' must be numeric, got dtype {arr.dtype}; pass real numbers.") from None


def _more(bad: np.ndarray, what: str) -> str:
    n_more = int(bad.sum()) - 1
    return f" ({n_more} more {what})" if n_more > 0 else ""


def _check_nonempty(arr: np.ndarray, name: str, what: str) -> None:
    if arr.size == 0:
        raise InputValidationError(f"argument '{name}' is empty: pass {what}.")


def check_time(
    time: Any,
    *,
    name: str = "time",
    lower: TimeBound = "nonnegative",
    unit: str | None = None,
    allow_empty: bool = True,
    locate: Locate | None = None,
    fix: str | None = None,
) -> np.ndarray:
    """Follow-up times, refused unless finite and above ``lower`` (and plausible for ``unit``).

    Args:
        time: Follow-up time per patient, shape ``(n,)`` or ``(n, 1)``, numeric.
        name: Argument (or column) name, for the message.
        lower: ``"any"`` (finite only), ``"nonnegative"`` (``>= 0``) or ``"positive"`` (``> 0``).
        unit: Unit of the times; when given, a time over :data:`MAX_FOLLOW_UP` of that unit
            (100 years) is refused too (an unknown unit has no upper bound).
        allow_empty: Whether zero patients are accepted.
        locate: Names position ``i`` in the caller's terms (file, row, patient, column); the
            message then reads ``"<locate(i)>: follow-up time is ...``.
        fix: What the user should do (a default names the rule).

    Returns:
        The times as float64, shape ``(n,)``.

    Raises:
        InputValidationError: Wrong shape or dtype, empty when not allowed, or a bad value
            (the message names the first one, its position and how many more there are).
        ConfigError: Unknown ``lower``.

    Examples:
        >>> check_time([0.0, 2.5]).tolist()
        [0.0, 2.5]
    """
    if lower not in _TIME_RULES:
        raise ConfigError(f"argument 'lower' must be one of {list(_TIME_RULES)}, got {lower!r}.")
    t = as_numeric(time, name)
    if not allow_empty:
        _check_nonempty(t, name, "at least one patient's follow-up time")
    limit = MAX_FOLLOW_UP.get(unit.lower(), np.inf) if unit else np.inf
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(t) | (t > limit)
        if lower == "nonnegative":
            bad |= t < 0
        elif lower == "positive":
            bad |= t <= 0
    if not bad.any():
        return t
    i = int(np.flatnonzero(bad)[0])
    value = t[i]
    if np.isnan(value):
        what = "is missing (NaN)"
    elif np.isinf(value):
        what = "is infinite"
    elif value > limit:
        span = "" if str(unit).lower() == "years" else " (100 years)"
        what = f"is {value:g} {unit}, over the plausible maximum of {limit:g} {unit}{span}"
    else:
        what = f"is {value:g} (must be {'> 0' if lower == 'positive' else '>= 0'})"
    more = _more(bad, "bad time(s)")
    rule = _TIME_RULES[lower]
    if locate is not None:
        raise InputValidationError(f"{locate(i)}: follow-up time {what}{more}. Fix: {fix or f'every follow-up time must {rule}.'}")
    raise InputValidationError(
        f"argument '{name}' (shape {t.shape}) must {rule}; index {i} {what}{more}. "
        f"Fix: {fix or 'drop or correct that patient (a follow-up time is a finite number).'}"
    )


def check_event(
    event: Any,
    *,
    name: str = "event",
    locate: Locate | None = None,
    meaning: str = "0 (censored) or 1 (event: death observed)",
) -> np.ndarray:
    """Event indicators: 0/1 numbers (or their text) or booleans, nothing else (no missing value).

    Also checks TCGA's ``censorship`` column, whose 1 means censored: ``meaning`` says so in the
    message and the caller reads the result as "value is 1".

    Args:
        event: Indicator per patient, shape ``(n,)`` or ``(n, 1)``.
        name: Argument (or column) name, for the message.
        locate: Names position ``i`` in the caller's terms (file, row, patient, column).
        meaning: What 0 and 1 mean, for the fix.

    Returns:
        ``True`` where the value is 1, shape ``(n,)``, dtype bool.

    Raises:
        InputValidationError: Wrong shape or dtype, or a value other than 0/1 (the message names
            the first one, its position and how many more there are).

    Examples:
        >>> check_event([1, 0.0, True]).tolist()
        [True, False, True]
    """
    arr = as_vector(event, name)
    if arr.dtype == bool:
        return arr.copy()
    if arr.dtype.kind == "c":
        raise InputValidationError(f"argument '{name}' must be 0/1 or boolean, got dtype {arr.dtype}.")
    try:
        v = arr.astype(float)
    except (TypeError, ValueError):
        raise InputValidationError(f"argument '{name}' must be 0/1 or boolean, got dtype {arr.dtype}.") from None
    bad = ~np.isin(v, (0.0, 1.0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        shown = "empty" if np.isnan(v[i]) else f"{v[i]:g}"
        more = _more(bad, "invalid value(s)")
        if locate is not None:
            raise InputValidationError(f"{locate(i)}: value {shown} is not 0 or 1{more}. Fix: use {meaning}.")
        raise InputValidationError(
            f"argument '{name}' (shape {v.shape}) must hold only 0 (censored) or 1 (event); index {i} holds {shown}{more}. "
            f"Fix: use {meaning}."
        )
    return v == 1.0


def check_risk(risk: Any, *, name: str = "risk", allow_empty: bool = True) -> np.ndarray:
    """Risk scores (or any other per-patient number): numeric and finite.

    Args:
        risk: Score per patient, shape ``(n,)`` or ``(n, 1)``.
        name: Argument name, for the message.
        allow_empty: Whether zero patients are accepted.

    Returns:
        The scores as float64, shape ``(n,)``.

    Raises:
        InputValidationError: Wrong shape or dtype, empty when not allowed, or NaN/±inf
            (the message names the first index and how many more there are).
    """
    r = as_numeric(risk, name)
    if not allow_empty:
        _check_nonempty(r, name, "at least one risk score")
    bad = ~np.isfinite(r)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputValidationError(
            f"argument '{name}' (shape {r.shape}) contains NaN or infinite values at index {i} ({r[i]:g}){_more(bad, 'such value(s)')}. "
            "Fix: give every patient a finite score (score the patients again, or drop those without one)."
        )
    return r


def check_groups(groups: Any, *, name: str = "groups") -> np.ndarray:
    """Group labels, one per patient, as strings.

    Args:
        groups: Label per patient, shape ``(n,)`` or ``(n, 1)`` (any values; compared as ``str``).
        name: Argument name, for the message.

    Returns:
        Object array of ``str``, shape ``(n,)``.

    Raises:
        InputValidationError: ``groups`` is None or of the wrong shape.
    """
    if groups is None:
        raise InputValidationError(f"argument '{name}' is required: pass one group label per patient.")
    labels = as_vector(np.asarray(groups, dtype=object), name)
    return np.asarray([str(g) for g in labels], dtype=object)


def group_order(groups: Any) -> list[str]:
    """Distinct group labels: the risk groups in clinical order (:data:`RISK_GROUP_ORDER`), then the others sorted.

    Examples:
        >>> group_order(["high", "b", "low", "a"])
        ['low', 'high', 'a', 'b']
    """
    labels = {str(g) for g in np.asarray(groups, dtype=object).ravel()}
    known = [g for g in RISK_GROUP_ORDER if g in labels]
    return known + sorted(labels.difference(known))


def check_survival(
    time: Any, event: Any, *, lower: TimeBound = "nonnegative", allow_empty: bool = True, **others: Any
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Checks survival outcomes and other per-patient arrays of the same patients together.

    Args:
        time: Follow-up times, shape ``(n,)`` (:func:`check_time` with ``lower``).
        event: Event indicators, shape ``(n,)``, 0/1 or boolean (:func:`check_event`).
        lower: Lower bound of the times (see :func:`check_time`).
        allow_empty: Whether zero patients are accepted.
        **others: Further per-patient arrays, shape ``(n,)`` each: ``groups`` is checked by
            :func:`check_groups`, any other name (e.g. ``risk``) by :func:`check_risk`.

    Returns:
        ``(time float64, event bool, {name: array})``.

    Raises:
        InputValidationError: From the checks above, or arrays of different lengths.

    Examples:
        >>> t, e, other = check_survival([1.0, 2.0], [1, 0], risk=[0.3, -0.1])
        >>> e.tolist(), other["risk"].tolist()
        ([True, False], [0.3, -0.1])
    """
    t = check_time(time, lower=lower, allow_empty=allow_empty)
    e = check_event(event)
    check_same_length("event", e.shape, "time", t.shape)
    out: dict[str, np.ndarray] = {}
    for name, value in others.items():
        arr = check_groups(value, name=name) if name == "groups" else check_risk(value, name=name)
        check_same_length(name, arr.shape, "time", t.shape)
        out[name] = arr
    return t, e, out
