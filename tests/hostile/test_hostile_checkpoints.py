"""Damaged scGPT checkpoint folders: every one gives a CheckpointError naming the file, never a raw exception.

Outcome class of every case: ``error`` = :class:`CheckpointError` whose message names the file or key at fault.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest
import torch
from scgpt_test_helpers import make_tiny

from pathgptomic.errors import CheckpointError
from pathgptomic.genomics.scgpt import clear_cache, load_scgpt, save_scgpt_folder

pytestmark = pytest.mark.timeout(60)


def _edit_json(name: str, change: Callable[[dict], object]) -> Callable[[Path], None]:
    def _do(folder: Path) -> None:
        data = json.loads((folder / name).read_text())
        out = change(data)
        (folder / name).write_text(json.dumps(out if isinstance(out, dict) else data))

    return _do


def _state(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def _do(folder: Path) -> None:
        state = torch.load(folder / "best_model.pt", weights_only=True)
        change(state)
        torch.save(state, folder / "best_model.pt")

    return _do


def _truncate(folder: Path) -> None:
    data = (folder / "best_model.pt").read_bytes()
    (folder / "best_model.pt").write_bytes(data[: len(data) // 3])


class _Evil:
    def __reduce__(self):
        return (print, ("never executed",))


CASES: list[tuple[str, Callable[[Path], None], str]] = [
    ("missing-vocab", lambda f: (f / "vocab.json").unlink(), r"lacks vocab\.json"),
    ("missing-weights", lambda f: (f / "best_model.pt").unlink(), r"lacks best_model\.pt"),
    ("args-not-json", lambda f: (f / "args.json").write_text("{embsize: 16,"), r"args\.json: not valid JSON"),
    ("args-a-list", lambda f: (f / "args.json").write_text("[1, 2]"), r"args\.json: expected a JSON object"),
    ("args-missing-nheads", _edit_json("args.json", lambda d: d.pop("nheads")), r"required field 'nheads' is missing"),
    ("args-text-embsize", _edit_json("args.json", lambda d: d.update(embsize="16")), r"field 'embsize' must be a positive integer"),
    ("args-indivisible-heads", _edit_json("args.json", lambda d: d.update(nheads=3)), r"embsize 16 is not divisible by nheads 3"),
    ("vocab-not-json", lambda f: (f / "vocab.json").write_bytes(b"\xff\xfe garbage"), r"vocab\.json: not valid JSON"),
    ("vocab-gap", _edit_json("vocab.json", lambda d: d.update(GENE0=9999)), r"vocab\.json: token ids must be the consecutive integers"),
    (
        "vocab-text-ids",
        _edit_json("vocab.json", lambda d: {k: str(v) for k, v in d.items()}),
        r"vocab\.json: expected a JSON object mapping",
    ),
    ("vocab-extra-gene", _edit_json("vocab.json", lambda d: d.update(EXTRA=len(d))), r"has \d+ rows but vocab\.json .* has \d+ tokens"),
    ("truncated-weights", _truncate, r"best_model\.pt: cannot be read as a weights-only torch state dict"),
    ("pickled-code", lambda f: torch.save({"x": _Evil()}, f / "best_model.pt"), r"best_model\.pt: cannot be read as a weights-only"),
    ("not-a-state-dict", lambda f: torch.save([torch.zeros(2)], f / "best_model.pt"), r"expected a raw state dict"),
    (
        "wrong-shape",
        _state(lambda s: s.update({"transformer_encoder.layers.0.linear1.weight": torch.zeros(25, 16)})),
        r"shape mismatches: transformer_encoder\.layers\.0\.linear1\.weight \(checkpoint \(25, 16\), model \(24, 16\)\)",
    ),
    (
        "missing-tensor",
        _state(lambda s: s.pop("transformer_encoder.layers.1.self_attn.Wqkv.weight")),
        r"missing keys: transformer_encoder\.layers\.1\.self_attn\.in_proj_weight",
    ),
]


@pytest.mark.parametrize(("case", "damage", "pattern"), CASES, ids=[c[0] for c in CASES])
def test_damaged_scgpt_folder_gives_checkpoint_error(case, damage, pattern, tmp_path, capsys):
    model, vocab, args = make_tiny(0)
    folder = save_scgpt_folder(tmp_path / "ckpt", model, vocab, args, layout="flash")
    clear_cache()
    load_scgpt(folder, use_cache=False)  # the undamaged folder loads
    damage(folder)
    clear_cache()
    with pytest.raises(CheckpointError, match=pattern):
        load_scgpt(folder, use_cache=False)
    assert "never executed" not in capsys.readouterr().out


def test_missing_scgpt_folder_via_cli_is_exit_2(run_cli, tmp_path, clean_csv_text):
    """Outcome: error (exit 2) naming the folder and what it must hold."""
    (tmp_path / "c.csv").write_text(clean_csv_text)
    rc, err = run_cli(
        [
            "train",
            "--cohort",
            str(tmp_path / "c.csv"),
            "--out",
            str(tmp_path / "out"),
            "--fusion",
            "genomic",
            "--rna-encoder",
            "scgpt",
            "--scgpt-dir",
            str(tmp_path / "nowhere"),
            "--epochs",
            "1",
            "--no-progress",
        ]
    )
    assert rc == 2, err
    assert "nowhere" in err and "args.json, vocab.json and best_model.pt" in err
