"""The scGPT loader and embedding against golden files made with the official scGPT code.

``golden/scgpt-<version>/`` holds a small checkpoint saved by the official ``TransformerModel`` in
both released attention layouts (``in_proj`` and flash-attention ``Wqkv``), bulk profiles, and the
tokens and cell embeddings the official ``embed_data`` produced for them; how they are made:
``golden/make_scgpt_golden.py`` and its ``manifest.json``. No network and no scgpt package needed.

Tolerance of the embedding comparison: max abs difference <= 1e-6 and cosine >= 1 - 1e-9 on the
L2-normalised float32 embeddings. The same model run in float64 differs from the float32 golden
embeddings by 7.7e-8 (float32 rounding, the scale of what another CPU, BLAS or torch build may
change), so the bound leaves over 10x room for it; a layout mix-up (q and k blocks of ``Wqkv``
swapped) moves the encoder output by 0.77, and one gene of one sample one bin off moves its
embedding by 1.2e-6 to 5.8e-5 (median 1.5e-5; the cosine hardly moves, 1 - cos < 1e-7). Because such
a one-bin change stays close to the bound, the tokens (gene ids and bins) are also compared exactly
with the official collator's output.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import pytest
import torch

from pathgptomic.genomics.bulk import MappedExpression, map_expression, read_expression_csv
from pathgptomic.genomics.embed import embed_matrix, tokenize_sample
from pathgptomic.genomics.scgpt import LoadedScGPT, load_scgpt

GOLDEN = Path(__file__).parent / "golden" / "scgpt-0.2.4"
MANIFEST: dict[str, Any] = json.loads((GOLDEN / "manifest.json").read_text(encoding="utf-8"))
CASES = sorted(MANIFEST["cases"])
LAYOUTS = ("torch", "flash")
MAX_ABS_DIFF = 1e-6
MIN_COSINE = 1 - 1e-9
HEAD_PREFIXES = ("decoder.", "cls_decoder.", "mvc_decoder.")


def _load(layout: str) -> LoadedScGPT:
    return load_scgpt(GOLDEN / f"model_{layout}", use_cache=False)


def _mapped(loaded: LoadedScGPT, case: str) -> MappedExpression:
    df = read_expression_csv(GOLDEN / MANIFEST["cases"][case]["inputs"])
    return map_expression(df, loaded.vocab, value_mode="counts", min_genes=1, source=case)


@contextmanager
def _official_rng(case: str) -> Iterator[bool]:
    """The global generators as the official run had them; yields whether the case depends on them.

    NumPy's is seeded as the generator seeded it before ``embed_data``; torch's is set to the state
    recorded when the official collator started (its ``randperm`` sampling draws from it). Both are
    restored afterwards.
    """
    seed = MANIFEST["cases"][case]["numpy_seed"]
    if seed is None:
        yield False
        return
    np_state, torch_state = np.random.get_state(), torch.get_rng_state()
    try:
        np.random.seed(seed)
        torch.set_rng_state(torch.from_numpy(np.load(GOLDEN / MANIFEST["cases"][case]["tokens"])["torch_rng_state"]))
        yield True
    finally:
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)


def test_manifest_pins_the_official_release():
    assert MANIFEST["scgpt_version"] == "0.2.4"
    assert len(MANIFEST["wheel_sha256"]) == 64
    assert MANIFEST["checks"]["official_load_pretrained_roundtrip_exact"]
    assert set(CASES) == {"distinct", "ties", "sampled"}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_loader_reads_the_official_checkpoint(layout):
    raw = torch.load(GOLDEN / f"model_{layout}" / "best_model.pt", weights_only=True)
    attn = {k for k in raw if ".self_attn." in k and not k.endswith((".out_proj.weight", ".out_proj.bias"))}
    suffixes = {"flash": (".Wqkv.weight", ".Wqkv.bias"), "torch": (".in_proj_weight", ".in_proj_bias")}[layout]
    assert attn and all(k.endswith(suffixes) for k in attn)
    loaded = _load(layout)
    reference = torch.load(GOLDEN / "model_torch" / "best_model.pt", weights_only=True)
    state = loaded.model.state_dict()
    assert set(state) == {k for k in reference if not k.startswith(HEAD_PREFIXES)}
    for key, value in state.items():
        assert torch.equal(value, reference[key]), key
    assert sorted(loaded.ignored_keys) == sorted(k for k in raw if k.startswith(HEAD_PREFIXES))
    args = MANIFEST["args"]
    assert (loaded.config.embsize, loaded.config.nheads, loaded.config.nlayers) == (args["embsize"], args["nheads"], args["nlayers"])


@pytest.mark.parametrize("case", CASES)
def test_tokens_equal_the_official_collator(case):
    loaded = _load("flash")
    mapped = _mapped(loaded, case)
    official = np.load(GOLDEN / MANIFEST["cases"][case]["tokens"])
    max_length = MANIFEST["cases"][case]["max_length"]
    with _official_rng(case) as global_rng:
        tokens = [
            tokenize_sample(
                mapped.values[i],
                mapped.gene_ids,
                cls_id=loaded.cls_id,
                pad_value=loaded.config.pad_value,
                max_length=max_length,
                seed=None if global_rng else 0,
            )
            for i in range(mapped.values.shape[0])
        ]
    assert len(tokens) == official["genes"].shape[0]
    for i, t in enumerate(tokens):
        n = len(t)
        np.testing.assert_array_equal(t.genes, official["genes"][i, :n], err_msg=f"{case} sample {i}: gene ids")
        np.testing.assert_array_equal(t.values, official["values"][i, :n], err_msg=f"{case} sample {i}: binned values")
        assert (official["genes"][i, n:] == loaded.pad_id).all(), f"{case} sample {i}: the official sequence is longer"


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_embeddings_equal_the_official_embed_data(layout, case):
    loaded = _load(layout)
    mapped = _mapped(loaded, case)
    expected = np.load(GOLDEN / MANIFEST["cases"][case]["embeddings"])
    with _official_rng(case) as global_rng:
        got = embed_matrix(
            loaded,
            mapped.values,
            mapped.gene_ids,
            value_mode=mapped.value_mode,
            max_length=MANIFEST["cases"][case]["max_length"],
            deterministic=not global_rng,
            device="cpu",
            show_progress=False,
        )
    assert got.shape == expected.shape and got.dtype == np.float32
    g, e = got.astype(np.float64), expected.astype(np.float64)
    cosine = (g * e).sum(1) / np.linalg.norm(g, axis=1) / np.linalg.norm(e, axis=1)
    assert cosine.min() >= MIN_COSINE, f"{layout}/{case}: smallest cosine {cosine.min():.12f}"
    assert np.abs(g - e).max() <= MAX_ABS_DIFF, f"{layout}/{case}: max abs difference {np.abs(g - e).max():.3e}"
