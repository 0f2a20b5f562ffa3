"""The model card (``README.md``) of a bundle: what the model sees, how it predicts, how well."""

from __future__ import annotations

from typing import Any

from pathgptomic.training.applicability import DEFAULT_MIN_COVERAGE


def _fmt(value: Any, digits: int = 3) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if v != v else f"{v:.{digits}f}"


def inputs_statement(train_config: dict[str, Any]) -> str:
    """One sentence: the blocks, the RNA encoder, images and whether clinical covariates are used."""
    feats = train_config["features"]
    model = train_config["model"]
    parts = []
    if model["fusion"] != "image":
        blocks = ", ".join(feats["genomic_blocks"]) if feats["genomic_blocks"] else ""
        projected = list(model.get("cnv_mut_projected_blocks") or [])
        if blocks and projected:
            blocks += f" ({', '.join(projected)} reduced to {model['cnv_mut_components']} training-fold principal components each)"
        parts.append("genomic blocks " + blocks if blocks else "no CNV/mutation block")
        rna = f"RNA-seq through `{feats['rna_encoder']}`" if feats["rna_encoder"] != "none" else "no RNA-seq"
        if feats["rna_encoder"] == "snn" and int(model.get("rna_components") or 0) > 0:
            rna += f" on {model['rna_components']} training-fold principal components"
        parts.append(rna)
    if model["fusion"] != "genomic":
        parts.append(f"slides through `{feats['image_encoder']}`")
    clinical = (
        "clinical covariates (age, sex) **used**"
        if feats.get("use_clinical")
        else "clinical covariates (age, sex) **not used** (train with `--clinical` to add them)"
    )
    return "; ".join(parts + [clinical]) + "."


def genomic_branch_statement(model: dict[str, Any]) -> str:
    """How the genomic branch maps its inputs to G, in words (model cards)."""
    if model.get("linear_skip"):
        return "G = MLP-B([G1 ‖ G2]) + a linear skip path L·[x1 ‖ x2] from the (projected) genomic inputs."
    return "G = MLP-B([G1 ‖ G2]) (no linear skip path)."


def _calibration_lines(metrics: dict[str, Any], config: dict[str, Any]) -> list[str]:
    cal = config.get("calibration")
    if not cal:
        return [
            "",
            "## Predictions",
            "",
            "Fitted without cross-validation: the risk is the model's θ centred on the training mean, on an "
            "**uncalibrated** scale, and no survival probabilities are given. Train with `pathgptomic cv` for "
            "calibrated survival.",
        ]
    lines = [
        "",
        "## How predictions are made",
        "",
        f"The final model's θ is centred (mean over the training cohort) and multiplied by the calibration slope "
        f"β = {_fmt(cal['slope'])}, learned by a one-covariate Cox fit on the out-of-fold risks of the "
        f"{cal['n_fold_models']} cross-validation fold models; the Breslow baseline hazard is fitted on the same "
        "out-of-fold risks. The risk shown is this log hazard ratio against the average training patient. "
        "The band is the range of this risk over the final model and the fold models (model uncertainty). "
        "Percentiles and risk groups are relative to "
        "the out-of-fold risks of the training patients. A patient with under "
        f"{DEFAULT_MIN_COVERAGE:.0%} of a needed block measured gets no risk ('insufficient data').",
    ]
    rep = metrics.get("calibration")
    if rep:
        lines += [
            "",
            "## Calibration (out of fold, cross-fitted)",
            "",
            "| time | mean abs. error over risk quartiles | calibration-in-the-large | share S outside [0.02, 0.98] |",
            "|---|---|---|---|",
        ]
        for t in rep["times"]:
            k = str(t)
            lines.append(
                f"| {t:g} | {_fmt(rep['mean_abs_error'].get(k))} | {_fmt(rep['calibration_in_the_large'].get(k))} "
                f"| {_fmt(rep['extreme_share'].get(k))} |"
            )
        lines += [
            "",
            f"Integrated Brier score {_fmt(rep.get('ibs'))} vs {_fmt(rep.get('ibs_null'))} for the "
            f"Kaplan–Meier-only null model (skill {_fmt(rep.get('ibs_skill'))}; > 0 is better than the null).",
        ]
    return lines


