"""load_scgpt: both attention key layouts, strict key checking, caching, special tokens from file."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from pathgptomic.errors import CheckpointError
from pathgptomic.genomics.scgpt import load_scgpt


def _batch(vocab_len: int, pad_id: int, cls_id: int):
    g = torch.tensor([[cls_id, 0, 3, 5, 7, 9], [cls_id, 2, 4, pad_id, pad_id, pad_id]])
    v = torch.tensor([[-2.0, 1, 50, 7, 3, 20], [-2.0, 4, 9, -2, -2, -2]])
    return g, v


@pytest.mark.parametrize("layout", ["torch", "fa2"])
def test_layouts_load_with_identical_outputs(tiny_folder, layout):
    flash = load_scgpt(tiny_folder("a", layout="flash"))
    other = load_scgpt(tiny_folder("b", layout=layout))
    state = torch.load(flash.folder / "best_model.pt", weights_only=True)
    assert any(".self_attn.Wqkv.weight" in k for k in state)  # the whole-human layout really was written
    g, v = _batch(len(flash.vocab), flash.pad_id, flash.cls_id)
    a = flash.model(g, v)
    b = other.model(g, v)
    assert torch.equal(a, b)
    # attention weights came from the file, not from a random init
    fresh = load_scgpt(tiny_folder("c", layout=layout, seed=1))
    assert not torch.allclose(fresh.model(g, v), a)
    assert "decoder.fc.0.weight" in flash.ignored_keys and "flag_encoder.weight" in flash.ignored_keys


def test_missing_attention_tensor_is_named(tiny_folder):
    folder = tiny_folder()
    state = torch.load(folder / "best_model.pt", weights_only=True)
    del state["transformer_encoder.layers.1.self_attn.Wqkv.weight"]
    torch.save(state, folder / "best_model.pt")
    with pytest.raises(CheckpointError, match=r"missing keys: transformer_encoder\.layers\.1\.self_attn\.in_proj_weight"):
        load_scgpt(folder)


def test_wrong_shape_is_named(tiny_folder):
    folder = tiny_folder()
    state = torch.load(folder / "best_model.pt", weights_only=True)
    state["transformer_encoder.layers.0.linear1.weight"] = torch.zeros(25, 16)
    torch.save(state, folder / "best_model.pt")
    expected = r"transformer_encoder\.layers\.0\.linear1\.weight \(checkpoint \(25, 16\), model \(24, 16\)\)"
    with pytest.raises(CheckpointError, match=expected):
        load_scgpt(folder)


def test_vocab_embedding_size_mismatch_is_named(tiny_folder):
    folder = tiny_folder()
    vocab = json.loads((folder / "vocab.json").read_text())
    vocab["EXTRA_GENE"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(CheckpointError, match=r"encoder\.embedding\.weight has 47 rows but vocab\.json .* has 48 tokens"):
        load_scgpt(folder)


def test_unexpected_key_is_named(tiny_folder):
    folder = tiny_folder()
    state = torch.load(folder / "best_model.pt", weights_only=True)
    state["bn.weight"] = torch.ones(16)  # a batch-norm variant would change embeddings: refuse it
    torch.save(state, folder / "best_model.pt")
    with pytest.raises(CheckpointError, match=r"unexpected keys: bn\.weight"):
        load_scgpt(folder)


def test_missing_files_and_bad_args(tmp_path, tiny_folder):
    with pytest.raises(CheckpointError, match="does not exist"):
        load_scgpt(tmp_path / "nope")
    folder = tiny_folder()
    (folder / "vocab.json").unlink()
    with pytest.raises(CheckpointError, match="lacks vocab.json"):
        load_scgpt(folder)
    folder = tiny_folder("bad_args")
    args = json.loads((folder / "args.json").read_text())
    del args["nlayers"]
    (folder / "args.json").write_text(json.dumps(args))
    with pytest.raises(CheckpointError, match="'nlayers' is missing"):
        load_scgpt(folder)


def test_special_ids_read_from_vocab_file(tiny_folder):
    folder = tiny_folder()
    vocab = json.loads((folder / "vocab.json").read_text())
    # swap <pad>/<cls> ids and the matching embedding rows: outputs must not change
    pad, cls = vocab["<pad>"], vocab["<cls>"]
    ref = load_scgpt(folder, use_cache=False)
    g, v = _batch(len(vocab), pad, cls)
    out_ref = ref.model(g, v)
    vocab["<pad>"], vocab["<cls>"] = cls, pad
    (folder / "vocab.json").write_text(json.dumps(vocab))
    state = torch.load(folder / "best_model.pt", weights_only=True)
    w = state["encoder.embedding.weight"].clone()
    w[[pad, cls]] = w[[cls, pad]]
    state["encoder.embedding.weight"] = w
    torch.save(state, folder / "best_model.pt")
    swapped = load_scgpt(folder)
    assert swapped.pad_id == cls and swapped.cls_id == pad
    g2 = g.clone()
    g2[g == pad], g2[g == cls] = cls, pad
    assert torch.allclose(swapped.model(g2, v), out_ref, atol=1e-6)


def test_cache_by_folder_and_hash(tiny_folder):
    folder = tiny_folder()
    a = load_scgpt(folder)
    assert load_scgpt(folder) is a
    state = torch.load(folder / "best_model.pt", weights_only=True)
    state["encoder.enc_norm.bias"] = state["encoder.enc_norm.bias"] + 1
    torch.save(state, folder / "best_model.pt")
    b = load_scgpt(folder)
    assert b is not a and b.checkpoint_hash != a.checkpoint_hash
    assert not all(p.requires_grad for p in b.model.parameters())


def test_category_value_encoder_loads(tiny_folder):
    folder = tiny_folder("cat", heads=False, args={"input_emb_style": "category", "pad_value": 51})
    loaded = load_scgpt(folder)
    g = torch.tensor([[loaded.cls_id, 1, 2]])
    out = loaded.model(g, torch.tensor([[51, 3, 50]]))
    assert out.shape == (1, 3, 16) and np.isfinite(out.detach().numpy()).all()
    bad = tiny_folder("cat_bad", heads=False, args={"input_emb_style": "category", "pad_value": 51})
    args = json.loads((bad / "args.json").read_text())
    args["pad_value"] = -2
    (bad / "args.json").write_text(json.dumps(args))
    with pytest.raises(CheckpointError, match="non-negative integer pad_value"):
        load_scgpt(bad)
