"""Shared by the intake-by-email tests: settings with an `intake.imap` table, and a recording
stand-in for the intake core (monitor/intake.py `submit_report`, wired by the lead)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config import BUNDLED_EXAMPLE, Settings, settings_from_mapping
from monitor.intake import Report

MAIL = Path(__file__).parent / "fixtures" / "intake-mail"


def imap_settings(tmp_path: Path | None = None, *, database_url: str = "", **imap: Any) -> Settings:
    data = tomllib.loads(BUNDLED_EXAMPLE.read_text(encoding="utf-8"))
    data["academies"][0]["sources"] = []
    if tmp_path is not None:
        data["database_url"] = f"sqlite:///{tmp_path}/mm.db"
    if database_url:
        data["database_url"] = database_url
    table: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": 143,
        "tls": "none",
        "user": "intake",
        "password": "intake-password",
        "academy_id": "ankermoor",
        "allowed_senders": ["@ankermoor.example.org", "@ankermoor-pta.example.org"],
        "timeout_seconds": 10,
    }
    table.update(imap)
    data["intake"] = {"imap": table}
    return settings_from_mapping(data)


@dataclass(frozen=True)
class Submitted:
    mention_id: int | None
    reason: str


@dataclass
class Recorder:
    """Records every report it is given; `fail` makes the next calls raise (a crash)."""

    reports: list[Report] = field(default_factory=list)
    fail: int = 0

    def __call__(self, report: Report) -> Submitted:
        if self.fail:
            self.fail -= 1
            raise RuntimeError("intake core crashed")
        self.reports.append(report)
        return Submitted(None, "recorded by the test")
