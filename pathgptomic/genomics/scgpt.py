"""A torchtext-free scGPT encoder that loads the official released model folders unchanged.

Why our own encoder: the ``scgpt`` package on PyPI (0.2.4) imports torchtext, which does not
install beside current PyTorch, and pulls scvi-tools, datasets and more. This module holds
only what cell embedding needs, with the official parameter names, so an official
``best_model.pt`` state dict loads key for key (official bowang-lab/scGPT ``scgpt/model/model.py``;
docs/DECISIONS.md, "Own scGPT encoder instead of the PyPI package").

Architecture (whole-human: ``E=512``, 8 heads, ``F=512``, 12 layers), for gene tokens ``g``
and (binned) values ``v`` of one sample:

.. math::

    h^{(0)} = \\mathrm{LN}_{enc}(\\mathrm{Emb}(g)) +
              \\mathrm{LN}_{val}(W_2\\,\\mathrm{ReLU}(W_1 \\min(v, 512) + b_1) + b_2)

    a = \\mathrm{LN}_1(h + \\mathrm{MHA}(h)),\\qquad
    h' = \\mathrm{LN}_2(a + W_{l2}\\,\\mathrm{ReLU}(W_{l1} a + b_{l1}) + b_{l2})

(post-norm, ReLU, LayerNorm eps 1e-5, no positional encoding, no final norm; padding keys
masked). The cell embedding is the output at the ``<cls>`` position (index 0).

Speed: the transformer is PyTorch's ``nn.TransformerEncoder`` with nested tensors enabled,
like the official model, so inference uses the fused encoder-layer kernel and skips padded
positions (``benchmarks/results/scgpt_fastpath.md``: ratio to the official code on full and
padded batches, same run).

Checkpoint key layouts accepted: ``self_attn.in_proj_{weight,bias}`` (torch),
``self_attn.Wqkv.{weight,bias}`` (flash-attention 1.x; identical row layout, a plain rename is
exact) and the FA2-era ``self_attn._impl.Wqkv.*`` / ``self_attn._impl.out_proj.*``. Decoder and
head tensors that embedding does not use are ignored; every other missing or unexpected key
and every shape mismatch raises :class:`~pathgptomic.errors.CheckpointError` naming it, so
attention weights are never left silently random (the official tutorials' known bug).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from pathgptomic.errors import CheckpointError
from pathgptomic.genomics.vocab import GeneVocab

logger = logging.getLogger(__name__)

# The nested-tensor fast path of nn.TransformerEncoder warns on every padded inference batch
# that nested tensors are a prototype API; it is PyTorch's own default path, so say it once.
warnings.filterwarnings("once", message="The PyTorch API of nested tensors is in prototype stage", category=UserWarning)

#: Files of an official scGPT model folder.
ARGS_FILE, VOCAB_FILE, WEIGHTS_FILE = "args.json", "vocab.json", "best_model.pt"

#: Key prefixes of heads/decoders that cell embedding does not need (ignored when present).
IGNORED_PREFIXES: tuple[str, ...] = (
    "decoder.",
    "mvc_decoder.",
    "cls_decoder.",
    "flag_encoder.",
    "batch_encoder.",
    "grad_reverse_discriminator.",
    "sim.",
    "creterion_cce.",
)

_RENAMES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\.self_attn\._impl\.Wqkv\.(weight|bias)$"), r".self_attn.in_proj_\1"),
    (re.compile(r"\.self_attn\._impl\.out_proj\."), r".self_attn.out_proj."),
    (re.compile(r"\.self_attn\.Wqkv\.(weight|bias)$"), r".self_attn.in_proj_\1"),
)


@dataclass(frozen=True)
class ScGPTConfig:
    """Size fields of ``args.json`` that the encoder needs.

    Attributes:
        embsize: Model width ``E``.
        nheads: Attention heads.
        d_hid: Feed-forward width ``F``.
        nlayers: Transformer layers ``L``.
        dropout: Dropout (no effect in eval mode).
        pad_token: Padding token string (its id is read from vocab.json).
        pad_value: Value given to ``<cls>`` and padding (-2 for whole-human).
        input_emb_style: ``"continuous"`` (whole-human) or ``"category"``.
        n_bins: Number of value bins (the official embedding hard-codes 51).
        max_seq_len: Pre-training sequence length (informative).
        extra: All other args.json fields, kept verbatim.
    """

    embsize: int
    nheads: int
    d_hid: int
    nlayers: int
    dropout: float = 0.2
    pad_token: str = "<pad>"
    pad_value: float = -2
    input_emb_style: str = "continuous"
    n_bins: int = 51
    max_seq_len: int = 1200
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_args(cls, args: dict[str, Any], source: str = "args.json") -> ScGPTConfig:
        """Build from a parsed ``args.json``; raises CheckpointError naming a bad field."""
        for key in ("embsize", "nheads", "d_hid", "nlayers"):
            if key not in args:
                raise CheckpointError(
                    f"{source}: required field {key!r} is missing (scGPT args.json holds embsize, nheads, d_hid, nlayers)"
                )
            if not isinstance(args[key], int) or args[key] <= 0:
                raise CheckpointError(f"{source}: field {key!r} must be a positive integer, got {args[key]!r}")
        if args["embsize"] % args["nheads"]:
            raise CheckpointError(f"{source}: embsize {args['embsize']} is not divisible by nheads {args['nheads']}")
        style = args.get("input_emb_style", "continuous")
        if style not in ("continuous", "category"):
            raise CheckpointError(
                f"{source}: input_emb_style {style!r} is not supported (only 'continuous' and 'category'; "
                "the 'scaling' style is not used by any released checkpoint)"
            )
        if style == "category" and not (isinstance(args.get("pad_value"), int) and args["pad_value"] >= 0):
            raise CheckpointError(
                f"{source}: input_emb_style 'category' needs a non-negative integer pad_value (the official convention is "
                f"pad_value = n_bins), got {args.get('pad_value')!r}"
            )
        known = {"embsize", "nheads", "d_hid", "nlayers", "dropout", "pad_token", "pad_value", "input_emb_style", "n_bins", "max_seq_len"}
        return cls(
            embsize=int(args["embsize"]),
            nheads=int(args["nheads"]),
            d_hid=int(args["d_hid"]),
            nlayers=int(args["nlayers"]),
            dropout=float(args.get("dropout", 0.2)),
            pad_token=str(args.get("pad_token", "<pad>")),
            pad_value=args.get("pad_value", -2),
            input_emb_style=style,
            n_bins=int(args.get("n_bins", 51)),
            max_seq_len=int(args.get("max_seq_len", 1200)),
            extra={k: v for k, v in args.items() if k not in known},
        )


class GeneEncoder(nn.Module):
    """``Embedding(V, E, padding_idx=<pad>)`` then ``LayerNorm(E)`` (official names)."""

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None) -> None:
        super().__init__()
        self.embedding = nn.Embedding(num_embeddings, embedding_dim, padding_idx=padding_idx)
        self.enc_norm = nn.LayerNorm(embedding_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Token ids ``(B, S)`` → ``(B, S, E)``."""
        return self.enc_norm(self.embedding(x))


