"""Delivery: retries with backoff while the server is down, dead letters on 5xx, TLS that fails
closed, authentication, timeouts, and the .eml file transport. Real aiosmtpd on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from alerts import outbox
from alerts.outbox import dispatch_pending
from alerts.smtp import DeliveryError, FileTransport, SmtpTransport, transport_for
from monitor.app import App
from monitor.clock import fixed_clock
from monitor.commands.alerts import outbox_cmd
from monitor.config import Settings
from monitor.store import Store
from tests.alerts_support import (
    Pki,
    SmtpServer,
    free_port,
    make_pki,
    make_settings,
    password_auth,
    smtp_server,
    store_mention,
)

T0 = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


def _queue(store: Store, settings: Settings, n: int, now: datetime = T0) -> int:
    total = 0
    for i in range(n):
        _, q = store_mention(
            store,
            settings,
            title=f"Leak number {i}",
            text=f"Ankermoor password: Secret{i}!",
            categories=["data_leak"],
            urgent=True,
            now=now,
        )
        total += q
    return total


def _plain(tmp_path: Path, port: int, **mail: object) -> Settings:
    return make_settings(
        tmp_path,
        mail={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "retry_base_seconds": 60,
            "retry_max_seconds": 600,
            **mail,
        },
    )


def test_server_down_then_back_delivers_everything_once(tmp_path: Path) -> None:
    srv = SmtpServer(port=free_port())  # nothing listens yet: connection refused
    settings = _plain(tmp_path, srv.port, max_attempts=10)
    store = Store.open(settings.database_url)
    queued = _queue(store, settings, 6)
    now = T0
    down_runs = []
    for _ in range(3):  # down for a while: every run stops at the first refusal
        r = dispatch_pending(store, settings, SmtpTransport(settings.mail), now)
        down_runs.append(r)
        now += timedelta(minutes=15)
    assert all(
        r.sent == 0 and r.retrying == 1 and r.stopped and "refused" in r.stopped for r in down_runs
    )
    srv.start()
    try:
        # Temporary refusals (451) are retried too, without losing or doubling anything.
        srv.handler.reply = "451 4.3.0 mailbox busy, try later"
        r = dispatch_pending(store, settings, SmtpTransport(settings.mail), now)
        assert r.sent == 0 and r.retrying > 0 and r.dead == 0
        srv.handler.reply = None
        sent = 0
        for _ in range(10):
            now += timedelta(hours=1)
            sent += dispatch_pending(store, settings, SmtpTransport(settings.mail), now).sent
        ids = Counter(str(m["Message-ID"]) for m in srv.handler.messages())
        assert sent == queued == len(ids) and set(ids.values()) == {1}
        stored_ids = {row.message_id for row in outbox.list_notices(store)}
        assert set(ids) == stored_ids  # the Message-ID sent is the one fixed at enqueue
        assert all(row.status == "sent" for row in outbox.list_notices(store))
    finally:
        srv.stop()
        store.close()


def test_permanent_failure_is_a_dead_letter_listed_by_outbox_and_retryable(tmp_path: Path) -> None:
    with smtp_server() as srv:
        settings = _plain(tmp_path, srv.port)
        store = Store.open(settings.database_url)
        queued = _queue(store, settings, 1)
        srv.handler.reply = "550 5.1.1 mailbox unavailable"
        r = dispatch_pending(store, settings, SmtpTransport(settings.mail), T0)
        assert (r.sent, r.retrying, r.dead) == (0, 0, queued)
        dead = outbox.list_notices(store, "dead")
        assert len(dead) == queued and all(
            "550" in (d.last_error or "") and d.attempts == 1 for d in dead
        )
        # A later run does not try a dead letter again.
        assert (
            dispatch_pending(
                store, settings, SmtpTransport(settings.mail), T0 + timedelta(days=1)
            ).dead
            == 0
        )
        store.close()

        # The command runs on the test's clock, not the wall clock: a dead letter queued again
        # "now" must be due at the time the next dispatch below runs.
        app = App(clock=fixed_clock(T0 + timedelta(days=1)))
        app._settings = settings
        out = CliRunner().invoke(outbox_cmd, ["--status", "dead"], obj=app)
        assert out.exit_code == 0, out.output
        assert f"{queued} dead" in out.output and "550 5.1.1 mailbox unavailable" in out.output
        out = CliRunner().invoke(outbox_cmd, ["--retry-dead"], obj=app)
        assert out.exit_code == 0 and f"{queued} dead letter(s) queued again" in out.output

        srv.handler.reply = None
        store = Store.open(settings.database_url)
        r = dispatch_pending(store, settings, SmtpTransport(settings.mail), T0 + timedelta(days=1))
        assert r.sent == queued and len(srv.handler.received) == queued
        store.close()


def test_temporary_failures_give_up_after_max_attempts(tmp_path: Path) -> None:
    with smtp_server() as srv:
        settings = _plain(tmp_path, srv.port, max_attempts=3)
        store = Store.open(settings.database_url)
        _queue(store, settings, 1)
        srv.handler.reply = "421 4.7.0 try again later"
        now = T0
        results = []
        for _ in range(6):
            results.append(dispatch_pending(store, settings, SmtpTransport(settings.mail), now))
            now += timedelta(hours=2)
        rows = outbox.list_notices(store)
        assert all(r.status == "dead" and r.attempts == 3 for r in rows)
        assert all("gave up after 3 attempts" in (r.last_error or "") for r in rows)
        store.close()


def test_backoff_doubles_and_untried_notices_keep_their_turn(tmp_path: Path) -> None:
    settings = _plain(tmp_path, free_port(), retry_base_seconds=60, max_attempts=10)
    store = Store.open(settings.database_url)
    queued = _queue(store, settings, 1)
    assert queued == 2
    by_id = lambda: {r.id: r for r in outbox.list_notices(store)}  # noqa: E731
    dispatch_pending(store, settings, SmtpTransport(settings.mail), T0)
    tried = [r for r in by_id().values() if r.attempts == 1]
    untried = [r for r in by_id().values() if r.attempts == 0]
    assert len(tried) == 1 and len(untried) == 1  # the run stopped at the first refusal
    assert timedelta(seconds=60) <= tried[0].next_attempt_at - T0 <= timedelta(seconds=65)
    # 30 s later only the untried one is due; the failed one waits out its backoff.
    dispatch_pending(store, settings, SmtpTransport(settings.mail), T0 + timedelta(seconds=30))
    rows = by_id()
    assert rows[tried[0].id].attempts == 1 and rows[untried[0].id].attempts == 1
    # Second failure of the first: the wait doubles.
    t2 = T0 + timedelta(seconds=70)
    dispatch_pending(store, settings, SmtpTransport(settings.mail), t2)
    again = by_id()[tried[0].id]
    assert again.attempts == 2
    assert timedelta(seconds=119) <= again.next_attempt_at - t2 <= timedelta(seconds=125)
    store.close()


def _tls_settings(
    tmp_path: Path, port: int, security: str, ca: Path | None, **mail: object
) -> Settings:
    return make_settings(
        tmp_path,
        mail={
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": security,
            "smtp_ca_file": str(ca) if ca else "",
            "smtp_timeout_seconds": 5,
            **mail,
        },
    )


def _send_one(settings: Settings) -> None:
    from email.message import EmailMessage

    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"], msg["Message-ID"] = (
        settings.mail.from_address,
        "a@b.example",
        "t",
        "<t@x>",
    )
    msg.set_content("hello")
    t = SmtpTransport(settings.mail)
    try:
        t.send(msg, settings.mail.from_address, "a@b.example")
    finally:
        t.close()


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_fails_closed_on_untrusted_or_wrong_host_certificates(
    tmp_path: Path, pki: Pki, security: str
) -> None:
    cases = [("self_signed", pki.ca_cert), ("self_signed", None), ("wrong_host", pki.ca_cert)]
    for which, ca in cases:
        ctx = pki.server_context(which)
        kwargs = (
            {"tls_context": ctx, "require_starttls": True}
            if security == "starttls"
            else {"ssl_context": ctx}
        )
        with smtp_server(**kwargs) as srv:
            settings = _tls_settings(tmp_path, srv.port, security, ca)
            with pytest.raises(DeliveryError) as err:
                _send_one(settings)
            msg = str(err.value)
            assert (
                "certificate" in msg
                and "could not be verified" in msg
                and "nothing was sent" in msg
            ), msg
            if which == "wrong_host":
                assert "127.0.0.1" in msg
            assert err.value.temporary and err.value.connection
            assert srv.handler.received == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_with_trusted_ca_and_login_delivers(tmp_path: Path, pki: Pki, security: str) -> None:
    ctx = pki.server_context("good")
    # aiosmtpd does not notice that an implicit-TLS socket is encrypted, so it would hide AUTH.
    kwargs = (
        {"tls_context": ctx, "require_starttls": True}
        if security == "starttls"
        else {"ssl_context": ctx, "auth_require_tls": False}
    )
    with smtp_server(
        authenticator=password_auth("mailer", "s3cret"), auth_required=True, **kwargs
    ) as srv:
        settings = _tls_settings(
            tmp_path,
            srv.port,
            security,
            pki.ca_cert,
            smtp_username="mailer",
            smtp_password="s3cret",
        )
        store = Store.open(settings.database_url)
        queued = _queue(store, settings, 1)
        r = dispatch_pending(store, settings, transport_for(settings.mail), T0)
        assert r.sent == queued == len(srv.handler.received)
        store.close()
        bad = _tls_settings(
            tmp_path, srv.port, security, pki.ca_cert, smtp_username="mailer", smtp_password="wrong"
        )
        with pytest.raises(DeliveryError, match="refused the login"):
            _send_one(bad)


def test_starttls_required_but_not_offered_is_refused(tmp_path: Path) -> None:
    with smtp_server() as srv:  # no TLS at all
        settings = _tls_settings(tmp_path, srv.port, "starttls", None)
        with pytest.raises(DeliveryError, match="does not offer STARTTLS"):
            _send_one(settings)
        assert srv.handler.received == []


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never says a word."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(5)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                c, _ = sock.accept()
                conns.append(c)
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield sock.getsockname()[1]
    stop.set()
    t.join()
    for c in conns:
        c.close()
    sock.close()


def test_a_server_that_never_answers_times_out(tmp_path: Path, silent_server: int) -> None:
    settings = _tls_settings(tmp_path, silent_server, "none", None, smtp_timeout_seconds=0.5)
    with pytest.raises(DeliveryError, match="did not answer within 0.5s") as err:
        _send_one(settings)
    assert err.value.temporary


def test_without_smtp_host_messages_are_eml_files_and_a_resend_replaces_the_file(
    tmp_path: Path,
) -> None:
    settings = make_settings(tmp_path)
    assert isinstance(transport_for(settings.mail), FileTransport)
    store = Store.open(settings.database_url)
    queued = _queue(store, settings, 2)
    r = dispatch_pending(store, settings, transport_for(settings.mail), T0)
    files = sorted((tmp_path / "outbox").glob("*.eml"))
    assert r.sent == queued == len(files)
    # Re-sending the same message (a crash after sending, before recording it) replaces its file.
    import email
    from email.policy import default

    msg = email.message_from_bytes(files[0].read_bytes(), policy=default)
    FileTransport(tmp_path / "outbox").send(msg, "x@y.example", str(msg["To"]))  # type: ignore[arg-type]
    assert sorted((tmp_path / "outbox").glob("*.eml")) == files
    store.close()


def test_dispatch_command_reports_figures(tmp_path: Path) -> None:
    from monitor.commands.alerts import dispatch_cmd

    settings = make_settings(tmp_path)
    store = Store.open(settings.database_url)
    queued = _queue(store, settings, 1)
    store.close()
    app = App()
    app._settings = settings
    out = CliRunner().invoke(dispatch_cmd, [], obj=app)
    assert out.exit_code == 0, out.output
    assert f"Sent {queued}, will retry 0, dead 0" in out.output


def test_dispatch_command_fails_clearly_when_the_server_is_down(tmp_path: Path) -> None:
    from monitor.commands.alerts import dispatch_cmd

    settings = _plain(tmp_path, free_port())
    store = Store.open(settings.database_url)
    _queue(store, settings, 1)
    store.close()
    app = App()
    app._settings = settings
    out = CliRunner().invoke(dispatch_cmd, [], obj=app)
    assert out.exit_code == 1
    assert "Stopped early: connection to the mail server 127.0.0.1" in out.output
    assert "Traceback" not in out.output
