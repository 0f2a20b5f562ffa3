"""scGPT encoder speed vs the official scGPT code, full and padded batches, in one run.

The official reference is ``scgpt/model/model.py`` of the released ``scgpt`` package
(``TransformerModel._encode``), loaded by file path from the wheel or an installed copy,
without importing the ``scgpt`` package itself (whose ``__init__`` needs torchtext). On a
machine without flash-attn the official model builds ``nn.TransformerEncoder`` with PyTorch's
defaults, which is what it would run here.

Three encoders with the same random whole-human-size weights (E=512, 8 heads, F=512, 12
layers, vocabulary 60,697) embed the same batches, interleaved (order rotating per repeat):

* ``official``: the official ``TransformerModel._encode``, output at ``<cls>``;
* ``ours``: :class:`pathgptomic.genomics.scgpt.ScGPTEncoder.cell_embedding` as shipped;
* ``ours, nested tensors off``: the same with ``use_nested_tensor = False`` (the encoder as
  it was before the fast path was enabled).

Batches: "full" (every sequence ``--seq-len`` tokens) and "padded" (lengths spread from
``--seq-len`` down to an eighth of it). Reported: median seconds, speed ratio
``t(official) / t(candidate)`` of the medians and of the fastest runs (>= 1 means at least as
fast as the official code; the fastest runs are the least disturbed by other users) and the
smallest cosine similarity of the ``<cls>`` embeddings to the official ones.

Usage::

    pip download scgpt==0.2.4 --no-deps -d /tmp/scgpt
    python benchmarks/bench_scgpt_fastpath.py --official /tmp/scgpt/scgpt-0.2.4-py3-none-any.whl \
        --threads 1 --out benchmarks/results/scgpt_fastpath.md
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
import types
import warnings
import zipfile
from pathlib import Path

from _report import write_report  # noqa: E402 - benchmarks/ is on sys.path when run as a script

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
OFFICIAL_FILES = ("model.py", "dsbn.py", "grad_reverse.py")


def official_model_dir(source: str | None, tmp: Path) -> Path:
    """Folder holding the official ``scgpt/model/*.py``: from a wheel, a folder, or an installed ``scgpt``."""
    if source and source.endswith(".whl"):
        with zipfile.ZipFile(source) as zf:
            for name in OFFICIAL_FILES:
                zf.extract(f"scgpt/model/{name}", tmp)
        return tmp / "scgpt" / "model"
    if source:
        return Path(source)
    try:
        from importlib.metadata import distribution

        return Path(distribution("scgpt").locate_file("scgpt/model"))
    except Exception as exc:  # noqa: BLE001 - PackageNotFoundError and friends
        raise SystemExit(
            "the official scGPT code is needed as the anchor: `pip download scgpt==0.2.4 --no-deps -d /tmp/scgpt` "
            f"and pass --official /tmp/scgpt/scgpt-0.2.4-py3-none-any.whl ({exc})"
        ) from None


def load_official(model_dir: Path) -> types.ModuleType:
    """Import the official ``model.py`` under a private package name (its relative imports resolve there)."""
    pkg = types.ModuleType("scgpt_official")
    pkg.__path__ = [str(model_dir)]
    sys.modules["scgpt_official"] = pkg
    spec = importlib.util.spec_from_file_location("scgpt_official.model", model_dir / "model.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["scgpt_official.model"] = module
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "flash_attn is not installed"
        spec.loader.exec_module(module)
    return module


def build_models(official_mod: types.ModuleType):
    """Our encoder with random weights and the official model holding the same weights."""
    import torch

    from pathgptomic.genomics.scgpt import ScGPTConfig, ScGPTEncoder
    from pathgptomic.genomics.vocab import build_vocab

    torch.manual_seed(0)
    vocab = build_vocab([f"GENE{i}" for i in range(60694)])
    cfg = ScGPTConfig.from_args({"embsize": 512, "nheads": 8, "d_hid": 512, "nlayers": 12, "dropout": 0.2, "pad_value": -2})
    ours = ScGPTEncoder(cfg, len(vocab), vocab["<pad>"]).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        official = official_mod.TransformerModel(
            ntoken=len(vocab),
            d_model=512,
            nhead=8,
            d_hid=512,
            nlayers=12,
            vocab={"<pad>": vocab["<pad>"]},
            dropout=0.2,
            pad_token="<pad>",
            pad_value=-2,
            input_emb_style="continuous",
            use_fast_transformer=False,
        ).eval()
    missing, unexpected = official.load_state_dict(ours.state_dict(), strict=False)
    heads = ("decoder.", "cls_decoder.", "mvc_decoder.", "sim.", "creterion_cce.")
    if unexpected or any(not k.startswith(heads) for k in missing):
        raise SystemExit(f"state dicts differ beyond the heads: missing {missing}, unexpected {unexpected}")
    for m in (ours, official):
        for p in m.parameters():
            p.requires_grad_(False)
    return ours, official, vocab


def make_batch(vocab, batch: int, seq_len: int, padded: bool, seed: int):
    """Gene ids, binned values and padding mask, shape ``(batch, seq_len)`` each."""
    import numpy as np
    import torch

    rng = np.random.default_rng(seed)
    lengths = np.linspace(seq_len, max(2, seq_len // 8), batch).astype(int) if padded else np.full(batch, seq_len)
    genes = np.full((batch, seq_len), vocab["<pad>"], np.int64)
    values = np.full((batch, seq_len), -2.0, np.float32)
    for i, n in enumerate(lengths):
        genes[i, 0] = vocab["<cls>"]
        genes[i, 1:n] = rng.choice(60694, n - 1, replace=False)
        values[i, 1:n] = rng.integers(1, 51, n - 1)
    g, v = torch.from_numpy(genes), torch.from_numpy(values)
    return g, v, g.eq(vocab["<pad>"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--official", default=None, help="scgpt wheel or folder holding scgpt/model/*.py (default: installed scgpt)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq-len", type=int, default=1200)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()

    import torch

    torch.set_num_threads(a.threads)
    with tempfile.TemporaryDirectory() as tmp:
        official_mod = load_official(official_model_dir(a.official, Path(tmp)))
    ours, official, vocab = build_models(official_mod)

    def ours_slow(g, v, m):  # noqa: ANN001, ANN202
        return _without_nested(ours, g, v, m)

    candidates = {
        "official": lambda g, v, m: official._encode(g, v, m)[:, 0, :],
        "ours": ours.cell_embedding,
        "ours, nested tensors off": ours_slow,
    }
    rows = []
    for label, padded in (("full", False), ("padded", True)):
        g, v, m = make_batch(vocab, a.batch, a.seq_len, padded, seed=1)
        times: dict[str, list[float]] = {k: [] for k in candidates}
        outs = {}
        with torch.inference_mode():
            for k, f in candidates.items():  # warm-up
                outs[k] = f(g, v, m)
            names = list(candidates)
            for rep in range(a.repeats):
                for k in names[rep % len(names) :] + names[: rep % len(names)]:
                    t0 = time.perf_counter()
                    candidates[k](g, v, m)
                    times[k].append(time.perf_counter() - t0)
        ref = outs["official"]
        t_ref, b_ref = statistics.median(times["official"]), min(times["official"])
        for k in names[1:]:
            cos = torch.nn.functional.cosine_similarity(outs[k], ref, dim=1).min().item()
            t, best = statistics.median(times[k]), min(times[k])
            rows.append((label, k, t_ref, t, t_ref / t, b_ref / best, cos))
            print(
                f"{label:>6} | {k:<26} | official {t_ref:.2f} s | {t:.2f} s | ratio {t_ref / t:.2f} "
                f"(fastest runs {b_ref / best:.2f}) | min cos {cos:.8f}",
                flush=True,
            )
    if a.out:
        _write_report(a, rows)
    return 0


def _without_nested(model, g, v, m):
    enc = model.transformer_encoder
    enc.use_nested_tensor = False
    try:
        return model.cell_embedding(g, v, m)
    finally:
        enc.use_nested_tensor = True


def _write_report(a: argparse.Namespace, rows: list[tuple]) -> None:
    import torch

    write_report(
        a.out,
        "scGPT encoder vs the official scGPT code (whole-human size, CPU)",
        [
            f"torch {torch.__version__}, {a.threads} thread(s); batches of {a.batch}: full = every sequence {a.seq_len} "
            f"tokens; padded = lengths spread from {a.seq_len} to {max(2, a.seq_len // 8)}. Median of {a.repeats} runs, "
            "interleaved; inference mode, fp32.",
            "Anchor: `TransformerModel._encode` of the official scgpt 0.2.4 `model.py`, same weights.",
        ],
        [
            "batch",
            "candidate",
            "official (s, median)",
            "candidate (s, median)",
            "ratio official / candidate (medians)",
            "ratio (fastest runs)",
            "min cosine to official",
        ],
        [[b, k, f"{tr:.2f}", f"{t:.2f}", f"{r:.2f}", f"{rb:.2f}", f"{c:.8f}"] for b, k, tr, t, r, rb, c in rows],
    )


if __name__ == "__main__":
    raise SystemExit(main())
