"""``pathgptomic smooth`` (train MLP-A) and ``pathgptomic embed-rna`` (cohort → embeddings).

``register(subparsers)`` is wired into :mod:`pathgptomic.cli`; ``python -m
pathgptomic.genomics.cli`` runs the same subcommands stand-alone.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Sequence

logger = logging.getLogger(__name__)


def _add_smooth(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "smooth",
        help="pre-train MLP-A (mix-up smoothing) on single cells with a frozen scGPT",
        description=(
            "Pre-train MLP-A (3 layers, width 128) + a linear cell-type classifier on scGPT embeddings of mixed cell pairs "
            "(mix-up, paper §2.1); validates on held-out cells against the same MLP without mix-up and writes "
            "<out> (safetensors) + <out>.json metadata. Default data: scanpy's bundled pbmc68k_reduced (.raw.X, obs['bulk_labels'])."
        ),
    )
    p.add_argument(
        "--scgpt-dir",
        "--scgpt-folder",
        dest="scgpt_dir",
        default=None,
        help="scGPT checkpoint folder (default: $PATHGPTOMIC_SCGPT_DIR or models/scgpt-demo)",
    )
    p.add_argument("--h5ad", default="pbmc68k_reduced", help="single-cell .h5ad, or 'pbmc68k_reduced' (bundled with scanpy)")
    p.add_argument("--cell-type-col", default="bulk_labels", help="obs column with the cell type")
    p.add_argument("--no-raw", action="store_true", help="use .X instead of .raw.X")
    p.add_argument("--out", default=None, help="MLP-A file to write (default: <scgpt-dir>/mlp_a.safetensors)")
    p.add_argument(
        "--loss", choices=["soft_ce", "mse"], default="soft_ce", help="soft-target cross-entropy (default) or MSE on probabilities"
    )
    p.add_argument("--n-pairs", type=int, default=2000, help="mixed training pairs (embedded once)")
    p.add_argument("--n-val-pairs", type=int, default=300)
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--max-length", type=int, default=1200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_smooth)


def _add_embed(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "embed-rna",
        help="cohort RNA-seq → scGPT (or scGPT + MLP-A) embeddings file",
        description=(
            "Embed the RNA-seq of a cohort (TCGA CSV, generic folder, 'demo') or of a generic expression CSV with the frozen "
            "scGPT encoder; --mode scgpt_smooth also applies MLP-A. Writes a CSV (patient_id + features) or an .npz "
            "(matrix, patient_ids, hashes, coverage)."
        ),
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--cohort", help="'demo', a TCGA-layout CSV(.gz) or a generic-layout folder")
    src.add_argument("--expression-csv", help="generic expression CSV: samples × genes (first column = sample id)")
    p.add_argument("--genes-as-rows", action="store_true", help="--expression-csv is genes × samples")
    p.add_argument("--out", required=True, help="output .csv or .npz")
    p.add_argument("--mode", choices=["scgpt", "scgpt_smooth"], default="scgpt")
    p.add_argument(
        "--scgpt-dir",
        "--scgpt-folder",
        dest="scgpt_dir",
        default=None,
        help="scGPT checkpoint folder (default: $PATHGPTOMIC_SCGPT_DIR or models/scgpt-demo)",
    )
    p.add_argument("--mlp-a", default=None, help="MLP-A file (default: <scgpt-dir>/mlp_a.safetensors)")
    p.add_argument(
        "--value-mode",
        choices=["auto", "counts", "ranks"],
        default="auto",
        help="counts: zeros = not expressed (official); ranks: every finite value, binned by within-sample rank (z-scores)",
    )
    p.add_argument(
        "--max-length",
        type=int,
        default=None,
        help="default: every sample embedded with the same genes (all mapped, at most 2047), no per-sample sampling; "
        "an integer (official: 1200) = scGPT sequence length with a random gene subset per longer sample",
    )
    p.add_argument("--min-genes", type=int, default=100)
    p.add_argument("--no-autocast", action="store_true", help="fp32 on CUDA (recommended for the demo model)")
    p.add_argument("--batch-size", type=int, default=None, help="default: 64 on CUDA, 8 on CPU")
    p.add_argument("--cache-dir", default=None)
    p.add_argument("--no-cache", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default=None)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_embed_rna)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``smooth`` and ``embed-rna`` subcommands to ``subparsers``."""
    _add_smooth(subparsers)
    _add_embed(subparsers)


