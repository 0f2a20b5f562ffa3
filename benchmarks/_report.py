"""Markdown reports of the benchmarks: command, machine and load, then one table."""

from __future__ import annotations

import os
import sys
from datetime import datetime, timezone
from pathlib import Path


def write_report(out: str | os.PathLike[str], title: str, notes: list[str], header: list[str], rows: list[list[str]]) -> Path:
    """Write ``# title``, the exact command, date/CPUs/load, ``notes`` as bullets and a table.

    Args:
        out: Markdown file to write (folders are created).
        title: Heading.
        notes: Further bullet lines (what was measured, anchors, settings).
        header: Column names.
        rows: Table cells, already formatted as text.

    Returns:
        The written path.
    """
    script = Path(sys.argv[0]).name
    lines = [
        f"# {title}",
        "",
        f"- Command: `{' '.join(['python', f'benchmarks/{script}', *sys.argv[1:]])}`",
        (
            f"- Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}; {os.cpu_count()} CPUs visible, shared with other "
            f"users (load average {os.getloadavg()[0]:.1f} at the end)."
        ),
        *[f"- {n}" for n in notes],
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
        *["| " + " | ".join(r) + " |" for r in rows],
        "",
    ]
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    print(f"wrote {path}")
    return path
