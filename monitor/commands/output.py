"""Terminal output for commands: aligned tables, one-line errors, and text made safe to print.

Everything a command prints that came from outside (titles, authors, URLs, server messages) goes
through `safe` (or `table` and `fail`, which call it): a stored title may carry bidi overrides
(U+202E turns "gpj.exe" around), ANSI escape sequences or other control characters that would
rewrite what the terminal shows. They are printed as visible escapes (`\\u202e`, `\\x1b`), as the
web page neutralises them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import click

# C0 and C1 controls, DEL, and the invisible format characters that reorder or hide text:
# bidi embeddings, overrides and isolates, marks, zero-width characters, the BOM.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]"
)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(text: str, *, one_line: bool = False) -> str:
    """`text` with every control and invisible formatting character shown as an escape; with
    `one_line`, tabs and newlines become spaces (a table cell)."""
    if one_line:
        text = text.replace("\t", " ").replace("\n", " ")
    return _UNSAFE.sub(_escape, text)


def safe_json(doc_text: str) -> str:
    """A JSON text with the characters `safe` escapes written as \\uXXXX: the same document for a
    JSON reader, harmless on a terminal (json.dumps escapes only C0 controls itself)."""
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", doc_text)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table (readable in a terminal, a log file and an issue note)."""
    cells = [[safe(str(h), one_line=True) for h in headers]] + [
        ["" if c is None else safe(str(c), one_line=True) for c in r] for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def fail(message: str, code: int = 2) -> None:
    """Print a user-facing error (no traceback) and exit."""
    click.secho(safe(message), fg="red", err=True)
    raise SystemExit(code)
