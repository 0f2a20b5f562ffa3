"""Build the small demo scGPT-format model shipped in ``models/scgpt-demo``.

Real pretrained scGPT weights cannot be downloaded here and the demo must run offline, so
this script builds a small model in the official folder format (``args.json``,
``vocab.json``, ``best_model.pt`` with the flash-attention ``Wqkv`` key layout of the released
whole-human checkpoint) and pre-trains it briefly on scanpy's bundled ``pbmc68k_reduced``
(700 cells, ``.raw.X`` log-normalised) with scGPT's two masked-value objectives:

* GEP (masked value prediction): a random 25/50/75 % of each cell's expressed genes get the
  value ``mask_value`` (-1); the ``ExprDecoder`` (``decoder.fc.*``) predicts their bins from the
  token outputs, :math:`L_{GEP} = \\frac{1}{|M|}\\sum_{i\\in M}(\\hat b_i - b_i)^2`;
* GEPC (``MVC``): the same bins predicted from the ``<cls>`` output alone,
  :math:`\\hat b_i = \\langle W\\,\\sigma(G q_i + c),\\, h_{cls} \\rangle` with :math:`q_i` the gene
  embedding (``mvc_decoder.*``), so the cell embedding carries the cell's expression.

The loss is :math:`L_{GEP} + L_{GEPC}`; both heads regress the bin minus the mean bin of the data
(centred targets converge in the few steps this brief pre-training has; the heads are not used
for embedding). Cells are batched in length buckets to limit padding.

The vocabulary is the pbmc68k_reduced genes ∪ the TCGA-GBMLGG RNA-seq gene symbols (+ ``<pad>``, ``<cls>``,
``<eoc>``); only the 765 pbmc genes are trained — the other token embeddings keep their random initialisation.

Command (run from the repository root; the gene list shipped with the model reproduces its
vocabulary without the TCGA file, ``--tcga-csv PATH`` reads the genes from a TCGA-layout CSV)::

    python -m pathgptomic.genomics.demo_model --out models/scgpt-demo \
        --genes-file models/scgpt-demo/genes_tcga_gbmlgg_rnaseq.txt

Nothing outside the given paths is read: without ``--tcga-csv`` or ``--genes-file`` the
vocabulary holds the pbmc genes only.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pathgptomic.genomics.binning import binning
from pathgptomic.genomics.datasets import load_cells
from pathgptomic.genomics.scgpt import ScGPTConfig, ScGPTEncoder, save_scgpt_folder
from pathgptomic.genomics.vocab import build_vocab

logger = logging.getLogger(__name__)

GENES_FILE = "genes_tcga_gbmlgg_rnaseq.txt"


class ExprDecoder(nn.Module):
    """Official ``ExprDecoder``: ``fc = [Linear(E,E), LeakyReLU, Linear(E,E), LeakyReLU, Linear(E,1)]``."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(d_model, d_model), nn.LeakyReLU(), nn.Linear(d_model, d_model), nn.LeakyReLU(), nn.Linear(d_model, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, S, E)`` → ``(B, S)``."""
        return self.fc(x).squeeze(-1)


class MVCDecoder(nn.Module):
    """Official inner-product ``MVCDecoder``: ``pred_i = <W sigmoid(gene2query(q_i)), h_cls>``."""

    def __init__(self, d_model: int) -> None:
        super().__init__()
        self.gene2query = nn.Linear(d_model, d_model)
        self.query_activation = nn.Sigmoid()
        self.W = nn.Linear(d_model, d_model, bias=False)

    def forward(self, cell_emb: torch.Tensor, gene_embs: torch.Tensor) -> torch.Tensor:
        """``cell_emb (B, E)``, ``gene_embs (B, S, E)`` → ``(B, S)``."""
        q = self.query_activation(self.gene2query(gene_embs))
        return torch.bmm(self.W(q), cell_emb.unsqueeze(2)).squeeze(2)


def tcga_rnaseq_genes(csv_path: Path) -> list[str]:
    """Gene symbols of the ``<GENE>_rnaseq`` columns in a TCGA-layout CSV header."""
    import pandas as pd

    cols = pd.read_csv(csv_path, nrows=0).columns
    return [c[: -len("_rnaseq")] for c in cols if c.endswith("_rnaseq")]


