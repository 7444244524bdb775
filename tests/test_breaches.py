"""The breach log: the 72-hour clock, the DPO's decisions (appended, the latest in force), the
reminder queued once 24 hours before the deadline, and the CSV/JSON export."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from alerts.breaches import dpo_address
from alerts.outbox import list_notices
from monitor.breach_log import breach_log, record_decision
from monitor.breaches import breach_clock, parse_timeline, remaining_words, reminder_due
from monitor.cli import cli
from monitor.config import Settings, load_settings
from monitor.jobs import JobContext, remind_breach_deadlines
from monitor.store import Store
from monitor.store.breaches import TimelineEntry
from tests.alerts_support import store_mention

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)

CONFIG = """
database_url = "sqlite:///{db}"
[mail]
from_address = "monitor@ankermoor.example.org"
outbox_dir = "{out}"
[web]
public_base_url = "https://monitor.example.org"

[[academies]]
id = "ankermoor"
display_name = "Ankermoor Primary Academy"
names = ["Ankermoor Primary Academy"]
recipients = ["head@ankermoor.example.org"]
dpo_contact = "Dr Jane Roe, DPO@Fierte-Trust.example.org, 01234 567890"
"""


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Settings, str]:
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "mm.db", out=tmp_path / "outbox"))
    settings = load_settings(cfg)
    store = Store.open(settings.database_url)
    store_mention(
        store,
        settings,
        title="Ankermoor Primary Academy class list leaked",
        text="the class list with home addresses",
        categories=["data_leak"],
        urgent=True,
        now=T0,
    )
    (entry,) = breach_log(store, T0)
    store.close()
    return cfg, settings, entry.incident.id


def test_the_clock_runs_72_hours_from_first_seen() -> None:
    c = breach_clock(T0, T0 + 10 * H + timedelta(minutes=30))
    assert c.deadline == T0 + 72 * H
    assert c.remaining == 61 * H + timedelta(minutes=30) and not c.overdue
    assert remaining_words(c) == "61 h 30 min left"
    late = breach_clock(T0, T0 + 75 * H)
    assert late.overdue and late.remaining == -3 * H
    assert remaining_words(late) == "overdue by 3 h 0 min"
    edge = breach_clock(T0, T0 + 72 * H)
    assert edge.remaining == timedelta(0) and not edge.overdue


def test_the_reminder_window_is_the_last_24_hours_before_the_deadline() -> None:
    assert not reminder_due(T0, False, T0 + 48 * H - timedelta(seconds=1))
    assert reminder_due(T0, False, T0 + 48 * H)
    assert reminder_due(T0, False, T0 + 72 * H - timedelta(seconds=1))
    assert not reminder_due(T0, False, T0 + 72 * H)
    assert not reminder_due(T0, True, T0 + 60 * H)


def test_the_reminder_is_queued_once_at_t_minus_24h(setup: tuple[Path, Settings, str]) -> None:
    _, settings, incident = setup
    store = Store.open(settings.database_url)

    def run_at(at: datetime) -> int:
        ctx = JobContext(settings, store, clock=lambda: at, score=False)
        return remind_breach_deadlines(ctx)

    assert run_at(T0 + 47 * H) == 0
    assert run_at(T0 + 48 * H) == 1
    assert run_at(T0 + 49 * H) == 0  # the outbox already holds it
    assert run_at(T0 + 71 * H) == 0
    reminders = [n for n in list_notices(store) if n.kind == "breach_reminder"]
    assert [(n.recipient, n.scope, n.academy_id) for n in reminders] == [
        ("dpo@fierte-trust.example.org", incident, "ankermoor")
    ]
    assert incident in reminders[0].subject and "24 hours" in reminders[0].subject
    store.close()


def test_no_reminder_once_a_decision_is_recorded(setup: tuple[Path, Settings, str]) -> None:
    _, settings, incident = setup
    store = Store.open(settings.database_url)
    record_decision(
        store,
        incident,
        report_to_ico=False,
        reasoning="Only first names, removed within the hour; low risk.",
        people_told=["Headteacher"],
        timeline=[],
        decided_by="dpo@fierte-trust.example.org",
        now=T0 + 30 * H,
    )
    ctx = JobContext(settings, store, clock=lambda: T0 + 50 * H, score=False)
    assert remind_breach_deadlines(ctx) == 0
    assert not [n for n in list_notices(store) if n.kind == "breach_reminder"]
    store.close()


def test_decisions_are_appended_and_the_latest_is_in_force(
    setup: tuple[Path, Settings, str],
) -> None:
    _, settings, incident = setup
    store = Store.open(settings.database_url)
    with pytest.raises(ValueError, match="no incident nope"):
        record_decision(
            store,
            "nope",
            report_to_ico=True,
            reasoning="x",
            people_told=[],
            timeline=[],
            decided_by="dpo@x.org",
            now=T0,
        )
    with pytest.raises(ValueError, match="reasoning"):
        record_decision(
            store,
            incident,
            report_to_ico=True,
            reasoning="  ",
            people_told=[],
            timeline=[],
            decided_by="dpo@x.org",
            now=T0,
        )
    first = record_decision(
        store,
        incident,
        report_to_ico=False,
        reasoning="Looked minor.",
        people_told=[],
        timeline=[],
        decided_by="DPO@x.org",
        now=T0 + 2 * H,
    )
    second = record_decision(
        store,
        incident,
        report_to_ico=True,
        reasoning="Home addresses were visible.",
        people_told=["Parents of Year 6", "Headteacher"],
        timeline=[TimelineEntry(T0 + 3 * H, "Addresses confirmed")],
        decided_by="dpo@x.org",
        now=T0 + 4 * H,
    )
    (entry,) = breach_log(store, T0 + 5 * H)
    assert entry.decision == second and entry.history == (first, second)
    assert first.decided_by == "dpo@x.org"
    assert entry.clock.remaining == 67 * H
    store.close()


def test_timeline_entries_are_parsed_with_a_zone() -> None:
    got = parse_timeline(["2026-11-28T12:00+00:00=Second", "2026-11-28T10:00+00:00=First"])
    assert [e.what for e in got] == ["First", "Second"]
    for bad in ["no separator", "2026-11-28T10:00=naive", "yesterday=x"]:
        with pytest.raises(ValueError, match="timeline entry"):
            parse_timeline([bad])


def test_dpo_address_comes_from_the_contact_line() -> None:
    assert dpo_address("Dr Jane Roe <dpo@trust.example.org>, 01234") == "dpo@trust.example.org"
    assert dpo_address("Jane, phone 01234 567890") is None


def test_breaches_decide_and_export_as_csv_and_json(
    setup: tuple[Path, Settings, str], tmp_path: Path
) -> None:
    cfg, _, incident = setup
    runner = CliRunner()

    def run(*args: str, at: datetime = T0 + 20 * H) -> str:
        result = runner.invoke(cli, ["--config", str(cfg), *args], obj=lambda: at)
        assert result.exit_code == 0, result.output
        return result.output

    assert "undecided" in run("breaches", "list") and "52 h 0 min left" in run("breaches", "list")
    bad = runner.invoke(
        cli,
        ["--config", str(cfg), "breaches", "decide", incident, "--report", "--reasoning", "r",
         "--timeline", "yesterday=x", "--by", "dpo@x.org"],
        obj=lambda: T0,
    )  # fmt: skip
    assert bad.exit_code == 2 and "not an ISO date-time" in bad.output
    run(
        "breaches", "decide", incident, "--no-report", "--reasoning", "First look",
        "--by", "dpo@fierte-trust.example.org", at=T0 + 10 * H,
    )  # fmt: skip
    out = run(
        "breaches", "decide", incident, "--report", "--reasoning", "=HYPERLINK(\"x\") addresses seen",
        "--told", "Headteacher", "--told", "Parents of Year 6",
        "--timeline", "2026-11-28T11:00+00:00=Post reported to Facebook",
        "--by", "dpo@fierte-trust.example.org", at=T0 + 20 * H,
    )  # fmt: skip
    assert "report to the ICO" in out
    assert "report to ICO (dpo@fierte-trust.example.org" in run("breaches", "list")

    csv_path, json_path = tmp_path / "log.csv", tmp_path / "log.json"
    run("breaches", "export", "--format", "csv", "--output", str(csv_path))
    run("breaches", "export", "--format", "json", "--output", str(json_path))
    (row,) = list(csv.DictReader(io.StringIO(csv_path.read_text(encoding="utf-8"))))
    assert row["incident"] == incident and row["academy"] == "ankermoor"
    assert row["categories"] == "data_leak"
    assert row["first_seen"] == T0.isoformat()
    assert row["deadline"] == (T0 + 72 * H).isoformat()
    assert row["decision"] == "report to ICO" and row["decisions"] == "2"
    assert row["reasoning"] == '\'=HYPERLINK("x") addresses seen'  # not run as a formula
    assert row["people_told"] == "Headteacher; Parents of Year 6"
    assert row["timeline"] == "2026-11-28T11:00:00+00:00 Post reported to Facebook"
    assert row["decided_at"] == (T0 + 20 * H).isoformat() and row["overdue"] == "no"
    (doc,) = json.loads(json_path.read_text(encoding="utf-8"))
    assert doc["incident"] == incident and doc["deadline"] == (T0 + 72 * H).isoformat()
    assert doc["decision"]["report_to_ico"] is True
    assert doc["decision"]["reasoning"] == '=HYPERLINK("x") addresses seen'
    assert doc["decision"]["people_told"] == ["Headteacher", "Parents of Year 6"]
    assert doc["decision"]["timeline"] == [
        {"at": "2026-11-28T11:00:00+00:00", "what": "Post reported to Facebook"}
    ]
    assert [h["reasoning"] for h in doc["history"]] == [
        "First look",
        '=HYPERLINK("x") addresses seen',
    ]
    assert "class list" not in json_path.read_text() + csv_path.read_text()  # no mention text
