"""Golden files for the scGPT loader and embedding, made with the official scGPT code.

Writes ``tests/genomics/golden/scgpt-<version>/`` (read by ``tests/genomics/test_scgpt_upstream_golden.py``):

* ``model_torch/`` and ``model_flash/``: one small model in the released folder format
  (``args.json``, ``vocab.json``, ``best_model.pt``), saved by the official ``TransformerModel`` in
  both attention layouts: ``self_attn.in_proj_{weight,bias}`` (``nn.MultiheadAttention``, a model
  built without flash-attn) and ``self_attn.Wqkv.{weight,bias}`` (flash-attn 1.x ``FlashMHA``, the
  layout of the released whole-human checkpoint), with the decoder heads the official model has;
* ``expression_<case>.csv``: small bulk profiles, samples x gene symbols (some not in the vocabulary);
* ``tokens_<case>.npz``: the official collator's output for them (gene ids, binned values);
* ``embeddings_<case>.npy``: the official cell embeddings (L2-normalised ``<cls>`` outputs);
* ``manifest.json``: scgpt version, wheel sha256, torch/numpy versions, settings and self-checks.

The reference is the official ``scgpt.tasks.cell_emb.embed_data`` (→ ``get_batch_cell_embeddings``,
``DataCollator`` binning, ``TransformerModel._encode``, ``load_pretrained``) of the released wheel,
fetched with ``pip download scgpt==<version> --no-deps`` at generation time (sha256 pinned below);
scgpt is never installed or imported as a package, and nothing at test time needs it.

Stand-ins (only where the wheel's modules import what cannot be installed beside current PyTorch;
none touches the arithmetic of the reference embeddings):

* the ``scgpt`` package ``__init__`` files are not run (they import torchtext, scbank, the trainer …);
  the needed modules are loaded from the wheel by file under their own names;
* ``scgpt.tokenizer.GeneVocab`` (a torchtext ``Vocab``) is replaced by a dict with the calls
  ``embed_data`` makes (``from_file``, ``in``, ``[]``, ``append_token``, ``set_default_index``, call);
* ``IPython`` (imported by ``scgpt/utils/util.py`` for notebook helpers) is stubbed only if missing;
* ``embed_data`` loads data in-process (``os.sched_getaffinity`` seen as empty, so ``num_workers=0``):
  the official binning breaks ties with NumPy's global generator, which is then the one seeded here;
* flash-attn cannot run on a CPU: the reference embeddings use the official model as built without
  flash-attn (``nn.TransformerEncoder``; ``embed_data`` falls back to it and ``load_pretrained`` renames
  ``Wqkv.`` → ``in_proj_``). The flash-layout checkpoint is the state dict of the official model built
  with ``use_fast_transformer=True`` around :class:`FlashMHAStandIn`, whose parameters are those of
  flash-attn 1.x ``flash_attn.flash_attention.FlashMHA`` (``Wqkv = Linear(E, 3E)``, ``out_proj``,
  ``rearrange(qkv, "b s (three h d) -> b s three h d")``); its forward is checked against the torch
  model and recorded in the manifest.

Usage (from the repository root; network for ``pip download`` unless ``--wheel`` is given)::

    python tests/genomics/golden/make_scgpt_golden.py
    python tests/genomics/golden/make_scgpt_golden.py --wheel /tmp/scgpt-0.2.4-py3-none-any.whl
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import logging
import math
import platform
import subprocess
import sys
import tempfile
import types
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

SCGPT_VERSION = "0.2.4"
WHEEL_NAME = f"scgpt-{SCGPT_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "aafa4ac8dcb5a3d7b81ab71f136baf324b7dc6d83109781340ba601fd236759f"
OUT_DIR = Path(__file__).resolve().parent / f"scgpt-{SCGPT_VERSION}"

SEED = 0
#: Per input case: NumPy global seed set before the official run (None: the result cannot depend on
#: the official random tie-breaking) and ``max_length`` (``sampled``: longer samples keep a random subset).
CASES: dict[str, dict[str, Any]] = {
    "distinct": {"numpy_seed": None, "max_length": 1200},
    "ties": {"numpy_seed": 1234, "max_length": 1200},
    "sampled": {"numpy_seed": 4321, "max_length": 24},
}
#: Small but flash-attn-valid sizes: FlashMHA accepts head dims 16, 32, 64 or 128 only.
ARGS: dict[str, Any] = {
    "embsize": 32,
    "nheads": 2,
    "d_hid": 64,
    "nlayers": 2,
    "n_layers_cls": 2,
    "dropout": 0.2,
    "pad_token": "<pad>",
    "pad_value": -2,
    "mask_value": -1,
    "input_style": "binned",
    "input_emb_style": "continuous",
    "n_bins": 51,
    "max_seq_len": 1200,
}
SPECIALS = ("<pad>", "<cls>", "<eoc>")
NAMED_GENES = ("TP53", "EGFR", "IDH1", "PTEN", "ATRX", "CDKN2A", "MGMT", "PDGFRA", "NF1", "PIK3CA")
VOCAB_GENES = NAMED_GENES + tuple(f"G{i:03d}" for i in range(46))
NOT_IN_VOCAB = ("NOTAGENE1", "NOTAGENE2", "LOC999", "ENSG00000000001")
#: Expressed (non-zero) genes per sample of the tie-free case: below, at and above the 50 bin edges.
DISTINCT_EXPRESSED = (2, 9, 30, 49, 50, 51, 52)
#: Expressed genes per sample of the ``sampled`` case: shorter than, equal to and longer than max_length - 1.
SAMPLED_EXPRESSED = (10, 23, 24, 40, 52)


class GeneVocabStandIn:
    """torchtext-free stand-in for ``scgpt.tokenizer.GeneVocab`` (the calls ``embed_data`` makes)."""

    def __init__(self, stoi: dict[str, int]) -> None:
        if sorted(stoi.values()) != list(range(len(stoi))):
            raise ValueError("GeneVocab requires consecutive indices")
        self._stoi = dict(stoi)
        self._default: int | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> GeneVocabStandIn:
        """``GeneVocab.from_file`` of a json file: ``from_dict`` with ``<pad>`` as default token."""
        vocab = cls(json.loads(Path(path).read_text(encoding="utf-8")))
        if "<pad>" in vocab:
            vocab.set_default_index(vocab["<pad>"])
        return vocab

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __getitem__(self, token: str) -> int:
        if token in self._stoi:
            return self._stoi[token]
        if self._default is None:
            raise RuntimeError(f"token {token} not found and default index is not set")
        return self._default

    def __len__(self) -> int:
        return len(self._stoi)

    def __call__(self, tokens: list[str]) -> list[int]:
        return [self[t] for t in tokens]

    def append_token(self, token: str) -> None:
        """torchtext ``Vocab.append_token``: add at id ``len(vocab)``."""
        if token in self._stoi:
            raise RuntimeError(f"token {token} already exists in the vocab")
        self._stoi[token] = len(self._stoi)

    def set_default_index(self, index: int) -> None:
        """Id returned for unknown tokens."""
        self._default = int(index)


class FlashMHAStandIn(nn.Module):
    """The parameters and data layout of flash-attn 1.x ``FlashMHA``, with plain fp32 attention.

    ``qkv = Wqkv(x)`` is split ``"b s (three h d) -> b s three h d"``; ``key_padding_mask`` is True
    for tokens to keep (the official ``FlashTransformerEncoderLayer`` passes ``~src_key_padding_mask``).
    """

    def __init__(self, embed_dim: int, num_heads: int, bias: bool = True, batch_first: bool = True, **_: Any) -> None:
        super().__init__()
        assert batch_first and embed_dim % num_heads == 0
        self.num_heads, self.head_dim = num_heads, embed_dim // num_heads
        assert self.head_dim in (16, 32, 64, 128), "FlashMHA supports head_dim 16, 32, 64 or 128 only"
        self.Wqkv = nn.Linear(embed_dim, 3 * embed_dim, bias=bias)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias)

    def forward(self, x: torch.Tensor, key_padding_mask: torch.Tensor | None = None, need_weights: bool = False) -> tuple:
        """Multi-head self-attention, output ``(B, S, E)`` and ``None`` (like FlashMHA)."""
        b, s, _ = x.shape
        q, k, v = self.Wqkv(x).view(b, s, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        if key_padding_mask is not None:
            scores = scores.masked_fill(~key_padding_mask[:, None, None, :], float("-inf"))
        context = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, s, -1)
        return self.out_proj(context), None


def fetch_wheel(wheel: str | None, tmp: Path) -> Path:
    """The pinned wheel: ``--wheel`` or ``pip download``; refuses any other sha256."""
    if wheel is None:
        cmd = [sys.executable, "-m", "pip", "download", f"scgpt=={SCGPT_VERSION}", "--no-deps", "-d", str(tmp), "-q"]
        subprocess.run(cmd, check=True)
        path = tmp / WHEEL_NAME
    else:
        path = Path(wheel)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise SystemExit(f"{path}: sha256 {digest} is not the pinned {WHEEL_SHA256} of {WHEEL_NAME}")
    return path


def _module(name: str, path: Path | None = None, **attrs: Any) -> types.ModuleType:
    """Register an empty module (a package searching ``path`` when given) under ``name``, without running any file."""
    mod = types.ModuleType(name)
    if path is not None:
        mod.__path__ = [str(path)]
    mod.__dict__.update(attrs)
    sys.modules[name] = mod
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, mod)
    return mod


def load_official(wheel: Path, tmp: Path) -> types.SimpleNamespace:
    """The official ``model``, ``data_collator``, ``utils.util`` and ``tasks.cell_emb`` modules of the wheel."""
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(tmp, [n for n in zf.namelist() if n.startswith("scgpt/")])
    root = tmp / "scgpt"
    try:
        importlib.import_module("IPython")
    except ImportError:
        _module("IPython", get_ipython=lambda: None)
    _module("scgpt", root, logger=logging.getLogger("scGPT"), __version__=SCGPT_VERSION)
    _module("scgpt.tokenizer", GeneVocab=GeneVocabStandIn)
    for sub in ("model", "utils", "tasks"):
        _module(f"scgpt.{sub}", root / sub)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "flash_attn is not installed"
        model = importlib.import_module("scgpt.model.model")
    sys.modules["scgpt.model"].TransformerModel = model.TransformerModel
    util = importlib.import_module("scgpt.utils.util")
    sys.modules["scgpt.utils"].load_pretrained = util.load_pretrained
    cell_emb = importlib.import_module("scgpt.tasks.cell_emb")
    cell_emb.os = types.SimpleNamespace(sched_getaffinity=lambda pid: set())  # num_workers = 0: in-process loading
    return types.SimpleNamespace(model=model, util=util, cell_emb=cell_emb, collator=importlib.import_module("scgpt.data_collator"))


def official_model(mod: types.ModuleType, vocab: GeneVocabStandIn, flash: bool) -> nn.Module:
    """``TransformerModel`` exactly as ``embed_data`` builds it (flash: around :class:`FlashMHAStandIn`)."""
    saved = getattr(mod, "FlashMHA", None), mod.flash_attn_available
    mod.FlashMHA, mod.flash_attn_available = (FlashMHAStandIn, True) if flash else saved
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = mod.TransformerModel(
                ntoken=len(vocab),
                d_model=ARGS["embsize"],
                nhead=ARGS["nheads"],
                d_hid=ARGS["d_hid"],
                nlayers=ARGS["nlayers"],
                nlayers_cls=ARGS["n_layers_cls"],
                n_cls=1,
                vocab=vocab,
                dropout=ARGS["dropout"],
                pad_token=ARGS["pad_token"],
                pad_value=ARGS["pad_value"],
                do_mvc=True,
                do_dab=False,
                use_batch_labels=False,
                domain_spec_batchnorm=False,
                explicit_zero_prob=False,
                use_fast_transformer=flash,
                fast_transformer_backend="flash",
                pre_norm=False,
            )
    finally:
        mod.FlashMHA, mod.flash_attn_available = saved
    if model.use_fast_transformer != flash:
        raise SystemExit("the official model did not take the requested attention implementation")
    return model.eval()


def write_folder(folder: Path, state: dict[str, torch.Tensor], vocab: dict[str, int], args: dict[str, Any]) -> None:
    """A released-format folder (official ``torch.save(model.state_dict())`` and ``save_json``, indent 2)."""
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(state, folder / "best_model.pt")
    (folder / "vocab.json").write_text(json.dumps(vocab, indent=2), encoding="utf-8")
    (folder / "args.json").write_text(json.dumps(args, indent=2), encoding="utf-8")


def build_checkpoints(official: types.SimpleNamespace, out: Path) -> dict[str, Any]:
    """Seeded official model saved in both layouts; returns the layout checks for the manifest."""
    stoi = {g: i for i, g in enumerate(VOCAB_GENES + SPECIALS)}
    vocab = GeneVocabStandIn(stoi)
    torch.manual_seed(SEED)
    model = official_model(official.model, vocab, flash=False)
    with torch.no_grad():  # non-trivial LayerNorm and bias parameters, as in a trained model
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.add_(0.1 * torch.randn_like(p))
    torch_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    flash_model = official_model(official.model, vocab, flash=True)
    flash_keys = set(flash_model.state_dict())
    expected = {k.replace("in_proj_", "Wqkv."): k for k in torch_state}
    if flash_keys != set(expected):
        raise SystemExit(f"flash key names differ from the in_proj rename: {sorted(flash_keys ^ set(expected))}")
    flash_model.load_state_dict({fk: torch_state[tk] for fk, tk in expected.items()}, strict=True)
    flash_state = {k: v.detach().clone() for k, v in flash_model.state_dict().items()}
    # the official loader's rename (load_pretrained on a model without flash-attn) gives back every tensor
    fresh = official_model(official.model, vocab, flash=False)
    official.util.load_pretrained(fresh, flash_state, verbose=False)
    roundtrip = all(torch.equal(v, torch_state[k]) for k, v in fresh.state_dict().items())
    if not roundtrip:
        raise SystemExit("official load_pretrained of the flash layout does not reproduce the torch-layout weights")
    # FlashMHA data layout == nn.MultiheadAttention in_proj layout: same outputs on a padded batch
    gen = torch.Generator().manual_seed(SEED)
    genes = torch.randint(0, len(VOCAB_GENES), (3, 12), generator=gen)
    genes[:, 0] = stoi["<cls>"]
    genes[1, 8:], genes[2, 4:] = stoi["<pad>"], stoi["<pad>"]
    values = torch.randint(1, 51, (3, 12), generator=gen).float()
    values[:, 0], values[genes == stoi["<pad>"]] = -2.0, -2.0
    mask = genes.eq(stoi["<pad>"])
    with torch.no_grad():
        a, b = model._encode(genes, values, mask), flash_model._encode(genes, values, mask)
    layout_diff = float((a - b)[~mask].abs().max())
    if layout_diff > 1e-5:
        raise SystemExit(f"FlashMHA layout and torch layout disagree by {layout_diff}")
    write_folder(out / "model_torch", torch_state, stoi, dict(ARGS, fast_transformer=False))
    write_folder(out / "model_flash", flash_state, stoi, dict(ARGS, fast_transformer=True))
    return {
        "flash_keys_equal_in_proj_renamed": True,
        "official_load_pretrained_roundtrip_exact": roundtrip,
        "flash_standin_vs_torch_encode_max_abs_diff": layout_diff,
        "n_tensors": len(torch_state),
        "n_parameters": int(sum(v.numel() for v in torch_state.values())),
    }


def make_inputs(rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """The input cases, samples x genes (columns in a shuffled order, four not in the vocabulary).

    ``distinct``: distinct, well-separated positive values (multiples of 1/16, exact in float32) and
    zeros; no value meets two bin edges, so the official random tie-breaking has no effect.
    ``ties``: integer counts (many ties) and one profile whose 50 values are distinct in float64 but
    pairwise equal after the official ``float32`` cast; the official draws from NumPy's global RNG matter.
    ``sampled``: integer counts, embedded with ``max_length`` 24: longer samples keep ``<cls>`` and a
    random subset (``torch.randperm``) of genes binned before sampling.
    """
    vocab_cols = list(rng.permutation(np.array(VOCAB_GENES))[:52])
    columns = list(rng.permutation(np.array(vocab_cols + list(NOT_IN_VOCAB))))
    in_vocab = np.array([c in VOCAB_GENES for c in columns])

    def frame(rows: list[np.ndarray], prefix: str) -> pd.DataFrame:
        return pd.DataFrame(np.vstack(rows), index=[f"{prefix}{i}" for i in range(len(rows))], columns=columns)

    distinct = []
    for n in DISTINCT_EXPRESSED:
        row = np.zeros(len(columns))
        cols = rng.choice(np.flatnonzero(in_vocab), n, replace=False)
        row[cols] = rng.choice(np.arange(1, 4000), n, replace=False) / 16.0
        row[~in_vocab] = rng.integers(1, 100, (~in_vocab).sum())  # dropped: not in the vocabulary
        distinct.append(row)
    ties = []
    for lam in (0.3, 1.0, 3.0, 10.0):
        row = rng.poisson(lam, len(columns)).astype(np.float64)
        row[rng.choice(np.flatnonzero(in_vocab), 2, replace=False)] += 1  # at least two expressed genes
        ties.append(row)
    row = np.zeros(len(columns))
    cols = rng.choice(np.flatnonzero(in_vocab), 50, replace=False)
    base = rng.choice(np.arange(1, 4000), 40, replace=False) / 16.0
    row[cols[:40]] = base
    row[cols[40:]] = base[:10] * (1 + 2.0**-40)  # distinct in float64, equal to its partner in float32
    ties.append(row)
    sampled = []
    for n in SAMPLED_EXPRESSED:
        row = np.zeros(len(columns))
        row[rng.choice(np.flatnonzero(in_vocab), n, replace=False)] = rng.poisson(3.0, n) + 1
        sampled.append(row)
    return {"distinct": frame(distinct, "distinct_"), "ties": frame(ties, "ties_"), "sampled": frame(sampled, "sampled_")}


def official_embeddings(official: types.SimpleNamespace, df: pd.DataFrame, folder: Path, case: dict[str, Any]) -> dict[str, np.ndarray]:
    """``embed_data`` on ``df`` with the model folder.

    Returns:
        ``embeddings`` (n, E), the collated ``genes`` and ``values`` (n, S) and ``torch_rng_state``,
        torch's global generator state when the collator started (its ``randperm`` draws from it).
    """
    import anndata

    batches: list[dict[str, Any]] = []
    base = official.collator.DataCollator

    class RecordingCollator(base):  # type: ignore[misc, valid-type]
        def __call__(self, examples: list) -> dict:
            state = torch.get_rng_state()
            out = super().__call__(examples)
            batches.append(dict(out, torch_rng_state=state))
            return out

    def checked_load_pretrained(model: nn.Module, params: dict, **kw: Any) -> nn.Module:
        official.util.load_pretrained(model, params, **kw)
        renamed = {k.replace("Wqkv.", "in_proj_"): v for k, v in params.items()}
        state = model.state_dict()
        if set(state) != set(renamed) or not all(torch.equal(state[k].cpu(), renamed[k].cpu()) for k in state):
            raise SystemExit(f"{folder}: the official load_pretrained left weights unloaded")
        return model

    official.cell_emb.DataCollator = RecordingCollator
    official.cell_emb.load_pretrained = checked_load_pretrained
    adata = anndata.AnnData(X=df.to_numpy(dtype=np.float64), obs=pd.DataFrame(index=df.index), var=pd.DataFrame(index=df.columns))
    if case["numpy_seed"] is not None:
        np.random.seed(case["numpy_seed"])
        torch.manual_seed(case["numpy_seed"])  # the same collator state in both layouts' runs
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = official.cell_emb.embed_data(adata, folder, gene_col="index", max_length=case["max_length"], batch_size=64, device="cpu")
    if len(batches) != 1:
        raise SystemExit("expected one batch")
    return {
        "embeddings": np.asarray(result.obsm["X_scGPT"], dtype=np.float32),
        "genes": batches[0]["gene"].numpy(),
        "values": batches[0]["expr"].numpy(),
        "torch_rng_state": batches[0]["torch_rng_state"].numpy(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", default=None, help=f"a downloaded {WHEEL_NAME} (default: pip download it)")
    ap.add_argument("--out", default=str(OUT_DIR), help="output folder (default: %(default)s)")
    a = ap.parse_args()
    out = Path(a.out)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch_wheel(a.wheel, Path(tmp))
        official = load_official(wheel, Path(tmp) / "src")
        out.mkdir(parents=True, exist_ok=True)
        checks = build_checkpoints(official, out)
        cases: dict[str, Any] = {}
        for name, df in make_inputs(np.random.default_rng(SEED)).items():
            csv = out / f"expression_{name}.csv"
            df.to_csv(csv)
            df = pd.read_csv(csv, index_col=0)  # what a reader of the committed file gets
            case = CASES[name]
            ref = official_embeddings(official, df, out / "model_torch", case)
            other = official_embeddings(official, df, out / "model_flash", case)
            if not all(np.array_equal(ref[k], other[k]) for k in ("genes", "values")):
                raise SystemExit(f"{name}: the official tokens differ between the two runs")
            checks[f"{name}_flash_vs_torch_folder_max_abs_diff"] = float(np.abs(ref["embeddings"] - other["embeddings"]).max())
            np.save(out / f"embeddings_{name}.npy", ref.pop("embeddings"))
            np.savez_compressed(out / f"tokens_{name}.npz", **ref)
            cases[name] = dict(
                case,
                inputs=csv.name,
                embeddings=f"embeddings_{name}.npy",
                tokens=f"tokens_{name}.npz",
                n_samples=int(df.shape[0]),
                rng="official global generators (deterministic=False)" if case["numpy_seed"] is not None else "any",
            )
    manifest = {
        "generated_by": "tests/genomics/golden/make_scgpt_golden.py",
        "scgpt_version": SCGPT_VERSION,
        "wheel": WHEEL_NAME,
        "wheel_sha256": WHEEL_SHA256,
        "reference": "scgpt.tasks.cell_emb.embed_data (get_batch_cell_embeddings, DataCollator binning, TransformerModel._encode)",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "seed": SEED,
        "args": ARGS,
        "vocab_size": len(VOCAB_GENES) + len(SPECIALS),
        "embed_data": {"batch_size": 64, "device": "cpu", "num_workers": 0, "use_fast_transformer": True},
        "cases": cases,
        "checks": checks,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    for f in sorted(out.rglob("*")):
        if f.is_file():
            print(f"{f.relative_to(out)}: {f.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
