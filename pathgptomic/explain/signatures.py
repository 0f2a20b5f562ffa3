"""Gene signatures: reading a user-supplied signature file (MCAT's signatures are GPLv3 and not
shipped) and aggregating gene-level attributions by signature."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pathgptomic.errors import InputValidationError


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


def group_by_signature(table: pd.DataFrame, signatures: pd.DataFrame, *, value: str = "attribution", n_top: int = 3) -> pd.DataFrame:
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
        rows.append(
            {
                "signature": sig,
                "n_genes": int(members["gene"].nunique()),
                "n_features": int(len(part)),
                "sum": float(part[value].sum()),
                "sum_abs": float(mag.sum()),
                "mean_abs": float(mag.mean()) if len(part) else 0.0,
                "top_features": ", ".join(top[label].astype(str)),
            }
        )
    return pd.DataFrame(rows).sort_values("sum_abs", ascending=False, kind="stable").reset_index(drop=True)
