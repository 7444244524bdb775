"""Intake by email against a real IMAP server (dovecot, tests/imap.py): forwarded messages become
reports, senders not allowed are quarantined and visible, a crash loses and repeats nothing, and
a server that is down or refuses the login is one line and no crash loop."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import Settings
from monitor.mailintake import (
    STATE_ERROR,
    ReleaseRefused,
    mailbox_config,
    poll_job,
    poll_mailbox,
    release,
)
from monitor.store import Store
from monitor.store import mailbox as mail_rows
from sources.errors import ConnectFailed, SourceUnavailable
from sources.mailbox import PROCESSED, Mailbox, MailboxConfig, open_mailbox
from tests.imap import Dovecot, dovecot, free_port
from tests.intake_mail_support import MAIL, Recorder, imap_settings

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
USER = "intake"


@pytest.fixture(scope="session")
def imap_server() -> Iterator[Dovecot]:
    with dovecot() as srv:
        yield srv


@pytest.fixture
def srv(imap_server: Dovecot) -> Iterator[Dovecot]:
    imap_server.empty(USER)
    yield imap_server


def settings_for(tmp_path: Path, srv: Dovecot, **imap: object) -> Settings:
    return imap_settings(tmp_path, port=srv.port, **imap)


def deliver(srv: Dovecot, *names: str) -> None:
    for name in names:
        srv.deliver(USER, (MAIL / name).read_bytes())


def quarantine_rows(store: Store) -> list[mail_rows.QuarantineRow]:
    with store.transaction() as tx:
        return mail_rows.list_quarantine(tx)


def test_a_forwarded_screenshot_becomes_a_report_with_its_image(
    tmp_path: Path, srv: Dovecot
) -> None:
    settings = settings_for(tmp_path, srv)
    deliver(srv, "gmail-screenshot.eml", "apple-inline-image.eml")
    store = Store.open(settings.database_url)
    submit = Recorder()
    assert settings.intake.imap is not None
    result = poll_mailbox(store, settings.intake.imap, submit, NOW)
    assert len(result.reported) == 2 and not result.quarantined and not result.failed
    gmail, apple = submit.reports
    assert gmail.source == "reported-email" and gmail.academy_id == "ankermoor"
    assert gmail.reporter == "claire.okafor@ankermoor-pta.example.org"
    assert [i.data for i in gmail.images] == [(MAIL / "facebook-post.png").read_bytes()]
    assert gmail.url == "https://www.facebook.com/groups/ankermoormumsanddads/posts/1029384756/"
    assert gmail.original is not None and gmail.original.replace(b"\r\n", b"\n") == (
        MAIL / "gmail-screenshot.eml"
    ).read_bytes().replace(b"\r\n", b"\n")
    assert [i.content_type for i in apple.images] == ["image/jpeg"]  # the inline cid image
    # marked processed on the server, and left in the inbox
    flags = [f for _, f, _ in srv.folder(USER, "INBOX")]
    assert all(PROCESSED.encode() in f and b"\\Seen" in f for f in flags) and len(flags) == 2
    # a second poll finds nothing new
    again = poll_mailbox(store, settings.intake.imap, submit, NOW)
    assert again.reported == [] and len(submit.reports) == 2


def test_html_only_mail_is_reported_as_text(tmp_path: Path, srv: Dovecot) -> None:
    settings = settings_for(tmp_path, srv)
    deliver(srv, "html-only.eml")
    submit = Recorder()
    assert settings.intake.imap is not None
    poll_mailbox(Store.open(settings.database_url), settings.intake.imap, submit, NOW)
    [rep] = submit.reports
    assert "TikTok video filmed in the playground" in rep.text
    assert "<p>" not in rep.text and "alert(" not in rep.text
    assert rep.url == "https://www.tiktok.com/@ankermoorkidz/video/7301234567890"


def test_a_sender_not_allowed_is_quarantined_visible_and_releasable(
    tmp_path: Path, srv: Dovecot
) -> None:
    settings = settings_for(tmp_path, srv)
    deliver(srv, "not-allowed.eml", "outlook-forward.eml")
    store = Store.open(settings.database_url)
    submit = Recorder()
    assert settings.intake.imap is not None
    result = poll_mailbox(store, settings.intake.imap, submit, NOW)
    assert len(result.reported) == 1 and len(result.quarantined) == 1
    assert [r.reporter for r in submit.reports] == ["m.ellison@ankermoor.example.org"]
    # moved to the quarantine folder on the server, not deleted
    inbox = srv.folder(USER, "INBOX")
    held = srv.folder(USER, "Quarantine")
    assert len(inbox) == 1 and len(held) == 1
    assert b"phish-0007" in held[0][2]
    # recorded with sender, subject, time and reason
    [row] = quarantine_rows(store)
    assert row.sender == "support@ankermoor-payments.example.com"
    assert row.subject == "Fwd: urgent - verify your account"
    assert row.received_at == datetime(2026, 11, 30, 3, 14, 15, tzinfo=UTC)
    assert "sender not allowed" in row.reason and row.status == "held"
    # the CLI lists it
    cfg = tmp_path / "monitor.toml"
    write_toml(cfg, settings, srv)
    out = CliRunner().invoke(
        cli, ["--config", str(cfg), "intake", "quarantine", "list"], obj=lambda: NOW
    )
    assert out.exit_code == 0, out.output
    assert "support@ankermoor-payments.example.com" in out.output and str(row.id) in out.output
    # releasing it makes it a report, once
    outcome = release(store, settings, row.id, submit, NOW + timedelta(hours=1))
    assert outcome.reason == "recorded by the test"
    assert submit.reports[-1].reporter == "support@ankermoor-payments.example.com"
    with pytest.raises(ReleaseRefused, match="already released"):
        release(store, settings, row.id, submit, NOW)
    assert quarantine_rows(store)[0].status == "released"


def test_a_crash_in_the_intake_is_retried_next_poll_without_a_duplicate(
    tmp_path: Path, srv: Dovecot
) -> None:
    settings = settings_for(tmp_path, srv)
    imap = settings.intake.imap
    assert imap is not None
    deliver(srv, "thunderbird-forward.eml")
    store = Store.open(settings.database_url)
    submit = Recorder(fail=1)
    first = poll_mailbox(store, imap, submit, NOW)
    assert first.reported == [] and len(first.failed) == 1 and submit.reports == []
    assert PROCESSED.encode() not in srv.folder(USER, "INBOX")[0][1]  # not marked
    second = poll_mailbox(store, imap, submit, NOW)
    assert len(second.reported) == 1 and len(submit.reports) == 1
    third = poll_mailbox(store, imap, submit, NOW)
    assert third.reported == [] and len(submit.reports) == 1


class _DiesBeforeMark(Mailbox):
    """A real session that dies between recording a message and marking it on the server."""

    def mark_processed(self, uid: int) -> None:
        raise ConnectFailed("connection lost (simulated)", "imap://test")


@contextmanager
def _dying(cfg: MailboxConfig) -> Iterator[Mailbox]:
    with open_mailbox(cfg) as box:
        box.__class__ = _DiesBeforeMark
        yield box


def test_a_crash_between_record_and_mark_does_not_report_twice(
    tmp_path: Path, srv: Dovecot
) -> None:
    settings = settings_for(tmp_path, srv)
    imap = settings.intake.imap
    assert imap is not None
    deliver(srv, "rfc822-attachment.eml")
    store = Store.open(settings.database_url)
    submit = Recorder()
    with pytest.raises(ConnectFailed):
        poll_mailbox(store, imap, submit, NOW, open_box=_dying)
    assert len(submit.reports) == 1
    assert PROCESSED.encode() not in srv.folder(USER, "INBOX")[0][1]
    after = poll_mailbox(store, imap, submit, NOW)
    assert after.remarked == 1 and after.reported == [] and len(submit.reports) == 1
    assert PROCESSED.encode() in srv.folder(USER, "INBOX")[0][1]


def test_the_same_message_delivered_again_is_not_reported_twice(
    tmp_path: Path, srv: Dovecot
) -> None:
    settings = settings_for(tmp_path, srv)
    imap = settings.intake.imap
    assert imap is not None
    store = Store.open(settings.database_url)
    submit = Recorder()
    deliver(srv, "outlook-forward.eml")
    poll_mailbox(store, imap, submit, NOW)
    deliver(srv, "outlook-forward.eml")  # a new UID, the same Message-ID
    again = poll_mailbox(store, imap, submit, NOW)
    assert again.remarked == 1 and len(submit.reports) == 1


def test_server_down_is_one_line_and_backs_off(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    settings = imap_settings(tmp_path, port=port, poll_interval_minutes=5)
    store = Store.open(settings.database_url)
    submit = Recorder()
    first = poll_job(store, settings, submit, NOW)
    assert first.error is not None and "\n" not in first.error
    assert f"127.0.0.1:{port} refused the connection" in first.error
    assert store.get_state(STATE_ERROR) == first.error
    # the next scheduled run waits instead of hammering the server
    second = poll_job(store, settings, submit, NOW + timedelta(minutes=5))
    assert second.skipped is not None and second.error is None
    later = poll_job(store, settings, submit, NOW + timedelta(minutes=11))
    assert later.error is not None  # tried again once the pause is over


def test_a_refused_login_says_so(tmp_path: Path, srv: Dovecot) -> None:
    settings = settings_for(tmp_path, srv, password="wrong")
    assert settings.intake.imap is not None
    with (
        pytest.raises(SourceUnavailable) as exc,
        open_mailbox(mailbox_config(settings.intake.imap)),
    ):
        pass
    assert exc.value.status == "needs_credentials"
    assert str(exc.value) == (
        "IMAP login refused for 'intake' at 127.0.0.1: [AUTHENTICATIONFAILED] "
        "Authentication failed."
    )
    assert "MONITOR_INTAKE__IMAP__PASSWORD" in exc.value.advice


def test_tls_to_a_server_without_it_is_a_tls_failure(tmp_path: Path, srv: Dovecot) -> None:
    imap = settings_for(tmp_path, srv, tls="starttls").intake.imap
    assert imap is not None
    with (
        pytest.raises(ConnectFailed, match="TLS failure: .* does not offer STARTTLS"),
        open_mailbox(mailbox_config(imap)),
    ):
        pass
    imap = settings_for(tmp_path, srv, tls="ssl").intake.imap
    assert imap is not None
    with (
        pytest.raises(ConnectFailed, match="^TLS failure talking to 127.0.0.1"),
        open_mailbox(mailbox_config(imap)),
    ):
        pass


def test_the_poll_command_prints_what_it_did(tmp_path: Path, srv: Dovecot) -> None:
    settings = settings_for(tmp_path, srv)
    deliver(srv, "not-allowed.eml")
    cfg = tmp_path / "monitor.toml"
    write_toml(cfg, settings, srv)
    out = CliRunner().invoke(cli, ["--config", str(cfg), "intake", "poll"], obj=lambda: NOW)
    assert out.exit_code == 0, out.output
    assert re.search(
        r"^quarantined #1 \(UID \d+\) from support@ankermoor-payments.example.com: "
        r"sender not allowed",
        out.output,
        re.M,
    )
    assert "0 reported, 1 quarantined, 0 left for the next poll" in out.output


def test_the_poll_command_with_the_server_down(tmp_path: Path) -> None:
    settings = imap_settings(tmp_path, port=free_port())
    cfg = tmp_path / "monitor.toml"
    write_toml(cfg, settings, None)
    out = CliRunner().invoke(cli, ["--config", str(cfg), "intake", "poll"], obj=lambda: NOW)
    assert out.exit_code == 1
    assert "refused the connection (is it running?)" in out.output
    assert "Traceback" not in out.output


def write_toml(path: Path, settings: Settings, srv: Dovecot | None) -> None:
    imap = settings.intake.imap
    assert imap is not None
    example = (Path(__file__).parent.parent / "examples" / "ankermoor.toml").read_text()
    head = example.split("[[academies.sources]]", 1)[0].replace(
        'database_url = "sqlite:///mention-monitor.db"', f'database_url = "{settings.database_url}"'
    )
    path.write_text(
        head
        + f"""
