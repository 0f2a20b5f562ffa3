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
from pathlib import Path
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

#: Feature-name suffix / prefix -> block label.
_SUFFIX_BLOCKS: tuple[tuple[str, str], ...] = (("_rnaseq", "rna"), ("_cnv", "cnv"), ("_mut", "mut"))
_PREFIX_BLOCKS: tuple[tuple[str, str], ...] = (("scgpt_", "scgpt"), ("mlpa_", "mlpa"))


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
            raise InputValidationError(
                f"inputs tuple must hold {len(TENSOR_NAMES)} tensors {TENSOR_NAMES}, got {len(inputs)}."
            )
        raw = dict(zip(TENSOR_NAMES, inputs))
    elif isinstance(inputs, Mapping):
        raw = {n: inputs.get(n) for n in TENSOR_NAMES}
    elif all(hasattr(inputs, n) for n in TENSOR_NAMES):
        raw = {n: getattr(inputs, n) for n in TENSOR_NAMES}
    else:
        raise InputValidationError(
            f"inputs must be ModelInputs, a mapping or a tuple of {TENSOR_NAMES}; got {type(inputs).__name__}."
        )
    out = {n: _to_tensor(n, v) for n, v in raw.items()}
    sizes = {n: int(t.shape[0]) for n, t in out.items() if t is not None and t.dim() > 0}
    if len(set(sizes.values())) > 1:
        raise InputValidationError(f"Model inputs disagree on the batch size: {sizes}.")
    return out


def _baseline_for(name: str, x: torch.Tensor, baselines: Any) -> torch.Tensor:
    if isinstance(baselines, str):
        if baselines != "zeros":
            raise InputValidationError(
                f"baselines must be 'zeros' or tensors per input (e.g. training medians), not {baselines!r}."
            )
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
        grads = torch.autograd.grad(
            theta.sum(), [probe[n] for n in candidates], allow_unused=True
        )
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
        logger.warning("integrated_gradients on a model in training mode: dropout makes the path "
                       "integral noisy; call model.eval() first")
    tensors = unpack_inputs(inputs)
    for n in ATTRIBUTABLE:
        t = tensors[n]
        if t is not None and not torch.is_floating_point(t):
            tensors[n] = t.float()
    candidates = [n for n in attribute if tensors[n] is not None and tensors[n].numel() > 0]
    names = _used_inputs(model, tensors, candidates) if candidates else []
    if not names:
        raise InputValidationError(
            f"None of the inputs {list(attribute)} is non-empty and used by the model; nothing to attribute."
        )
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


def feature_block(name: str) -> tuple[str, str | None]:
    """Block and gene symbol of a feature name.

    ``TP53_cnv`` → ``("cnv", "TP53")``, ``EGFR_rnaseq`` → ``("rna", "EGFR")``,
    ``IDH1_mut`` → ``("mut", "IDH1")``, ``scgpt_17`` → ``("scgpt", None)``,
    ``mlpa_3`` → ``("mlpa", None)``, anything else → ``("other", None)``.
    """
    for suffix, block in _SUFFIX_BLOCKS:
        if name.endswith(suffix) and len(name) > len(suffix):
            return block, name[: -len(suffix)]
    for prefix, block in _PREFIX_BLOCKS:
        if name.startswith(prefix):
            return block, None
    return "other", None


def _genomic_arrays(attributions: Any, patient: int | None) -> dict[str, np.ndarray]:
    """``{input: (B, p) array}`` from an IGResult, a mapping or a 1-D/2-D array."""
    if isinstance(attributions, IGResult):
        arrays = {n: a for n, a in attributions.as_dict().items() if n in GENOMIC_INPUTS}
    elif isinstance(attributions, Mapping):
        arrays = {n: np.asarray(a, dtype=float) for n, a in attributions.items() if n in GENOMIC_INPUTS}
    else:
        arrays = {"genomic": np.asarray(attributions, dtype=float)}
    out = {}
    for n, a in arrays.items():
        a = np.atleast_2d(np.asarray(a, dtype=float))
        if patient is not None:
            if not -a.shape[0] <= patient < a.shape[0]:
                raise InputValidationError(f"patient index {patient} is outside 0..{a.shape[0] - 1}.")
            a = a[[patient]]
        out[n] = a
    return out


def _names_for(feature_names: Any, key: str, width: int) -> list[str]:
    if isinstance(feature_names, Mapping):
        names = list(feature_names.get(key, []))
    elif key == "genomic":
        names = list(feature_names)
    else:
        raise InputValidationError(
            "feature_names must be a mapping {'cnv_mut': [...], 'rna': [...]} for IGResult/mapping attributions."
        )
    if len(names) != width:
        raise InputValidationError(
            f"feature_names[{key!r}] has {len(names)} names but the attributions have {width} columns; "
            "pass the bundle's feature_names."
        )
    return names


