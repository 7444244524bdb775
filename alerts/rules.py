"""Who is told what about a stored mention: urgent alerts, provider notices and incidents.

Pure: a mention, its assessment, the academy's settings and the confirmed provider subscriptions
in; notices out. Every piece of mention text leaves here redacted (monitor.scoring.pii), stripped
of control characters and cut to excerpt length. One alert per story: notices are scoped to the
mention's cluster, and the outbox refuses a second notice for the same (kind, cluster, recipient).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from urllib.parse import quote, urlsplit

from alerts.notice import (
    Found,
    Incident,
    MentionFacts,
    Notice,
    ProviderContent,
    Subscriber,
    UrgentContent,
)
from monitor.config import AcademyConfig
from monitor.models import CATEGORIES, Assessment, Mention, scoring_text
from monitor.scoring import taxonomy
from monitor.scoring.pii import redact

# Categories whose urgent stories may be personal-data breaches: they open an incident with the
# ICO 72-hour clock, and are what providers hear about unless they choose otherwise.
PERSONAL_DATA_CATEGORIES: tuple[str, ...] = ("data_leak", "pupil_image")
DEFAULT_PROVIDER_CATEGORIES: tuple[str, ...] = PERSONAL_DATA_CATEGORIES
# Display order, most serious first (the digest groups by this).
SERIOUSNESS: tuple[str, ...] = (
    "data_leak",
    "harassment",
    "pupil_image",
    "staff_conduct",
    "reputation",
)
assert sorted(SERIOUSNESS) == sorted(CATEGORIES)

ICO_WINDOW = timedelta(hours=72)
EXCERPT_CHARS = 300
TITLE_CHARS = 160
PHRASE_CHARS = 80
DETAIL_CHARS = 2000  # a source's problem in the digest's health section
MAX_PHRASES = 6

PII_WORDS: dict[str, str] = {
    "phone": "a phone number",
    "email": "an email address",
    "postcode": "a postcode",
    "address": "a postal address",
    "dob": "a date of birth",
    "ni_number": "a National Insurance number",
    "upn": "a pupil number",
    "nhs_number": "an NHS number",
    "credential": "a password or login",
    "child_name": "a child's name",
    "child_health": "health or special-needs details about a child",
    "class_list": "a list of pupils' names",
}
_PUPIL_KINDS = frozenset({"child_name", "class_list", "upn", "child_health"})

_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")


def one_line(text: str) -> str:
    """Every control, line or paragraph separator becomes a space; runs of space become one."""
    text = _INVISIBLE.sub("", text)
    text = "".join(" " if unicodedata.category(c)[0] in ("C", "Z") else c for c in text)
    return " ".join(text.split())


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def clean_text(text: str, limit: int) -> str:
    """Redact personal data first (so a cut never leaves half a phone number), then shorten.

    The one place text is redacted on its way into a notice or the mention page: every piece of
    text a notice carries is built by this, once, and nothing downstream (render, the outbox, the
    web page) redacts it again."""
    return shorten(one_line(redact(text)), limit)


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link, else None (no javascript:, data:, or odd bytes)."""
    if not url:
        return None
    url = url.strip()
    if any(unicodedata.category(c)[0] in ("C", "Z") for c in url) or '"' in url or "\\" in url:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    # Percent-encode anything outside the URL character set (<, >, quotes, spaces, non-ASCII), so
    # the link stays inert text wherever it is written.
    return quote(url, safe=":/?#[]@!$&'()*+,;=%~-._")


def dashboard_url(base_url: str, mention_id: int) -> str:
    return f"{base_url.rstrip('/')}/mentions/{mention_id}"


def source_name(source_key: str) -> str:
    return source_key.split("/", 1)[-1]


def _kinds(assessment: Assessment) -> list[str]:
    return [e.kind for e in assessment.evidence]


def found(assessment: Assessment) -> tuple[Found, ...]:
    """The categories in plain words with their clauses, most serious first."""
    kinds = set(_kinds(assessment))
    out = []
    for key in sorted(assessment.categories, key=_rank):
        if key not in taxonomy.TAXONOMY:
            continue
        detail: str | None = None
        if key == "data_leak":
            if kinds & _PUPIL_KINDS:
                detail = "pupil information"
            elif "credential" in kinds:
                detail = "passwords or logins"
            elif kinds & set(PII_WORDS):
                detail = "personal details"
        out.append(Found(key, taxonomy.label(key, detail)))
    return tuple(out)


def _rank(key: str) -> int:
    return SERIOUSNESS.index(key) if key in SERIOUSNESS else len(SERIOUSNESS)