class ContinuousValueEncoder(nn.Module):
    """``LN(W2 ReLU(W1 min(v, max_value) + b1) + b2)`` then dropout (official names)."""

    def __init__(self, d_model: int, dropout: float = 0.1, max_value: int = 512) -> None:
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        self.linear1 = nn.Linear(1, d_model)
        self.activation = nn.ReLU()
        self.linear2 = nn.Linear(d_model, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.max_value = max_value

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Values ``(B, S)`` → ``(B, S, E)``."""
        x = x.unsqueeze(-1).clamp(max=self.max_value)
        x = self.linear2(self.activation(self.linear1(x)))
        return self.dropout(self.norm(x))


class CategoryValueEncoder(GeneEncoder):
    """``Embedding(n_input_bins, E, padding_idx=pad_value)`` then LayerNorm (official names)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Integer bins ``(B, S)`` → ``(B, S, E)``."""
        return super().forward(x.long())


class ScGPTEncoder(nn.Module):
    """The embedding part of scGPT's ``TransformerModel`` (``_encode``), state-dict compatible.

    Args:
        config: Sizes from ``args.json``.
        ntoken: Vocabulary size ``V``.
        pad_id: Id of the padding token.
        n_input_bins: Category style only: rows of the value embedding (``n_bins + 2``).
    """

    def __init__(self, config: ScGPTConfig, ntoken: int, pad_id: int, n_input_bins: int | None = None) -> None:
        super().__init__()
        self.config = config
        self.pad_id = int(pad_id)
        e = config.embsize
        self.encoder = GeneEncoder(ntoken, e, padding_idx=pad_id)
        if config.input_emb_style == "continuous":
            self.value_encoder: nn.Module = ContinuousValueEncoder(e, config.dropout)
        else:
            n_in = n_input_bins if n_input_bins is not None else config.n_bins + 2
            pad_idx = int(config.pad_value) if 0 <= int(config.pad_value) < n_in else None
            self.value_encoder = CategoryValueEncoder(n_in, e, padding_idx=pad_idx)
        layer = nn.TransformerEncoderLayer(e, config.nheads, config.d_hid, config.dropout, batch_first=True)
        # enable_nested_tensor (PyTorch's default, as in the official model): in inference with a
        # padding mask, padded positions are dropped from the computation (nested tensors)
        self.transformer_encoder = nn.TransformerEncoder(layer, config.nlayers, enable_nested_tensor=True)

    @property
    def embsize(self) -> int:
        """Output width ``E``."""
        return self.config.embsize

    def forward(self, genes: torch.Tensor, values: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Last-layer token outputs (official ``TransformerModel._encode``).

        Args:
            genes: Token ids, shape ``(B, S)``, int64; ``<cls>`` at position 0.
            values: Values, shape ``(B, S)``; float (continuous) or integer bins (category).
            padding_mask: shape ``(B, S)`` bool, True = padding; default ``genes == pad_id``.

        Returns:
            shape ``(B, S, E)``. Outputs at padded positions carry no meaning: in inference
            (eval mode, no gradient) PyTorch's fast path skips them and returns zeros there.
        """
        if padding_mask is None:
            padding_mask = genes.eq(self.pad_id)
        total = self.encoder(genes) + self.value_encoder(values)
        return self.transformer_encoder(total, src_key_padding_mask=padding_mask)

    def cell_embedding(self, genes: torch.Tensor, values: torch.Tensor, padding_mask: torch.Tensor | None = None) -> torch.Tensor:
        """Output at the ``<cls>`` position, shape ``(B, E)`` (not normalised)."""
        return self.forward(genes, values, padding_mask)[:, 0, :]


@dataclass
class LoadedScGPT:
    """A loaded checkpoint folder.

    Attributes:
        model: The encoder, in eval mode on CPU, parameters frozen.
        vocab: Its vocabulary.
        config: Its ``args.json`` sizes.
        folder: The folder it came from.
        checkpoint_hash: sha256 over args.json, vocab.json and best_model.pt (hex).
        ignored_keys: Checkpoint keys ignored (heads/decoders).
    """

    model: ScGPTEncoder
    vocab: GeneVocab
    config: ScGPTConfig
    folder: Path
    checkpoint_hash: str
    ignored_keys: tuple[str, ...] = ()

    @property
    def pad_id(self) -> int:
        """Id of ``pad_token`` (read from vocab.json)."""
        return self.vocab[self.config.pad_token]

    @property
    def cls_id(self) -> int:
        """Id of ``<cls>`` (read from vocab.json)."""
        return self.vocab["<cls>"]


def _sha256_file(path: Path, h: hashlib._Hash | None = None) -> hashlib._Hash:
    h = h or hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h


_HASH_CACHE: dict[tuple[Any, ...], str] = {}
_MODEL_CACHE: dict[tuple[str, str], LoadedScGPT] = {}
_LOCK = threading.Lock()


def checkpoint_hash(folder: str | Path) -> str:
    """sha256 (hex) over ``args.json``, ``vocab.json`` and ``best_model.pt`` of ``folder``.

    Memoised by path, size and modification time, so repeated calls do not re-read 200 MB.
    """
    folder = Path(folder).resolve()
    files = [folder / ARGS_FILE, folder / VOCAB_FILE, folder / WEIGHTS_FILE]
    _require_files(folder, files)
    stats = [f.stat() for f in files]
    key = (str(folder), *(s.st_size for s in stats), *(s.st_mtime_ns for s in stats))
    if key not in _HASH_CACHE:
        h = hashlib.sha256()
        for f in files:
            h.update(f.name.encode())
            _sha256_file(f, h)
        _HASH_CACHE[key] = h.hexdigest()
    return _HASH_CACHE[key]


def _require_files(folder: Path, files: list[Path]) -> None:
    if not folder.is_dir():
        raise CheckpointError(
            f"scGPT folder {folder} does not exist; point scgpt_folder / PATHGPTOMIC_SCGPT_DIR at a folder "
            "holding args.json, vocab.json and best_model.pt (e.g. the official scGPT_human)"
        )
    missing = [f.name for f in files if not f.is_file()]
    if missing:
        raise CheckpointError(
            f"scGPT folder {folder} lacks {', '.join(missing)}; an official folder holds args.json, vocab.json and best_model.pt"
        )


def remap_state_dict(state: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], list[str]]:
    """Rename attention keys to the torch layout and drop ignored head/decoder keys.

    Args:
        state: Raw checkpoint state dict.

    Returns:
        ``(renamed, ignored)``: the remaining tensors under torch names, and the ignored keys.
    """
    keys = list(state)
    if keys and all(k.startswith("module.") for k in keys):
        state = {k[len("module.") :]: v for k, v in state.items()}
    out: dict[str, torch.Tensor] = {}
    ignored: list[str] = []
    for key, value in state.items():
        if key.startswith(IGNORED_PREFIXES):
            ignored.append(key)
            continue
        new = key
        for pattern, repl in _RENAMES:
            new = pattern.sub(repl, new)
        if new in out:
            raise CheckpointError(f"checkpoint holds both {key!r} and another key that maps to {new!r}; it mixes attention layouts")
        out[new] = value
    return out, ignored


