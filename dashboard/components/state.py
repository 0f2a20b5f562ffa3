"""App-wide configuration, cached resources (bundles, cohorts, job store) and the model picker."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import streamlit as st

from components.ui import show_error
from pathgptomic.errors import PathGPTomicError
from pathgptomic.training.bundle_discovery import is_model_bundle, list_bundles

REPO_ROOT = Path(__file__).resolve().parents[2]
#: Bundles shipped with the app (``$PATHGPTOMIC_MODELS_DIR`` overrides).
MODELS_DIR = Path(os.environ.get("PATHGPTOMIC_MODELS_DIR", REPO_ROOT / "models"))
#: The synthetic demo cohort (TCGA layout CSV + images).
DEMO_COHORT_DIR = Path(os.environ.get("PATHGPTOMIC_DEMO_COHORT", REPO_ROOT / "assets" / "demo_cohort"))
#: Bundle keys in session state.
BUNDLE_KEY = "model.bundle_path"
NOTICE = "Research use only — not for diagnosis."


@st.cache_resource(show_spinner=False)
def job_store() -> Any:
    """The process-wide job store (``$PATHGPTOMIC_DATA_DIR`` or ``~/.pathgptomic``)."""
    from pathgptomic.jobs import JobStore

    return JobStore()


@st.cache_data(ttl=5, show_spinner=False)
def available_bundles() -> list[str]:
    """Every bundle in ``models/`` and every finished job's bundle, as path strings (demo first)."""
    paths: list[Path] = list_bundles(MODELS_DIR)
    try:
        paths.extend(job_store().bundles())
    except PathGPTomicError:
        pass
    out: list[str] = []
    for p in paths:
        if is_model_bundle(p) and str(p) not in out:
            out.append(str(p))
    out.sort(key=lambda s: (Path(s).name != "demo", not s.startswith(str(MODELS_DIR)), s))
    return out


@st.cache_data(show_spinner=False, max_entries=256)
def _config_name(path: str, mtime: float) -> str:
    """``config.json`` "name" of a bundle ('' when absent or unreadable), read once per config mtime."""
    import json

    try:
        name = json.loads((Path(path) / "config.json").read_text(encoding="utf-8")).get("name")
    except (OSError, ValueError, AttributeError):
        return ""
    return " ".join(str(name).split()) if isinstance(name, str) else ""


def _job_name(job_id: str) -> str:
    """The job store's name of job ``job_id`` ('' when unknown)."""
    try:
        return str(job_store().get(job_id).name)
    except (PathGPTomicError, KeyError, LookupError, OSError):
        return ""


def bundle_label(path: str) -> str:
    """Label for the model picker and page texts: the bundle's display name, then where it comes from.

    ``"<config.json name> · models/<folder>"`` for shipped bundles and ``"<name> · job <id>"`` for a
    job's bundle (the job's name when its config carries none, as bundles of older jobs). The name is
    user text: render the label as text (``plain``), never as Markdown or HTML.
    """
    p = Path(path)
    name = _config_name(str(path), _mtime(str(path)))
    try:
        ident = f"models/{p.relative_to(MODELS_DIR).as_posix()}"
    except ValueError:
        ident = ""
    if not ident and p.name == "bundle" and p.parent.parent.name == "jobs":
        ident = f"job {p.parent.name}"
        if not name or name == p.name:
            name = _job_name(p.parent.name)
    ident = ident or p.name
    return f"{name} · {ident}" if name and name != p.name else ident


def _mtime(path: str) -> float:
    try:
        return (Path(path) / "config.json").stat().st_mtime
    except OSError:
        return 0.0


@st.cache_resource(show_spinner="Loading model…", max_entries=4)
def _load_bundle_cached(path: str, mtime: float) -> Any:
    from pathgptomic.training.bundle import load_bundle

    return load_bundle(path)


def load_bundle(path: str) -> Any:
    """The bundle at ``path``, loaded once per (path, config mtime) for all sessions."""
    return _load_bundle_cached(path, _mtime(path))


#: Modules the pages import lazily; importing them in the background hides their one-off cost.
_WARM_MODULES = (
    "scipy.ndimage",
    "skimage.morphology",
    "skimage.filters",
    "lifelines",
    "lifelines.statistics",
    "sksurv.metrics",
    "pathgptomic.evaluation",
    "pathgptomic.plots",
    "pathgptomic.slides",
    "torch",
    "pathgptomic.training.bundle",
    "pathgptomic.explain",
)


