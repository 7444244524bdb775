"""The intake mailbox over IMAP (imaplib): connect, list what is not yet processed, fetch it
bounded, mark it processed or move it to quarantine. Untrusted input: imports only monitor.values.

Every server-facing failure leaves as the SourceError tree of sources/errors.py with one line an
IT person understands: `ConnectFailed` (server down, TLS), `FetchTimeout`, `SourceUnavailable`
("needs_credentials": the login was refused), `FetchError` (the server refused a command).

"Processed" is the keyword `$MonitorProcessed` plus `\\Seen` on the message, set only after the
program has recorded the message (monitor/store/mailbox.py): a crash in between leaves the
keyword unset, so the next poll sees the message again and the store says it was done. Messages
are read with BODY.PEEK, which does not set `\\Seen`, so reading never marks anything.
"""

from __future__ import annotations

import contextlib
import imaplib
import re
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sources.errors import (
    ConnectFailed,
    FetchError,
    FetchTimeout,
    ResponseTooLarge,
    SourceUnavailable,
)

PROCESSED = "$MonitorProcessed"
# Header bytes read of a message too large to fetch whole: enough for From, Subject, Date.
HEADER_CAP = 64 * 1024


@dataclass(frozen=True)
class MailboxConfig:
    host: str
    port: int
    tls: str  # "ssl" | "starttls" | "none"
    user: str
    password: str
    mailbox: str = "INBOX"
    quarantine_folder: str = "Quarantine"
    timeout_seconds: float = 30.0
    max_message_bytes: int = 25 * 1024 * 1024
    ca_file: str = ""

    @property
    def where(self) -> str:
        return f"imap{'s' if self.tls == 'ssl' else ''}://{self.host}:{self.port}/{self.mailbox}"


@dataclass(frozen=True)
class Pending:
    """A message not yet processed: its UID and the size the server gives (RFC822.SIZE)."""

    uid: int
    size: int


def _tls_context(cfg: MailboxConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cfg.ca_file or None)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def _one_line(value: object) -> str:
    if isinstance(value, BaseException) and value.args:
        value = value.args[0]
    if isinstance(value, list | tuple):
        value = b" ".join(v for v in value if isinstance(v, bytes)) or str(value)
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return " ".join(text.split())[:300]


class Mailbox:
    """One IMAP session on the intake mailbox (use `open_mailbox`)."""

    def __init__(self, cfg: MailboxConfig, conn: imaplib.IMAP4) -> None:
        self.cfg = cfg
        self._raw = conn
        self._conn = _Guarded(conn, cfg)
        self.uidvalidity = 0
        self.caps: frozenset[str] = frozenset(c.upper() for c in conn.capabilities)

    # --- commands ---------------------------------------------------------------------------

    def _ok(self, typ: str, data: object, what: str) -> None:
        if typ != "OK":
            raise FetchError(f"IMAP {what} refused by {self.cfg.host}: {_one_line(data)}")

    def select(self, folder: str) -> None:
        typ, data = self._conn.select(_quote(folder))
        self._ok(typ, data, f"SELECT {folder}")
        _, vals = self._conn.response("UIDVALIDITY")
        self.uidvalidity = int(vals[0]) if vals and vals[0] else 0

    def pending(self) -> list[Pending]:
        """Messages of the selected folder without the processed keyword, oldest first."""
        typ, data = self._conn.uid("SEARCH", "UNKEYWORD", PROCESSED)
        self._ok(typ, data, "SEARCH")
        uids = [int(u) for u in (data[0] or b"").split()] if data else []
        if not uids:
            return []
        sizes: dict[int, int] = {}
        for chunk in _chunks(uids, 500):
            typ, data = self._conn.uid("FETCH", ",".join(map(str, chunk)), "(RFC822.SIZE)")
            self._ok(typ, data, "FETCH RFC822.SIZE")
            for item in data:
                line = item[0] if isinstance(item, tuple) else item
                if not isinstance(line, bytes):
                    continue
                m_uid = re.search(rb"UID (\d+)", line)
                m_size = re.search(rb"RFC822\.SIZE (\d+)", line)
                if m_uid and m_size:
                    sizes[int(m_uid.group(1))] = int(m_size.group(1))
        return [Pending(u, sizes[u]) for u in sorted(uids) if u in sizes]

    def fetch(self, uid: int) -> bytes:
        """The whole message, unless larger than the cap (ResponseTooLarge: use `fetch_header`)."""
        return self._fetch(uid, "BODY.PEEK[]", self.cfg.max_message_bytes)

    def fetch_header(self, uid: int) -> bytes:
        return self._fetch(uid, f"BODY.PEEK[HEADER]<0.{HEADER_CAP}>", HEADER_CAP)

    def _fetch(self, uid: int, item: str, cap: int) -> bytes:
        typ, data = self._conn.uid("FETCH", str(uid), f"({item})")
        self._ok(typ, data, "FETCH")
        for part in data:
            if isinstance(part, tuple) and len(part) == 2 and isinstance(part[1], bytes):
                if len(part[1]) > cap:
                    raise ResponseTooLarge(
                        f"message UID {uid} is larger than {cap} bytes", self.cfg.where
                    )
                return part[1]
        raise FetchError(f"message UID {uid} is gone from {self.cfg.mailbox}", self.cfg.where)

    def mark_processed(self, uid: int) -> None:
        typ, data = self._conn.uid("STORE", str(uid), "+FLAGS", f"(\\Seen {PROCESSED})")
        self._ok(typ, data, "STORE")

    def move(self, uid: int, folder: str) -> None:
        """Move a message to `folder`, created if missing (MOVE, else COPY + delete)."""
        self.ensure_folder(folder)
        if "MOVE" in self.caps:
            typ, data = self._conn.uid("MOVE", str(uid), _quote(folder))
            self._ok(typ, data, f"MOVE to {folder}")
            return
        typ, data = self._conn.uid("COPY", str(uid), _quote(folder))
        self._ok(typ, data, f"COPY to {folder}")
        typ, data = self._conn.uid("STORE", str(uid), "+FLAGS", "(\\Deleted)")
        self._ok(typ, data, "STORE \\Deleted")
        if "UIDPLUS" in self.caps:
            self._conn.uid("EXPUNGE", str(uid))
        else:
            self._conn.expunge()

    def ensure_folder(self, folder: str) -> None:
        typ, data = self._conn.list('""', _quote(folder))
        if typ == "OK" and data and data[0]:
            return
        typ, data = self._conn.create(_quote(folder))
        self._ok(typ, data, f"CREATE {folder}")

    def append(self, folder: str, message: bytes) -> None:
        """Put a message into a folder (tests deliver with it; quarantine release does not)."""
        self.ensure_folder(folder)
        typ, data = self._conn.append(_quote(folder), "", None, message)
        self._ok(typ, data, f"APPEND to {folder}")

    def close(self) -> None:
        with contextlib.suppress(OSError, imaplib.IMAP4.error):  # the session is over anyway
            self._raw.logout()


