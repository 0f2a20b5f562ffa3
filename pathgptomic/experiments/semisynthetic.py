r"""Semi-synthetic multimodal cohort: real TCGA genomics and outcomes + synthetic images.

No TCGA slides are available offline, so the image modality is simulated around a *real*
prognostic variable. For a covariate :math:`x` (e.g. age at diagnosis) of patient
:math:`i`:

.. math:: z_i = \frac{x_i - \bar x}{s_x}, \qquad u_i = z_i + \sigma\,\varepsilon_i,
          \quad \varepsilon_i \sim N(0, 1),

and the patient's H&E-like image is :func:`pathgptomic.data.render_he_image` with latent
:math:`u_i` (nuclear density :math:`\propto e^{0.45u}`, size and hematoxylin intensity
grow with :math:`u`). The covariate is **removed** from the clinical block, so whatever
a model learns from the images about :math:`x` is information the genomic branch does not
get directly (in gliomas age still correlates with genomic markers such as IDH status,
so the two are complementary but not independent). On TCGA-GBMLGG's shared 5 splits, a
penalized Cox on genomics reaches 0.827 and adding age gives 0.851: a perfect age-carrying
image lifts genomics by about 0.02–0.03 (benchmarks/results/tcga_genomic.md).

Outcomes and genomics are untouched real data; only the images are synthetic. Everything
this module writes says "semi-synthetic". Same arguments, same bytes.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from pathgptomic.data.cohort import Cohort
from pathgptomic.errors import ConfigError, DataQualityWarning, InputValidationError
from pathgptomic.hashing import file_sha256

logger = logging.getLogger(__name__)

#: Provenance file; :func:`pathgptomic.data.read_cohort` merges it into ``cohort.meta``.
MARKER = "cohort_info.json"
FORMAT_VERSION = 1
_CSV = {"index": False, "lineterminator": "\n"}


def image_latents(values: np.ndarray, *, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Standardised covariate and the image latent.

    Args:
        values: Covariate per patient, shape ``(n,)`` (NaN imputed with the median).
        noise: Noise sd :math:`\\sigma` (0 = the image encodes the covariate exactly).
        seed: Seed of the noise draw.

    Returns:
        ``(z, u)``, each shape ``(n,)``: :math:`z = (x - \\bar x)/s_x`, :math:`u = z + \\sigma\\varepsilon`.
    """
    x = np.asarray(values, dtype=float)
    if np.isnan(x).any():
        x = np.where(np.isnan(x), np.nanmedian(x), x)
    sd = x.std()
    if not np.isfinite(sd) or sd == 0:
        raise InputValidationError("the covariate is constant; choose a covariate that varies between patients.")
    z = (x - x.mean()) / sd
    eps = np.random.default_rng([int(seed), 20260101]).standard_normal(len(x))
    return z, z + float(noise) * eps


