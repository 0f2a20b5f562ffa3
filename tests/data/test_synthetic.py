"""Synthetic cohort: determinism, structure of the true risk, images, files on disk."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pathgptomic.data import make_synthetic_cohort, read_cohort, render_he_image, write_demo_cohort
from pathgptomic.data.synthetic import _FALLBACK_RNA_GENES, CNV_GENES, rna_gene_symbols


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return make_synthetic_cohort(120, seed=0, image_dir=tmp_path_factory.mktemp("img"), image_size=64)


def test_structure(small):
    assert small.n == 120 and small.time_unit == "months"
    assert {k: v.shape for k, v in small.blocks.items()} == {"cnv": (120, 30), "mut": (120, 16), "rnaseq": (120, 200), "clinical": (120, 2)}
    assert set(np.unique(small.blocks["cnv"].to_numpy())) <= {-2.0, -1.0, 0.0, 1.0, 2.0}
    assert set(np.unique(small.blocks["mut"].to_numpy())) == {0.0, 1.0}
    assert (small.blocks["rnaseq"].to_numpy() >= 0).all()
    assert list(small.blocks["cnv"].columns) == list(CNV_GENES)
    assert (small.time > 0).all() and np.isfinite(small.time).all()
    censored = 1 - small.event.mean()
    assert 0.25 <= censored <= 0.45
    for pid in small.ids:
        assert len(small.slides[pid]) == 1 and Path(small.slides[pid][0]).is_file()


def test_true_risk_has_both_parts_genomic_stronger(small):
    truth = small.meta["truth"]
    np.testing.assert_allclose(small.true_risk, truth["genomic_part"] + truth["image_part"])
    assert truth["genomic_part"].var() > truth["image_part"].var() > 0.1
    # image part is independent of the genomics (complementary information)
    assert abs(np.corrcoef(truth["genomic_part"], truth["image_part"])[0, 1]) < 0.3
    # the true risk drives survival (lifelines wants higher = longer survival: pass -risk)
    from lifelines.utils import concordance_index

    c_true = concordance_index(small.time, -small.true_risk, small.event)
    c_gen = concordance_index(small.time, -truth["genomic_part"].to_numpy(), small.event)
    c_img = concordance_index(small.time, -truth["image_part"].to_numpy(), small.event)
    assert c_true > 0.68 and c_true > c_gen > c_img > 0.55


def test_image_latent_drives_morphology():
    dark = [render_he_image(u, 128, seed=s).mean() for u, s in ((-2.0, 1), (2.0, 1))]
    assert dark[1] < dark[0] - 5  # more, larger, darker nuclei at high latent
    img = render_he_image(0.0, 96, seed=3)
    assert img.shape == (96, 96, 3) and img.dtype == np.uint8
    white = (img.min(axis=2) > 220).mean()
    assert 0.05 < white < 0.5  # some background for tissue detection
    r, g, b = (img[..., i].astype(float) for i in range(3))
    tissue = img.min(axis=2) <= 220
    assert r[tissue].mean() > g[tissue].mean()  # pink/purple stain, not grey


def test_same_seed_identical_files(tmp_path):
    a = write_demo_cohort(tmp_path / "a", n_patients=12, seed=5, image_size=48)
    b = write_demo_cohort(tmp_path / "b", n_patients=12, seed=5, image_size=48)
    c = write_demo_cohort(tmp_path / "c", n_patients=12, seed=6, image_size=48)
    da, db, dc = _digest(a), _digest(b), _digest(c)
    assert da == db
    assert da["cohort_tcga.csv"] != dc["cohort_tcga.csv"] and da["images/SYN-0001.png"] != dc["images/SYN-0001.png"]
    assert {"cohort_tcga.csv", "slides.csv", "true_risk.csv", "images/SYN-0012.png"} <= set(da)


@pytest.mark.parametrize("layout", ["tcga", "generic"])
def test_demo_folder_reads_back(tmp_path, layout):
    folder = write_demo_cohort(tmp_path / layout, n_patients=15, seed=2, layout=layout, image_size=48)
    direct = make_synthetic_cohort(15, seed=2, image_dir=tmp_path / "direct", image_size=48)
    back = read_cohort(folder)
    np.testing.assert_array_equal(back.ids, direct.ids)
    np.testing.assert_array_equal(back.time, direct.time)
    np.testing.assert_array_equal(back.event, direct.event)
    np.testing.assert_array_equal(back.true_risk, direct.true_risk)
    for name, blk in direct.blocks.items():
        np.testing.assert_array_equal(back.blocks[name].to_numpy(), blk.to_numpy())
        assert list(back.blocks[name].columns) == list(blk.columns)
    assert Image.open(back.slides["SYN-0003"][0]).size == (48, 48)


def test_gene_symbols_do_not_depend_on_scanpy():
    assert rna_gene_symbols(256) == list(_FALLBACK_RNA_GENES)


def test_rewriting_a_demo_folder_replaces_the_old_layout(tmp_path):
    write_demo_cohort(tmp_path, n_patients=14, seed=1, layout="generic", image_size=40)
    write_demo_cohort(tmp_path, n_patients=12, seed=1, layout="tcga", image_size=40)
    back = read_cohort(tmp_path)
    assert back.meta["layout"] == "tcga" and back.n == 12
    assert len(list((tmp_path / "images").glob("*.png"))) == 12