class _Guarded:
    """The imaplib connection, with every command's failure mapped by `_mapped`."""

    def __init__(self, conn: imaplib.IMAP4, cfg: MailboxConfig) -> None:
        self._conn, self._cfg = conn, cfg

    def __getattr__(self, name: str) -> Any:
        fn = getattr(self._conn, name)

        def call(*args: Any) -> Any:
            with _mapped(self._cfg):
                return fn(*args)

        return call


def _quote(folder: str) -> str:
    # imaplib sends the name as it is: quote it, so "Processed mail" is one argument.
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _chunks(items: list[int], n: int) -> Iterator[list[int]]:
    for i in range(0, len(items), n):
        yield items[i : i + n]


def _connect(cfg: MailboxConfig) -> imaplib.IMAP4:
    where = cfg.where
    try:
        if cfg.tls == "ssl":
            return imaplib.IMAP4_SSL(
                cfg.host, cfg.port, ssl_context=_tls_context(cfg), timeout=cfg.timeout_seconds
            )
        conn = imaplib.IMAP4(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
        if cfg.tls == "starttls":
            if "STARTTLS" not in conn.capabilities:
                conn.shutdown()
                raise ConnectFailed(
                    f"TLS failure: {cfg.host}:{cfg.port} does not offer STARTTLS; "
                    'use tls = "ssl" (port 993) or ask for STARTTLS',
                    where,
                )
            conn.starttls(ssl_context=_tls_context(cfg))
        return conn
    except ssl.SSLError as exc:
        raise ConnectFailed(
            f"TLS failure talking to {cfg.host}:{cfg.port}: {exc.reason or exc}", where
        ) from None
    except TimeoutError:
        raise FetchTimeout(
            f"IMAP server {cfg.host}:{cfg.port} did not answer within {cfg.timeout_seconds:g} s",
            where,
        ) from None
    except ConnectionRefusedError:
        raise ConnectFailed(
            f"IMAP server {cfg.host}:{cfg.port} refused the connection (is it running?)", where
        ) from None
    except socket.gaierror:
        raise ConnectFailed(f"IMAP server name {cfg.host!r} does not resolve", where) from None
    except (OSError, imaplib.IMAP4.error) as exc:
        raise ConnectFailed(
            f"cannot reach IMAP server {cfg.host}:{cfg.port}: {_one_line(exc)}", where
        ) from None


@contextmanager
def _mapped(cfg: MailboxConfig) -> Iterator[None]:
    """imaplib's and the socket's errors during a session, as the SourceError tree."""
    try:
        yield
    except TimeoutError:
        raise FetchTimeout(
            f"IMAP server {cfg.host} stopped answering for {cfg.timeout_seconds:g} s", cfg.where
        ) from None
    except ssl.SSLError as exc:
        raise ConnectFailed(
            f"TLS failure with {cfg.host}: {exc.reason or exc}", cfg.where
        ) from None
    except (OSError, imaplib.IMAP4.abort) as exc:
        raise ConnectFailed(
            f"IMAP connection to {cfg.host} lost: {_one_line(exc)}", cfg.where
        ) from None
    except imaplib.IMAP4.error as exc:
        raise FetchError(f"IMAP error from {cfg.host}: {_one_line(exc)}", cfg.where) from None


@contextmanager
def open_mailbox(cfg: MailboxConfig) -> Iterator[Mailbox]:
    """A logged-in session with `cfg.mailbox` selected; errors are the SourceError tree."""
    conn = _connect(cfg)
    box = Mailbox(cfg, conn)
    try:
        with _mapped(cfg):
            try:
                typ, data = conn.login(cfg.user, cfg.password)
            except imaplib.IMAP4.abort:
                raise
            except imaplib.IMAP4.error as exc:
                raise SourceUnavailable(
                    "needs_credentials",
                    f"IMAP login refused for {cfg.user!r} at {cfg.host}: {_one_line(exc)}",
                    "check intake.imap.user and MONITOR_INTAKE__IMAP__PASSWORD",
                ) from None
            box._ok(typ, data, "LOGIN")
            # The capabilities after login are the ones that count (MOVE, UIDPLUS).
            ctyp, cdata = conn.capability()
            if ctyp == "OK" and cdata and isinstance(cdata[0], bytes):
                box.caps = frozenset(cdata[0].decode("ascii", "replace").upper().split())
            box.select(cfg.mailbox)
        yield box
    finally:
        box.close()


__all__ = ["PROCESSED", "Mailbox", "MailboxConfig", "Pending", "open_mailbox"]
