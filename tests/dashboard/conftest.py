"""Dashboard fixtures: a tiny cross-validated bundle in the current format, trained once per session.

The shipped ``models/demo`` may lag the bundle format while it is being retrained; the page tests
run on this bundle and on its own small demo cohort instead (genomic + image branches, the
``test_resnet`` encoder, 60 patients, 3 folds, 8 epochs: about 30 s on a CPU).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

import pytest
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[2]
APP = str(REPO / "dashboard" / "app.py")
#: Seconds an AppTest run may take (the first prediction loads torch and the model).
TIMEOUT = 240
if str(REPO / "dashboard") not in sys.path:
    sys.path.insert(0, str(REPO / "dashboard"))


@pytest.fixture(scope="session")
def tiny_bundle_env(tmp_path_factory) -> dict[str, Path]:
    """``{"models": folder holding the bundle, "bundle": bundle folder, "cohort": demo cohort folder}``."""
    from pathgptomic.data import read_cohort, write_demo_cohort
    from pathgptomic.nn.fusion import ModelConfig
    from pathgptomic.training.bundle import load_bundle, save_bundle
    from pathgptomic.training.features import FeatureSettings
    from pathgptomic.training.trainer import TrainConfig, cross_validate

    root = tmp_path_factory.mktemp("dashboard")
    cohort_dir = write_demo_cohort(root / "cohort", n_patients=60, seed=0, image_size=224)
    cohort = read_cohort(cohort_dir)
    cfg = TrainConfig(
        model=ModelConfig(fusion="gradmod", snn_hidden=(16, 16, 16, 16), mlp_b_hidden=32, genomic_dim=8, image_dim=8, image_hidden=16),
        features=FeatureSettings(image_encoder="test_resnet", patch_size=224, max_patches=4, cache_dir=str(root / "cache")),
        epochs=8,
        batch_size=16,
        lr=0.002,
        seed=0,
        device="cpu",  # ranks out of fold (calibration slope > 0); 8 epochs: no weight averaging (default rule)
    )
    result = cross_validate(cohort, cfg, n_folds=3, show_progress=False)
    bundle = save_bundle(result, root / "models" / "tiny", cohort=cohort, name="tiny")
    assert load_bundle(bundle).calibration.slope > 0, "the fixture bundle must rank patients out of fold"
    return {"models": root / "models", "bundle": bundle, "cohort": cohort_dir}


@pytest.fixture
def dashboard_env(tiny_bundle_env, tmp_path, monkeypatch) -> dict[str, Path]:
    """Point the app at the tiny bundle and its cohort, with an empty job store; caches cleared."""
    import streamlit as st

    from components import state

    monkeypatch.setenv("PATHGPTOMIC_MODELS_DIR", str(tiny_bundle_env["models"]))
    monkeypatch.setenv("PATHGPTOMIC_DEMO_COHORT", str(tiny_bundle_env["cohort"]))
    monkeypatch.setenv("PATHGPTOMIC_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(state, "MODELS_DIR", tiny_bundle_env["models"])
    monkeypatch.setattr(state, "DEMO_COHORT_DIR", tiny_bundle_env["cohort"])
    st.cache_data.clear()
    state.demo_cohort.clear()
    state.job_store.clear()
    return tiny_bundle_env


def _open_page(name: str) -> AppTest:
    """An AppTest of the app switched to ``app_pages/<name>.py`` (no exception on the way)."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page(f"app_pages/{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _no_errors(at: AppTest) -> None:
    """No exception and no ``st.error`` on the page."""
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


@pytest.fixture
def open_page() -> Callable[[str], AppTest]:
    """``open_page(name)``: a fresh AppTest of the app on ``app_pages/<name>.py``."""
    return _open_page


@pytest.fixture
def no_errors() -> Callable[[AppTest], None]:
    """``no_errors(at)``: assert no exception and no ``st.error`` on the page."""
    return _no_errors