def _tokenize_cells(x: np.ndarray, gene_ids: np.ndarray, n_bins: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    out = []
    for row in x:
        nz = np.nonzero(row)[0]
        out.append((gene_ids[nz], binning(row[nz], n_bins, rng).astype(np.float32)))
    return out


def pretrain(
    *,
    out: Path,
    embsize: int = 64,
    nheads: int = 4,
    d_hid: int = 128,
    nlayers: int = 4,
    epochs: int = 15,
    batch_size: int = 32,
    lr: float = 1e-3,
    seed: int = 0,
    tcga_csv: Path | None = None,
    genes_file: Path | None = None,
    threads: int = 1,
) -> dict:
    """Build and pre-train the demo model, write the folder, return training facts."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    cells = load_cells(None)
    if tcga_csv is not None and Path(tcga_csv).is_file():
        tcga_genes = tcga_rnaseq_genes(Path(tcga_csv))
        gene_source = str(tcga_csv)
    elif genes_file is not None and Path(genes_file).is_file():
        tcga_genes = [g for g in Path(genes_file).read_text().split() if g]
        gene_source = str(genes_file)
    else:
        tcga_genes = []
        gene_source = "none (neither --tcga-csv nor --genes-file given)"
    extra = sorted(set(tcga_genes) - set(cells.genes.tolist()))
    vocab = build_vocab(list(cells.genes) + extra)
    n_bins, pad_value, mask_value = 51, -2, -1
    args = {
        "embsize": embsize,
        "nheads": nheads,
        "d_hid": d_hid,
        "nlayers": nlayers,
        "n_layers_cls": 3,
        "dropout": 0.1,
        "pad_token": "<pad>",
        "pad_value": pad_value,
        "mask_value": mask_value,
        "input_style": "binned",
        "input_emb_style": "continuous",
        "n_bins": n_bins,
        "max_seq_len": 1200,
        "fast_transformer": False,
        "MVC": True,
        "mask_ratio": [0.25, 0.5, 0.75],
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "data_source": cells.source,
        "objectives": "GEP + GEPC (MVC) masked value prediction, targets = bin - mean bin",
        "demo_note": "Path-GPTomic demo model: NOT an official scGPT release; see README.md",
    }
    cfg = ScGPTConfig.from_args(args)
    model = ScGPTEncoder(cfg, len(vocab), vocab["<pad>"])
    dec, mvc = ExprDecoder(embsize), MVCDecoder(embsize)
    params = list(model.parameters()) + list(dec.parameters()) + list(mvc.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.01)
    gene_ids = np.array([vocab[g] for g in cells.genes], dtype=np.int64)
    tokens = _tokenize_cells(cells.x, gene_ids, n_bins, seed)
    n = len(tokens)
    # length buckets (less padding): cells sorted by length, cut into batches, batch order shuffled
    by_len = np.argsort([len(t[0]) for t in tokens], kind="stable")
    buckets = [by_len[i : i + batch_size] for i in range(0, n, batch_size)]
    steps_per_epoch = len(buckets)
    all_bins = np.concatenate([t[1] for t in tokens])
    target_mean = float(all_bins.mean())
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * steps_per_epoch, pct_start=0.1)
    rng = np.random.default_rng(seed + 1)
    pad_id, cls_id = vocab["<pad>"], vocab["<cls>"]
    history = []
    t0 = time.time()
    for epoch in range(epochs):
        for module in (model, dec, mvc):
            module.train()
        losses = []
        for b in rng.permutation(steps_per_epoch):
            idx = buckets[b]
            s = 1 + max(len(tokens[i][0]) for i in idx)
            g = np.full((len(idx), s), pad_id, np.int64)
            v = np.full((len(idx), s), pad_value, np.float32)
            tgt = np.zeros((len(idx), s), np.float32)
            m = np.zeros((len(idx), s), bool)
            for r, i in enumerate(idx):
                gi, vi = tokens[i]
                k = len(gi)
                g[r, 0], g[r, 1 : k + 1] = cls_id, gi
                v[r, 1 : k + 1] = vi
                tgt[r, 1 : k + 1] = vi - target_mean
                ratio = rng.choice([0.25, 0.5, 0.75])
                sel = rng.random(k) < ratio
                m[r, 1 : k + 1] = sel
                v[r, 1 : k + 1][sel] = mask_value
            gt, vt, tt, mt = map(torch.from_numpy, (g, v, tgt, m))
            h = model(gt, vt, gt.eq(pad_id))
            pred = dec(h)
            gene_embs = model.encoder(gt)
            pred_mvc = mvc(h[:, 0, :], gene_embs)
            denom = mt.sum().clamp(min=1)
            loss_gep = ((pred - tt) ** 2 * mt).sum() / denom
            loss_mvc = ((pred_mvc - tt) ** 2 * mt).sum() / denom
            loss = loss_gep + loss_mvc
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            sched.step()
            losses.append((loss_gep.item(), loss_mvc.item()))
        gep, mv = np.mean(losses, axis=0)
        history.append({"epoch": epoch + 1, "gep_mse": round(float(gep), 4), "gepc_mse": round(float(mv), 4)})
        logger.info("epoch %d: GEP MSE %.3f, GEPC MSE %.3f (%.0f s)", epoch + 1, gep, mv, time.time() - t0)
    model.eval()
    extra_state = {f"decoder.{k}": v for k, v in dec.state_dict().items()}
    extra_state.update({f"mvc_decoder.{k}": v for k, v in mvc.state_dict().items()})
    out.mkdir(parents=True, exist_ok=True)
    save_scgpt_folder(out, model, vocab, args, layout="flash", extra_state=extra_state)
    (out / GENES_FILE).write_text("\n".join(tcga_genes) + ("\n" if tcga_genes else ""), encoding="utf-8")
    facts = {
        "built_utc": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} {platform.processor() or ''} torch {torch.__version__}, {threads} thread(s)",
        "seconds": round(time.time() - t0, 1),
        "vocab_size": len(vocab),
        "pbmc_genes": int(len(cells.genes)),
        "tcga_genes": len(tcga_genes),
        "tcga_gene_source": gene_source,
        "tcga_genes_in_pbmc": len(set(tcga_genes) & set(cells.genes.tolist())),
        "n_cells": n,
        "target_mean_bin": round(target_mean, 4),
        "steps": epochs * steps_per_epoch,
        "n_parameters_encoder": sum(p.numel() for p in model.parameters()),
        "history": history,
    }
    (out / "training_log.json").write_text(json.dumps(facts, indent=2), encoding="utf-8")
    return facts


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point (see module docstring)."""
    p = argparse.ArgumentParser(description="Build the Path-GPTomic demo scGPT-format model (pre-trained briefly on pbmc68k_reduced).")
    p.add_argument("--out", type=Path, default=Path("models/scgpt-demo"))
    p.add_argument("--tcga-csv", type=Path, default=None, help="TCGA-layout CSV whose <GENE>_rnaseq columns join the vocabulary")
    p.add_argument(
        "--genes-file",
        type=Path,
        default=None,
        help="gene list (one symbol a line) joining the vocabulary when --tcga-csv is not given, "
        "e.g. models/scgpt-demo/genes_tcga_gbmlgg_rnaseq.txt",
    )
    p.add_argument("--embsize", type=int, default=64)
    p.add_argument("--nheads", type=int, default=4)
    p.add_argument("--d-hid", type=int, default=128)
    p.add_argument("--nlayers", type=int, default=4)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    facts = pretrain(
        out=a.out,
        embsize=a.embsize,
        nheads=a.nheads,
        d_hid=a.d_hid,
        nlayers=a.nlayers,
        epochs=a.epochs,
        batch_size=a.batch_size,
        lr=a.lr,
        seed=a.seed,
        tcga_csv=a.tcga_csv,
        genes_file=a.genes_file,
        threads=a.threads,
    )
    print(json.dumps({k: v for k, v in facts.items() if k != "history"}, indent=2))
    print("final epoch:", facts["history"][-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
