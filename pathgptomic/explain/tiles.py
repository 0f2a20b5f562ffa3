"""Per-tile scores of one patient: integrated gradients on the patch features, summed per tile, and the
attention weights of an attention-pooling model."""

from __future__ import annotations

import logging
from typing import Any, Mapping

import numpy as np
import pandas as pd
import torch

from pathgptomic.errors import InputValidationError
from pathgptomic.explain.integrated_gradients import TENSOR_NAMES, integrated_gradients, unpack_inputs

logger = logging.getLogger(__name__)


def _patient_index(inputs: Any, patient: int | str, batch: int) -> int:
    if isinstance(patient, (int, np.integer)):
        idx = int(patient)
        if not 0 <= idx < batch:
            raise InputValidationError(f"patient index {idx} is outside 0..{batch - 1}.")
        return idx
    extras = getattr(inputs, "extras", None) or {}
    ids = extras.get("patient_ids", extras.get("ids")) if isinstance(extras, Mapping) else None
    if ids is None or str(patient) not in [str(i) for i in ids]:
        raise InputValidationError(f"patient {patient!r} is not an index and not among the inputs' patient ids; pass its row number.")
    return [str(i) for i in ids].index(str(patient))


def _extra_for(inputs: Any, key: str, idx: int) -> np.ndarray | None:
    extras = getattr(inputs, "extras", None)
    if not isinstance(extras, Mapping) or extras.get(key) is None:
        return None
    value = extras[key]
    try:
        return np.asarray(value[idx])
    except (IndexError, KeyError, TypeError):
        return None


def tile_attributions(
    model: Any,
    inputs: Any,
    patient: int | str = 0,
    *,
    baselines: str | Mapping[str, Any] = "zeros",
    n_steps: int = 50,
    internal_batch_size: int | None = None,
) -> pd.DataFrame:
    """Per-tile scores of one patient: IG on the patch features, and MIL attention.

    The IG score of tile ``n`` is :math:`\\sum_d \\mathrm{IG}_{n d}` (signed: positive =
    the tile raises the risk) and ``ig_abs`` :math:`\\sum_d |\\mathrm{IG}_{n d}|`. When
    ``model(inputs)`` returns an ``attention`` of shape ``(B, N)`` (gated-attention MIL)
    its weights are added. Padded tiles (``image_mask`` False) are left out.

    Args:
        model: Module with ``forward_tensors`` (and optionally ``forward(ModelInputs)``
            returning an object with ``.attention``).
        inputs: ``ModelInputs`` (or mapping / 4-tuple) of a batch.
        patient: Row index, or a patient id found in ``inputs.extras["patient_ids"]``.
        baselines, n_steps, internal_batch_size: As in :func:`integrated_gradients`.

    Returns:
        DataFrame, one row per real tile of the patient: ``tile`` (index in the
        patient's tile list), ``x, y`` (from ``inputs.extras["coords"][patient]`` when
        present, else NaN), ``slide_index`` (when present), ``ig, ig_abs``,
        ``attention`` (NaN without MIL attention).

    Raises:
        InputValidationError: When the patient has no tiles or the model ignores images.
    """
    tensors = unpack_inputs(inputs)
    image, mask = tensors["image"], tensors["image_mask"]
    if image is None or image.dim() != 3 or image.shape[1] == 0:
        raise InputValidationError("The inputs hold no patch features (image of shape (B, N, D)).")
    idx = _patient_index(inputs, patient, int(image.shape[0]))
    one = {n: (t[idx : idx + 1] if t is not None else None) for n, t in tensors.items()}
    valid = one["image_mask"][0].bool() if mask is not None else torch.ones(image.shape[1], dtype=torch.bool)
    if not bool(valid.any()):
        raise InputValidationError(f"patient {patient!r} has no tiles (image_mask is all False).")
    res = integrated_gradients(
        model,
        tuple(one[n] for n in TENSOR_NAMES),
        baselines=baselines,
        n_steps=n_steps,
        internal_batch_size=internal_batch_size,
        attribute=("image",),
    )
    a = res["image"]
    if a is None:
        raise InputValidationError("This model does not use the image branch; there are no tile attributions.")
    keep = valid.cpu().numpy()
    tile = np.flatnonzero(keep)
    out = pd.DataFrame({"tile": tile, "ig": a[0].sum(axis=1)[keep], "ig_abs": np.abs(a[0]).sum(axis=1)[keep]})
    coords = _extra_for(inputs, "coords", idx)
    if coords is not None and coords.ndim == 2 and coords.shape[0] >= tile.max() + 1:
        out.insert(1, "x", coords[tile, 0])
        out.insert(2, "y", coords[tile, 1])
    else:
        out.insert(1, "x", np.nan)
        out.insert(2, "y", np.nan)
    slide_index = _extra_for(inputs, "slide_index", idx)
    if slide_index is not None and slide_index.ndim == 1 and slide_index.shape[0] >= tile.max() + 1:
        out.insert(3, "slide_index", slide_index[tile])
    out["attention"] = np.nan
    attention = _attention(model, inputs, idx)
    if attention is not None:
        out["attention"] = attention[tile]
    out.attrs["delta"] = float(res.delta[0])
    out.attrs["theta"] = float(res.theta[0])
    return out


def _attention(model: Any, inputs: Any, idx: int) -> np.ndarray | None:
    """MIL attention of patient ``idx`` from ``model(inputs).attention`` (None if absent)."""
    if isinstance(inputs, (tuple, list, Mapping)) or not hasattr(inputs, "index"):
        return None
    try:
        with torch.no_grad():
            out = model(inputs.index([idx]))
    except (TypeError, AttributeError, NotImplementedError) as err:
        logger.info("model(inputs) gave no attention: %s", err)
        return None
    att = getattr(out, "attention", None)
    cfg = getattr(model, "cfg", None)
    if att is None or (cfg is not None and getattr(cfg, "image_pooling", "attention") != "attention"):
        return None  # mean pooling: uniform weights say nothing about tiles
    return att[0].detach().cpu().numpy().astype(float)
