"""The raw bytes of every kind of email, as the real aiosmtpd server receives them and as the .eml
file transport writes them: RFC 2369/8058 one-click headers exactly, and every header one clean
line once unfolded (no encoded word where plain ASCII does, no blank folded start of a subject,
long non-ASCII subjects as proper RFC 2047 encoded words, no injected header)."""

from __future__ import annotations

import dataclasses
import re
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path

import pytest

from alerts import rules
from alerts.digest import build_digest
from alerts.notice import (
    KINDS,
    BreachReminderContent,
    ConfirmContent,
    Envelope,
    Found,
    Notice,
    SigninContent,
    Subscriber,
)
from alerts.outbox import dispatch_pending
from alerts.render import render, subject_for
from alerts.smtp import FileTransport, SmtpTransport
from monitor.config import AcademyConfig, MailSettings
from monitor.models import Mention
from monitor.store import Store
from tests.alerts_support import assess, make_settings, smtp_server, store_mention

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TOKEN = "Zm9vYmFyLWJhei1xdXV4LXRva2VuLXRoYXQtaXMtNDM"  # token_urlsafe(32) is 43 characters
UNSUBSCRIBE = f"https://monitor.example.org/mention-monitor/unsubscribe?token={TOKEN}"

# (title, academy display name): plain, long and non-ASCII, and header-injection attempts.
HOSTILE = [
    ("Ankermoor fete raises £2,000", "Ankermoor Primary Academy"),
    (
        "Élèves de l’école Ankermoor: “données personnelles” publiées — 学校 データ漏洩 "
        + "Zażółć gęślą jaźń " * 8,
        "Ysgol Gynradd Gymraeg Llanfairpwllgwyngyll — Ærøskøbing Ünïcödé Academy of Excellence",
    ),
    ("Title\r\nBcc: victim@example.com", "Ankermoor\r\nReply-To: attacker@example.com"),
    ("=?UTF-8?Q?=0D=0A?=Bcc: victim@example.com", "=?utf-8?b?DQpCY2M6IHhAeS5leGFtcGxl?="),
    ("\r\n\r\nFrom: ceo@ankermoor.example.org", "\u2028Academy\x00\x0b\x85 \u202eeman\u202c"),
    ("A" * 3000, "B" * 300),
    ("😀" * 200, "Ankermoor 😀 Primary"),
    ("  leading spaces and a tab\t", "   "),
]

EXPECTED_NAMES = [
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "auto-submitted",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "mime-version",
    "content-type",
]
ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[qQbB]\?[^?\s]*\?=")


def _mention(title: str) -> Mention:
    return Mention(
        id=7,
        organisation="ankermoor",
        source_key="ankermoor/local-news",
        external_id="x7",
        url="https://news.example.org/story",
        canonical_url="https://news.example.org/story",
        title=title,
        text="Year 6 list: Oliver Smith, Amelia Jones, Noah B. password: Hunter22!",
        author=None,
        published_at=NOW,
        first_seen_at=NOW,
        has_media=False,
        fingerprint="fp7",
        cluster_id="c-7",
        matched_name="Ankermoor",
    )


