"""Reading user inputs for prediction: uploaded omics CSVs and slides (no Streamlit here)."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from components.uploads import DEFAULT_CSV_LIMIT_MB, NamedBytes, read_upload_header, upload_read_limits
from pathgptomic.errors import DataQualityWarning, InputValidationError

#: Session-state key where the Predict page keeps the last uploaded patient it predicted, for the
#: Explain page: ``{"cohort", "label", "key", "slide" (bytes or None), "suffix", "server_path"}``.
UPLOADED_PATIENT_KEY = "predict.uploaded_patient"
#: Largest uploaded slide kept in the session for the Explain page, in MB.
KEEP_SLIDE_MB = 200


def read_omics_upload(
    upload: Any, *, what: str = "omics CSV", limit_mb: float = DEFAULT_CSV_LIMIT_MB, slide_root: Path | None = None
) -> tuple[Any, list[str]]:
    """Parse an uploaded omics CSV (TCGA or generic layout) for prediction.

    The layout is detected from the header (``case_id`` = TCGA, ``patient_id`` = generic).
    Outcome columns are optional.

    Args:
        upload: An object with ``.size`` and ``.getvalue()`` (``st.UploadedFile``).
        what: Name used in messages (never the client's file name).
        limit_mb: Size limit re-checked on the server.
        slide_root: For the TCGA layout, resolve each ``slide_id`` inside this folder; a slide
            that resolves outside it is refused.

    Returns:
        ``(cohort, warnings)``: the cohort and the data-quality warnings raised while reading.

    Raises:
        InputValidationError: Any problem, with the column/row and the fix.
    """
    from pathgptomic.data import read_generic, read_tcga

    header = read_upload_header(upload, what=what, limit_mb=limit_mb)  # bounded, decompressed, BOM-safe
    data = upload.getvalue()
    name = f"the uploaded {what}"
    with warnings.catch_warnings(record=True) as caught, upload_read_limits():
        warnings.simplefilter("always", DataQualityWarning)
        if "case_id" in header:
            cohort = read_tcga(NamedBytes(data, name), for_prediction=True, slide_dir=slide_root)
        elif "patient_id" in header:
            cohort = read_generic(None, [NamedBytes(data, name)], for_prediction=True)
        else:
            raise InputValidationError(
                f"the {what} has neither a 'case_id' column (TCGA layout) nor a 'patient_id' column "
                "(generic layout); download the template and keep its first column"
            )
    notes = [str(w.message) for w in caught if issubclass(w.category, DataQualityWarning)]
    if slide_root is not None:
        for pid, paths in cohort.slides.items():
            for p in paths:
                resolved = Path(p).resolve()
                if slide_root.resolve() not in resolved.parents:
                    raise InputValidationError(
                        f"the slide of patient {pid!r} resolves outside the server slide folder; give slide ids of files inside it"
                    )
    return cohort, notes
