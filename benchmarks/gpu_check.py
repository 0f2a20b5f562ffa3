"""CUDA check: image-feature extraction, scGPT embedding and a short training on the GPU.

Each section prints throughput and the agreement of CUDA autocast (bf16/fp16) with CUDA
fp32 (and, for training, of the CUDA run with a CPU run of the same seed):

1. extraction: ``--images`` demo-cohort images through ``extract_slide_features`` with the
   ``--encoder`` (random init, seeded), fp32 then autocast (``amp=True``); min cosine and max
   relative difference of the patch features.
2. scGPT: the whole-human-size encoder (E=512, 12 layers, random weights) and the shipped
   demo checkpoint embed ``--samples`` samples of 1,199 genes, fp32 then fp16 autocast;
   samples/s and min cosine of the embeddings.
3. training: 2-fold cross-validation of the demo cohort for ``--epochs`` epochs on CUDA (the
   trainer's bf16 autocast) and on the CPU; seconds, C-index of each and the correlation of
   their out-of-fold risks.

Exits 2 with a message when CUDA is not available, 1 when a section fails, else 0.

Usage: ``bash benchmarks/gpu_check.sh`` (or ``python benchmarks/gpu_check.py --help``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _sync() -> None:
    import torch

    torch.cuda.synchronize()


def _cosines(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Min row cosine and max relative L2 difference of two ``(n, d)`` matrices."""
    na, nb = np.linalg.norm(a, axis=1), np.linalg.norm(b, axis=1)
    cos = (a * b).sum(1) / np.maximum(na * nb, 1e-12)
    rel = np.linalg.norm(a - b, axis=1) / np.maximum(na, 1e-12)
    return float(cos.min()), float(rel.max())


def check_extraction(n_images: int, encoder: str, batch_size: int) -> None:
    from pathgptomic.slides.features import EncoderSpec, extract_slide_features
    from pathgptomic.slides.tiling import TilingConfig

    images = sorted((REPO / "assets" / "demo_cohort" / "images").glob("*.png"))[:n_images]
    spec = EncoderSpec(encoder, seed=0)
    spec.build()
    feats = {}
    for amp in (False, True):
        with tempfile.TemporaryDirectory() as cache:
            extract_slide_features(
                images[0], spec, tiling=TilingConfig(), cache_dir=cache, device="cuda", batch_size=batch_size, amp=amp, show_progress=False
            )  # warm-up
        with tempfile.TemporaryDirectory() as cache:
            _sync()
            t0 = time.perf_counter()
            out = [
                extract_slide_features(
                    p, spec, tiling=TilingConfig(), cache_dir=cache, device="cuda", batch_size=batch_size, amp=amp, show_progress=False
                ).features
                for p in images
            ]
            _sync()
            dt = time.perf_counter() - t0
        feats[amp] = np.concatenate(out)
        print(
            f"extraction {encoder} {'autocast' if amp else 'fp32':>8}: {len(feats[amp])} patches in {dt:.2f} s "
            f"= {len(feats[amp]) / dt:.1f} patches/s (tiling and reading included)"
        )
    cos, rel = _cosines(feats[False], feats[True])
    print(f"extraction fp32 vs autocast: min cosine {cos:.6f}, max relative difference {rel:.2e}")


