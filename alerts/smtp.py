"""Mail transports: SMTP (STARTTLS or implicit TLS, certificate verification, auth, timeouts) and
the "file" transport that writes each message as an .eml file when no SMTP host is configured.

Failures are reported as `DeliveryError` saying whether a retry can help (`temporary`) and whether
the whole connection is unusable (`connection`, so the dispatcher stops trying other messages).
TLS fails closed: an unverifiable or wrong-host certificate is an error, never a fallback to clear.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import os
import smtplib
import socket
import ssl
import tempfile
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Protocol

from monitor.config import MailSettings


class DeliveryError(Exception):
    def __init__(self, message: str, *, temporary: bool, connection: bool = False) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.connection = connection


class Transport(Protocol):
    """Sends one message to one envelope recipient. `close` ends any open connection."""

    description: str

    def send(self, message: EmailMessage, sender: str, recipient: str) -> None: ...

    def close(self) -> None: ...


class FileTransport:
    """Writes <outbox_dir>/<date>-<hash of Message-ID>.eml. A resend of the same Message-ID
    replaces the same file, so a retry after a crash never makes a second copy."""

    def __init__(self, outbox_dir: str | Path) -> None:
        self.dir = Path(outbox_dir)
        self.description = f".eml files in {self.dir}/"

    def path_for(self, message: EmailMessage) -> Path:
        mid = str(message.get("Message-ID", ""))
        digest = hashlib.sha256(mid.encode()).hexdigest()[:16]
        try:
            stamp = parsedate_to_datetime(str(message["Date"])).strftime("%Y%m%d-%H%M%S")
        except (TypeError, ValueError):
            stamp = "undated"
        return self.dir / f"{stamp}-{digest}.eml"

    def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            target = self.path_for(message)
            fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-", suffix=".eml")
            with os.fdopen(fd, "wb") as fh:
                fh.write(message.as_bytes(policy=SMTP_POLICY))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, target)
        except OSError as exc:
            raise DeliveryError(
                f"cannot write to the outbox folder {self.dir}: {exc}",
                temporary=True,
                connection=True,
            ) from exc

    def close(self) -> None:
        pass


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SmtpTransport:
    """One connection per dispatch run, opened on the first send and closed by `close`."""

    def __init__(self, mail: MailSettings) -> None:
        self.mail = mail
        self.description = f"SMTP {mail.smtp_host}:{mail.smtp_port} ({mail.smtp_security})"
        self._conn: smtplib.SMTP | None = None

    def tls_context(self) -> ssl.SSLContext:
        """Verifying context: system CAs, or only the CA file given in mail.smtp_ca_file."""
        ca = self.mail.smtp_ca_file or None
        try:
            ctx = ssl.create_default_context(cafile=ca)
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(
                f"cannot read mail.smtp_ca_file {ca!r}: {exc}", temporary=True, connection=True
            ) from exc
        ctx.check_hostname = True
        ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx

    def _where(self) -> str:
        return f"{self.mail.smtp_host}:{self.mail.smtp_port}"

    def _connect(self) -> smtplib.SMTP:
        m = self.mail
        timeout = m.smtp_timeout_seconds
        conn: smtplib.SMTP | None = None
        try:
            if m.smtp_security == "tls":
                conn = smtplib.SMTP_SSL(
                    m.smtp_host, m.smtp_port, timeout=timeout, context=self.tls_context()
                )
            else:
                conn = smtplib.SMTP(m.smtp_host, m.smtp_port, timeout=timeout)
            conn.ehlo()
            if m.smtp_security == "starttls":
                if not conn.has_extn("starttls"):
                    raise DeliveryError(
                        f"the mail server {self._where()} does not offer STARTTLS; refusing to send "
                        'in clear text (set mail.smtp_security = "tls" for implicit TLS)',
                        temporary=True,
                        connection=True,
                    )
                conn.starttls(context=self.tls_context())
                conn.ehlo()
            if m.smtp_username:
                if m.smtp_security == "none" and not _is_loopback(m.smtp_host):
                    raise DeliveryError(
                        "refusing to send the SMTP password without TLS to a remote server; "
                        'set mail.smtp_security to "starttls" or "tls"',
                        temporary=True,
                        connection=True,
                    )
                try:
                    conn.login(m.smtp_username, m.smtp_password)
                except smtplib.SMTPServerDisconnected as exc:
                    # Some servers hang up on a wrong password instead of answering 535.
                    raise DeliveryError(
                        f"the mail server {self._where()} refused the login for {m.smtp_username!r} "
                        "(it closed the connection); check mail.smtp_username/smtp_password",
                        temporary=True,
                        connection=True,
                    ) from exc
            return conn
        except BaseException as exc:
            if conn is not None:
                _close_quietly(conn)
            if isinstance(exc, DeliveryError):
                raise
            if isinstance(exc, Exception):
                raise self._explain(exc) from exc
            raise

    def _explain(self, exc: Exception) -> DeliveryError:
        where = self._where()
        if isinstance(exc, ssl.SSLCertVerificationError):
            return DeliveryError(
                f"TLS certificate of the mail server {where} could not be verified "
                f"({exc.verify_message or exc.reason}); nothing was sent. The certificate must be "
                f"valid for {self.mail.smtp_host!r} and signed by a trusted CA; for a private CA "
                "set mail.smtp_ca_file",
                temporary=True,
                connection=True,
            )
        if isinstance(exc, ssl.SSLError):
            return DeliveryError(
                f"TLS with the mail server {where} failed ({exc.reason or exc}); nothing was sent. "
                'Check mail.smtp_security ("tls" for port 465, "starttls" for 587)',
                temporary=True,
                connection=True,
            )
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return DeliveryError(
                f"the mail server {where} refused the login for {self.mail.smtp_username!r} "
                f"({exc.smtp_code} {_text(exc.smtp_error)}); check mail.smtp_username/smtp_password",
                temporary=True,
                connection=True,
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return DeliveryError(f"the mail server {where}: {exc}", temporary=True, connection=True)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            code = codes[0] if codes else 550
            detail = "; ".join(f"{r}: {c} {_text(t)}" for r, (c, t) in exc.recipients.items())
            return DeliveryError(
                f"recipient refused by {where}: {detail}", temporary=400 <= code < 500
            )
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return DeliveryError(
                f"sender {exc.sender!r} refused by {where}: {exc.smtp_code} {_text(exc.smtp_error)}",
                temporary=400 <= exc.smtp_code < 500,
                connection=True,
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            return DeliveryError(
                f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)}",
                temporary=not (500 <= exc.smtp_code < 600),
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected) and "timed out" in str(exc):
            # smtplib reports a read timeout as a disconnect: say what actually happened.
            return DeliveryError(
                f"the mail server {where} did not answer within {self.mail.smtp_timeout_seconds:g}s",
                temporary=True,
                connection=True,
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return DeliveryError(
                f"the mail server {where} closed the connection", temporary=True, connection=True
            )
        if isinstance(exc, TimeoutError | socket.timeout):
            return DeliveryError(
                f"the mail server {where} did not answer within {self.mail.smtp_timeout_seconds:g}s",
                temporary=True,
                connection=True,
            )
        if isinstance(exc, ConnectionRefusedError):
            return DeliveryError(
                f"connection to the mail server {where} refused", temporary=True, connection=True
            )
        if isinstance(exc, OSError):
            return DeliveryError(
                f"cannot reach the mail server {where}: {exc}", temporary=True, connection=True
            )
        if isinstance(exc, smtplib.SMTPException):
            return DeliveryError(f"the mail server {where}: {exc}", temporary=True, connection=True)
        return DeliveryError(
            f"unexpected error sending mail: {exc!r}", temporary=True, connection=True
        )

    def send(self, message: EmailMessage, sender: str, recipient: str) -> None:
        if self._conn is None:
            self._conn = self._connect()
        try:
            self._conn.sendmail(sender, [recipient], message.as_bytes(policy=SMTP_POLICY))
        except Exception as exc:
            err = self._explain(exc)
            if err.connection:
                self.close()
            else:
                # The connection is fine; reset the half-finished transaction for the next message.
                try:
                    self._conn.rset()
                except (smtplib.SMTPException, OSError):
                    self.close()
            raise err from exc

    def close(self) -> None:
        if self._conn is not None:
            _close_quietly(self._conn)
            self._conn = None


def _close_quietly(conn: smtplib.SMTP) -> None:
    try:
        conn.quit()
    except (smtplib.SMTPException, OSError):
        with contextlib.suppress(OSError):
            conn.close()


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def transport_for(mail: MailSettings) -> Transport:
    """SMTP when mail.smtp_host is set, else .eml files in mail.outbox_dir."""
    if mail.smtp_host:
        return SmtpTransport(mail)
    return FileTransport(mail.outbox_dir)
