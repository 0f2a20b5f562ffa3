r"""A deterministic synthetic multimodal survival cohort (the demo and the benchmarks).

Each patient has a CNV block (copy-number calls -2..2), a mutation block (0/1), an RNA-seq
block (log-expression-like, >= 0) with real gene symbols, two clinical covariates (age,
is_female; no effect on survival), and one H&E-like RGB image. Survival follows a Cox
model whose true log-hazard has a *genomic* part (stronger) and an *image* part
(complementary: driven by a latent independent of the genome, expressed only through
morphology):

.. math::

    \eta_i = g_i + q_i + \epsilon_i, \qquad
    g_i = s_g \cdot \operatorname{std}\big(\textstyle\sum_k \beta_k x_{ik} + 0.35\tanh(z_{ia} z_{ib})
        + 0.25 (z_{ic}^2 - 1)\big), \qquad
    q_i = s_q u_i, \quad u_i \sim N(0, 1), \quad \epsilon_i \sim N(0, s_\epsilon^2)

with sparse :math:`\beta` over a few RNA genes, two CNV and two mutation columns
(``std`` = standardised to mean 0, sd 1 over the cohort), :math:`s_g = 1.0 > s_q = 0.6`
by default. Event times are Weibull: :math:`T_i = \lambda\,(E_i / e^{\eta_i})^{1/k}` with
:math:`E_i \sim \operatorname{Exp}(1)`, :math:`k = 1.3`, :math:`\lambda` giving a median of
30 months at :math:`\eta = 0`; censoring is independent, exponential (rate tuned to the
requested censored fraction) plus administrative censoring at 150 months. The image
latent :math:`u_i` sets nuclear density (:math:`\propto e^{0.45 u}`), nuclear size
(:math:`\propto 1 + 0.15 u`) and hematoxylin intensity (:math:`\propto 1 + 0.2 u`).

``true_risk`` is :math:`g + q` (the noise is unobservable); the parts, the latent and
the noise are kept in ``meta["truth"]`` (and ``true_risk.csv`` on disk).
Same seed, same arguments: byte-identical CSVs and PNGs.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import re
import tempfile
import warnings
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from pathgptomic.data.cohort import Cohort
from pathgptomic.data.columns import BLOCK_SUFFIXES
from pathgptomic.errors import ConfigError

logger = logging.getLogger(__name__)

#: Genes of the CNV block (real symbols; frequently altered in gliomas).
CNV_GENES: tuple[str, ...] = tuple(
    "EGFR CDKN2A CDKN2B PTEN MDM2 MDM4 CDK4 CDK6 PDGFRA MET MYC MYCN RB1 NF1 ERBB2 KIT CCND1 CCND2 "
    "PIK3CA AKT3 SOX2 TERT MTAP NF2 SMARCB1 CHEK2 LRP1B PTPRD FGFR3 GLI1".split()
)
#: Genes of the mutation block (real symbols).
MUT_GENES: tuple[str, ...] = tuple("IDH1 TP53 ATRX PTEN EGFR NF1 PIK3CA PIK3R1 CIC FUBP1 NOTCH1 BRAF SETD2 RB1 IDH2 PDGFRA".split())
#: First 256 clean gene symbols of scanpy's pbmc68k_reduced ``var_names`` (used when
#: scanpy is absent; identical to what scanpy gives, so the cohort does not depend on it).
_FALLBACK_RNA_GENES: tuple[str, ...] = tuple(
    """HES4 TNFRSF4 SSU72 PARK7 RBP7 SRM MAD2L2 AGTRAP TNFRSF1B EFHD2 NECAP2 HP1BP3 C1QA C1QB HNRNPR GALE STMN1 CD52
