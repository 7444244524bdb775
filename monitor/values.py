"""The leaf values: what a collector hands to the monitor (`RawItem`) and what the store keeps for
a source between runs (`SourceState`).

This module imports nothing of the project (an import-linter contract in pyproject.toml checks
it), so that sources/ and the pure core can both depend on it without depending on each other.
`RawItem` normalises itself here, once for every kind: its external id fits the store and its
texts carry no control characters.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

# The store's column for external ids (monitor/store/schema.py: String(500)).
MAX_EXTERNAL_ID = 500
_DIGEST = "~sha256:"  # + 64 hex digits


def fit_external_id(external_id: str) -> str:
    """An id that fits the store: as given when short enough, else its head plus the SHA-256 of
    the whole id. Cutting would let two long ids with the same first 500 characters collide (real
    Google News guids run to about 850 characters and share long prefixes)."""
    if len(external_id) <= MAX_EXTERNAL_ID:
        return external_id
    digest = hashlib.sha256(external_id.encode("utf-8", "surrogatepass")).hexdigest()
    head = external_id[: MAX_EXTERNAL_ID - len(_DIGEST) - len(digest)]
    return f"{head}{_DIGEST}{digest}"


# C0 control characters (and DEL) other than tab and newline: a NUL in a title breaks
# PostgreSQL text columns and terminals, and none of them is ever part of what a person wrote.
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def strip_controls(text: str) -> str:
    """`text` without C0 controls and DEL; tab and newline are kept, a carriage return dropped."""
    return _CONTROLS.sub("", text) if _CONTROLS.search(text) else text


@dataclass(frozen=True)
class RawItem:
    """One item as a collector parsed it, before anyone knows whether it is about a school.

    Every RawItem, however it was built (`dataclasses.replace` included), has an external id that
    fits the store: a kind adds its prefix to the full id and this fits the result, once.

    Every item of every kind is built here, so this is where control characters are removed.
    """

    source_key: str
    external_id: str
    url: str | None
    title: str
    text: str
    author: str | None = None
    published_at: datetime | None = None
    has_media: bool = False

    def __post_init__(self) -> None:
        if len(self.external_id) > MAX_EXTERNAL_ID:
            object.__setattr__(self, "external_id", fit_external_id(self.external_id))
        for name in ("title", "text", "author"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, strip_controls(value))


@dataclass(frozen=True)
class SourceState:
    """What the store remembers for a source between runs. `cursor` is the collector's own text."""

    etag: str | None = None
    last_modified: str | None = None
    cursor: str | None = None
