"""Stored mentions for the triage and inbox tests: one call stores a mention with the fields the
inbox shows (academy, source, author, severity, categories, cluster) through the store's own
`Tx` methods, as the runner does."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from monitor.models import Assessment, Evidence, Match, RawItem, Severity
from monitor.store import Store
from monitor.store.repository import Candidate

_seq = itertools.count(1)


def add_mention(
    store: Store,
    at: datetime,
    *,
    academy: str = "ankermoor",
    source: str = "gazette",
    title: str = "Ankermoor news",
    text: str = "Something happened at Ankermoor.",
    author: str | None = None,
    severity: Severity | None = Severity.DIGEST,
    categories: Sequence[str] = (),
    cluster: str | None = None,
    evidence: Sequence[Evidence] = (),
) -> int:
    """Store one mention (and its assessment unless `severity` is None); returns its id."""
    n = next(_seq)
    item = RawItem(
        f"{academy}/{source}",
        f"ext-{n}",
        f"https://example.org/{n}",
        title,
        text,
        author=author,
        published_at=at,
    )
    cand = Candidate(
        item=item,
        match=Match(academy, "Ankermoor", "title", 0, 9),
        canonical_url=f"https://example.org/{n}",
        fingerprint=f"fp{n:010d}",
        simhash=n,
        bands=(n, n, n, n),
    )
    with store.transaction() as tx:
        m = tx.add_mention(cand, cluster, at)
        assert m is not None
        if severity is not None:
            tx.add_assessment(
                m.id,
                Assessment(
                    probabilities=dict.fromkeys(categories, 0.9),
                    categories=tuple(categories),
                    severity=severity,
                    reason="test",
                    evidence=tuple(evidence),
                    model_version="test",
                ),
                at,
            )
    return m.id
