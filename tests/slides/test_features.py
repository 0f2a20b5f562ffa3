"""Feature extraction: cohort output, cache hits without encoder calls, corrupt-entry recovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from pathgptomic.errors import SlideError
from pathgptomic.nn.encoders import load_encoder
from pathgptomic.slides import TilingConfig
from pathgptomic.slides.features import extract_cohort_features, extract_slide_features


class CountingModel(torch.nn.Module):
    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.inner(x)


@pytest.fixture()
def counting_encoder():
    enc = load_encoder("t2t_vit_test", seed=0)
    enc.model = CountingModel(enc.model)
    return enc


def test_cohort_features_and_cache(slide_dir: Path, tmp_path: Path, counting_encoder) -> None:
    cohort = {
        "P1": [str(slide_dir / "tissue0.png"), str(slide_dir / "tissue1.png")],
        "P2": [str(slide_dir / "tissue2.png")],
        "P3": [str(slide_dir / "white.png")],
        "P4": [],
    }
    cache = tmp_path / "cache"
    out = extract_cohort_features(cohort, encoder=counting_encoder, cache_dir=cache, batch_size=3, show_progress=False)
    assert set(out) == {"P1", "P2", "P3"}
    assert out["P1"].features.shape == (8, 32) and out["P1"].features.dtype == np.float32
    assert out["P1"].slide_index.tolist() == [0] * 4 + [1] * 4
    assert out["P1"].coords.shape == (8, 2)
    assert out["P3"].features.shape == (0, 32)  # blank slide: no tissue patches
    first_calls = counting_encoder.model.calls
    assert first_calls == 2 + 2 + 2  # ceil(4/3) batches for each of three tissue slides
    assert not np.allclose(out["P1"].features[0], out["P1"].features[4])

    again = extract_cohort_features(cohort, encoder=counting_encoder, cache_dir=cache, batch_size=3, show_progress=False)
    assert counting_encoder.model.calls == first_calls  # everything from the cache
    np.testing.assert_array_equal(again["P1"].features, out["P1"].features)


def test_corrupt_entry_recomputed(slide_dir: Path, tmp_path: Path, counting_encoder) -> None:
    path = slide_dir / "tissue0.png"
    cache = tmp_path / "cache"
    first = extract_slide_features(path, counting_encoder, cache_dir=cache, show_progress=False)
    assert not first.from_cache and first.cache_path.is_file()
    calls = counting_encoder.model.calls
    assert extract_slide_features(path, counting_encoder, cache_dir=cache, show_progress=False).from_cache

    data = bytearray(first.cache_path.read_bytes())  # flip bytes in the middle of the entry
    mid = len(data) // 2
    data[mid : mid + 16] = bytes(16)
    first.cache_path.write_bytes(bytes(data))
    again = extract_slide_features(path, counting_encoder, cache_dir=cache, show_progress=False)
    assert not again.from_cache and counting_encoder.model.calls > calls
    np.testing.assert_allclose(again.features, first.features, rtol=1e-5, atol=1e-6)

    first.cache_path.write_bytes(b"garbage")  # unreadable file
    assert not extract_slide_features(path, counting_encoder, cache_dir=cache, show_progress=False).from_cache
    assert not list(cache.rglob("*.tmp"))  # no temp files left behind


def test_cache_key_depends_on_tiling_and_encoder(slide_dir: Path, tmp_path: Path) -> None:
    path = slide_dir / "tissue0.png"
    a = extract_slide_features(path, "t2t_vit_test", cache_dir=tmp_path, show_progress=False)
    b = extract_slide_features(path, "t2t_vit_test", tiling=TilingConfig(patch_size=112), cache_dir=tmp_path, show_progress=False)
    assert a.cache_path != b.cache_path and b.features.shape[0] == 16
    c = extract_slide_features(path, "t2t_vit_test", cache_dir=tmp_path, show_progress=False)
    assert c.from_cache  # named encoder with seeded random init: same key, no rebuild needed


def test_bad_slide_raise_or_skip(tmp_path: Path, slide_dir: Path) -> None:
    bad = tmp_path / "bad.svs"
    bad.write_text("not a slide")
    cohort = {"A": [str(bad)], "B": [str(slide_dir / "tissue0.png")]}
    with pytest.raises(SlideError, match="bad.svs"):
        extract_cohort_features(cohort, encoder="t2t_vit_test", cache_dir=tmp_path / "c", show_progress=False)
    with pytest.warns(UserWarning, match="bad.svs"):
        out = extract_cohort_features(cohort, encoder="t2t_vit_test", cache_dir=tmp_path / "c", show_progress=False, on_error="skip")
    assert set(out) == {"B"}


def test_dataloader_workers_match_inline(slide_dir: Path, tmp_path: Path) -> None:
    enc = load_encoder("t2t_vit_test", seed=0)
    tiling = TilingConfig(patch_size=32)  # many small patches, so both workers read from one handle's file
    for name in ("tissue1.png", "pyramid.tif"):
        path = slide_dir / name
        a = extract_slide_features(path, enc, tiling=tiling, cache_dir=tmp_path / "a", num_workers=0, batch_size=4, show_progress=False)
        b = extract_slide_features(path, enc, tiling=tiling, cache_dir=tmp_path / "b", num_workers=2, batch_size=4, show_progress=False)
        assert len(a.features) > 8
        np.testing.assert_allclose(a.features, b.features, rtol=1e-5, atol=1e-6)


class ThreadRecordingModel(torch.nn.Module):
    """Records ``torch.get_num_threads()`` at every forward pass."""

    def __init__(self, inner: torch.nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.threads: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.threads.append(torch.get_num_threads())
        return self.inner(x)


def test_cpu_encoding_uses_one_thread_and_restores_the_callers(slide_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pathgptomic.errors import ConfigError

    enc = load_encoder("t2t_vit_test", seed=0)
    enc.model = ThreadRecordingModel(enc.model)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        monkeypatch.delenv("PATHGPTOMIC_CPU_THREADS", raising=False)
        extract_slide_features(slide_dir / "tissue0.png", enc, cache_dir=tmp_path / "a", device="cpu", batch_size=2, show_progress=False)
        assert set(enc.model.threads) == {1} and torch.get_num_threads() == 2
        monkeypatch.setenv("PATHGPTOMIC_CPU_THREADS", "3")
        enc.model.threads.clear()
        extract_slide_features(slide_dir / "tissue1.png", enc, cache_dir=tmp_path / "b", device="cpu", batch_size=2, show_progress=False)
        assert set(enc.model.threads) == {3} and torch.get_num_threads() == 2
        monkeypatch.setenv("PATHGPTOMIC_CPU_THREADS", "many")
        with pytest.raises(ConfigError, match="PATHGPTOMIC_CPU_THREADS must be a whole number"):
            extract_slide_features(slide_dir / "tissue2.png", enc, cache_dir=tmp_path / "c", device="cpu", show_progress=False)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(previous)


def test_features_shipped_beside_the_slides_are_used_read_only(slide_dir: Path, tmp_path: Path, counting_encoder) -> None:
    import shutil

    from pathgptomic.slides.features import SHIPPED_FEATURES_DIRNAME

    folder = tmp_path / "slides"
    folder.mkdir()
    shutil.copy(slide_dir / "tissue0.png", folder / "a.png")
    fresh = extract_slide_features(folder / "a.png", counting_encoder, cache_dir=tmp_path / "c1", show_progress=False)
    shutil.copytree(tmp_path / "c1", folder / SHIPPED_FEATURES_DIRNAME)  # ship the cache beside the slide
    calls = counting_encoder.model.calls
    shipped = extract_slide_features(folder / "a.png", counting_encoder, cache_dir=tmp_path / "c2", show_progress=False)
    assert shipped.from_cache and counting_encoder.model.calls == calls
    np.testing.assert_array_equal(shipped.features, fresh.features)
    assert not (tmp_path / "c2").exists() or not list((tmp_path / "c2").rglob("*.npz"))
    # another image under the same name does not match the shipped entry (content-hashed)
    shutil.copy(slide_dir / "tissue1.png", folder / "a.png")
    assert not extract_slide_features(folder / "a.png", counting_encoder, cache_dir=tmp_path / "c3", show_progress=False).from_cache
    # a corrupt shipped entry is ignored, never deleted
    shutil.copy(slide_dir / "tissue0.png", folder / "a.png")
    entry = next((folder / SHIPPED_FEATURES_DIRNAME).rglob("*.npz"))
    entry.write_bytes(b"garbage")
    assert not extract_slide_features(folder / "a.png", counting_encoder, cache_dir=tmp_path / "c4", show_progress=False).from_cache
    assert entry.read_bytes() == b"garbage"


def test_demo_cohort_ships_valid_features_for_the_demo_bundles(tmp_path: Path, monkeypatch) -> None:
    """Every demo image has shipped features matching its bytes and the demo bundles' encoder and tiling."""
    from pathgptomic.cli import demo_cohort_path
    from pathgptomic.data import read_cohort
    from pathgptomic.slides.features import SHIPPED_FEATURES_DIRNAME
    from pathgptomic.training.bundle import load_bundle

    root = Path(__file__).resolve().parents[2]
    monkeypatch.setenv("PATHGPTOMIC_CACHE_DIR", str(tmp_path / "empty-cache"))
    cohort = read_cohort(demo_cohort_path())
    shipped = list((root / "assets" / "demo_cohort" / "images" / SHIPPED_FEATURES_DIRNAME).rglob("*.npz"))
    assert len(shipped) == cohort.n
    for name in ("demo", "demo-concat"):
        feats = load_bundle(root / "models" / name).features(cohort)
        assert all(len(p) > 0 for p in feats.patches)
    assert not list((tmp_path / "empty-cache").rglob("*.npz"))  # nothing was computed: all shipped entries hit