def build_semisynthetic_cohort(
    tcga_csv: str | os.PathLike,
    out_dir: str | os.PathLike,
    *,
    covariate: str = "age",
    noise: float = 0.5,
    seed: int = 0,
    image_size: int = 448,
    overwrite: bool = False,
    show_progress: bool = True,
) -> Cohort:
    """Write a semi-synthetic cohort folder (generic layout) and return it.

    Files: ``clinical.csv`` (patient_id, time, event, remaining clinical covariates —
    without ``covariate``), ``cnv.csv``, ``mut.csv``, ``rnaseq.csv`` (real values),
    ``slides.csv`` + ``images/<patient>.png`` (synthetic), ``truth/image_latent.csv``
    (covariate, z, latent), ``cohort_info.json`` (``semi_synthetic: true`` + provenance, merged
    into ``meta`` by :func:`~pathgptomic.data.read_cohort`, so bundles record it) and ``README.md``.

    Args:
        tcga_csv: TCGA-layout CSV(.gz) with genomics and outcomes (e.g. TCGA-GBMLGG).
        out_dir: Folder to write (must be empty or absent unless ``overwrite``).
        covariate: Name of the numeric clinical column the images encode.
        noise: Gaussian noise sd added to the standardised covariate.
        seed: Seed of the noise and of the image layouts.
        image_size: Image side in pixels.
        overwrite: Replace an existing folder.
        show_progress: Show a tqdm bar while rendering.

    Returns:
        The cohort as read back, with ``meta["semi_synthetic"] = True``.

    Raises:
        InputValidationError: Covariate absent, not numeric or constant.
        ConfigError: Bad noise / image size, or the folder exists without ``overwrite``.
    """
    from pathgptomic.data import read_tcga, render_he_image

    if noise < 0 or not np.isfinite(noise):
        raise ConfigError(f"--noise must be >= 0, got {noise}")
    if not 64 <= image_size <= 2048:
        raise ConfigError(f"--image-size must lie in [64, 2048] pixels, got {image_size}")
    src = Path(tcga_csv)
    if not src.is_file():
        raise InputValidationError(f"{src}: no such file. Fix: give the TCGA-layout CSV(.gz), e.g. tcga_gbmlgg_all_clean.csv.gz")
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise ConfigError(f"{out} exists and is not empty; choose another --out folder or pass --overwrite")
        shutil.rmtree(out)
    header = [str(c).strip() for c in pd.read_csv(src, nrows=0).columns]
    if covariate not in header:
        raise InputValidationError(
            f"{src}: no column {covariate!r} to encode in the images. Fix: choose one of the clinical columns "
            f"(e.g. {[c for c in ('age', 'is_female') if c in header]})."
        )
    clinical = tuple(dict.fromkeys([covariate] + [c for c in ("age", "is_female") if c in header]))
    cohort = read_tcga(src, clinical=clinical)
    if covariate not in cohort.blocks.get("clinical", pd.DataFrame()).columns:
        raise InputValidationError(f"{src}: column {covariate!r} is constant or empty; it cannot carry signal.")
    values = cohort.blocks["clinical"][covariate].to_numpy(dtype=float)
    n_missing = int(np.isnan(values).sum())
    if n_missing:
        warnings.warn(
            f"{src}: {n_missing} patient(s) miss {covariate!r}; imputed with the median for the images.", DataQualityWarning, stacklevel=2
        )
    z, latent = image_latents(values, noise=noise, seed=seed)

    out.mkdir(parents=True, exist_ok=True)
    (out / "images").mkdir()
    (out / "truth").mkdir()
    ids = [str(p) for p in cohort.ids]
    from PIL import Image

    for i, pid in enumerate(tqdm(ids, desc="semi-synthetic images", disable=not show_progress)):
        arr = render_he_image(float(latent[i]), size=image_size, seed=np.random.SeedSequence([seed, i]))
        Image.fromarray(arr).save(out / "images" / f"{pid}.png", format="PNG", compress_level=1)
    pd.DataFrame({"patient_id": ids, "path": [f"images/{p}.png" for p in ids]}).to_csv(out / "slides.csv", **_CSV)
    clin = pd.DataFrame({"patient_id": ids, "time": cohort.time, "event": cohort.event})
    for c in cohort.blocks["clinical"].columns:
        if c != covariate:
            clin[c] = cohort.blocks["clinical"][c].to_numpy()
    clin.to_csv(out / "clinical.csv", float_format="%.10g", **_CSV)
    for block in ("cnv", "mut", "rnaseq"):
        if block in cohort.blocks:
            blk = cohort.blocks[block].add_suffix(f"_{block}")
            blk.insert(0, "patient_id", ids)
            blk.to_csv(out / f"{block}.csv", float_format="%.10g", **_CSV)
    pd.DataFrame({"patient_id": ids, covariate: values, f"{covariate}_z": z, "image_latent": latent}).to_csv(
        out / "truth" / "image_latent.csv", float_format="%.10g", **_CSV
    )
    info = {
        "semi_synthetic": True,
        "format_version": FORMAT_VERSION,
        "source_file": src.name,
        "source_sha256": file_sha256(src),
        "covariate": covariate,
        "noise": float(noise),
        "seed": int(seed),
        "image_size": int(image_size),
        "n_patients": len(ids),
        "n_events": int(cohort.n_events),
        "corr_covariate_latent": float(np.corrcoef(z, latent)[0, 1]),
        "covariate_removed_from_clinical": True,
        "generator": "pathgptomic.data.render_he_image (nuclear density, size and hematoxylin grow with the latent)",
    }
    payload = {
        "semi_synthetic": True,
        "description": f"semi-synthetic {src.name.split('.')[0]}: real genomics + outcomes, synthetic images "
        f"encoding {covariate} (noise sd {float(noise):g})",
        "semi_synthetic_info": info,
    }
    (out / MARKER).write_text(json.dumps(payload, indent=2) + "\n")
    (out / "README.md").write_text(_readme(info))
    logger.info("semi-synthetic cohort (%d patients) written to %s", len(ids), out)
    return read_semisynthetic(out)


def _readme(info: dict) -> str:
    return f"""# Semi-synthetic cohort (real genomics and outcomes, synthetic images)

**Semi-synthetic.** Genomic features (`cnv.csv`, `mut.csv`, `rnaseq.csv`) and survival outcomes
(`clinical.csv`: time in months, event 1 = death) are real, from `{info["source_file"]}`
(sha256 `{info["source_sha256"][:16]}…`). The images in `images/` are **synthetic** H&E-like renderings whose
morphology (nuclear density, size and stain) encodes the standardised covariate `{info["covariate"]}` plus
Gaussian noise of sd {info["noise"]} (seed {info["seed"]}; correlation covariate/latent
{info["corr_covariate_latent"]:.3f}). `{info["covariate"]}` was removed from `clinical.csv`, so the genomic models
do not see it; the images carry a real prognostic signal of known strength. `truth/image_latent.csv` holds the
covariate and the latent per patient (never read by models).

Use it to test whether a multimodal model recovers complementary image signal — not as evidence about real slides.

Rebuild (deterministic, byte-identical):

```
pathgptomic semisynthetic --tcga <{info["source_file"]}> --covariate {info["covariate"]} \\
    --noise {info["noise"]} --seed {info["seed"]} --image-size {info["image_size"]} --out <folder>
```
"""


def is_semisynthetic(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a folder written by :func:`build_semisynthetic_cohort`."""
    p = Path(path) / MARKER
    if not p.is_file():
        return False
    try:
        return bool(json.loads(p.read_text()).get("semi_synthetic"))
    except (OSError, ValueError, AttributeError):
        return False


def read_semisynthetic(folder: str | os.PathLike) -> Cohort:
    """Read a semi-synthetic cohort folder; ``meta["semi_synthetic"] = True`` and the provenance.

    Raises:
        InputValidationError: The folder is not a semi-synthetic cohort.
    """
    from pathgptomic.data import read_cohort

    p = Path(folder)
    if not is_semisynthetic(p):
        raise InputValidationError(
            f"{p}: no {MARKER} with semi_synthetic true; not a semi-synthetic cohort folder (build one with 'pathgptomic semisynthetic')."
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        cohort = read_cohort(p)
    if not cohort.meta.get("semi_synthetic"):  # a reader that does not merge cohort_info.json
        payload = json.loads((p / MARKER).read_text())
        cohort = replace(
            cohort, meta={**cohort.meta, **payload}, source=f"{payload.get('description', 'semi-synthetic')} ({cohort.source})"
        )
    return cohort
