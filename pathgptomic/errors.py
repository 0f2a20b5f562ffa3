"""One exception family for the whole project.

Every error a user can cause is a :class:`PathGPTomicError`; its message names the file,
row or column at fault and says what to do. The dashboard shows ``str(error)`` with
``st.error``; the CLI prints it and exits with status 2.
"""

from __future__ import annotations


class PathGPTomicError(Exception):
    """Base class of every error this project raises on purpose."""


class InputValidationError(PathGPTomicError, ValueError):
    """An input file or table is malformed (names file, row/column and the fix)."""


class ConfigError(PathGPTomicError, ValueError):
    """A configuration value is out of range or inconsistent."""


class BundleError(PathGPTomicError):
    """A model bundle is missing, incomplete or of an unknown format version."""


class CheckpointError(PathGPTomicError):
    """A model checkpoint (scGPT, image encoder, MLP-A) cannot be loaded as asked."""


class SlideError(PathGPTomicError):
    """A slide or image file cannot be opened or read."""


class JobError(PathGPTomicError):
    """A training job cannot be created, started or cancelled."""


class PathGPTomicWarning(UserWarning):
    """Base class of this project's warnings (dropped columns, imputation, coverage)."""


class DataQualityWarning(PathGPTomicWarning):
    """Input was accepted but changed: columns dropped, values imputed, genes unmapped."""
