"""The intake mailbox job is scheduled only when intake.imap is configured, at its interval, by
both executors (APScheduler in `run`, Procrastinate in `worker`); and intake.imap is validated
with one-line errors."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config import ConfigError
from monitor.scheduler import Jobs, make_scheduler
from tests.intake_mail_support import imap_settings

PG = "postgresql+psycopg://mm:mm@127.0.0.1:1/mm"  # never connected to: the app is not opened


def _jobs() -> Jobs:
    def noop() -> None:
        return None

    return Jobs(noop, noop, noop, noop, noop)


def test_apscheduler_polls_the_mailbox_only_when_configured() -> None:
    tz = ZoneInfo("Europe/London")
    plain = make_scheduler(_jobs(), tz, tick_seconds=30, dispatch_seconds=20)
    assert plain.get_job("intake_mailbox") is None

    def poll() -> None:
        return None

    with_mail = make_scheduler(
        _jobs(), tz, tick_seconds=30, dispatch_seconds=20, intake_mailbox=(poll, 600)
    )
    job = with_mail.get_job("intake_mailbox")
    assert job is not None and job.trigger.interval == timedelta(seconds=600)


def test_procrastinate_registers_the_mailbox_task_only_when_configured() -> None:
    from monitor.worker import make_app

    app, _ = make_app(imap_settings(database_url=PG, poll_interval_minutes=10), score=False)
    assert "poll_intake_mailbox" in app.tasks
    periodic = [
        p
        for p in app.periodic_registry.periodic_tasks.values()
        if p.periodic_id == "poll_intake_mailbox"
    ]
    assert [p.cron for p in periodic] == ["*/10 * * * *"]
    settings = imap_settings(database_url=PG)
    bare = settings.model_copy(update={"intake": settings.intake.model_copy(update={"imap": None})})
    app2, _ = make_app(bare, score=False)
    assert "poll_intake_mailbox" not in app2.tasks


@pytest.mark.parametrize(
    ("imap", "message"),
    [
        (
            {"host": "imap.example.org", "tls": "none"},
            'intake.imap: tls = "none" sends the password in clear text; it is allowed only for '
            "this machine (127.0.0.1, ::1, localhost), not 'imap.example.org': use \"ssl\" or "
            '"starttls"',
        ),
        (
            {"password": ""},
            "intake.imap: the password is missing; set MONITOR_INTAKE__IMAP__PASSWORD in the "
            "environment",
        ),
        ({"tls": "plain"}, "intake.imap.tls: must be one of 'ssl', 'starttls' or 'none'"),
        (
            {"allowed_senders": ["head", "@school.example.org"]},
            "intake.imap.allowed_senders: not an address or @domain: head; write e.g. "
            '["head@school.example.org", "@school.example.org"]',
        ),
        ({"allowed_senders": []}, "intake.imap.allowed_senders: at least one entry is needed"),
        (
            {"academy_id": "nowhere"},
            "(top level): intake.imap names academies that are not configured: nowhere; "
            "configured: ankermoor",
        ),
        ({"academy_id": ""}, "intake.imap: say which academy the mailbox is for"),
    ],
)
def test_intake_imap_settings_errors_are_one_line(imap: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        imap_settings(**imap)
    [problem] = exc.value.problems
    line = f"{problem.key}: {problem.message}"
    assert "\n" not in line
    assert line.startswith(message), line


def test_the_password_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_INTAKE__IMAP__PASSWORD", "from-env")
    imap = imap_settings(password="").intake.imap
    assert imap is not None and imap.password.get_secret_value() == "from-env"
    assert "from-env" not in repr(imap)
