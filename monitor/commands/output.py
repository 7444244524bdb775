"""Terminal output for commands: aligned tables and a progress display on a terminal."""

from __future__ import annotations

from collections.abc import Sequence

import click


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table (readable in a terminal, a log file and an issue note)."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fail(message: str, code: int = 2) -> None:
    """Print a user-facing error (no traceback) and exit."""
    click.secho(message, fg="red", err=True)
    raise SystemExit(code)