FGR ATPIF1 SESN2 EIF3I LCK MARCKSL1 SFPQ PSMB2 MEAF6 NDUFS5 CAP1 SMAP2 PRDX1 TMEM69 SCP2 MAGOH JAK1 CCBL2 GBP2
CD53 DENND2D RHOC CD2 TXNIP CD160 APH1A MRPS21 CTSS MRPL9 S100A10 S100A9 S100A8 S100A6 S100A4 RAB13 TPM3 HAX1
PMVK PBXIP1 DAP3 CCT3 SH2D2A MNDA FCER1A TAGLN2 LY9 FCER1G SDHC FCGR3A FCRLA CD247 CREG1 RCSD1 XCL2 XCL1 PRDX6
TPR PTPRC PTPN7 NUCKS1 G0S2 TRAF3IP3 NENF CAPN2 COA6 ARID4B SH3YL1 ID2 HPCAL1 RAB10 OST4 PPM1G LBH SRSF7
ZFP36L2 ERLEC1 CAPG RNF181 GNLY CD8A CD8B MAL DUSP2 MGAT4A LIMS1 IL1B NIFK GYPC MZT2B CCDC115 CXCR4 PPIG SSB
WIPF1 ITGA4 HSPD1 BZW1 NBEAL1 CD28 SLC11A1 SP110 SP140 SP100 NCL ARL4C UBE2F OGG1 MRPS25 ACAA1 EXOG EIF1B
UQCRC1 NDUFAF3 IMPDH2 GPX1 GNAI2 MANF TEX264 TKT ARL6IP5 PCNP BBX CD47 TIGIT COX17 EAF2 GATA2 RAB7A H1FX SELT
SIAH2 GPR171 P2RY13 SSR3 MFSD1 SEC62 EIF4A2 CCDC50 HES1 ATP5I SPON2 LYAR CYTL1 MRFAP1 BLOC1S4 BST1 FGFBP2
MED28 KLF3 SMIM14 HOPX SPINK2 IGFBP7 IGJ CCNI HNRNPDL PLAC8 HSD17B11 BANK1 CCDC109B SNHG8 ANXA5 HMGB2 SUB1
IL7R FYB EMB GZMK GZMA NSA2 COX7C GLRX CAMK4 REEP5 SNX2 IRF1 SKP1 TXNDC15 H2AFY EGR1 MZB1 NDUFA2 NDFIP1 CD74
NUDCD2 NPM1 ATP6V0E1 HIGD2A LMAN2 F12 PRR7 NHP2 SQSTM1 RNF130 SERPINB1 SERPINB6 LY86 ADTRP DEK SOX4 FAM65B
HIST1H4C HIST1H1E ZNRD1 LTB LST1 AIF1 DDAH2 CLIC1 HSD17B8 TAPBP DAXX CUTA HMGA1 CCDC167 CNPY3 MEA1 HSP90AB1
ELOVL5 UBE2J1 PNISR CD164 GTF3C6 RWDD1 GOPC SAMD3 DYNLT1 SOD2 TCP1 MRPL18 RNASET2 MAD1L1 CHST12 EIF2AK1 NDUFA4
TOMM7 CPVL LSM5""".split()
)
_SYMBOL = re.compile(r"[A-Z][A-Z0-9]{1,9}")

# Stain vectors (H: Ruifrok & Johnston; E: tuned to a pink eosin) (optical density per unit concentration, R, G, B).
_H_VEC = np.array([0.65, 0.70, 0.29]) / np.linalg.norm([0.65, 0.70, 0.29])
_E_VEC = np.array([0.11, 0.87, 0.44]) / np.linalg.norm([0.11, 0.87, 0.44])


@functools.lru_cache(maxsize=1)
def _available_rna_genes() -> tuple[str, ...]:
    genes: tuple[str, ...] = _FALLBACK_RNA_GENES
    spec = importlib.util.find_spec("scanpy")
    if spec is not None and spec.origin is not None:
        h5ad = Path(spec.origin).parent / "datasets" / "10x_pbmc68k_reduced.h5ad"
        if h5ad.is_file():
            try:
                import anndata

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    adata = anndata.read_h5ad(h5ad)
                genes = tuple(g for g in map(str, adata.var_names) if _SYMBOL.fullmatch(g))
            except Exception as exc:  # noqa: BLE001 - any failure falls back to the built-in list
                logger.warning("could not read %s (%s); using the built-in gene list", h5ad, exc)
    return genes


def rna_gene_symbols(n: int) -> list[str]:
    """``n`` real gene symbols for the RNA block, from scanpy's bundled pbmc68k_reduced.

    The symbols are the dataset's ``var_names`` in order, keeping plain symbols only
    (``[A-Z][A-Z0-9]{1,9}``). Without scanpy, a built-in copy of the first 256 is used.

    Raises:
        ConfigError: More genes requested than available.
    """
    genes = _available_rna_genes()
    if n > len(genes):
        raise ConfigError(f"n_rna={n} is more than the {len(genes)} gene symbols available.")
    return list(genes[:n])


def _smooth_field(rng: np.random.Generator, grid: int, size: int) -> np.ndarray:
    """Smooth random field in [0, 1], shape ``(size, size)`` (bicubic upsampled noise)."""
    from PIL import Image

    low = rng.random((grid, grid)).astype(np.float32)
    up = np.asarray(Image.fromarray(low).resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)
    lo, hi = float(up.min()), float(up.max())
    return (up - lo) / max(hi - lo, 1e-6)


def render_he_image(latent: float, size: int = 448, *, seed: int | np.random.SeedSequence = 0) -> np.ndarray:
    """Render an H&E-like RGB image whose morphology encodes ``latent``.

    Beer-Lambert stain model: optical density = hematoxylin concentration × H vector +
    eosin concentration × E vector, RGB = 255·exp(−OD). Tissue (pink, eosin) covers about
    65-85 % of the image, the rest is white background; nuclei (purple, hematoxylin) are
    elliptical blobs whose density, size and stain intensity grow with ``latent``.

    Args:
        latent: Image latent ``u`` (about N(0, 1)).
        size: Side in pixels.
        seed: Seed of the per-image randomness (layout, stain jitter, texture).

    Returns:
        uint8 array of shape ``(size, size, 3)``.
    """
    from scipy.ndimage import distance_transform_edt

    rng = np.random.default_rng(seed)
    u = float(np.clip(latent, -3.0, 3.0))
    scale = size / 448.0
    # tissue mask with soft edges and some white background
    field = _smooth_field(rng, 6, size)
    tissue_frac = rng.uniform(0.65, 0.85)
    thr = np.quantile(field[::4, ::4], 1.0 - tissue_frac)
    tissue = np.clip((field - np.float32(thr)) * 25.0 + 0.5, 0.0, 1.0).astype(np.float32)
    # eosin with fibrous texture
    texture = _smooth_field(rng, 40, size)
    e0 = rng.uniform(0.32, 0.48)
    eosin = np.float32(e0) * tissue * (0.6 + 0.7 * texture)
    # nuclei
    density = 1.0 / 520.0 * np.exp(0.45 * u)  # nuclei per tissue pixel at 448 px
    n_nuc = int(rng.poisson(density * tissue_frac * (448.0**2)))
    n_nuc = max(n_nuc, 1)
    cand = rng.integers(0, size, size=(n_nuc * 3, 2))
    keep = tissue[cand[:, 0], cand[:, 1]] > 0.5
    centers = cand[keep][:n_nuc]
    if len(centers) == 0:
        centers = cand[:1]
    k = len(centers)
    radius = np.clip(5.0 * (1.0 + 0.15 * u), 2.5, 10.0) * scale * rng.lognormal(0.0, 0.18, size=k)
    elong = rng.uniform(1.0, 1.6, size=k)
    angle = rng.uniform(0.0, np.pi, size=k)
    h_int = np.clip(1.1 * (1.0 + 0.2 * u), 0.5, 2.0) * rng.uniform(0.85, 1.15, size=k)
    seeds = np.ones((size, size), dtype=bool)
    seeds[centers[:, 0], centers[:, 1]] = False
    label = np.full((size, size), -1, dtype=np.int64)
    label[centers[:, 0], centers[:, 1]] = np.arange(k)
    dist, (iy, ix) = distance_transform_edt(seeds, return_indices=True)
    reach = float((radius * elong).max()) * 1.2 + 1.0
    ys, xs = np.nonzero(dist <= reach)  # only pixels a nucleus can cover
    near = label[iy[ys, xs], ix[ys, xs]]
    dy = (ys - centers[near, 0]).astype(np.float32)
    dx = (xs - centers[near, 1]).astype(np.float32)
    ca, sa = np.cos(angle).astype(np.float32)[near], np.sin(angle).astype(np.float32)[near]
    a = (radius * elong).astype(np.float32)[near]
    b = (radius / elong).astype(np.float32)[near]
    d = np.sqrt(((dx * ca + dy * sa) / a) ** 2 + ((-dx * sa + dy * ca) / b) ** 2)
    blob = np.zeros((size, size), dtype=np.float32)
    blob[ys, xs] = np.clip((1.15 - d) / 0.3, 0.0, 1.0) * h_int.astype(np.float32)[near]
    chromatin = 0.75 + 0.5 * _smooth_field(rng, 120, size)
    hema = blob * chromatin + 0.06 * tissue
    od = hema[..., None] * _H_VEC.astype(np.float32) + eosin[..., None] * _E_VEC.astype(np.float32) + np.float32(0.015)
    rgb = np.float32(255.0) * np.exp(-od)
    return np.clip(np.rint(rgb), 0, 255).astype(np.uint8)


def _write_png(arr: np.ndarray, path: Path) -> None:
    from PIL import Image

    Image.fromarray(arr).save(path, format="PNG", compress_level=1)


def _censor_rate(t_event: np.ndarray, e_cens: np.ndarray, target: float, admin: float) -> float:
    """Exponential censoring rate giving about ``target`` censored (bisection on log-rate)."""
    lo, hi = -12.0, 6.0
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        c = np.minimum(e_cens / np.exp(mid), admin)
        frac = float(np.mean(c < t_event))
        if frac < target:
            lo = mid
        else:
            hi = mid
    return float(np.exp(0.5 * (lo + hi)))


def _not_constant(x: np.ndarray, rng: np.random.Generator, values: tuple[float, float]) -> None:
    """Ensure every column of ``x`` holds two distinct values (in place, seeded)."""
    for j in range(x.shape[1]):
        if np.all(x[:, j] == x[0, j]):
            i = int(rng.integers(0, x.shape[0]))
            x[i, j] = values[1] if x[0, j] == values[0] else values[0]


def make_synthetic_cohort(
    n_patients: int = 200,
    *,
    seed: int = 0,
    image_dir: str | os.PathLike | None = None,
    image_size: int = 448,
    n_rna: int = 200,
    n_cnv: int = 30,
    n_mut: int = 16,
    genomic_sd: float = 1.6,
    image_sd: float = 0.6,
    noise_sd: float = 0.3,
    censored_fraction: float = 0.35,
    show_progress: bool = False,
) -> Cohort:
    """Generate the synthetic cohort and write one PNG per patient.

    Args:
        n_patients: Number of patients (at least 10).
        seed: Seed of everything (same seed, same cohort and images).
        image_dir: Folder for the PNGs (created); default a new temporary folder.
        image_size: Image side in pixels.
        n_rna: RNA genes (<= 256 keeps the cohort independent of scanpy).
        n_cnv: CNV genes (<= 30).
        n_mut: Mutated genes (<= 16).
        genomic_sd: Standard deviation of the genomic part ``g`` of the log-hazard. The default
            (1.6 against 0.6 for the image part) makes genomics the clearly stronger
            modality, as in the paper (oracle C-index on the 200-patient demo: 0.77 vs 0.59).
        image_sd: Standard deviation of the image part ``q``.
        noise_sd: Standard deviation of the unexplained log-hazard noise.
        censored_fraction: Target share of censored patients.
        show_progress: Show a tqdm bar while the images are written.

    Returns:
        The cohort: blocks ``cnv`` (n, n_cnv), ``mut`` (n, n_mut), ``rnaseq`` (n, n_rna),
        ``clinical`` (n, 2); one slide (PNG path) per patient; ``true_risk = g + q``;
        ``meta["truth"]`` (DataFrame by patient id: true_risk, genomic_part, image_part,
        image_latent, noise) and ``meta["settings"]``.

    Raises:
        ConfigError: Out-of-range sizes.
    """
    if n_patients < 10:
        raise ConfigError(f"n_patients must be at least 10 (got {n_patients}).")
    if not (1 <= n_cnv <= len(CNV_GENES) and 1 <= n_mut <= len(MUT_GENES) and n_rna >= 8):
        raise ConfigError(f"need 1 <= n_cnv <= {len(CNV_GENES)}, 1 <= n_mut <= {len(MUT_GENES)}, n_rna >= 8.")
    if not 0.0 <= censored_fraction < 0.95:
        raise ConfigError(f"censored_fraction must be in [0, 0.95) (got {censored_fraction}).")
    if image_size < 32:
        raise ConfigError(f"image_size must be at least 32 (got {image_size}).")
    rng = np.random.default_rng(seed)
    n = n_patients
    ids = np.array([f"SYN-{i + 1:04d}" for i in range(n)])
    rna_genes = rna_gene_symbols(n_rna)
    cnv_genes, mut_genes = list(CNV_GENES[:n_cnv]), list(MUT_GENES[:n_mut])

    # --- genomics: a favourable subtype plus latent expression programmes
    subtype = (rng.random(n) < 0.4).astype(float)
    k = 6
    factors = rng.normal(size=(n, k))
    factors[:, 0] += 1.5 * (subtype - 0.4)
    loadings = rng.normal(0.0, 0.6, size=(k, n_rna)) * (rng.random((k, n_rna)) < 0.5)
    mu_g = rng.uniform(1.0, 6.0, size=n_rna)
    sd_g = rng.uniform(0.4, 1.2, size=n_rna)
    rna = mu_g + sd_g * (factors @ loadings + rng.normal(0.0, 0.7, size=(n, n_rna)))
    rna = np.round(np.clip(rna, 0.0, None), 3)
    cnv_load = rng.normal(0.0, 0.5, size=(2, n_cnv))
    cnv_cont = rng.normal(0.0, 0.6, size=(n, n_cnv)) + factors[:, 1:3] @ cnv_load - 0.4 * (subtype[:, None] - 0.4)
    cnv = np.clip(np.rint(cnv_cont), -2, 2)
    prev = rng.uniform(0.04, 0.3, size=n_mut)
    logit = np.log(prev / (1 - prev)) + rng.normal(0.0, 0.5, size=n_mut) * (subtype[:, None] - 0.4) * 3.0
    mut = (rng.random((n, n_mut)) < 1.0 / (1.0 + np.exp(-logit))).astype(float)
    mut[:, 0] = np.where(rng.random(n) < 0.05, 1.0 - subtype, subtype)  # IDH1 tracks the subtype
    _not_constant(cnv, rng, (0.0, 1.0))
    _not_constant(mut, rng, (0.0, 1.0))
    age = np.clip(np.rint(rng.normal(52.0, 14.0, size=n)), 18, 90)
    is_female = (rng.random(n) < 0.45).astype(float)

    # --- genomic log-hazard: sparse linear + small non-linear part
    z = (rna - rna.mean(0)) / np.maximum(rna.std(0), 1e-6)
    pick = rng.choice(n_rna, size=9, replace=False)
    beta = rng.uniform(0.3, 0.6, size=6) * rng.choice([-1.0, 1.0], size=6)
    g_raw = z[:, pick[:6]] @ beta
    g_raw += 0.35 * cnv[:, 0] - 0.25 * cnv[:, min(1, n_cnv - 1)]
    g_raw += -0.9 * mut[:, 0] + (0.3 * mut[:, 1] if n_mut > 1 else 0.0)
    g_raw += 0.35 * np.tanh(z[:, pick[6]] * z[:, pick[7]]) + 0.25 * (z[:, pick[8]] ** 2 - 1.0)
    g = genomic_sd * (g_raw - g_raw.mean()) / max(g_raw.std(), 1e-9)
    # --- image log-hazard: independent latent, expressed through morphology only
    u = rng.normal(size=n)
    q = image_sd * u
    noise = rng.normal(0.0, noise_sd, size=n)
    eta = g + q + noise

    # --- Weibull event times, exponential + administrative censoring
    shape, median0, admin = 1.3, 30.0, 150.0
    lam = median0 / np.log(2.0) ** (1.0 / shape)
    t_event = lam * (rng.exponential(size=n) / np.exp(eta)) ** (1.0 / shape)
    e_cens = rng.exponential(size=n)
    rate = _censor_rate(t_event, e_cens, censored_fraction, admin) if censored_fraction > 0 else 1e-12
    t_cens = np.minimum(e_cens / rate, admin)
    event = (t_event <= t_cens).astype(int)
    if event.sum() < 2:
        event[np.argsort(t_event)[:2]] = 1
    time = np.maximum(np.round(np.where(event == 1, t_event, t_cens), 2), 0.01)

    # --- images
    folder = Path(image_dir) if image_dir is not None else Path(tempfile.mkdtemp(prefix="pathgptomic_synth_"))
    folder.mkdir(parents=True, exist_ok=True)
    slides: dict[str, list[str]] = {}
    from tqdm.auto import tqdm

    for i, pid in enumerate(tqdm(ids, desc="synthetic H&E images", disable=not show_progress)):
        img = render_he_image(u[i], image_size, seed=np.random.SeedSequence([seed, 7, i]))
        path = folder / f"{pid}.png"
        _write_png(img, path)
        slides[str(pid)] = [str(path)]

    index = pd.Index(ids, name="patient_id")
    blocks = {
        "cnv": pd.DataFrame(cnv, index=index, columns=cnv_genes),
        "mut": pd.DataFrame(mut, index=index, columns=mut_genes),
        "rnaseq": pd.DataFrame(rna, index=index, columns=rna_genes),
        "clinical": pd.DataFrame({"age": age, "is_female": is_female}, index=index),
    }
    true_risk = g + q
    truth = pd.DataFrame({"true_risk": true_risk, "genomic_part": g, "image_part": q, "image_latent": u, "noise": noise}, index=index)
    settings = {
        "n_patients": n,
        "seed": seed,
        "image_size": image_size,
        "n_rna": n_rna,
        "n_cnv": n_cnv,
        "n_mut": n_mut,
        "genomic_sd": genomic_sd,
        "image_sd": image_sd,
        "noise_sd": noise_sd,
        "censored_fraction": censored_fraction,
        "weibull_shape": shape,
        "median_months_at_zero_risk": median0,
        "admin_censoring_months": admin,
        "causal_rna_genes": [rna_genes[j] for j in pick],
    }
    return Cohort(
        ids=ids.astype(str),
        time=time.astype(float),
        event=event.astype(int),
        blocks=blocks,
        slides=slides,
        time_unit="months",
        source=f"synthetic (n={n}, seed={seed})",
        true_risk=true_risk,
        meta={"layout": "synthetic", "truth": truth, "settings": settings, "image_dir": str(folder)},
    )


#: Every table :func:`write_demo_cohort` may write (both layouts).
_DEMO_FILES = ("cohort_tcga.csv", "clinical.csv", "cnv.csv", "mut.csv", "rnaseq.csv", "slides.csv", "true_risk.csv")


def write_demo_cohort(
    folder: str | os.PathLike,
    *,
    n_patients: int = 200,
    seed: int = 0,
    layout: Literal["tcga", "generic"] = "tcga",
    image_size: int = 448,
    show_progress: bool = False,
) -> Path:
    """Write the synthetic cohort as files that :func:`~pathgptomic.data.readers.read_cohort` reads back.

    Demo files already in ``folder`` (either layout) are replaced. Always: ``images/<patient>.png``, ``slides.csv``
    (``patient_id``, ``path`` relative to the folder) and ``true_risk.csv`` (true_risk, genomic_part, image_part, image_latent,
    noise). Layout ``"tcga"``: ``cohort_tcga.csv`` (``case_id``, ``slide_id``,
    ``survival_months``, ``censorship``, ``age``, ``is_female``, ``<GENE>_cnv``/``_mut``/
    ``_rnaseq``). Layout ``"generic"``: ``clinical.csv`` (``patient_id``, ``time``,
    ``event``, ``age``, ``is_female``) and ``cnv.csv``, ``mut.csv``, ``rnaseq.csv``
    (gene-symbol columns; the block is given by the file name).

    Args:
        folder: Output folder (created).
        n_patients: Number of patients.
        seed: Seed (same seed: byte-identical files).
        layout: ``"tcga"`` or ``"generic"``.
        image_size: Image side in pixels.
        show_progress: Show a tqdm bar while the images are written.

    Returns:
        ``folder`` as a Path.

    Raises:
        ConfigError: Unknown layout.
    """
    if layout not in ("tcga", "generic"):
        raise ConfigError(f"layout must be 'tcga' or 'generic' (got {layout!r}).")
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    # files of an earlier demo written here (either layout, any size) would be read back with this one
    for stale in [*_DEMO_FILES, *sorted((out / "images").glob("SYN-*.png"))]:
        (out / stale).unlink(missing_ok=True)
    cohort = make_synthetic_cohort(n_patients, seed=seed, image_dir=out / "images", image_size=image_size, show_progress=show_progress)
    ids = list(cohort.ids)
    csv_kw = {"index": False, "lineterminator": "\n"}
    pd.DataFrame({"patient_id": ids, "path": [f"images/{p}.png" for p in ids]}).to_csv(out / "slides.csv", **csv_kw)
    truth = cohort.meta["truth"].reset_index()
    truth.to_csv(out / "true_risk.csv", **csv_kw)
    clin = cohort.blocks["clinical"]
    if layout == "tcga":
        cols: dict[str, object] = {
            "case_id": ids,
            "slide_id": [f"{p}.png" for p in ids],
            "survival_months": cohort.time,
            "censorship": 1 - cohort.event,
            "age": clin["age"].to_numpy(),
            "is_female": clin["is_female"].to_numpy(),
        }
        frame = pd.DataFrame(cols)
        parts = [frame]
        for b in ("cnv", "mut", "rnaseq"):
            blk = cohort.blocks[b]
            parts.append(pd.DataFrame(blk.to_numpy(), columns=[f"{c}{BLOCK_SUFFIXES[b]}" for c in blk.columns]))
        table = pd.concat(parts, axis=1)
        for c in table.columns:
            if c.endswith(("_cnv", "_mut")) or c in ("age", "is_female", "censorship"):
                table[c] = table[c].astype(int)
        table.to_csv(out / "cohort_tcga.csv", **csv_kw)
    else:
        clinical = pd.DataFrame(
            {
                "patient_id": ids,
                "time": cohort.time,
                "event": cohort.event,
                "age": clin["age"].to_numpy().astype(int),
                "is_female": clin["is_female"].to_numpy().astype(int),
            }
        )
        clinical.to_csv(out / "clinical.csv", **csv_kw)
        for b in ("cnv", "mut", "rnaseq"):
            blk = cohort.blocks[b].reset_index()
            if b != "rnaseq":
                blk[blk.columns[1:]] = blk[blk.columns[1:]].astype(int)
            blk.to_csv(out / f"{b}.csv", **csv_kw)
    logger.info("wrote synthetic %s-layout cohort (%d patients) to %s", layout, cohort.n, out)
    return out
