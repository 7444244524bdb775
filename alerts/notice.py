"""The notice types: what an email says, as frozen dataclasses, and their JSON form for the outbox.

`rules` and `digest` build these; `outbox` stores them (as JSON) with the envelope; `render` turns
one into an email. Mention text in them is already redacted and cut to excerpt length, so the
outbox never holds more personal data than the email it will become.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, TypeVar, Union

Kind = Literal["urgent", "provider", "digest", "confirm", "signin", "breach_reminder"]
KINDS: tuple[str, ...] = ("urgent", "provider", "digest", "confirm", "signin", "breach_reminder")


@dataclass(frozen=True)
class Subscriber:
    """A confirmed provider subscription, as the rules see it."""

    email: str
    academies: tuple[str, ...]
    categories: tuple[str, ...]
    name: str = ""


@dataclass(frozen=True)
class Incident:
    """A possible personal-data breach and its ICO 72-hour deadline."""

    id: str
    opened_at: datetime
    ico_deadline: datetime


@dataclass(frozen=True)
class Found:
    """One category found, in words: key, plain label with clauses."""

    key: str
    label: str


@dataclass(frozen=True)
class MentionFacts:
    """What an email may say about one mention (already redacted and shortened)."""

    mention_id: int
    source: str  # the source's name, e.g. "local-news"
    url: str | None  # http(s) only, else None
    title: str
    excerpt: str
    first_seen_at: datetime
    published_at: datetime | None
    found: tuple[Found, ...]
    why: tuple[str, ...]  # evidence phrases, and kinds of personal data seen ("a phone number")
    urgent: bool
    dashboard_url: str
    copies: int = 0  # syndicated copies of the same story (digest only)
    author: str | None = None  # as the source shows it ("@name.bsky.social"); the web page only


@dataclass(frozen=True)
class UrgentContent:
    mention: MentionFacts
    incident: Incident | None


@dataclass(frozen=True)
class ProviderContent:
    """What a provider is told: no title, no excerpt, only what they need to act."""

    source: str
    url: str | None
    first_seen_at: datetime
    found: tuple[Found, ...]
    incident: Incident | None
    reference: str
    # Who at the academy to contact (academies.dpo_contact): a provider cannot open the dashboard.
    dpo_contact: str = ""


@dataclass(frozen=True)
class CategoryGroup:
    key: str
    label: str
    mentions: tuple[MentionFacts, ...]
    more: int  # how many more are in the dashboard but not listed


@dataclass(frozen=True)
class SourceCount:
    source: str
    count: int


@dataclass(frozen=True)
class HealthLine:
    source: str
    state: str  # failing | silent | needs_credentials | blocked | disabled | new | ok
    detail: str


@dataclass(frozen=True)
class OpenRemoval:
    """A removal request open for more than 7 days (the digest's "still open" section)."""

    mention_id: int
    where: str  # "Reported to <platform>" or "Asked the poster to remove it"
    reference: str
    reported_at: datetime
    status: str  # open | gone_once
    days_open: int
    dashboard_url: str


@dataclass(frozen=True)
class DigestContent:
    digest_date: date
    window_start: datetime
    window_end: datetime
    groups: tuple[CategoryGroup, ...]  # most serious first
    benign_count: int
    benign_titles: tuple[str, ...]
    unscored_count: int
    per_source: tuple[SourceCount, ...]
    sources_checked: int
    sources_total: int
    problems: tuple[HealthLine, ...]
    dead_letters: tuple[str, ...]  # "urgent alert of <time> (outbox #n): reason" lines
    dashboard_url: str
    mention_count: int
    retention_days: int = 90  # the retention policy, stated in every digest
    not_checked: tuple[str, ...] = ()  # sources never checked yet: not called working
    since_added: bool = False  # the window starts when the academy was added (first digest)
    # Nobody receives urgent alerts, or urgent mentions reached nobody (alerts.reach lines).
    alert_problems: tuple[str, ...] = ()
    # Removal requests (policy 11.2) still open after 7 days.
    open_removals: tuple[OpenRemoval, ...] = ()

    @property
    def sources_working(self) -> int:
        return self.sources_total - len(self.problems) - len(self.not_checked)

    @property
    def total(self) -> int:
        return self.mention_count


@dataclass(frozen=True)
class ConfirmContent:
    academies: tuple[str, ...]  # display names
    categories: tuple[Found, ...]
    confirm_url: str
    expires_at: datetime


@dataclass(frozen=True)
class SigninContent:
    """A dashboard sign-in link, asked for on /signin (monitor/web/auth.py): single use, short."""

    signin_url: str
    expires_at: datetime


@dataclass(frozen=True)
class BreachReminderContent:
    """To the DPO, 24 hours before an undecided incident's ICO deadline. No mention text."""

    incident_id: str
    first_seen_at: datetime
    deadline: datetime
    found: tuple[Found, ...]
    dashboard_url: str  # the mention's page, or the dashboard when the mention is gone


Content = (
    UrgentContent
    | ProviderContent
    | DigestContent
    | ConfirmContent
    | SigninContent
    | BreachReminderContent
)


@dataclass(frozen=True)
class Notice:
    """One email to one recipient. (kind, academy_id, scope, recipient) is unique in the outbox."""

    kind: Kind
    academy_id: str
    academy_name: str
    recipient: str
    scope: str  # cluster id | digest date | subscription step
    mention_id: int | None
    content: Content


@dataclass(frozen=True)
class Envelope:
    """What the outbox fixes at enqueue time: the same on every send attempt."""

    message_id: str
    sender: str
    date: datetime
    unsubscribe_url: str
    timezone: str = "Europe/London"


# --- JSON codec ------------------------------------------------------------------------------

T = TypeVar("T")


def to_json(value: Notice | Envelope) -> str:
    return json.dumps(_encode(value), ensure_ascii=False, sort_keys=True)


def from_json(cls: type[T], text: str) -> T:
    return typing.cast(T, _decode(cls, json.loads(text)))


def _encode(v: Any) -> Any:
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        out = {f.name: _encode(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(
            v,
            UrgentContent
            | ProviderContent
            | DigestContent
            | ConfirmContent
            | SigninContent
            | BreachReminderContent,
        ):
            out["__type__"] = type(v).__name__
        return out
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, tuple | list):
        return [_encode(x) for x in v]
    return v


_CONTENT_TYPES: dict[str, type] = {
    c.__name__: c
    for c in (
        UrgentContent,
        ProviderContent,
        DigestContent,
        ConfirmContent,
        SigninContent,
        BreachReminderContent,
    )
}


def _decode(tp: Any, data: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if data is None:
            return None
        if isinstance(data, dict) and "__type__" in data:
            return _decode(_CONTENT_TYPES[data["__type__"]], data)
        return _decode(args[0], data)
    if origin is Literal:
        return data
    if origin is tuple:
        (item, *_rest) = typing.get_args(tp)
        return tuple(_decode(item, x) for x in data)
    if tp is datetime:
        return datetime.fromisoformat(data)
    if tp is date:
        return date.fromisoformat(data)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        hints = typing.get_type_hints(tp)
        # A field added later has a default; notices queued before it was added lack it.
        kwargs = {
            f.name: _decode(hints[f.name], data[f.name])
            for f in dataclasses.fields(tp)
            if f.name in data
        }
        return tp(**kwargs)
    return data
