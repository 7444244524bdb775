"""What people sent in, kept in the pack of the mention their report made: each screenshot as
`reported-<report>-<n>-<name>` and each original message as `original-<report>.eml` (the first
report's simply `original.eml`), next to the page's own capture (or alone, when the reported link
was not public), so the manifest covers them like every other file.

Reading only: the images and messages are in the intake tables (monitor/store/intake.py), written
in the transaction that stored the mention, so a pack can be built from them at any later time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.store import Store

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Reported:
    """A mention's reported material: files for its pack, and whether the link it was reported
    with could be read (public) by the intake's guarded fetch."""

    files: dict[str, bytes]
    reports: int
    public_url: bool


def safe_name(name: str) -> str:
    cleaned = _SAFE.sub("-", name).strip(".-")[:80]
    return cleaned or "image"


def reported_material(store: Store, mention_id: int) -> Reported:
    reports = store.intake.reports_for_mention(mention_id)
    files: dict[str, bytes] = {}
    public = False
    for n, r in enumerate(reports):
        if r.url and r.fetch_error is None:
            public = True
        for i, img in enumerate(r.images, 1):
            data = store.intake.image_data(img.id)
            if data is not None:
                files[f"reported-{r.id}-{i}-{safe_name(img.name)}"] = data
        if r.has_original:
            data = store.intake.original_data(r.id)
            if data is not None:
                files["original.eml" if n == 0 else f"original-{r.id}.eml"] = data
    return Reported(files, len(reports), public)