def cmd_smooth(args: argparse.Namespace) -> int:
    """Train MLP-A and write it with its metadata."""
    from pathgptomic.genomics.datasets import load_cells
    from pathgptomic.genomics.features import MLP_A_FILENAME, default_scgpt_folder
    from pathgptomic.genomics.scgpt import load_scgpt
    from pathgptomic.genomics.smoothing import SmoothingConfig, save_mlp_a, train_mlp_a

    folder = Path(args.scgpt_dir) if args.scgpt_dir else default_scgpt_folder()
    loaded = load_scgpt(folder)
    cells = load_cells(args.h5ad, cell_type_col=args.cell_type_col, use_raw=False if args.no_raw else None)
    cfg = SmoothingConfig(
        loss=args.loss,
        n_pairs=args.n_pairs,
        n_val_pairs=args.n_val_pairs,
        val_fraction=args.val_fraction,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        max_length=args.max_length,
        seed=args.seed,
    )
    result = train_mlp_a(loaded, cells, cfg, device=args.device, show_progress=not args.no_progress)
    out = Path(args.out) if args.out else folder / MLP_A_FILENAME
    save_mlp_a(result, out)
    print(json.dumps({"out": str(out), "scgpt_checkpoint_hash": loaded.checkpoint_hash, "metrics": result.metrics}, indent=2))
    return 0


def cmd_embed_rna(args: argparse.Namespace) -> int:
    """Embed a cohort's (or an expression CSV's) RNA-seq and write CSV/npz."""
    import numpy as np

    from pathgptomic.genomics.features import expression_features, rna_features

    common = dict(
        mode=args.mode,
        scgpt_folder=args.scgpt_dir,
        mlp_a_path=args.mlp_a,
        cache_dir=args.cache_dir,
        device=args.device,
        show_progress=not args.no_progress,
        seed=args.seed,
        value_mode=args.value_mode,
        max_length=args.max_length,
        min_genes=args.min_genes,
        batch_size=args.batch_size,
        use_cache=not args.no_cache,
        use_autocast=False if args.no_autocast else None,
    )
    if args.cohort:
        feats = rna_features(_load_cohort(args.cohort), **common)
    else:
        from pathgptomic.genomics.bulk import read_expression_csv

        df = read_expression_csv(args.expression_csv, genes_as_rows=args.genes_as_rows)
        feats = expression_features(df, source=str(args.expression_csv), **common)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".npz":
        np.savez(
            out,
            matrix=feats.matrix,
            patient_ids=np.asarray(feats.patient_ids, dtype=str),
            checkpoint_hash=np.array(feats.checkpoint_hash),
            mlp_a_hash=np.array(feats.mlp_a_hash or ""),
            coverage=np.array(json.dumps(feats.coverage.to_dict())),
            mode=np.array(feats.mode),
        )
    else:
        feats.to_frame().to_csv(out)
    print(f"wrote {out}: {feats.matrix.shape[0]} samples x {feats.matrix.shape[1]} features ({feats.mode}); {feats.coverage}")
    print(f"scGPT checkpoint {feats.checkpoint_hash}" + (f", MLP-A {feats.mlp_a_hash}" if feats.mlp_a_hash else ""))
    return 0


def _load_cohort(value: str):
    """'demo' or a path → Cohort (:func:`pathgptomic.data.demo.resolve_cohort`)."""
    from pathgptomic.data.demo import resolve_cohort

    return resolve_cohort(value)


def main(argv: Sequence[str] | None = None) -> int:
    """Stand-alone entry point: ``python -m pathgptomic.genomics.cli {smooth,embed-rna} ...``."""
    from pathgptomic.errors import PathGPTomicError

    parser = argparse.ArgumentParser(prog="python -m pathgptomic.genomics.cli")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="cmd", required=True)
    register(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except PathGPTomicError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