def _import_modules(names: tuple[str, ...]) -> None:
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - warm-up is best effort
            pass


@st.cache_resource(show_spinner=False)
def start_warm_up() -> threading.Thread:
    """Import the heavy lazily-imported modules once per server process, in the background."""
    thread = threading.Thread(target=_import_modules, args=(_WARM_MODULES,), name="pgt-warm-up", daemon=True)
    thread.start()
    return thread


@st.cache_resource(show_spinner=False)
def model_lock() -> threading.RLock:
    """Lock held around every use of a shared (cached) model: Captum attaches hooks to it, which is
    not thread-safe (the feature scaling stores no per-call state). Predictions take ~0.1 s, so
    serialising them across sessions costs little."""
    return threading.RLock()


def predict(bundle: Any, cohort: Any) -> Any:
    """``bundle.predict(cohort)`` under :func:`model_lock`."""
    with model_lock():
        return bundle.predict(cohort)


def prepare_inputs(bundle: Any, cohort: Any) -> Any:
    """``bundle.prepare_inputs(cohort)`` under :func:`model_lock`."""
    with model_lock():
        return bundle.prepare_inputs(cohort)


@st.cache_resource(show_spinner="Loading the demo cohort…")
def demo_cohort() -> Any:
    """The synthetic demo cohort from ``assets/demo_cohort``.

    Raises:
        PathGPTomicError: The demo cohort is missing or unreadable.
    """
    from pathgptomic.data import read_cohort

    folder = DEMO_COHORT_DIR
    if not folder.exists():
        raise PathGPTomicError(f"the demo cohort {folder.name} is missing on the server; build it with the command in README.md")
    return read_cohort(folder)


def selected_bundle_path() -> str | None:
    """Path of the model picked in the sidebar (None when no bundle exists)."""
    return st.session_state.get(BUNDLE_KEY)


def current_bundle() -> Any | None:
    """The picked bundle, or None (an ``st.info`` or ``st.error`` says why, without server paths)."""
    path = selected_bundle_path()
    if not path:
        from components.settings import train_page_enabled

        train = "Train one on the **Train** page, or build" if train_page_enabled() else "Build"
        st.info(f"No model bundle found. {train} the demo bundle with the command in README.md (it lands in `models/demo/`).")
        return None
    try:
        return load_bundle(path)
    except PathGPTomicError as exc:
        show_error(f"Cannot load the model bundle {bundle_label(path)}: {exc}")
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        show_error(f"Cannot load the model bundle {bundle_label(path)}: {type(exc).__name__}: {exc}")
    return None


def bundle_summary(path: str) -> str:
    """One line naming the bundle's fusion mode and encoders, read from ``config.json`` only.

    States the scGPT checkpoint (short SHA-256) when the RNA input went through scGPT.
    """
    import json

    try:
        cfg = json.loads((Path(path) / "config.json").read_text())
        tc = cfg["train_config"]
    except (OSError, ValueError, KeyError):
        return "config.json unreadable"
    parts = [f"fusion `{tc['model']['fusion']}`", f"RNA `{tc['features']['rna_encoder']}`"]
    info = cfg.get("feature_info", {})
    if info.get("scgpt_checkpoint_hash"):
        parts.append(f"scGPT `{str(info['scgpt_checkpoint_hash'])[:12]}`")
    encoder = (cfg.get("image_encoder") or {}).get("name")
    if encoder:
        parts.append(f"image `{encoder}`")
    return " · ".join(parts)


def sidebar_model_picker() -> None:
    """Sidebar: the model picker (shared by all pages) and the research-use notice."""
    bundles = available_bundles()
    with st.sidebar:
        st.markdown("### Model")
        if bundles:
            current = st.session_state.get(BUNDLE_KEY)
            index = bundles.index(current) if current in bundles else 0
            choice = st.selectbox(
                "Model bundle",
                bundles,
                index=index,
                format_func=bundle_label,
                key="sidebar.bundle",
                help="Bundles in models/ and finished training jobs",
            )
            st.session_state[BUNDLE_KEY] = choice
            st.caption(bundle_summary(choice))
        else:
            st.session_state[BUNDLE_KEY] = None
            st.caption("No model bundle yet.")
        st.warning(NOTICE, icon=":material/warning:")