def genomic_attribution_table(
    attributions: Any, feature_names: Any, *, patient: int | None = 0
) -> pd.DataFrame:
    """Every genomic feature's attribution with block, gene, sign and magnitude.

    Args:
        attributions: An :class:`IGResult`, a mapping ``{"cnv_mut": (B, p1), "rna": (B,
            p2)}``, or one array of shape ``(p,)`` / ``(B, p)``.
        feature_names: ``{"cnv_mut": [...], "rna": [...]}`` (the bundle's
            ``feature_names``), or a list of ``p`` names for a single array.
        patient: Row to report; None averages the signed attributions over patients.

    Returns:
        DataFrame, one row per feature: ``feature, gene, block, input, attribution,
        magnitude, sign`` (``sign`` is "+" = raises risk, "−" = lowers it, "0").
    """
    rows = []
    for key, arr in _genomic_arrays(attributions, patient).items():
        names = _names_for(feature_names, key, arr.shape[1])
        values = arr.mean(axis=0)
        for name, v in zip(names, values):
            block, gene = feature_block(str(name))
            rows.append({"feature": str(name), "gene": gene, "block": block, "input": key,
                         "attribution": float(v)})
    df = pd.DataFrame(rows, columns=["feature", "gene", "block", "input", "attribution"])
    df["magnitude"] = df["attribution"].abs()
    df["sign"] = np.where(df["attribution"] > 0, "+", np.where(df["attribution"] < 0, "−", "0"))
    return df


def top_genomic_features(
    attributions: Any,
    feature_names: Any,
    k: int = 20,
    *,
    patient: int | None = 0,
    per_block: bool = False,
) -> pd.DataFrame:
    """The ``k`` genomic features with the largest |attribution|, with sign and block.

    Args:
        attributions: See :func:`genomic_attribution_table`.
        feature_names: See :func:`genomic_attribution_table`.
        k: Number of features (per block when ``per_block``).
        patient: Patient row (None: mean over patients).
        per_block: Top ``k`` within each block (rna, cnv, mut, scgpt, mlpa, other).

    Returns:
        The rows of :func:`genomic_attribution_table`, sorted by magnitude
        (descending), with a 1-based ``rank`` (within the block when ``per_block``).
    """
    if int(k) < 1:
        raise InputValidationError(f"k must be >= 1, not {k}.")
    table = genomic_attribution_table(attributions, feature_names, patient=patient)
    table = table.sort_values("magnitude", ascending=False, kind="stable")
    if per_block:
        table = table.groupby("block", sort=False, group_keys=False).head(int(k))
        table = table.assign(rank=table.groupby("block").cumcount() + 1)
    else:
        table = table.head(int(k)).assign(rank=np.arange(1, min(int(k), len(table)) + 1))
    return table.reset_index(drop=True)


def block_summary(table: pd.DataFrame, value: str = "attribution") -> pd.DataFrame:
    """Totals per block of a feature table.

    Args:
        table: Output of :func:`genomic_attribution_table` or :func:`cohort_summary`.
        value: Column to aggregate.

    Returns:
        DataFrame ``block, n_features, sum, sum_abs, share_abs`` (share of the summed
        |value| over all blocks), sorted by ``sum_abs``.
    """
    if "block" not in table.columns or value not in table.columns:
        raise InputValidationError(f"the table needs columns 'block' and {value!r}.")
    g = table.assign(_abs=table[value].abs()).groupby("block")
    out = pd.DataFrame({"n_features": g.size(), "sum": g[value].sum(), "sum_abs": g["_abs"].sum()})
    total = out["sum_abs"].sum()
    out["share_abs"] = out["sum_abs"] / total if total > 0 else np.nan
    return out.sort_values("sum_abs", ascending=False).reset_index()


def load_gene_signatures(path: str | Path) -> pd.DataFrame:
    """Read a gene-signature file in the MCAT/PORPOISE layout.

    The file has one column per signature (e.g. "Tumor Suppressor Genes",
    "Oncogenes", ...) and gene symbols down each column (columns of unequal length,
    padded with empty cells). A long file with columns ``signature, gene`` is read too.

    The MCAT/PORPOISE file is not shipped with this package: its source repository
    (mahmoodlab/PORPOISE) is "GPLv3 ... available for non-commercial academic purposes",
    which does not fit this MIT-licensed package. Pass the path of a copy (MCAT's
    ``datasets_csv_sig/signatures.csv``) or any file in the same layout.

    Args:
        path: CSV path (e.g. a local copy of MCAT's ``signatures.csv``).

    Returns:
        Long DataFrame ``signature, gene`` (one row per membership; a gene may be in
        several signatures).

    Raises:
        InputValidationError: When the file is missing, unreadable or holds no genes.
    """
    p = Path(path)
    if not p.is_file():
        raise InputValidationError(f"Gene-signature file {p} does not exist; pass the CSV's path.")
    try:
        wide = pd.read_csv(p, dtype=str)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise InputValidationError(f"Gene-signature file {p} is not a readable CSV: {err}") from err
    return signatures_long(wide, source=str(p))


