"""scGPT gene vocabulary (``vocab.json``) without torchtext.

The official ``vocab.json`` is a flat JSON object ``{token: id}``; ids must be the
consecutive integers ``0..V-1`` (the official ``GeneVocab.from_dict`` inserts tokens in id
order). Special tokens (``<pad>``, ``<cls>``, ``<eoc>``) are read from the file; a missing
special token is appended at id ``len(vocab)``, exactly as the official ``embed_data`` does.
Gene symbols are matched by exact string, as in the official code.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from pathgptomic.errors import CheckpointError

logger = logging.getLogger(__name__)

#: Special tokens the official embedding code appends when absent, in this order.
SPECIAL_TOKENS: tuple[str, ...] = ("<pad>", "<cls>", "<eoc>")


@dataclass(frozen=True)
class GeneCoverage:
    """How many of the given genes were found in the vocabulary.

    Attributes:
        n_given: Number of (distinct) gene symbols given.
        n_found: Number found in the vocabulary.
        missing: Symbols not found, in input order.
    """

    n_given: int
    n_found: int
    missing: tuple[str, ...] = field(default_factory=tuple)

    @property
    def fraction(self) -> float:
        """``n_found / n_given`` (0 when nothing was given)."""
        return self.n_found / self.n_given if self.n_given else 0.0

    def to_dict(self) -> dict:
        """JSON-safe summary."""
        return {
            "n_given": self.n_given,
            "n_found": self.n_found,
            "fraction": round(self.fraction, 6),
            "missing": list(self.missing),
        }

    def __str__(self) -> str:
        head = ", ".join(self.missing[:10])
        more = f" (+{len(self.missing) - 10} more)" if len(self.missing) > 10 else ""
        miss = f"; missing: {head}{more}" if self.missing else ""
        return f"{self.n_found}/{self.n_given} genes in the scGPT vocabulary ({100 * self.fraction:.1f}%){miss}"


class GeneVocab:
    """Token → id mapping of an scGPT checkpoint.

    Args:
        stoi: Mapping token → id; ids must be exactly ``0..len(stoi)-1``.
        source: Where the mapping came from (used in error messages).

    Raises:
        CheckpointError: When ids are not consecutive from 0 or repeat.
    """

    def __init__(self, stoi: dict[str, int], source: str = "<memory>") -> None:
        ids = sorted(int(v) for v in stoi.values())
        if ids != list(range(len(ids))):
            bad = next((i for i, v in enumerate(ids) if v != i), len(ids))
            raise CheckpointError(
                f"{source}: token ids must be the consecutive integers 0..{len(ids) - 1} "
                f"(the official GeneVocab requires this); the first gap/duplicate is near id {bad}. "
                "Use the vocab.json shipped with the checkpoint unchanged."
            )
        self.source = source
        self._stoi: dict[str, int] = {str(k): int(v) for k, v in stoi.items()}
        self._itos: list[str] = [""] * len(self._stoi)
        for tok, i in self._stoi.items():
            self._itos[i] = tok

    @classmethod
    def from_file(cls, path: str | Path, *, add_specials: bool = True) -> "GeneVocab":
        """Read ``vocab.json``; append missing special tokens like the official code.

        Args:
            path: The ``vocab.json`` file.
            add_specials: Append each of ``<pad>``, ``<cls>``, ``<eoc>`` that is absent, at id
                ``len(vocab)`` (official ``embed_data`` behaviour).

        Returns:
            The vocabulary.

        Raises:
            CheckpointError: When the file is missing, not a JSON object of ints, or ids
                are not consecutive.
        """
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(f"{path}: vocab.json not found; an scGPT folder holds args.json, vocab.json and best_model.pt")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise CheckpointError(f"{path}: not valid JSON ({exc}); expected an object {{gene: id}}") from exc
        if not isinstance(data, dict) or not all(isinstance(v, int) for v in data.values()):
            raise CheckpointError(f"{path}: expected a JSON object mapping token strings to integer ids")
        vocab = cls(data, source=str(path))
        if add_specials:
            for tok in SPECIAL_TOKENS:
                if tok not in vocab:
                    logger.info("%s: special token %s absent; appended at id %d", path, tok, len(vocab))
                    vocab.append_token(tok)
        return vocab

    def append_token(self, token: str) -> int:
        """Add ``token`` at id ``len(self)`` (no-op if present); returns its id."""
        if token in self._stoi:
            return self._stoi[token]
        self._stoi[token] = len(self._itos)
        self._itos.append(token)
        return self._stoi[token]

    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token: object) -> bool:
        return token in self._stoi

    def __getitem__(self, token: str) -> int:
        try:
            return self._stoi[token]
        except KeyError:
            raise KeyError(f"token {token!r} is not in the vocabulary {self.source}") from None

    def get(self, token: str, default: int = -1) -> int:
        """Id of ``token`` or ``default``."""
        return self._stoi.get(token, default)

    def lookup_token(self, idx: int) -> str:
        """Token string of id ``idx``."""
        return self._itos[idx]

    @property
    def tokens(self) -> list[str]:
        """All tokens in id order."""
        return list(self._itos)

    def get_stoi(self) -> dict[str, int]:
        """A copy of the token → id mapping."""
        return dict(self._stoi)

    def to_json(self, path: str | Path) -> None:
        """Write the mapping like the official code (``indent=2``)."""
        Path(path).write_text(json.dumps(self._stoi, indent=2), encoding="utf-8")

    def map_genes(self, genes: Sequence[str]) -> tuple[np.ndarray, GeneCoverage]:
        """Vocabulary ids of ``genes`` (-1 where absent) and the coverage report.

        Special tokens are never treated as genes.

        Args:
            genes: Gene symbols, shape ``(g,)``.

        Returns:
            ``(ids, coverage)``: ids int64 shape ``(g,)``; coverage over distinct symbols.
        """
        specials = set(SPECIAL_TOKENS)
        ids = np.array([-1 if str(g) in specials else self._stoi.get(str(g), -1) for g in genes], dtype=np.int64)
        seen: dict[str, bool] = {}
        for g, i in zip(genes, ids):
            seen.setdefault(str(g), bool(i >= 0))
        missing = tuple(g for g, ok in seen.items() if not ok)
        return ids, GeneCoverage(n_given=len(seen), n_found=len(seen) - len(missing), missing=missing)


def build_vocab(genes: Iterable[str], specials: Sequence[str] = SPECIAL_TOKENS) -> GeneVocab:
    """A vocabulary of distinct ``genes`` (in the given order) followed by ``specials``."""
    stoi: dict[str, int] = {}
    for g in genes:
        if g not in stoi and g not in specials:
            stoi[g] = len(stoi)
    for s in specials:
        stoi.setdefault(s, len(stoi))
    return GeneVocab(stoi, source="<built>")
