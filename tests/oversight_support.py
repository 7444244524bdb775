"""Test support for the oversight pages (removals, breach log, health): settings with two
academies whose guarded client may reach the local fixture server, a movable clock, the app, and
mentions (one with an incident)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from monitor.breach_log import breach_log
from monitor.config import Settings
from monitor.service import collect_health
from monitor.store import Store
from monitor.web import create_app
from tests.alerts_support import make_settings, store_mention

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
POST_TEXT = (
    "Mr Hargreaves at Ankermoor Primary Academy is a disgrace and everyone should ring the "
    "school tomorrow morning to complain about what he said to the year six children"
)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime = T0) -> None:
        self.now = at

    def __call__(self) -> datetime:
        return self.now


def oversight_settings(tmp_path: Path, base: str = "http://testserver") -> Settings:
    settings = make_settings(
        tmp_path,
        web={"public_base_url": base},
        academies=[
            {
                "id": "ankermoor",
                "display_name": "Ankermoor Primary Academy",
                "names": ["Ankermoor Primary Academy"],
                "recipients": ["head@ankermoor.example.org"],
            },
            {"id": "brook", "display_name": "Brook", "names": ["Brook"]},
        ],
    )
    network = settings.network.model_copy(
        update={"allow_private": ("127.0.0.1",), "per_host_interval_seconds": 0.0}
    )
    return settings.model_copy(update={"network": network})


def oversight_app(settings: Settings, store: Store, clock: Clock) -> object:
    return create_app(
        settings,
        store,
        lambda: collect_health(settings, store, [], clock(), scheduler_alive=True),
        clock=clock,
    )


def post_mention(store: Store, settings: Settings, url: str, academy: str = "ankermoor") -> int:
    m, _ = store_mention(
        store,
        settings,
        title="Ankermoor Primary Academy forum post",
        text=POST_TEXT,
        url=url,
        now=T0,
        academy=academy,
    )
    return m.id


def leak_incident(store: Store, settings: Settings, academy: str = "ankermoor") -> tuple[int, str]:
    """A data-leak mention and its incident: (mention id, incident id)."""
    m, _ = store_mention(
        store,
        settings,
        title=f"{academy} class list leaked",
        text="the class list with home addresses",
        categories=["data_leak"],
        urgent=True,
        now=T0,
        academy=academy,
    )
    (entry,) = [e for e in breach_log(store, T0) if e.incident.mention_id == m.id]
    return m.id, entry.incident.id