def load_state_dict_strict(model: ScGPTEncoder, state: dict[str, torch.Tensor], source: str, vocab_len: int) -> list[str]:
    """Load ``state`` into ``model`` after remapping; every problem raises CheckpointError naming keys.

    Returns:
        The ignored (head/decoder) keys.
    """
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{source}: expected a raw state dict (mapping of names to tensors), as the official best_model.pt is")
    renamed, ignored = remap_state_dict(state)
    expected = model.state_dict()
    emb = renamed.get("encoder.embedding.weight")
    if emb is not None and emb.shape[0] != vocab_len:
        raise CheckpointError(
            f"{source}: encoder.embedding.weight has {emb.shape[0]} rows but vocab.json (with special tokens) has "
            f"{vocab_len} tokens; the vocab.json does not belong to this checkpoint"
        )
    missing = [k for k in expected if k not in renamed]
    unexpected = [k for k in renamed if k not in expected]
    mismatched = [
        f"{k} (checkpoint {tuple(renamed[k].shape)}, model {tuple(expected[k].shape)})"
        for k in expected
        if k in renamed and tuple(renamed[k].shape) != tuple(expected[k].shape)
    ]
    problems = []
    if missing:
        problems.append(f"missing keys: {', '.join(missing)}")
    if unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected)}")
    if mismatched:
        problems.append(f"shape mismatches: {', '.join(mismatched)}")
    if problems:
        raise CheckpointError(
            f"{source}: the weights do not match the architecture in args.json — "
            + "; ".join(problems)
            + ". Check that args.json, vocab.json and best_model.pt come from the same scGPT model folder."
        )
    model.load_state_dict(renamed, strict=True)
    return ignored


