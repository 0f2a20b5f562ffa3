"""Integrated-gradients attributions of the risk θ to the model inputs (Captum).

Integrated gradients (Sundararajan et al., 2017) of input ``x`` against a baseline ``x'``:

.. math::

    \\mathrm{IG}_j(x) = (x_j - x'_j) \\int_0^1
        \\frac{\\partial f(x' + \\alpha (x - x'))}{\\partial x_j} \\, d\\alpha,

approximated with ``n_steps`` Gauss–Legendre points. Completeness,
:math:`\\sum_j \\mathrm{IG}_j(x) = f(x) - f(x')`, holds up to the quadrature error,
reported per patient as the convergence ``delta`` (sum of attributions minus
``f(x) − f(x')``). For a linear ``f(x) = w·x + c`` the attribution is exactly
``(x − x')·w``.

The attributed function is ``model.forward_tensors(cnv_mut, rna, image, image_mask) ->
θ (B,)`` (:class:`pathgptomic.nn.fusion.PathGPTomic` or any module with that
method). Inputs are attributed as a tuple, Captum's way: tuple in, tuple out.

Thread safety: attribution runs forward and backward passes through the shared model
(and Captum's layer/neuron methods register hooks on it). A model object cached for
several Streamlit sessions (``st.cache_resource``) must therefore be used by one
attribution at a time: the dashboard must hold a ``threading.Lock`` (one per cached
model) around every call of this module.

Captum is imported inside the functions (``captum.attr`` imports matplotlib eagerly).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
import torch

from pathgptomic.errors import InputValidationError

logger = logging.getLogger(__name__)

#: Model inputs in ``forward_tensors`` order; the first three can be attributed.
TENSOR_NAMES: tuple[str, ...] = ("cnv_mut", "rna", "image", "image_mask")
ATTRIBUTABLE: tuple[str, ...] = ("cnv_mut", "rna", "image")
GENOMIC_INPUTS: tuple[str, ...] = ("cnv_mut", "rna")


@dataclass(frozen=True)
class IGResult:
    """Integrated-gradients result for a batch of ``B`` patients.

    Attributes:
        attributions: Aligned with ``("cnv_mut", "rna", "image")``: arrays of the
            inputs' shapes (``(B, p1)``, ``(B, p2)``, ``(B, N, D)``), or None for an input
            that was not attributed (absent, empty or unused by the model).
        delta: Convergence delta per patient, shape ``(B,)``:
            ``sum(attributions) − (θ(x) − θ(x'))``.
        theta: θ at the inputs, shape ``(B,)``.
        baseline_theta: θ at the baselines, shape ``(B,)``.
        n_steps: Number of integration steps.
        method: Captum's integration rule.
    """

    attributions: tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]
    delta: np.ndarray
    theta: np.ndarray
    baseline_theta: np.ndarray
    n_steps: int
    method: str = "gausslegendre"
    extras: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> np.ndarray | None:
        """Attribution array of one input by name (``"cnv_mut"``, ``"rna"``, ``"image"``)."""
        if name not in ATTRIBUTABLE:
            raise KeyError(f"{name!r} is not one of {ATTRIBUTABLE}")
        return self.attributions[ATTRIBUTABLE.index(name)]

    @property
    def relative_delta(self) -> np.ndarray:
        """``|delta| / |θ(x) − θ(x')|`` per patient, shape ``(B,)`` (NaN when θ(x) = θ(x')).

        A few per cent or less means the attributions add up to the explained change.
        """
        diff = np.abs(self.theta - self.baseline_theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(diff > 0, np.abs(self.delta) / diff, np.nan)

    def as_dict(self) -> dict[str, np.ndarray]:
        """``{input name: attribution}`` for the attributed inputs only."""
        return {n: a for n, a in zip(ATTRIBUTABLE, self.attributions) if a is not None}

    def totals(self) -> pd.DataFrame:
        """Per patient and input: sum of attributions and sum of their absolute values.

        Returns:
            DataFrame of shape ``(B, 2·k)``: ``<input>_sum``, ``<input>_abs`` per
            attributed input.
        """
        cols: dict[str, np.ndarray] = {}
        for n, a in self.as_dict().items():
            flat = a.reshape(a.shape[0], -1)
            cols[f"{n}_sum"] = flat.sum(axis=1)
            cols[f"{n}_abs"] = np.abs(flat).sum(axis=1)
        return pd.DataFrame(cols)


def _to_tensor(name: str, value: Any) -> torch.Tensor | None:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        return value.detach()
    try:
        return torch.as_tensor(np.asarray(value))
    except (TypeError, ValueError) as err:
        raise InputValidationError(f"Model input {name!r} cannot be converted to a tensor: {err}") from err


def unpack_inputs(inputs: Any) -> dict[str, torch.Tensor | None]:
    """The four model tensors from a ``ModelInputs``, a mapping or a 4-tuple.

    Args:
        inputs: ``ModelInputs`` (attributes ``cnv_mut, rna, image, image_mask``), a mapping
            with those keys, or a tuple/list in ``forward_tensors`` order.

    Returns:
        ``{name: tensor or None}`` for the four names.

    Raises:
        InputValidationError: When the inputs have another form or batch sizes differ.
    """
    if isinstance(inputs, (tuple, list)):
        if len(inputs) != len(TENSOR_NAMES):
            raise InputValidationError(f"inputs tuple must hold {len(TENSOR_NAMES)} tensors {TENSOR_NAMES}, got {len(inputs)}.")
        raw = dict(zip(TENSOR_NAMES, inputs))
    elif isinstance(inputs, Mapping):
        raw = {n: inputs.get(n) for n in TENSOR_NAMES}
    elif all(hasattr(inputs, n) for n in TENSOR_NAMES):
        raw = {n: getattr(inputs, n) for n in TENSOR_NAMES}
    else:
        raise InputValidationError(f"inputs must be ModelInputs, a mapping or a tuple of {TENSOR_NAMES}; got {type(inputs).__name__}.")
    out = {n: _to_tensor(n, v) for n, v in raw.items()}
    sizes = {n: int(t.shape[0]) for n, t in out.items() if t is not None and t.dim() > 0}
    if len(set(sizes.values())) > 1:
        raise InputValidationError(f"Model inputs disagree on the batch size: {sizes}.")
    return out


def _baseline_for(name: str, x: torch.Tensor, baselines: Any) -> torch.Tensor:
    if isinstance(baselines, str):
        if baselines != "zeros":
            raise InputValidationError(f"baselines must be 'zeros' or tensors per input (e.g. training medians), not {baselines!r}.")
        return torch.zeros_like(x)
    value = baselines.get(name) if isinstance(baselines, Mapping) else None
    if value is None:
        return torch.zeros_like(x)
    b = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    try:
        return torch.broadcast_to(b, x.shape).clone()
    except RuntimeError as err:
        raise InputValidationError(
            f"Baseline of {name!r} has shape {tuple(b.shape)}, which does not broadcast to the input's "
            f"shape {tuple(x.shape)}; pass shape {tuple(x.shape[1:])} (e.g. training medians)."
        ) from err


def _used_inputs(model: Any, tensors: dict[str, torch.Tensor | None], candidates: Sequence[str]) -> list[str]:
    """Inputs among ``candidates`` whose gradient reaches θ (one probe forward/backward)."""
    probe = {n: (t.clone().float().requires_grad_(True) if n in candidates else t) for n, t in tensors.items()}
    with torch.enable_grad():
        theta = model.forward_tensors(*(probe[n] for n in TENSOR_NAMES))
        if not theta.requires_grad:
            return []
        grads = torch.autograd.grad(theta.sum(), [probe[n] for n in candidates], allow_unused=True)
    return [n for n, g in zip(candidates, grads) if g is not None]


def integrated_gradients(
    model: Any,
    inputs: Any,
    *,
    baselines: str | Mapping[str, Any] = "zeros",
    n_steps: int = 50,
    method: str = "gausslegendre",
    internal_batch_size: int | None = None,
    attribute: Sequence[str] = ATTRIBUTABLE,
) -> IGResult:
    """Integrated gradients of θ with respect to the genomic and image inputs.

    Calls ``captum.attr.IntegratedGradients(forward).attribute(inputs_tuple,
    baselines=baselines_tuple, additional_forward_args=rest, n_steps=n_steps,
    internal_batch_size=internal_batch_size, return_convergence_delta=True)`` where
    ``inputs_tuple`` holds the attributed inputs (tuple in, tuple out) and ``rest`` the
    others (``image_mask`` always). Inputs that are empty, or that θ does not depend on
    (e.g. the image of a genomic-only model), are not attributed (None in the result).
    The model's train/eval mode is left as it is (use eval mode: dropout would make the
    path integral noisy).

    Args:
        model: Module with ``forward_tensors(cnv_mut, rna, image, image_mask) -> θ (B,)``.
        inputs: ``ModelInputs``, mapping or 4-tuple (see :func:`unpack_inputs`).
        baselines: ``"zeros"`` or a mapping ``{input name: tensor}`` broadcastable to
            the input (e.g. the training medians, shape ``(p1,)``); missing names use
            zeros. Standardised features have a zero training mean, so ``"zeros"``
            means "an average patient".
        n_steps: Number of integration steps (>= 1).
        method: Captum's integration rule (``"gausslegendre"``, ``"riemann_trapezoid"``, ...).
        internal_batch_size: Forward passes per chunk (bounds memory: ``B·n_steps``
            rows otherwise).
        attribute: Which of ``("cnv_mut", "rna", "image")`` to attribute.

    Returns:
        The :class:`IGResult`.

    Raises:
        InputValidationError: On malformed inputs/baselines, ``n_steps < 1`` or nothing
            to attribute.
    """
    if int(n_steps) < 1:
        raise InputValidationError(f"n_steps must be a positive integer, not {n_steps}.")
    unknown = [a for a in attribute if a not in ATTRIBUTABLE]
    if unknown:
        raise InputValidationError(f"attribute names {unknown} are not among {ATTRIBUTABLE}.")
    from captum.attr import IntegratedGradients  # lazy: heavy, imports matplotlib

    if getattr(model, "training", False):
        logger.warning("integrated_gradients on a model in training mode: dropout makes the path integral noisy; call model.eval() first")
    tensors = unpack_inputs(inputs)
    for n in ATTRIBUTABLE:
        t = tensors[n]
        if t is not None and not torch.is_floating_point(t):
            tensors[n] = t.float()
    candidates = [n for n in attribute if tensors[n] is not None and tensors[n].numel() > 0]
    names = _used_inputs(model, tensors, candidates) if candidates else []
    if not names:
        raise InputValidationError(f"None of the inputs {list(attribute)} is non-empty and used by the model; nothing to attribute.")
    skipped = sorted(set(candidates) - set(names))
    if skipped:
        logger.info("inputs %s do not reach θ and are not attributed", skipped)
    others = [n for n in TENSOR_NAMES if n not in names]
    xs = tuple(tensors[n] for n in names)
    bs = tuple(_baseline_for(n, tensors[n], baselines) for n in names)
    k = len(names)

    def forward(*args: Any) -> torch.Tensor:
        kw = dict(zip(names, args[:k]))
        kw.update(zip(others, args[k:]))
        return model.forward_tensors(*(kw[n] for n in TENSOR_NAMES))

    ig = IntegratedGradients(forward)
    extra = tuple(tensors[n] for n in others)
    attrs, delta = ig.attribute(
        xs,
        baselines=bs,
        additional_forward_args=extra,
        n_steps=int(n_steps),
        method=method,
        internal_batch_size=internal_batch_size,
        return_convergence_delta=True,
    )
    with torch.no_grad():
        theta = forward(*xs, *extra).detach().cpu().numpy().astype(float)
        theta0 = forward(*bs, *extra).detach().cpu().numpy().astype(float)
    by_name = {n: a.detach().cpu().numpy() for n, a in zip(names, attrs)}
    return IGResult(
        attributions=tuple(by_name.get(n) for n in ATTRIBUTABLE),  # type: ignore[arg-type]
        delta=delta.detach().cpu().numpy().astype(float).reshape(-1),
        theta=theta.reshape(-1),
        baseline_theta=theta0.reshape(-1),
        n_steps=int(n_steps),
        method=method,
    )
