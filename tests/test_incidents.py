"""Incidents: opened with the assessment's categories, listed and exported by `incidents`."""

from __future__ import annotations

import csv
import io
import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Settings, load_settings
from monitor.store import Store
from monitor.store.schema import IncidentRecord
from tests.alerts_support import store_mention

# Relative to the real clock so that `--since 30d` (which reads it) sees one recent incident
# and one old one on any date.
NOW = datetime.now(UTC).replace(microsecond=0)
OLD = NOW - timedelta(days=40)

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

[[academies]]
id = "staldhelms"
display_name = "Staldhelms Academy"
names = ["Staldhelms Academy"]
recipients = ["head@staldhelms.example.org"]
"""

SECRET_TEXT = "class list with home addresses of every pupil"


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Settings]:
    cfg = tmp_path / "monitor.toml"
    cfg.write_text(CONFIG.format(db=tmp_path / "mm.db", out=tmp_path / "outbox"))
    settings = load_settings(cfg)
    store = Store.open(settings.database_url)
    store_mention(
        store,
        settings,
        title="Ankermoor Primary Academy class list leaked",
        text=SECRET_TEXT,
        categories=["data_leak", "harassment"],
        urgent=True,
        now=NOW,
    )
    store_mention(
        store,
        settings,
        title="Photo of Staldhelms pupils",
        text="pupils named in a photo",
        categories=["pupil_image"],
        urgent=True,
        now=OLD,
        academy="staldhelms",
    )
    store.close()
    return cfg, settings


def test_an_incident_records_the_assessment_categories(setup: tuple[Path, Settings]) -> None:
    _, settings = setup
    store = Store.open(settings.database_url)
    with store.session() as s:
        cats = {r.academy_id: r.categories for r in s.query(IncidentRecord)}
    store.close()
    assert cats == {"ankermoor": ["data_leak", "harassment"], "staldhelms": ["pupil_image"]}


def test_incidents_lists_newest_first_with_filters(setup: tuple[Path, Settings]) -> None:
    cfg, _ = setup
    run = CliRunner().invoke(cli, ["--config", str(cfg), "incidents"])
    assert run.exit_code == 0, run.output
    lines = run.output.splitlines()
    assert lines[0].split()[:2] == ["id", "academy"]
    assert "ankermoor" in lines[2] and "data_leak, harassment" in lines[2]
    assert "staldhelms" in lines[3] and "pupil_image" in lines[3]
    assert "https://monitor.example.org/mentions/" in lines[2]
    assert SECRET_TEXT not in run.output
    recent = CliRunner().invoke(cli, ["--config", str(cfg), "incidents", "--since", "30d"])
    assert "ankermoor" in recent.output and "staldhelms" not in recent.output
    one = CliRunner().invoke(cli, ["--config", str(cfg), "incidents", "--academy", "staldhelms"])
    assert "staldhelms" in one.output and "ankermoor" not in one.output


def test_incidents_export_json_and_csv_is_logged_without_content(
    setup: tuple[Path, Settings], caplog: pytest.LogCaptureFixture
) -> None:
    cfg, _ = setup
    caplog.set_level(logging.INFO)
    run = CliRunner().invoke(cli, ["--config", str(cfg), "incidents", "--json"])
    assert run.exit_code == 0, run.output
    docs = [json.loads(line) for line in run.output.splitlines() if line.startswith("{")]
    assert [d["academy"] for d in docs] == ["ankermoor", "staldhelms"]
    assert docs[0]["categories"] == ["data_leak", "harassment"]
    assert docs[0]["id"].startswith("INC-")
    opened = datetime.fromisoformat(docs[0]["opened_at"])
    assert datetime.fromisoformat(docs[0]["ico_deadline"]) - opened == timedelta(hours=72)
    out = CliRunner().invoke(
        cli, ["--config", str(cfg), "incidents", "--csv", "--academy", "ankermoor"]
    )
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(io.StringIO(out.output)))
    assert len(rows) == 1 and rows[0]["categories"] == "data_leak harassment"
    events = [r for r in caplog.records if r.getMessage().startswith("exported")]
    assert [e.getMessage() for e in events] == ["exported 2 incidents", "exported 1 incidents"]
    assert all(SECRET_TEXT not in str(e.__dict__) for e in events)
    both = CliRunner().invoke(cli, ["--config", str(cfg), "incidents", "--csv", "--json"])
    assert both.exit_code == 2