def every_kind(title: str, academy_name: str) -> list[Notice]:
    """One notice of each kind the outbox sends, built as the rules and the digest build them.
    The hostile academy name goes into the notices: settings validation may refuse it earlier."""
    academy = AcademyConfig(
        id="ankermoor",
        display_name="Ankermoor Primary Academy",
        names=("Ankermoor",),
        recipients=("head@ankermoor.example.org",),
    )
    m = _mention(title)
    a = assess(m.title, m.text, ["data_leak"], urgent=True)
    provider = Subscriber("breach@provider.example.com", ("ankermoor",), ("data_leak",))
    notices = rules.urgent_notices(
        m,
        a,
        academy,
        [provider],
        opted_out=frozenset(),
        incident=rules.new_incident(m),
        base_url="https://monitor.example.org",
    )
    digest = build_digest(
        academy,
        [(m, a)],
        [],
        [],
        date(2026, 11, 28),
        (NOW - timedelta(days=1), NOW),
        "https://monitor.example.org",
    )
    notices.append(
        Notice("digest", "ankermoor", academy_name, "head@ankermoor.example.org", "d", None, digest)
    )
    confirm = ConfirmContent(
        academies=(academy_name,),
        categories=(Found("data_leak", "Personal data"),),
        confirm_url=f"https://monitor.example.org/confirm?token={TOKEN}",
        expires_at=NOW + timedelta(days=7),
    )
    notices.append(
        Notice("confirm", "ankermoor", academy_name, provider.email, "confirm", None, confirm)
    )
    signin = SigninContent(
        signin_url=f"https://monitor.example.org/signin/{TOKEN}",
        expires_at=NOW + timedelta(minutes=15),
    )
    notices.append(
        Notice("signin", "", academy_name, "head@ankermoor.example.org", "s", None, signin)
    )
    incident = rules.new_incident(m)
    reminder = BreachReminderContent(
        incident_id=incident.id,
        first_seen_at=incident.opened_at,
        deadline=incident.ico_deadline,
        found=(Found("data_leak", "Personal data"),),
        dashboard_url="https://monitor.example.org/mentions/7",
    )
    notices.append(
        Notice(
            "breach_reminder",
            "ankermoor",
            academy_name,
            "dpo@fierte-trust.example.org",
            incident.id,
            7,
            reminder,
        )
    )
    return [dataclasses.replace(n, academy_name=academy_name) for n in notices]


def _envelope(i: int, kind: str = "urgent") -> Envelope:
    # A sign-in email is asked for by its reader, once: it has no unsubscribe link.
    return Envelope(
        f"<m{i}@ankermoor.example.org>",
        "monitor@ankermoor.example.org",
        NOW,
        "" if kind == "signin" else UNSUBSCRIBE,
    )


def check_raw(raw: bytes, expected_subject: str, unsubscribe: str | None = UNSUBSCRIBE) -> None:
    """Every rule for the header block of one message, read from its raw bytes."""
    block = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r" not in block.replace(b"\r\n", b"") and b"\n" not in block.replace(b"\r\n", b"")
    physical = block.decode("ascii").split("\r\n")  # headers are ASCII: raises otherwise
    assert not physical[0][:1].isspace()
    for line in physical:
        assert len(line) <= 998, line
        if ENCODED_WORD.search(line):
            assert len(line) <= 76, line  # RFC 2047 section 2
    # RFC 5322 unfolding: a line break followed by white space is removed.
    fields: list[tuple[str, str, str]] = []  # name, value, first physical line
    for line in physical:
        if line[:1] in (" ", "\t"):
            name, value, first = fields[-1]
            fields[-1] = (name, value + line, first)
        else:
            name, sep, value = line.partition(":")
            assert sep and re.fullmatch(r"[!-9;-~]+", name), line
            fields.append((name, value, line))
    names = [n.lower() for n, _, _ in fields]
    expected_names = (
        EXPECTED_NAMES if unsubscribe else [n for n in EXPECTED_NAMES if "unsubscribe" not in n]
    )
    assert names == expected_names, names  # nothing injected, nothing lost, nothing twice
    for name, value, first in fields:
        assert re.fullmatch(r" \S(.*\S)?", value), (name, value)  # one space, then the value
        assert first.rstrip() != f"{name}:", f"{name} starts with a blank folded line"
        if name.lower() != "subject":
            assert not ENCODED_WORD.search(value), (name, value)
    values = {n.lower(): v[1:] for n, v, _ in fields}
    # RFC 2369 and RFC 8058, exactly.
    if unsubscribe:
        assert values["list-unsubscribe"] == f"<{unsubscribe}>"
        assert values["list-unsubscribe-post"] == "List-Unsubscribe=One-Click"
    assert values["auto-submitted"] == "auto-generated"
    # The subject decodes to the intended single line, and plain ASCII words are not encoded.
    subject = values["subject"]
    assert str(make_header(decode_header(subject))) == expected_subject
    raw_words = subject.split(" ")
    for word in expected_subject.split(" "):
        if all("!" <= c <= "~" for c in word) and "=?" not in word:
            assert word in raw_words, (word, subject)
    if expected_subject.isascii():
        assert not ENCODED_WORD.search(subject), subject
    # A standard parser reads the same.
    msg = message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    assert str(msg["Subject"]) == expected_subject
    if unsubscribe:
        assert str(msg["List-Unsubscribe"]) == f"<{unsubscribe}>"
    assert len(msg.get_all("To") or []) == 1 and not msg.get_all("Bcc")


