"""Triage of a mention: the status machine, the typed commands a person gives, and the timeline
event each command leaves. Pure: no I/O (monitor/store/triage.py applies a `Decision`).

The status runs new → acknowledged → action_taken → closed. A mention may also be closed straight
from new or acknowledged (nothing to do, or "not about us"), and a closed one may be reopened
(closed → acknowledged). Anything else is refused with a `TriageError` whose message is one line
for the person who tried it.

Mutes (author or thread) are per academy and only label the mention in the inbox: a muted
author's mentions still appear there, marked "muted", and urgent alerts about them are sent as
before. A safeguarding concern from a muted account must still reach the Headteacher; muting is
for noise in the workspace, not for the alert path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from monitor.authors import author_key
from monitor.models import CATEGORIES
from monitor.scoring.taxonomy import TAXONOMY

__all__ = [
    "ALLOWED",
    "NOTE_MAX",
    "AddNote",
    "Acknowledge",
    "Assign",
    "Command",
    "CorrectCategories",
    "Decision",
    "Event",
    "EventKind",
    "MarkNotAboutUs",
    "Mute",
    "MuteAuthor",
    "MuteKind",
    "MuteThread",
    "SetStatus",
    "Status",
    "TriageError",
    "TriageState",
    "Unmute",
    "can_move",
    "check_actor",
    "decide",
]

NOTE_MAX = 2000  # characters: a note, not a document (evidence goes in the evidence pack)
KEY_MAX = 500  # an author key or a cluster id
EMAIL_MAX = 320


class TriageError(ValueError):
    """A command that cannot be applied; the message is one line for a person."""


class Status(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    ACTION_TAKEN = "action_taken"
    CLOSED = "closed"


# Which status may follow which. Closing is allowed before any action: most mentions need none.
ALLOWED: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ACKNOWLEDGED, Status.CLOSED}),
    Status.ACKNOWLEDGED: frozenset({Status.ACTION_TAKEN, Status.CLOSED}),
    Status.ACTION_TAKEN: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset({Status.ACKNOWLEDGED}),  # reopen
}


def can_move(current: Status, target: Status) -> bool:
    return target in ALLOWED[current]


class MuteKind(StrEnum):
    AUTHOR = "author"
    THREAD = "thread"


class EventKind(StrEnum):
    STATUS = "status"
    ASSIGNED = "assigned"
    NOTE = "note"
    NOT_ABOUT_US = "not_about_us"
    CATEGORIES = "categories"
    MUTED = "muted"
    UNMUTED = "unmuted"


@dataclass(frozen=True)
class Mute:
    """Mute this author (its `author_key`) or this thread (cluster id) within one academy."""

    kind: MuteKind
    key: str


# --- commands ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acknowledge:
    """Someone has seen it (new → acknowledged, or a closed one reopened)."""


@dataclass(frozen=True)
class SetStatus:
    status: Status


@dataclass(frozen=True)
class Assign:
    """Hand the mention to someone; None leaves it without an owner."""

    owner: str | None


@dataclass(frozen=True)
class AddNote:
    text: str


@dataclass(frozen=True)
class MarkNotAboutUs:
    """The matcher was wrong: no category applies, and the mention is closed."""


@dataclass(frozen=True)
class CorrectCategories:
    """The scorer was wrong: these are the right categories (possibly none)."""

    categories: tuple[str, ...]


@dataclass(frozen=True)
class MuteAuthor:
    author: str  # as shown, a handle or a profile URL: compared by `author_key`


@dataclass(frozen=True)
class MuteThread:
    thread: str  # the cluster id


@dataclass(frozen=True)
class Unmute:
    kind: MuteKind
    key: str


Command = (
    Acknowledge
    | SetStatus
    | Assign
    | AddNote
    | MarkNotAboutUs
    | CorrectCategories
    | MuteAuthor
    | MuteThread
    | Unmute
)


# --- state, events, decisions -----------------------------------------------------------------


@dataclass(frozen=True)
class TriageState:
    status: Status
    owner: str | None = None


@dataclass(frozen=True)
class Event:
    """One line of a mention's timeline. `detail` holds plain JSON values only."""

    kind: EventKind
    actor: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """What applying a command changes: the new state, the categories to store as the
    correction (None: unchanged), a mute to add or remove, and the event to append."""

    state: TriageState
    event: Event
    corrected_categories: tuple[str, ...] | None = None
    mute: Mute | None = None
    unmute: Mute | None = None


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _email(value: str, what: str) -> str:
    text = value.strip().lower()
    if not text or len(text) > EMAIL_MAX or not _EMAIL.fullmatch(text):
        raise TriageError(f"{what} must be an email address, not {value[:80]!r}")
    return text


