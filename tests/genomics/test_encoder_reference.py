"""The encoder equals a straightforward re-implementation of the layer equations (to 1e-5)."""

from __future__ import annotations

import math

import torch

from pathgptomic.genomics.scgpt import load_scgpt


def _ln(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def reference_forward(state: dict, genes: torch.Tensor, values: torch.Tensor, pad_id: int, nheads: int, nlayers: int) -> torch.Tensor:
    """Spec §2 equations, written out with loops over samples and heads, from the raw (Wqkv) state dict."""
    s = {k: v.double() for k, v in state.items()}
    out = []
    for b in range(genes.shape[0]):
        g, v = genes[b], values[b].double()
        keep = g != pad_id
        # gene encoder: Embedding -> LayerNorm
        h = _ln(s["encoder.embedding.weight"][g], s["encoder.enc_norm.weight"], s["encoder.enc_norm.bias"])
        # continuous value encoder: clamp(max=512) -> linear1 -> ReLU -> linear2 -> LayerNorm
        x = v.clamp(max=512).unsqueeze(-1)
        x = torch.relu(x @ s["value_encoder.linear1.weight"].T + s["value_encoder.linear1.bias"])
        x = x @ s["value_encoder.linear2.weight"].T + s["value_encoder.linear2.bias"]
        h = h + _ln(x, s["value_encoder.norm.weight"], s["value_encoder.norm.bias"])
        e = h.shape[-1]
        dh = e // nheads
        for n in range(nlayers):
            p = f"transformer_encoder.layers.{n}."
            wqkv, bqkv = s[p + "self_attn.Wqkv.weight"], s[p + "self_attn.Wqkv.bias"]
            q = h @ wqkv[:e].T + bqkv[:e]
            k = h @ wqkv[e : 2 * e].T + bqkv[e : 2 * e]
            vv = h @ wqkv[2 * e :].T + bqkv[2 * e :]
            heads = []
            for hd in range(nheads):
                sl = slice(hd * dh, (hd + 1) * dh)
                scores = q[:, sl] @ k[:, sl].T / math.sqrt(dh)
                scores[:, ~keep] = float("-inf")
                heads.append(torch.softmax(scores, dim=-1) @ vv[:, sl])
            attn = torch.cat(heads, dim=-1) @ s[p + "self_attn.out_proj.weight"].T + s[p + "self_attn.out_proj.bias"]
            a = _ln(h + attn, s[p + "norm1.weight"], s[p + "norm1.bias"])
            ff = torch.relu(a @ s[p + "linear1.weight"].T + s[p + "linear1.bias"]) @ s[p + "linear2.weight"].T + s[p + "linear2.bias"]
            h = _ln(a + ff, s[p + "norm2.weight"], s[p + "norm2.bias"])
        out.append(h)
    return torch.stack(out)


def test_forward_matches_reference(tiny_folder):
    folder = tiny_folder(layout="flash")
    loaded = load_scgpt(folder)
    state = torch.load(folder / "best_model.pt", weights_only=True)
    gen = torch.Generator().manual_seed(3)
    n_genes = len(loaded.vocab) - 3
    genes = torch.randint(0, n_genes, (3, 9), generator=gen)
    genes[:, 0] = loaded.cls_id
    genes[1, 6:] = loaded.pad_id
    genes[2, 3:] = loaded.pad_id
    values = torch.randint(1, 51, (3, 9), generator=gen).float()
    values[:, 0] = -2
    values[genes == loaded.pad_id] = -2
    values[0, 4] = 700.0  # exercises the clamp(max=512)
    got = loaded.model(genes, values).double()
    ref = reference_forward(state, genes, values, loaded.pad_id, loaded.config.nheads, loaded.config.nlayers)
    keep = genes != loaded.pad_id
    assert torch.allclose(got[keep], ref[keep], atol=1e-5, rtol=0)
    # a wrong head split would differ by far more than the tolerance
    assert (got[keep] - ref[keep]).abs().max() < 1e-5