def test_the_outbox_sends_these_kinds_and_the_tests_cover_each() -> None:
    assert sorted(n.kind for n in every_kind("t", "Ankermoor")) == sorted(KINDS)


@pytest.mark.parametrize(("title", "academy_name"), HOSTILE)
def test_raw_headers_of_every_kind_over_smtp_and_in_eml_files(
    tmp_path: Path, title: str, academy_name: str
) -> None:
    notices = every_kind(title, academy_name)
    files = FileTransport(tmp_path / "outbox")
    with smtp_server() as srv:
        smtp = SmtpTransport(
            MailSettings(smtp_host="127.0.0.1", smtp_port=srv.port, smtp_security="none")
        )
        try:
            for i, notice in enumerate(notices):
                message = render(notice, _envelope(i, notice.kind))
                smtp.send(message, "monitor@ankermoor.example.org", notice.recipient)
                files.send(message, "monitor@ankermoor.example.org", notice.recipient)
        finally:
            smtp.close()
        received = [r.raw for r in srv.handler.received]
    written = [p.read_bytes() for p in sorted((tmp_path / "outbox").glob("*.eml"))]
    assert len(received) == len(written) == len(notices) == len(KINDS)
    expected = {subject_for(n): n.kind for n in notices}
    for raw in received + written:
        subject = str(message_from_bytes(raw, policy=default_policy)["Subject"])
        assert subject in expected
        check_raw(raw, subject, None if expected[subject] == "signin" else UNSUBSCRIBE)


def test_subject_folding_starts_on_the_subject_line_and_keeps_ascii_words_plain() -> None:
    # A long unbroken word after a long name used to fold "Subject:" onto a blank first line.
    title = "x" * 120 + " é"
    (urgent, *_rest) = every_kind(title, "Ankermoor Primary Academy " + "Ü" * 40)
    raw = render(urgent, _envelope(1)).as_bytes(policy=default_policy.clone(linesep="\r\n"))
    check_raw(raw, subject_for(urgent))
    first = next(x for x in raw.split(b"\r\n") if x.startswith(b"Subject:"))
    assert first.startswith(b"Subject: Urgent: data leak ")


@pytest.mark.parametrize("transport", ["smtp", "file"])
def test_an_alert_through_the_outbox_has_the_one_click_headers(
    tmp_path: Path, transport: str
) -> None:
    with smtp_server() as srv:
        mail = {"smtp_host": "127.0.0.1", "smtp_port": srv.port, "smtp_security": "none"}
        settings = make_settings(tmp_path, mail=mail if transport == "smtp" else None)
        store = Store.open(settings.database_url)
        try:
            store_mention(
                store,
                settings,
                title="Élèves’ data — " + "very long hostile title\r\nBcc: x@y.example " * 5,
                text="password: Hunter22! for Ankermoor",
                categories=["data_leak"],
                urgent=True,
                now=NOW,
            )
            sender = (
                SmtpTransport(settings.mail)
                if transport == "smtp"
                else FileTransport(settings.mail.outbox_dir)
            )
            result = dispatch_pending(store, settings, sender, NOW)
        finally:
            store.close()
        raws = (
            [r.raw for r in srv.handler.received]
            if transport == "smtp"
            else [p.read_bytes() for p in sorted(Path(settings.mail.outbox_dir).glob("*.eml"))]
        )
    assert result.sent == len(raws) == 2  # the two configured recipients
    for raw in raws:
        msg = message_from_bytes(raw, policy=default_policy)
        url = str(msg["List-Unsubscribe"]).strip("<>")
        assert url.startswith("http://127.0.0.1:8080/unsubscribe?token=")
        check_raw(raw, str(msg["Subject"]), unsubscribe=url)
        bodies = [p.get_content() for p in msg.walk() if p.get_content_maintype() == "text"]
        assert len(bodies) == 2 and all("Hunter22" not in b for b in bodies)
