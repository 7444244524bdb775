"""Test helpers for the alerts: a real SMTP server (aiosmtpd on 127.0.0.1), test certificates made
with the openssl CLI, settings for a temporary database, and mentions stored as the runner does."""

from __future__ import annotations

import email
import itertools
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from alerts.outbox import OutboxSink
from monitor.config import Settings, settings_from_mapping
from monitor.models import Assessment, Evidence, Match, Mention, RawItem, Severity, scoring_text
from monitor.scoring.pii import find_personal_data
from monitor.scoring.taxonomy import cue_evidence
from monitor.store import Store
from monitor.store.repository import Candidate

_seq = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    sender: str
    rcpt: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.raw, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        return msg


@dataclass
class Handler:
    """Records every message; `reply` makes the server answer DATA with an error instead."""

    received: list[Received] = field(default_factory=list)
    reply: str | None = None  # e.g. "451 4.3.0 try later" or "550 5.1.1 no such user"
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.reply:
            return self.reply
        with self.lock:
            self.received.append(
                Received(
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    bytes(envelope.original_content or envelope.content),
                )
            )
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        with self.lock:
            return [r.message for r in self.received]


class SmtpServer:
    """aiosmtpd on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(
        self, handler: Handler | None = None, port: int | None = None, **kwargs: Any
    ) -> None:
        self.handler = handler or Handler()
        self.port = port or free_port()
        self.kwargs = kwargs
        self.controller: Controller | None = None

    def start(self) -> SmtpServer:
        self.controller = Controller(
            self.handler, hostname="127.0.0.1", port=self.port, **self.kwargs
        )
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@contextmanager
def smtp_server(**kwargs: Any) -> Iterator[SmtpServer]:
    srv = SmtpServer(**kwargs).start()
    try:
        yield srv
    finally:
        srv.stop()


def password_auth(user: str, password: str) -> Any:
    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        ok = (
            isinstance(data, LoginPassword)
            and data.login == user.encode()
            and data.password == password.encode()
        )
        return AuthResult(success=ok)

    return authenticator


# --- certificates ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    good_cert: Path  # signed by the CA, valid for 127.0.0.1 and localhost
    good_key: Path
    wrong_host_cert: Path  # signed by the CA, valid only for mail.example.org
    wrong_host_key: Path
    self_signed_cert: Path  # valid for 127.0.0.1 but signed by nobody we trust
    self_signed_key: Path

    def server_context(self, which: str = "good") -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert, key = {
            "good": (self.good_cert, self.good_key),
            "wrong_host": (self.wrong_host_cert, self.wrong_host_key),
            "self_signed": (self.self_signed_cert, self.self_signed_key),
        }[which]
        ctx.load_cert_chain(cert, key)
        return ctx


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(folder: Path) -> Pki:
    """A throw-away CA and three server certificates, made with the openssl command."""
    folder.mkdir(parents=True, exist_ok=True)
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=Mention Monitor Test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        cwd=folder,
    )

    def leaf(name: str, san: str) -> None:
        (folder / f"{name}.ext").write_text(
            f"subjectAltName={san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
            encoding="utf-8",
        )
        _openssl(
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            f"{name}.key",
            "-out",
            f"{name}.csr",
            "-subj",
            f"/CN={name}",
            cwd=folder,
        )
        _openssl(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
            cwd=folder,
        )

    leaf("good", "IP:127.0.0.1,DNS:localhost")
    leaf("wrong", "DNS:mail.example.org")
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "self.key",
        "-out",
        "self.pem",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        cwd=folder,
    )
    return Pki(
        folder / "ca.pem",
        folder / "good.pem",
        folder / "good.key",
        folder / "wrong.pem",
        folder / "wrong.key",
        folder / "self.pem",
        folder / "self.key",
    )


# --- settings and data ----------------------------------------------------------------------


def make_settings(
    tmp_path: Path,
    *,
    mail: dict[str, Any] | None = None,
    web: dict[str, Any] | None = None,
    schedule: dict[str, Any] | None = None,
    academies: Sequence[dict[str, Any]] | None = None,
) -> Settings:
    data: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path}/mm.db",
        "mail": {
            "from_address": "monitor@ankermoor.example.org",
            "outbox_dir": str(tmp_path / "outbox"),
            **(mail or {}),
        },
        "web": {"public_base_url": "http://127.0.0.1:8080", **(web or {})},
        "schedule": schedule or {},
        "academies": list(academies)
        if academies is not None
        else [
            {
                "id": "ankermoor",
                "display_name": "Ankermoor Primary Academy",
                "names": ["Ankermoor Primary Academy"],
                "recipients": ["head@ankermoor.example.org", "dpo@fierte-trust.example.org"],
            }
        ],
    }
    return settings_from_mapping(data)


def assess(title: str, text: str, categories: Sequence[str], *, urgent: bool) -> Assessment:
    """An assessment built by hand the way the scorer reports one: evidence spans index into the
    scored text (personal data found, and the categories' cue phrases)."""
    st = scoring_text(title, text)
    evidence: list[Evidence] = list(find_personal_data(st))
    for c in categories:
        evidence += cue_evidence(st, c)
    return Assessment(
        probabilities={c: 0.9 for c in categories},
        categories=tuple(categories),
        severity=Severity.URGENT if urgent else Severity.DIGEST,
        reason="hand-built for a test",
        evidence=tuple(evidence),
        model_version="test",
    )


def store_mention(
    store: Store,
    settings: Settings,
    *,
    title: str,
    text: str,
    categories: Sequence[str] = (),
    urgent: bool = False,
    now: datetime,
    academy: str = "ankermoor",
    source: str = "local-news",
    url: str | None = "https://news.example.org/story",
    cluster: str | None = None,
    scored: bool = True,
    sink: OutboxSink | None = None,
    author: str | None = None,
) -> tuple[Mention, int]:
    """Store a mention, its assessment and its notices in one transaction (as the runner does).
    Returns the mention and how many notices were queued."""
    n = next(_seq)
    item = RawItem(
        f"{academy}/{source}", f"ext-{n}", url, title, text, author=author, published_at=now
    )
    cand = Candidate(
        item=item,
        match=Match(academy, "Ankermoor Primary Academy", "title", 0, 5),
        canonical_url=f"{url}#{n}" if url else None,
        fingerprint=f"fp{n:08d}",
        simhash=n,
        bands=(n, n, n, n),
    )
    a = assess(title, text, categories, urgent=urgent) if scored else None
    sink = sink or OutboxSink(settings)
    with store.transaction() as tx:
        m = tx.add_mention(cand, cluster, now)
        assert m is not None
        if a is not None:
            tx.add_assessment(m.id, a, now)
        queued = sink.enqueue(tx, m, a, now)
    return m, queued


PII_TEXT = (
    "Ankermoor Primary Academy year 6 list leaked: Oliver Smith and Amelia Jones, "
    "mum's mobile 07700 900123, email amelia.jones.mum@gmail.com, home 14 Mill Lane, Ankermoor AB1 2DE, "
    "DOB 12/03/2015. Staff password: Hunter22! Confidential spreadsheet shared publicly."
)
PII_SECRETS = (
    "Oliver Smith",
    "Amelia Jones",
    "07700 900123",
    "amelia.jones.mum@gmail.com",
    "14 Mill Lane",
    "12/03/2015",
    "Hunter22!",
)