def model_card(config: dict[str, Any], metrics: dict[str, Any]) -> str:
    """Markdown model card from a bundle's config and metrics."""
    from pathgptomic.training.config import TrainConfig

    tc = config["train_config"]
    s = metrics.get("summary", {})
    lines = [
        f"# Model bundle `{config['name']}`",
        "",
        "**Research use only — not for diagnosis.**",
        "",
        f"- Created: {config['created']} with pathgptomic {config['library_version']} (bundle format {config['format_version']})",
        f"- Fusion: `{tc['model']['fusion']}`; RNA encoder: `{tc['features']['rna_encoder']}`; image encoder: "
        f"`{config['image_encoder']['name']}`",
        f"- Inputs: {inputs_statement(tc)}",
        *([f"- Genomic branch: {genomic_branch_statement(tc['model'])}"] if tc["model"]["fusion"] != "image" else []),
        f"- Cohort: {config['cohort']['source']} ({config['cohort']['n_patients']} patients, "
        f"{config['cohort']['n_events']} events, time in {config['cohort']['time_unit']})"
        + (" — **synthetic**" if config["cohort"].get("synthetic") else "")
        + (" — **semi-synthetic**" if config["cohort"].get("semi_synthetic") else ""),
        f"- Training: {tc['epochs']} epochs, batch {tc['batch_size']}, lr {tc['lr']}, weight decay "
        f"{tc['weight_decay']}, seed {tc['seed']}, early stopping on an inner validation split: "
        f"{'yes' if tc.get('early_stopping') else 'no'}; final weights: {TrainConfig.from_dict(tc).final_weights()}",
    ]
    if config["feature_info"].get("scgpt_checkpoint_hash"):
        lines.append(f"- scGPT checkpoint sha256: `{config['feature_info']['scgpt_checkpoint_hash']}`")
    if s.get("n_folds"):
        lines += [
            "",
            f"## Cross-validation ({s['n_folds']} folds)",
            "",
            "| score | C-index mean ± sd over folds |",
            "|---|---|",
            f"| fused θ | {_fmt(s.get('cindex_mean'))} ± {_fmt(s.get('cindex_sd'))} |",
            f"| genomic branch alone (W^G·G) | {_fmt(s.get('cindex_genomic_mean'))} ± {_fmt(s.get('cindex_genomic_sd'))} |",
            f"| image branch alone (W^P·P) | {_fmt(s.get('cindex_image_mean'))} ± {_fmt(s.get('cindex_image_sd'))} |",
        ]
        if metrics.get("oof_cindex"):
            o = metrics["oof_cindex"]
            lines.append(
                f"\nPooled out-of-fold C-index (all folds' risks together, after calibration): "
                f"{_fmt(o['c'])} (95% bootstrap CI {_fmt(o['lower'])}–{_fmt(o['upper'])})."
            )
        if metrics.get("in_sample_cindex") is not None:
            lines.append(
                f"In-sample C-index of the final model on its own training patients: "
                f"{_fmt(metrics['in_sample_cindex'])} (optimistic; for reference only)."
            )
    lines += _calibration_lines(metrics, config)
    if config.get("command"):
        lines += ["", "## Reproduce", "", "```bash", config["command"], "```"]
    lines += [
        "",
        "## Files",
        "",
        "config.json (configuration, feature names, scaling, training feature ranges, calibration), "
        "weights.safetensors (final model), folds/ (each cross-validation fold model and its scaling), "
        "metrics.json, history.csv (per step: loss, ρ^G, ρ^P, k^G, k^P, gradient norms), epochs.csv "
        "(per epoch: validation C-index fused / genomic / image), predictions.csv (out-of-fold and in-sample "
        "risks), baseline_hazard.csv (Breslow, fitted on the calibrated out-of-fold risks).",
        "",
    ]
    return "\n".join(lines)
