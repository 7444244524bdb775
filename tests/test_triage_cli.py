"""`mentions list` (the inbox) and `mentions triage` (with the actor recorded), at a fixed time."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.clock import fixed_clock
from monitor.config import load_settings
from monitor.models import Severity
from monitor.store import Store
from monitor.triage import EventKind, Status
from tests.inbox_support import add_mention

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

CONFIG = """
database_url = "sqlite:///{db}"
[mail]
from_address = "monitor@ankermoor.example.org"
outbox_dir = "{out}"

[[academies]]
id = "ankermoor"
display_name = "Ankermoor Primary Academy"
names = ["Ankermoor Primary Academy"]
recipients = ["head@ankermoor.example.org"]

[[academies]]
id = "staldhelms"
display_name = "Staldhelms Academy"
names = ["Staldhelms Academy"]
recipients = ["head@staldhelms.example.org"]
"""


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(CONFIG.format(db=tmp_path / "mm.db", out=tmp_path / "outbox"))
    return path


def run(cfg: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--config", str(cfg), *args], obj=fixed_clock(NOW))
    return result.exit_code, result.output


def test_list_filters_pages_and_counts(cfg: Path) -> None:
    store = Store.open(load_settings(cfg).database_url)
    urgent = add_mention(
        store,
        NOW - timedelta(days=2),
        severity=Severity.URGENT,
        categories=("harassment",),
        title="Threat to a teacher",
    )
    digests = [
        add_mention(store, NOW - timedelta(hours=i), title=f"Fair number {i}") for i in range(4)
    ]
    other = add_mention(store, NOW, academy="staldhelms", title="Staldhelms fete")
    store.close()

    code, out = run(cfg, "mentions", "list", "--academy", "ankermoor", "--limit", "3")
    assert code == 0, out
    listed = [int(line.split()[0]) for line in out.splitlines() if re.match(r"^\d+ ", line)]
    assert listed == [urgent, digests[0], digests[1]]
    assert "new 5, acknowledged 0, action taken 0, closed 0" in out
    cursor = re.search(r"More: --cursor (\S+)", out)
    assert cursor is not None
    code, out = run(
        cfg, "mentions", "list", "--academy", "ankermoor", "--limit", "3", "--cursor", cursor[1]
    )
    assert code == 0, out
    listed = [int(line.split()[0]) for line in out.splitlines() if re.match(r"^\d+ ", line)]
    assert listed == [digests[2], digests[3]]
    assert "More:" not in out

    code, out = run(cfg, "mentions", "list", "--urgent")
    assert "Threat to a teacher" in out and "Fair number" not in out
    code, out = run(cfg, "mentions", "list", "--search", "STALDHELMS")
    assert [int(line.split()[0]) for line in out.splitlines() if re.match(r"^\d+ ", line)] == [
        other
    ]
    code, out = run(cfg, "mentions", "list", "--since", "3h", "--category", "harassment")
    assert "No mentions match." in out
    code, out = run(cfg, "mentions", "list", "--academy", "nowhere")
    assert code == 2 and "unknown academy 'nowhere'" in out
    code, out = run(cfg, "mentions", "list", "--cursor", "garbage")
    assert code == 2 and "cursor is not valid" in out
    # The old listing still answers when no subcommand is given.
    code, out = run(cfg, "mentions", "--json")
    assert code == 0 and len([json.loads(line) for line in out.splitlines()]) == 6


def test_triage_records_the_actor_and_refuses_bad_moves(cfg: Path) -> None:
    store = Store.open(load_settings(cfg).database_url)
    m = add_mention(store, NOW, author="@noisy.parent", categories=("reputation",))
    store.close()
    code, out = run(
        cfg,
        "mentions",
        "triage",
        str(m),
        "--status",
        "acknowledged",
        "--assign",
        "dsl@ankermoor.example.org",
        "--note",
        "Looking into it",
        "--categories",
        "harassment,reputation",
        "--mute-author",
        "--by",
        "head@ankermoor.example.org",
    )
    assert code == 0, out
    assert "acknowledged, owner dsl@ankermoor.example.org" in out
    code, out = run(cfg, "mentions", "list")
    assert "acknowledged (muted)" in out and "reputation, harassment" in out

    # All or nothing: a refused step leaves no trace of the ones before it.
    code, out = run(
        cfg, "mentions", "triage", str(m), "--note", "x", "--status", "new", "--by", "h@a.org"
    )
    assert code == 2 and "nothing changed: cannot go from acknowledged to new" in out
    code, out = run(cfg, "mentions", "triage", str(m), "--not-about-us", "--by", "nobody")
    assert code == 2 and "actor must be an email" in out
    code, out = run(cfg, "mentions", "triage", str(m), "--by", "h@a.org")
    assert code == 2 and "say what to do" in out
    code, out = run(cfg, "mentions", "triage", "999", "--note", "x", "--by", "h@a.org")
    assert code == 2 and "no mention with id 999" in out

    store = Store.open(load_settings(cfg).database_url)
    detail = store.mention_detail(m)
    store.close()
    assert detail is not None
    assert detail.status is Status.ACKNOWLEDGED and detail.muted
    assert [e.kind for e in detail.events] == [
        EventKind.STATUS,
        EventKind.ASSIGNED,
        EventKind.NOTE,
        EventKind.CATEGORIES,
        EventKind.MUTED,
    ]
    assert {(e.actor, e.at) for e in detail.events} == {("head@ankermoor.example.org", NOW)}