def why(mention: Mention, assessment: Assessment) -> tuple[str, ...]:
    """The evidence: the phrases that drove the categories (redacted), then kinds of personal data
    seen, in words. Never the personal data itself."""
    text = scoring_text(mention.title, mention.text)
    phrases: list[str] = []
    pii: list[str] = []
    for e in assessment.evidence:
        if e.kind in PII_WORDS:
            word = PII_WORDS[e.kind]
            if word not in pii:
                pii.append(word)
            continue
        if e.kind == "role_email":
            continue
        raw = e.text or text[e.start : e.end]
        phrase = clean_text(raw, PHRASE_CHARS)
        if phrase and f"“{phrase}”" not in phrases and len(phrases) < MAX_PHRASES:
            phrases.append(f"“{phrase}”")
    return tuple(phrases + [f"it contains {w}" for w in pii])


def mention_facts(mention: Mention, assessment: Assessment | None, base_url: str) -> MentionFacts:
    return MentionFacts(
        mention_id=mention.id,
        source=source_name(mention.source_key),
        url=safe_url(mention.url),
        title=clean_text(mention.title, TITLE_CHARS) or "(no title)",
        excerpt=clean_text(mention.text, EXCERPT_CHARS),
        first_seen_at=mention.first_seen_at,
        published_at=mention.published_at,
        found=found(assessment) if assessment else (),
        why=why(mention, assessment) if assessment else (),
        urgent=bool(assessment and assessment.urgent),
        dashboard_url=dashboard_url(base_url, mention.id),
        # The account that posted it, as public as the post; not redacted so that it can be
        # given to `erase --author`.
        author=shorten(one_line(mention.author), TITLE_CHARS) if mention.author else None,
    )


def incident_id(academy_id: str, cluster_id: str, opened_at: datetime) -> str:
    """Stable and short: the date it opened and a hash of the story, e.g. INC-20261128-3F9A1C."""
    digest = hashlib.sha256(f"{academy_id}\0{cluster_id}".encode()).hexdigest()[:6].upper()
    return f"INC-{opened_at:%Y%m%d}-{digest}"


def needs_incident(assessment: Assessment | None) -> bool:
    return bool(
        assessment
        and assessment.urgent
        and set(assessment.categories) & set(PERSONAL_DATA_CATEGORIES)
    )


def new_incident(mention: Mention) -> Incident:
    """The ICO clock starts when the academy could know: when the mention was first seen."""
    opened = mention.first_seen_at
    return Incident(
        incident_id(mention.organisation, mention.cluster_id, opened), opened, opened + ICO_WINDOW
    )


def urgent_notices(
    mention: Mention,
    assessment: Assessment | None,
    academy: AcademyConfig,
    providers: Iterable[Subscriber],
    *,
    opted_out: frozenset[str],
    incident: Incident | None,
    base_url: str,
) -> list[Notice]:
    """The notices an urgent mention causes: one urgent alert per academy recipient (unless they
    unsubscribed) and one notice per confirmed provider subscribed to one of its categories for
    this academy. Nothing for a mention that is not urgent: it waits for the digest."""
    if assessment is None or not assessment.urgent:
        return []
    facts = mention_facts(mention, assessment, base_url)
    out: list[Notice] = []
    for rcpt in _unique(academy.recipients):
        if rcpt.lower() in opted_out:
            continue
        out.append(
            Notice(
                kind="urgent",
                academy_id=academy.id,
                academy_name=academy.display_name,
                recipient=rcpt,
                scope=mention.cluster_id,
                mention_id=mention.id,
                content=UrgentContent(facts, incident),
            )
        )
    cats = set(assessment.categories)
    for sub in providers:
        wanted = cats & set(sub.categories)
        if academy.id not in sub.academies or not wanted:
            continue
        out.append(
            Notice(
                kind="provider",
                academy_id=academy.id,
                academy_name=academy.display_name,
                recipient=sub.email,
                scope=mention.cluster_id,
                mention_id=mention.id,
                content=ProviderContent(
                    source=facts.source,
                    url=facts.url,
                    first_seen_at=mention.first_seen_at,
                    found=tuple(f for f in facts.found if f.key in wanted),
                    incident=incident,
                    reference=incident.id if incident else f"MM-{mention.id}",
                    dpo_contact=academy.dpo_contact,
                ),
            )
        )
    return out


def _unique(emails: Sequence[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for e in emails:
        if e.lower() not in seen:
            seen.add(e.lower())
            out.append(e)
    return out
