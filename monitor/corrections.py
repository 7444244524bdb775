"""Corrections that teach the scorer: a person's "wrong categories" or "not about us" on a mention.

`record_correction` stores the correction as a labelled example (the scoring text the scorer saw,
the right categories, who and when) for `mention-monitor train --with-corrections`; a "not about
us" also proposes a matcher exclusion (`exclusion_phrase`: the matched name with the word after
it, "Ankermoor Rovers", or before it), which an admin applies or rejects (`decide_exclusion`).
Applied exclusions are merged with the configured ones when a runner builds its matcher.

Typed functions for the CLI now and the mention page later; no web assumptions here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.models import CATEGORIES, Mention, scoring_text
from monitor.store import Store, Tx
from monitor.store.audit import AuditEntry
from monitor.store.corrections import Correction, ExclusionProposal

WRONG_CATEGORIES = "wrong_categories"
NOT_ABOUT_US = "not_about_us"

# Words that say nothing about which other thing a name stands for ("Ankermoor is ...").
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "is",
        "are",
        "was",
        "were",
        "be",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "from",
        "by",
        "with",
        "it",
        "its",
        "this",
        "that",
        "as",
        "or",
        "but",
        "not",
        "no",
        "so",
        "if",
        "has",
        "have",
        "had",
        "do",
        "does",
        "did",
        "will",
        "would",
        "can",
        "could",
        "s",
    ]
)
_WORD = r"[^\W_][\w'’.-]*"


class CorrectionError(ValueError):
    """The correction cannot be recorded; the message is one line for the person."""


@dataclass(frozen=True)
class Recorded:
    correction: Correction
    proposal: ExclusionProposal | None  # "not about us" only, when a phrase could be found


def exclusion_phrase(mention: Mention) -> str | None:
    """A phrase that names the other thing this mention is about: the matched name with the next
    word ("Ankermoor Rovers"), else with the word before it ("Lower Ankermoor"). None when no
    such word is there: the bare name would exclude every mention of the academy."""
    name = mention.matched_name.strip().lstrip("#")
    if not name:
        return None
    pattern = r"[\s-]*".join(re.escape(p) for p in re.split(r"[\s-]+", name))
    for field in (mention.title or "", mention.text or ""):
        for m in re.finditer(pattern, field, re.IGNORECASE):
            written = m.group(0)
            after = re.match(r"[\s-]+(" + _WORD + ")", field[m.end() :])
            if after and _plain(after.group(1)).lower() not in _STOPWORDS:
                return f"{written} {_plain(after.group(1))}"
            before = re.search("(" + _WORD + r")[\s-]+$", field[: m.start()])
            if before and _plain(before.group(1)).lower() not in _STOPWORDS:
                return f"{_plain(before.group(1))} {written}"
    return None


def _plain(word: str) -> str:
    # "Rovers'" / "Rovers's" / "Road." -> "Rovers" / "Road"
    return re.sub(r"(?:['’]s?|[.'’-])+$", "", word)


def record_correction(
    tx: Tx,
    mention_id: int,
    kind: str,
    categories: Sequence[str],
    by: str,
    now: datetime,
    *,
    urgent: bool | None = None,
) -> Recorded:
    """Store one correction of a mention as a labelled example (and, for "not about us", propose
    a matcher exclusion). `categories` are the right ones for "wrong categories" (may be empty:
    nothing wrong with the post); they must be empty for "not about us". The caller writes the
    audit row "correction" in the same transaction (it knows the actor and the client: the
    mention page, or the CLI's `corrections add`)."""
    found = tx.mention(mention_id)
    if found is None:
        raise CorrectionError(f"no mention {mention_id}")
    mention, _ = found
    cats = tuple(dict.fromkeys(c.strip() for c in categories if c.strip()))
    unknown = [c for c in cats if c not in CATEGORIES]
    if unknown:
        raise CorrectionError(
            f"unknown categories {', '.join(unknown)}; use {', '.join(CATEGORIES)}"
        )
    if not by.strip():
        raise CorrectionError("who made the correction? give an email address")
    if kind == NOT_ABOUT_US:
        if cats:
            raise CorrectionError("'not about us' takes no categories")
        urgent = False
    elif kind != WRONG_CATEGORIES:
        raise CorrectionError(f"unknown correction kind {kind!r}")
    # The same string the scorer was given (it cuts it at scoring.max_chars; training does too).
    text = scoring_text(mention.title, mention.text)
    correction = tx.add_correction(mention, kind, text, cats, urgent, by.strip(), now)
    proposal = None
    if kind == NOT_ABOUT_US:
        phrase = exclusion_phrase(mention)
        if phrase:
            proposal = tx.propose_exclusion(mention.organisation, phrase, mention.id, by, now)
    return Recorded(correction, proposal)


def decide_exclusion(
    store: Store,
    proposal_id: int,
    apply: bool,
    by: str,
    now: datetime,
    *,
    actor: str | None = None,
    client: str = "cli",
) -> ExclusionProposal:
    """Apply or reject a proposed exclusion (an admin's decision), with its audit row
    "exclusion.apply" / "exclusion.reject" (actor: "user:<email>" from the admin page,
    "cli:<os user>" from the CLI; `by` when not given) in the same transaction. An applied
    exclusion is used by every runner built afterwards, and by running ones at their next source
    run."""
    with store.transaction() as tx:
        current = tx.exclusion_proposal(proposal_id)
        if current is None:
            raise CorrectionError(f"no exclusion proposal {proposal_id}")
        if current.status != "proposed":
            raise CorrectionError(f"exclusion proposal {proposal_id} is already {current.status}")
        done = tx.decide_exclusion(proposal_id, "applied" if apply else "rejected", by, now)
        assert done is not None
        tx.audit(
            AuditEntry(
                now,
                actor or by,
                "exclusion.apply" if apply else "exclusion.reject",
                academy_id=done.academy_id,
                target=f"exclusion:{done.id}",
                detail=done.phrase,
                client=client,
            )
        )
        return done