[intake.imap]
host = "127.0.0.1"
port = {imap.port}
tls = "none"
user = "intake"
password = "intake-password"
academy_id = "ankermoor"
allowed_senders = ["@ankermoor.example.org", "@ankermoor-pta.example.org"]
timeout_seconds = 10
"""
    )


def test_the_client_uses_move_where_the_server_has_it(tmp_path: Path, srv: Dovecot) -> None:
    imap = settings_for(tmp_path, srv).intake.imap
    assert imap is not None
    with open_mailbox(mailbox_config(imap)) as box:
        assert {"MOVE", "UIDPLUS"} <= box.caps  # learnt after login, not from the greeting


def test_implicit_tls_with_a_private_ca_and_a_certificate_not_trusted(tmp_path: Path) -> None:
    with dovecot(tls=True) as tls_srv:
        assert tls_srv.tls_port is not None and tls_srv.cert is not None
        tls_srv.deliver(USER, (MAIL / "outlook-forward.eml").read_bytes())
        trusted = imap_settings(
            tmp_path, port=tls_srv.tls_port, tls="ssl", ca_file=str(tls_srv.cert)
        ).intake.imap
        assert trusted is not None
        submit = Recorder()
        store = Store.open(imap_settings(tmp_path).database_url)
        result = poll_mailbox(store, trusted, submit, NOW)
        assert len(result.reported) == 1 and submit.reports[0].reporter.startswith("m.ellison")
        untrusted = trusted.model_copy(update={"ca_file": ""})
        with pytest.raises(ConnectFailed) as exc, open_mailbox(mailbox_config(untrusted)):
            pass
        assert str(exc.value).startswith(
            f"TLS failure talking to 127.0.0.1:{tls_srv.tls_port}: CERTIFICATE_VERIFY_FAILED"
        )


def test_a_message_over_the_size_cap_is_not_fetched_but_quarantined(
    tmp_path: Path, srv: Dovecot
) -> None:
    settings = settings_for(tmp_path, srv, max_message_mb=1)
    imap = settings.intake.imap
    assert imap is not None
    big = (
        (MAIL / "outlook-forward.eml")
        .read_bytes()
        .replace(b"Mark\r\n", b"Mark\r\n" + (b"x" * 76 + b"\r\n") * 15000, 1)
    )
    assert len(big) > 1024 * 1024
    srv.deliver(USER, big)
    store = Store.open(settings.database_url)
    submit = Recorder()
    result = poll_mailbox(store, imap, submit, NOW)
    assert submit.reports == [] and len(result.quarantined) == 1
    [row] = quarantine_rows(store)
    assert row.reason.startswith(f"too large: {len(big)} bytes, the limit is 1048576")
    assert row.sender == "m.ellison@ankermoor.example.org"  # from the header, fetched alone
    with pytest.raises(ReleaseRefused, match="only its header was kept"):
        release(store, settings, row.id, submit, NOW)
