"""Cohorts: readers (TCGA and generic layouts), validation, splits, standardisation, synthetic data."""

from pathgptomic.data.cohort import CLINICAL_BLOCK, GENOMIC_BLOCKS, Cohort
from pathgptomic.data.preprocessing import FeatureStandardizer
from pathgptomic.data.readers import read_cohort, read_generic, read_tcga
from pathgptomic.data.splits import inner_validation_split, read_split_files, stratified_kfold
from pathgptomic.data.synthetic import make_synthetic_cohort, render_he_image, rna_gene_symbols, write_demo_cohort
from pathgptomic.data.templates import TEMPLATE_FILES, omics_template_csv, template_csv_text, write_templates

__all__ = [
    "CLINICAL_BLOCK",
    "GENOMIC_BLOCKS",
    "Cohort",
    "FeatureStandardizer",
    "TEMPLATE_FILES",
    "inner_validation_split",
    "make_synthetic_cohort",
    "omics_template_csv",
    "read_cohort",
    "read_generic",
    "read_split_files",
    "read_tcga",
    "render_he_image",
    "rna_gene_symbols",
    "stratified_kfold",
    "template_csv_text",
    "write_demo_cohort",
    "write_templates",
]
