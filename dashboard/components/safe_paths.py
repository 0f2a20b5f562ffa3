"""Server-side slide folder: list and open only files inside a configured root.

The root comes from ``$PATHGPTOMIC_SLIDE_ROOT`` (unset: the demo cohort's images folder;
set but empty: feature off). Every path is resolved
(symlinks followed, ``..`` collapsed) and must stay inside the resolved root, so neither
``../`` traversal nor a symlink pointing outside the root can reach other files.
No Streamlit import here: this module is plain Python and unit-tested.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from pathgptomic.errors import InputValidationError

#: File name endings offered in the slide folder browser (lower case).
SLIDE_SUFFIXES: tuple[str, ...] = (
    ".svs",
    ".tif",
    ".tiff",
    ".ndpi",
    ".vms",
    ".vmu",
    ".scn",
    ".mrxs",
    ".svslide",
    ".bif",
    ".czi",
    ".dcm",
    ".png",
    ".jpg",
    ".jpeg",
)


#: Slide root used when ``$PATHGPTOMIC_SLIDE_ROOT`` is unset: the demo cohort's images.
DEFAULT_SLIDE_ROOT = Path(__file__).resolve().parents[2] / "assets" / "demo_cohort" / "images"


def slide_root() -> Path | None:
    """The slide root: ``$PATHGPTOMIC_SLIDE_ROOT``, else the demo images folder; None if not a folder.

    Set ``PATHGPTOMIC_SLIDE_ROOT=`` (empty) to switch the server slide folder off.
    """
    env = os.environ.get("PATHGPTOMIC_SLIDE_ROOT")
    if env is None:
        root = DEFAULT_SLIDE_ROOT
    elif not env.strip():
        return None
    else:
        root = Path(env.strip()).expanduser()
    return root.resolve() if root.is_dir() else None


def resolve_inside(root: str | Path, relative: str | Path) -> Path:
    """Resolve ``relative`` under ``root`` and refuse anything that leaves ``root``.

    Args:
        root: The allowed folder.
        relative: A path relative to ``root`` (absolute paths are refused).

    Returns:
        The resolved absolute path, guaranteed to lie inside the resolved ``root``.

    Raises:
        InputValidationError: The path is absolute, contains a NUL byte, leaves the root
            (``..`` or a symlink pointing outside), or does not exist.
    """
    text = str(relative)
    if "\x00" in text:
        raise InputValidationError("slide path contains a NUL byte; pick a file from the list")
    rel = Path(text)
    if rel.is_absolute():
        raise InputValidationError(f"slide path {text!r} is absolute; give a path relative to the slide root")
    root_resolved = Path(root).resolve(strict=True)
    try:
        target = (root_resolved / rel).resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError) as exc:
        raise InputValidationError(f"slide path {text!r} does not exist under the slide root") from exc
    if target != root_resolved and root_resolved not in target.parents:
        raise InputValidationError(f"slide path {text!r} points outside the slide root; only files inside it can be opened")
    return target


def list_slide_files(root: str | Path, suffixes: Iterable[str] = SLIDE_SUFFIXES, *, max_files: int = 5000) -> list[str]:
    """Relative paths of slide files inside ``root`` (recursively, symlink escapes skipped).

    Args:
        root: The slide root.
        suffixes: Accepted file endings (lower case, with the dot).
        max_files: Stop after this many files.

    Returns:
        Sorted POSIX-style paths relative to ``root``.
    """
    root_resolved = Path(root).resolve()
    wanted = tuple(s.lower() for s in suffixes)
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root_resolved, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not name.lower().endswith(wanted):
                continue
            rel = Path(dirpath, name).relative_to(root_resolved)
            try:
                resolve_inside(root_resolved, rel)
            except InputValidationError:
                continue  # a symlink leading out of the root
            found.append(rel.as_posix())
            if len(found) >= max_files:
                return found
    return found