def check_scgpt(n_samples: int, batch_size: int) -> None:
    import torch

    from pathgptomic.genomics.embed import embed_matrix
    from pathgptomic.genomics.scgpt import LoadedScGPT, ScGPTConfig, ScGPTEncoder, load_scgpt
    from pathgptomic.genomics.vocab import build_vocab

    torch.manual_seed(0)
    vocab = build_vocab([f"GENE{i}" for i in range(60694)])
    cfg = ScGPTConfig.from_args({"embsize": 512, "nheads": 8, "d_hid": 512, "nlayers": 12, "dropout": 0.2, "pad_value": -2})
    big = LoadedScGPT(
        model=ScGPTEncoder(cfg, len(vocab), vocab["<pad>"]).eval(),
        vocab=vocab,
        config=cfg,
        folder=Path("<random whole-human-size>"),
        checkpoint_hash="random",
    )
    for name, loaded in (("whole-human-size", big), ("demo checkpoint", load_scgpt(REPO / "models" / "scgpt-demo"))):
        rng = np.random.default_rng(0)
        genes = rng.choice(len(loaded.vocab) - 3, 1199, replace=False)
        x = rng.negative_binomial(2, 0.3, (n_samples, 1199)).astype(float) + 1.0
        embs = {}
        for amp in (False, True):
            kw = dict(batch_size=batch_size, device="cuda", use_autocast=amp, show_progress=False, max_length=1200)
            embed_matrix(loaded, x[:batch_size], genes, **kw)  # warm-up
            _sync()
            t0 = time.perf_counter()
            embs[amp] = embed_matrix(loaded, x, genes, **kw)
            _sync()
            dt = time.perf_counter() - t0
            print(f"scGPT {name} {'fp16' if amp else 'fp32':>5}: {n_samples / dt:.1f} samples/s (length 1200)")
        cos, rel = _cosines(embs[False], embs[True])
        print(f"scGPT {name} fp32 vs fp16 autocast: min cosine {cos:.6f}, max relative difference {rel:.2e}")


def check_training(epochs: int) -> None:
    from pathgptomic.data import read_cohort
    from pathgptomic.evaluation import concordance_index
    from pathgptomic.nn.fusion import ModelConfig
    from pathgptomic.training.features import FeatureSettings
    from pathgptomic.training.trainer import TrainConfig, cross_validate

    cohort = read_cohort(REPO / "assets" / "demo_cohort")
    runs = {}
    with tempfile.TemporaryDirectory() as cache:
        for device in ("cuda", "cpu"):
            cfg = TrainConfig(
                model=ModelConfig(fusion="gradmod", image_encoder="test_resnet"),
                features=FeatureSettings(image_encoder="test_resnet", max_patches=16, cache_dir=cache),
                epochs=epochs,
                seed=0,
                device=device,
            )
            t0 = time.perf_counter()
            res = cross_validate(cohort, cfg, n_folds=2, final_fit=False, show_progress=False)
            dt = time.perf_counter() - t0
            p = res.predictions.sort_values("patient_id")
            runs[device] = p
            c = concordance_index(p["risk"], p["time"], p["event"])
            print(
                f"training {device:>4} (bf16 autocast on CUDA): 2 folds x {epochs} epochs in {dt:.1f} s "
                f"(the first run includes feature extraction), out-of-fold C-index {c:.3f}"
            )
    r = np.corrcoef(runs["cuda"]["risk"], runs["cpu"]["risk"])[0, 1]
    print(
        f"training CUDA vs CPU: correlation of out-of-fold risks {r:.4f}, "
        f"max |Δ risk| {np.abs(runs['cuda']['risk'].to_numpy() - runs['cpu']['risk'].to_numpy()).max():.3g}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=50)
    ap.add_argument("--encoder", default="resnet50")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--scgpt-batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--skip", default="", help="comma list of sections to skip: extraction,scgpt,training")
    a = ap.parse_args()

    import torch

    if not torch.cuda.is_available():
        print(
            "gpu_check: CUDA is not available on this machine (torch.cuda.is_available() is False; torch "
            f"{torch.__version__}, built for CUDA {torch.version.cuda}). Run it on a machine with an NVIDIA GPU "
            "and a CUDA build of PyTorch.",
            file=sys.stderr,
        )
        return 2
    print(
        f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}, CUDA {torch.version.cuda}, "
        f"bf16 {'supported' if torch.cuda.is_bf16_supported() else 'not supported'}"
    )
    sections = {
        "extraction": lambda: check_extraction(a.images, a.encoder, a.batch_size),
        "scgpt": lambda: check_scgpt(a.samples, a.scgpt_batch_size),
        "training": lambda: check_training(a.epochs),
    }
    failed = []
    for name, run in sections.items():
        if name in a.skip.split(","):
            continue
        print(f"== {name}", flush=True)
        try:
            run()
        except Exception:  # noqa: BLE001 - report and go on with the next section
            traceback.print_exc()
            failed.append(name)
    print("gpu_check: " + (f"FAILED sections: {', '.join(failed)}" if failed else "all sections ran"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
