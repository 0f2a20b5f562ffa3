"""Finding model bundles on disk, without importing torch or the model code.

The dashboard's model picker runs this on its first page, before the background warm-up has
imported :mod:`pathgptomic.training.bundle` (which loads torch); the library re-exports
:func:`list_bundles` from there.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["BUNDLE_MARKERS", "is_model_bundle", "list_bundles"]

#: Files that make a folder a trained Path-GPTomic bundle (an scGPT checkpoint folder has a ``config.json`` too).
BUNDLE_MARKERS: tuple[str, ...] = ("config.json", "weights.safetensors")


def is_model_bundle(path: str | Path) -> bool:
    """Whether ``path`` is a folder holding every file of :data:`BUNDLE_MARKERS`."""
    folder = Path(path)
    return all((folder / name).is_file() for name in BUNDLE_MARKERS)


def list_bundles(*roots: str | Path) -> list[Path]:
    """Bundle folders directly in, or one level below, ``roots`` (hidden folders skipped).

    Args:
        roots: Folders to search; one that is not a folder is skipped.

    Returns:
        The bundles in order (each root itself, then its sub-folders sorted by name, a
        sub-folder that is no bundle contributing its own bundle sub-folders); a folder reached
        twice (e.g. through a link) is listed once.
    """
    found: list[Path] = []
    for root in map(Path, roots):
        if not root.is_dir():
            continue
        level1 = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        for folder in [root, *level1]:
            if is_model_bundle(folder):
                found.append(folder)
            elif folder is not root:
                found += [d for d in sorted(folder.iterdir()) if d.is_dir() and not d.name.startswith(".") and is_model_bundle(d)]
    seen: set[Path] = set()
    return [p for p in found if not (p.resolve() in seen or seen.add(p.resolve()))]
