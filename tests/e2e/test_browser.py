"""Real-browser test: ``streamlit run`` + Debian's Chromium driven headless by Playwright."""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "dashboard"))

from components.dev_server import CHROMIUM_ARGS, free_port, start_app, stop_app, wait_healthy  # noqa: E402

CHROMIUM = os.environ.get("PATHGPTOMIC_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def chromium() -> str:
    path = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    if not path:
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's 'chromium' package: apt-get install -y chromium)")
    return path


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    models = Path(os.environ.get("PATHGPTOMIC_MODELS_DIR", REPO / "models"))
    if not any(models.glob("*/config.json")):
        pytest.skip(f"no model bundle in {models} (the demo bundle models/demo is built by the README command)")
    port = free_port()
    data_dir = tmp_path_factory.mktemp("data")
    log = open(data_dir / "streamlit.log", "wb")
    proc = start_app(port, data_dir, log)
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url, proc):
            log.flush()
            pytest.fail("streamlit did not become healthy:\n" + (data_dir / "streamlit.log").read_text()[-3000:])
        yield url
    finally:
        stop_app(proc)
        log.close()


def _expected_risk() -> float:
    """``Bundle.predict`` risk of the page's default case: the first demo patient, the picker's first bundle."""
    import warnings

    from components.state import DEMO_COHORT_DIR, MODELS_DIR
    from pathgptomic.data import read_cohort
    from pathgptomic.training.bundle import list_bundles, load_bundle

    paths = list_bundles(MODELS_DIR)
    bundle = load_bundle(next((p for p in paths if p.name == "demo"), paths[0]))
    cohort = read_cohort(DEMO_COHORT_DIR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(bundle.predict(cohort.subset([0]))["risk"].iloc[0])


def _wait_for_app_run(page, timeout: float = 60_000) -> None:
    page.wait_for_selector("[data-testid='stAppViewContainer']", timeout=timeout)
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def test_demo_prediction_in_a_real_browser(chromium, app_url, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS), headless=True)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(app_url, wait_until="domcontentloaded")
            _wait_for_app_run(page)
            page.get_by_role("link", name="Predict").first.click()
            _wait_for_app_run(page)
            expect(page.get_by_text("Research use only").first).to_be_visible()
            page.get_by_role("button", name="Predict", exact=True).click()
            metric = page.get_by_test_id("stMetric").filter(has_text="Risk (calibrated")
            expect(metric).to_be_visible(timeout=90_000)
            _wait_for_app_run(page, timeout=90_000)
            value = metric.get_by_test_id("stMetricValue").inner_text()
            assert re.fullmatch(r"-?\d+\.\d{3}", value.strip()), value
            assert float(value) == pytest.approx(_expected_risk(), abs=5e-4)  # the number Bundle.predict gives
            page.screenshot(path=str(tmp_path / "predict.png"), full_page=True)
            assert (tmp_path / "predict.png").stat().st_size > 10_000
        finally:
            browser.close()


#: JavaScript: key metrics whose label or value is clipped (wider content than its box, or past the viewport).
_CLIPPED_METRICS = """() => Array.from(document.querySelectorAll("[data-testid='stMetric']")).flatMap(m => {
  const parts = m.querySelectorAll("[data-testid='stMetricValue'], [data-testid='stMetricLabel']");
  return Array.from(parts).flatMap(part => Array.from([part, ...part.querySelectorAll('*')]).filter(e =>
      e.scrollWidth > e.clientWidth + 1 || e.getBoundingClientRect().right > window.innerWidth + 1)
    .map(e => part.innerText.trim()));
})"""


@pytest.mark.parametrize("path, ready", [("cohort", "Log-rank p"), ("explain", "IG convergence delta")])
def test_key_metrics_are_not_cut_off_at_800_px(chromium, app_url, tmp_path, path, ready):
    """At 800 px (sidebar open) every metric shows its whole label and value: none is cut with an ellipsis."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS), headless=True)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 1000})
            page.goto(f"{app_url}/{path}", wait_until="domcontentloaded")
            _wait_for_app_run(page)
            expect(page.get_by_test_id("stMetric").filter(has_text=ready)).to_be_visible(timeout=120_000)
            _wait_for_app_run(page, timeout=120_000)
            assert page.get_by_test_id("stMetric").count() >= 4
            clipped = page.evaluate(_CLIPPED_METRICS)
            page.screenshot(path=str(tmp_path / f"{path}-800.png"), full_page=True)
            assert clipped == [], clipped
        finally:
            browser.close()


def test_predict_key_metrics_are_not_cut_off_at_800_px(chromium, app_url):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=list(CHROMIUM_ARGS), headless=True)
        try:
            page = browser.new_page(viewport={"width": 800, "height": 1000})
            page.goto(app_url, wait_until="domcontentloaded")
            _wait_for_app_run(page)
            page.get_by_role("button", name="Predict", exact=True).click()
            expect(page.get_by_test_id("stMetric").filter(has_text="Median survival")).to_be_visible(timeout=90_000)
            _wait_for_app_run(page, timeout=90_000)
            assert page.evaluate(_CLIPPED_METRICS) == []
        finally:
            browser.close()