def check_actor(actor: str) -> str:
    """The actor's email, normalised; TriageError when it is not one."""
    return _email(actor, "the actor")


def _categories(values: tuple[str, ...]) -> tuple[str, ...]:
    unknown = [v for v in values if v not in TAXONOMY]
    if unknown:
        raise TriageError(
            f"unknown categor{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)[:200]}; "
            f"choose from {', '.join(CATEGORIES)}"
        )
    return tuple(c for c in CATEGORIES if c in values)  # display order, no repeats


def _key(value: str, what: str) -> str:
    if not value.strip():
        raise TriageError(f"{what} is empty")
    if len(value) > KEY_MAX:
        raise TriageError(f"{what} is longer than {KEY_MAX} characters")
    return value.strip()


def _move(state: TriageState, target: Status, actor: str, at: datetime) -> Decision:
    if state.status == target:
        raise TriageError(f"the mention is already {target.value.replace('_', ' ')}")
    if not can_move(state.status, target):
        allowed = ", ".join(sorted(s.value for s in ALLOWED[state.status]))
        raise TriageError(
            f"cannot go from {state.status.value} to {target.value} (allowed: {allowed})"
        )
    event = Event(EventKind.STATUS, actor, at, {"from": state.status.value, "to": target.value})
    return Decision(TriageState(target, state.owner), event)


def decide(state: TriageState, command: Command, actor: str, at: datetime) -> Decision:
    """What `command` by `actor` at `at` does to a mention in `state`; TriageError if refused."""
    actor = check_actor(actor)
    match command:
        case Acknowledge():
            return _move(state, Status.ACKNOWLEDGED, actor, at)
        case SetStatus(status=target):
            return _move(state, Status(target), actor, at)
        case Assign(owner=owner):
            new = _email(owner, "the owner") if owner is not None else None
            if new == state.owner:
                raise TriageError(f"the mention is already assigned to {new or 'nobody'}")
            event = Event(EventKind.ASSIGNED, actor, at, {"from": state.owner, "to": new})
            return Decision(TriageState(state.status, new), event)
        case AddNote(text=text):
            body = text.strip()
            if not body:
                raise TriageError("the note is empty")
            if len(body) > NOTE_MAX:
                raise TriageError(f"the note is longer than {NOTE_MAX} characters ({len(body)})")
            return Decision(state, Event(EventKind.NOTE, actor, at, {"text": body}))
        case MarkNotAboutUs():
            # Closing is part of the answer (every open status may close); an already closed
            # mention just gets the label.
            closed = TriageState(Status.CLOSED, state.owner)
            detail: dict[str, Any] = {"from": state.status.value}
            return Decision(
                closed, Event(EventKind.NOT_ABOUT_US, actor, at, detail), corrected_categories=()
            )
        case CorrectCategories(categories=values):
            cats = _categories(tuple(values))
            event = Event(EventKind.CATEGORIES, actor, at, {"categories": list(cats)})
            return Decision(state, event, corrected_categories=cats)
        case MuteAuthor(author=author):
            key = author_key(_key(author, "the author"))
            if not key:
                raise TriageError("the author is empty")
            mute = Mute(MuteKind.AUTHOR, key)
            return Decision(state, _mute_event(EventKind.MUTED, mute, actor, at), mute=mute)
        case MuteThread(thread=thread):
            mute = Mute(MuteKind.THREAD, _key(thread, "the thread"))
            return Decision(state, _mute_event(EventKind.MUTED, mute, actor, at), mute=mute)
        case Unmute(kind=kind, key=key):
            k = MuteKind(kind)
            raw = _key(key, f"the {k.value}")
            mute = Mute(k, author_key(raw) if k is MuteKind.AUTHOR else raw)
            return Decision(state, _mute_event(EventKind.UNMUTED, mute, actor, at), unmute=mute)
    raise TriageError(f"unknown command {type(command).__name__}")


def _mute_event(kind: EventKind, mute: Mute, actor: str, at: datetime) -> Event:
    return Event(kind, actor, at, {"kind": mute.kind.value, "key": mute.key})
