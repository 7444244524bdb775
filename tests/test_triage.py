"""The triage status machine and commands (pure): allowed moves, one-line refusals, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.triage import (
    ALLOWED,
    NOTE_MAX,
    Acknowledge,
    AddNote,
    Assign,
    CorrectCategories,
    EventKind,
    MarkNotAboutUs,
    Mute,
    MuteAuthor,
    MuteKind,
    MuteThread,
    SetStatus,
    Status,
    TriageError,
    TriageState,
    Unmute,
    decide,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
HEAD = "head@ankermoor.sch.uk"
NEW = TriageState(Status.NEW)


def test_the_status_flow_and_reopen() -> None:
    state = NEW
    for target in (Status.ACKNOWLEDGED, Status.ACTION_TAKEN, Status.CLOSED, Status.ACKNOWLEDGED):
        d = decide(state, SetStatus(target), HEAD, T0)
        assert d.state.status is target
        assert d.event.kind is EventKind.STATUS
        assert d.event.detail == {"from": state.status.value, "to": target.value}
        state = d.state


@pytest.mark.parametrize(
    ("start", "target"),
    [
        (Status.NEW, Status.ACTION_TAKEN),  # acknowledge first
        (Status.NEW, Status.NEW),
        (Status.ACTION_TAKEN, Status.ACKNOWLEDGED),
        (Status.CLOSED, Status.ACTION_TAKEN),
        (Status.CLOSED, Status.NEW),
        (Status.CLOSED, Status.CLOSED),
    ],
)
def test_invalid_moves_are_refused_in_one_line(start: Status, target: Status) -> None:
    with pytest.raises(TriageError) as err:
        decide(TriageState(start), SetStatus(target), HEAD, T0)
    assert "\n" not in str(err.value)
    assert start.value.replace("_", " ") in str(err.value) or start.value in str(err.value)


def test_acknowledge_is_new_to_acknowledged_only() -> None:
    assert decide(NEW, Acknowledge(), HEAD, T0).state.status is Status.ACKNOWLEDGED
    with pytest.raises(TriageError, match="already acknowledged"):
        decide(TriageState(Status.ACKNOWLEDGED), Acknowledge(), HEAD, T0)
    with pytest.raises(TriageError, match="cannot go from action_taken"):
        decide(TriageState(Status.ACTION_TAKEN), Acknowledge(), HEAD, T0)


# Every command that may be tried; `decide` accepts or refuses each, never anything else.
COMMANDS = st.one_of(
    st.just(Acknowledge()),
    st.sampled_from(Status).map(SetStatus),
    st.sampled_from([None, "dsl@ankermoor.sch.uk", HEAD]).map(Assign),
    st.text(max_size=30).map(AddNote),
    st.just(MarkNotAboutUs()),
    st.lists(st.sampled_from(["reputation", "harassment", "data_leak"])).map(
        lambda c: CorrectCategories(tuple(c))
    ),
)


@given(st.lists(COMMANDS, max_size=25))
def test_any_sequence_of_commands_keeps_a_valid_state(commands: list[object]) -> None:
    state = NEW
    at = T0
    for cmd in commands:
        at += timedelta(minutes=1)
        try:
            d = decide(state, cmd, HEAD, at)  # type: ignore[arg-type]
        except TriageError as exc:
            assert "\n" not in str(exc)
            continue  # refused: the state is unchanged
        if d.state.status != state.status:
            assert d.state.status in ALLOWED[state.status]
        assert d.event.actor == HEAD and d.event.at == at
        state = d.state
    assert state.status in ALLOWED


@given(st.lists(st.sampled_from(Status), max_size=30))
def test_allowed_transitions_always_succeed_and_stay_valid(targets: list[Status]) -> None:
    state = NEW
    for target in targets:
        if target not in ALLOWED[state.status]:
            continue
        d = decide(state, SetStatus(target), HEAD, T0)
        assert d.state.status is target
        state = d.state
    # From anywhere, closing is one allowed step away or done.
    assert state.status is Status.CLOSED or Status.CLOSED in ALLOWED[state.status]


def test_assign_and_unassign() -> None:
    d = decide(NEW, Assign("DSL@Ankermoor.sch.uk "), HEAD, T0)
    assert d.state.owner == "dsl@ankermoor.sch.uk"
    assert d.state.status is Status.NEW
    assert d.event.detail == {"from": None, "to": "dsl@ankermoor.sch.uk"}
    assert decide(d.state, Assign(None), HEAD, T0).state.owner is None
    with pytest.raises(TriageError, match="already assigned"):
        decide(d.state, Assign("dsl@ankermoor.sch.uk"), HEAD, T0)
    with pytest.raises(TriageError, match="owner must be an email"):
        decide(NEW, Assign("not an email"), HEAD, T0)


def test_the_actor_must_be_an_email() -> None:
    with pytest.raises(TriageError, match="actor must be an email"):
        decide(NEW, Acknowledge(), "someone", T0)
    assert decide(NEW, Acknowledge(), " Head@Ankermoor.sch.uk", T0).event.actor == HEAD


def test_notes_are_bounded_and_not_empty() -> None:
    d = decide(NEW, AddNote("  Rang the parent.  "), HEAD, T0)
    assert d.event.kind is EventKind.NOTE and d.event.detail == {"text": "Rang the parent."}
    assert d.state == NEW
    assert decide(NEW, AddNote("x" * NOTE_MAX), HEAD, T0).event.detail["text"] == "x" * NOTE_MAX
    with pytest.raises(TriageError, match="longer than"):
        decide(NEW, AddNote("x" * (NOTE_MAX + 1)), HEAD, T0)
    with pytest.raises(TriageError, match="empty"):
        decide(NEW, AddNote("   "), HEAD, T0)


def test_categories_are_validated_and_put_in_taxonomy_order() -> None:
    d = decide(NEW, CorrectCategories(("data_leak", "reputation", "data_leak")), HEAD, T0)
    assert d.corrected_categories == ("reputation", "data_leak")
    assert d.event.detail == {"categories": ["reputation", "data_leak"]}
    assert decide(NEW, CorrectCategories(()), HEAD, T0).corrected_categories == ()
    with pytest.raises(TriageError, match="unknown category gossip; choose from reputation"):
        decide(NEW, CorrectCategories(("gossip",)), HEAD, T0)


def test_not_about_us_closes_and_clears_the_categories() -> None:
    for start in Status:
        d = decide(TriageState(start, HEAD), MarkNotAboutUs(), HEAD, T0)
        assert d.state == TriageState(Status.CLOSED, HEAD)
        assert d.corrected_categories == ()
        assert d.event.kind is EventKind.NOT_ABOUT_US


def test_mutes_use_the_author_key() -> None:
    d = decide(NEW, MuteAuthor("https://bsky.app/profile/Angry.Parent.bsky.social"), HEAD, T0)
    assert d.mute == Mute(MuteKind.AUTHOR, "angry.parent.bsky.social")
    assert d.state == NEW
    assert decide(NEW, MuteThread("c-abc"), HEAD, T0).mute == Mute(MuteKind.THREAD, "c-abc")
    un = decide(NEW, Unmute(MuteKind.AUTHOR, "@Angry.Parent.bsky.social"), HEAD, T0)
    assert un.unmute == Mute(MuteKind.AUTHOR, "angry.parent.bsky.social")
    assert un.event.kind is EventKind.UNMUTED
    with pytest.raises(TriageError, match="author is empty"):
        decide(NEW, MuteAuthor("  "), HEAD, T0)