def signatures_long(signatures: pd.DataFrame, *, source: str = "signatures") -> pd.DataFrame:
    """Wide (one column per signature) or long (``signature, gene``) table -> long table."""
    if {"signature", "gene"}.issubset(signatures.columns):
        long = signatures[["signature", "gene"]].copy()
    else:
        long = signatures.melt(var_name="signature", value_name="gene")
    long = long.dropna(subset=["gene"])
    long["gene"] = long["gene"].astype(str).str.strip()
    long = long[long["gene"] != ""].drop_duplicates().reset_index(drop=True)
    if long.empty:
        raise InputValidationError(f"{source} holds no gene symbols; expected one column per signature.")
    return long


def group_by_signature(
    table: pd.DataFrame, signatures: pd.DataFrame, *, value: str = "attribution", n_top: int = 3
) -> pd.DataFrame:
    """Aggregate gene-level attributions by gene signature.

    A feature counts for a signature when its gene symbol (block suffix removed) is a
    member; a gene's CNV, mutation and RNA features all count, and a gene in two
    signatures counts in both.

    Args:
        table: Feature table with ``gene`` and ``value`` columns (from
            :func:`genomic_attribution_table` or :func:`cohort_summary`).
        signatures: Wide signature table as in the CSV, or long ``signature, gene``
            (see :func:`load_gene_signatures`).
        value: Column to aggregate.
        n_top: How many top genes (by |value|) to name per signature.

    Returns:
        DataFrame per signature: ``signature, n_genes`` (members), ``n_features``
        (matched features), ``sum, sum_abs, mean_abs, top_features`` sorted by ``sum_abs``;
        signatures without a matched feature have zeros and an empty ``top_features``.
    """
    if "gene" not in table.columns or value not in table.columns:
        raise InputValidationError(f"the attribution table needs columns 'gene' and {value!r}.")
    long = signatures_long(signatures)
    feats = table[table["gene"].notna()]
    merged = long.merge(feats, on="gene", how="inner")
    rows = []
    for sig, members in long.groupby("signature", sort=False):
        part = merged[merged["signature"] == sig]
        mag = part[value].abs()
        top = part.assign(_m=mag).sort_values("_m", ascending=False).head(n_top)
        label = "feature" if "feature" in part.columns else "gene"
        rows.append({
            "signature": sig,
            "n_genes": int(members["gene"].nunique()),
            "n_features": int(len(part)),
            "sum": float(part[value].sum()),
            "sum_abs": float(mag.sum()),
            "mean_abs": float(mag.mean()) if len(part) else 0.0,
            "top_features": ", ".join(top[label].astype(str)),
        })
    return pd.DataFrame(rows).sort_values("sum_abs", ascending=False, kind="stable").reset_index(drop=True)


def cohort_summary(result: IGResult, feature_names: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Mean |attribution| per genomic feature over the patients of an :class:`IGResult`.

    .. math:: \\bar a_j = \\frac{1}{B} \\sum_{i=1}^{B} |\\mathrm{IG}_{ij}|

    Args:
        result: Attributions of a batch of ``B`` patients.
        feature_names: ``{"cnv_mut": [...], "rna": [...]}``.

    Returns:
        DataFrame ``feature, gene, block, input, mean_abs_attribution, mean_attribution,
        n_patients`` sorted by ``mean_abs_attribution``.
    """
    rows = []
    for key, arr in _genomic_arrays(result, None).items():
        names = _names_for(feature_names, key, arr.shape[1])
        for j, name in enumerate(names):
            block, gene = feature_block(str(name))
            rows.append({"feature": str(name), "gene": gene, "block": block, "input": key,
                         "mean_abs_attribution": float(np.abs(arr[:, j]).mean()),
                         "mean_attribution": float(arr[:, j].mean()),
                         "n_patients": int(arr.shape[0])})
    df = pd.DataFrame(rows)
    return df.sort_values("mean_abs_attribution", ascending=False, kind="stable").reset_index(drop=True)


def _patient_index(inputs: Any, patient: int | str, batch: int) -> int:
    if isinstance(patient, (int, np.integer)):
        idx = int(patient)
        if not 0 <= idx < batch:
            raise InputValidationError(f"patient index {idx} is outside 0..{batch - 1}.")
        return idx
    extras = getattr(inputs, "extras", None) or {}
    ids = extras.get("patient_ids", extras.get("ids")) if isinstance(extras, Mapping) else None
    if ids is None or str(patient) not in [str(i) for i in ids]:
        raise InputValidationError(
            f"patient {patient!r} is not an index and not among the inputs' patient ids; pass its row number."
        )
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
    valid = (one["image_mask"][0].bool() if mask is not None else torch.ones(image.shape[1], dtype=torch.bool))
    if not bool(valid.any()):
        raise InputValidationError(f"patient {patient!r} has no tiles (image_mask is all False).")
    res = integrated_gradients(
        model, tuple(one[n] for n in TENSOR_NAMES), baselines=baselines, n_steps=n_steps,
        internal_batch_size=internal_batch_size, attribute=("image",),
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