def load_scgpt(folder: str | Path, *, use_cache: bool = True) -> LoadedScGPT:
    """Load an official scGPT model folder (``args.json``, ``vocab.json``, ``best_model.pt``).

    The weights are read with ``torch.load(weights_only=True, map_location="cpu")``; the model
    is returned in eval mode on CPU with frozen parameters (move it with ``.to(device)``).
    Results are cached by resolved folder + checkpoint hash.

    Args:
        folder: The model folder.
        use_cache: Return the cached model when the same folder and hash were loaded before.

    Returns:
        The loaded model with its vocabulary, config and checkpoint hash.

    Raises:
        CheckpointError: Missing files, unreadable files, or any missing/unexpected key or
            shape mismatch (named in the message).
    """
    folder = Path(folder).expanduser().resolve()
    digest = checkpoint_hash(folder)
    key = (str(folder), digest)
    with _LOCK:
        if use_cache and key in _MODEL_CACHE:
            return _MODEL_CACHE[key]
    args_path = folder / ARGS_FILE
    try:
        args = json.loads(args_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{args_path}: not valid JSON ({exc})") from exc
    if not isinstance(args, dict):
        raise CheckpointError(f"{args_path}: expected a JSON object of pre-training arguments")
    config = ScGPTConfig.from_args(args, source=str(args_path))
    vocab = GeneVocab.from_file(folder / VOCAB_FILE)
    if config.pad_token not in vocab:
        raise CheckpointError(f"{folder / VOCAB_FILE}: pad_token {config.pad_token!r} from args.json is not in the vocabulary")
    weights_path = folder / WEIGHTS_FILE
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{weights_path}: cannot be read as a weights-only torch state dict ({exc})") from exc
    n_input_bins = None
    if config.input_emb_style == "category":
        w = state.get("value_encoder.embedding.weight") if isinstance(state, dict) else None
        n_input_bins = int(w.shape[0]) if w is not None else None
    model = ScGPTEncoder(config, ntoken=len(vocab), pad_id=vocab[config.pad_token], n_input_bins=n_input_bins)
    ignored = load_state_dict_strict(model, state, str(weights_path), len(vocab))
    if ignored:
        logger.info("%s: ignored %d head/decoder tensors not used for embedding", weights_path, len(ignored))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    loaded = LoadedScGPT(model=model, vocab=vocab, config=config, folder=folder, checkpoint_hash=digest, ignored_keys=tuple(ignored))
    with _LOCK:
        if use_cache:
            _MODEL_CACHE[key] = loaded
    return loaded


def clear_cache() -> None:
    """Forget cached models and hashes."""
    with _LOCK:
        _MODEL_CACHE.clear()
        _HASH_CACHE.clear()


def save_scgpt_folder(
    folder: str | Path,
    model: ScGPTEncoder,
    vocab: GeneVocab,
    args: dict[str, Any],
    *,
    layout: str = "flash",
    extra_state: dict[str, torch.Tensor] | None = None,
) -> Path:
    """Write ``model`` as an official-format folder (used by the demo model and tests).

    Args:
        folder: Output folder (created).
        model: The encoder.
        vocab: Its vocabulary (written as vocab.json, ``indent=2``).
        args: The args.json content.
        layout: ``"flash"`` writes ``self_attn.Wqkv.*`` keys like the released whole-human
            checkpoint; ``"torch"`` writes ``self_attn.in_proj_*``; ``"fa2"`` writes
            ``self_attn._impl.Wqkv.*`` / ``self_attn._impl.out_proj.*``.
        extra_state: More tensors to store (e.g. ``decoder.*`` heads).

    Returns:
        The folder.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state: dict[str, torch.Tensor] = {}
    for k, v in model.state_dict().items():
        if layout in ("flash", "fa2"):
            impl = "_impl." if layout == "fa2" else ""
            k = re.sub(r"\.self_attn\.in_proj_(weight|bias)$", rf".self_attn.{impl}Wqkv.\1", k)
            if layout == "fa2":
                k = k.replace(".self_attn.out_proj.", ".self_attn._impl.out_proj.")
        elif layout != "torch":
            raise ValueError(f"layout must be 'flash', 'torch' or 'fa2', got {layout!r}")
        state[k] = v.detach().cpu().clone().contiguous()
    for k, v in (extra_state or {}).items():
        state[k] = v.detach().cpu().clone().contiguous()
    torch.save(state, folder / WEIGHTS_FILE)
    vocab.to_json(folder / VOCAB_FILE)
    (folder / ARGS_FILE).write_text(json.dumps(args, indent=2), encoding="utf-8")
    return folder
