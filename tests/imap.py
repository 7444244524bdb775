"""A real IMAP server for tests: Debian's dovecot (`dovecot-imapd`, /usr/sbin/dovecot) started in
the foreground with a throwaway configuration in a temporary folder.

It listens on 127.0.0.1 on a free port (plain IMAP, and IMAPS with a self-signed certificate made
with openssl when `tls=True`), authenticates users from a passwd-file and keeps mail as Maildir in
the same folder. It runs as the current user; started as root, dovecot refuses to hand mail to
uid 0, so the mail then belongs to the `dovecot` system user (which the package creates).
Messages are delivered with IMAP APPEND, as a mail server would file them.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

DOVECOT = "/usr/sbin/dovecot"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dovecot:
    root: Path
    port: int
    tls_port: int | None
    users: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    cert: Path | None = None

    host = "127.0.0.1"

    def log(self) -> str:
        p = self.root / "dovecot.log"
        return p.read_text(errors="replace")[-4000:] if p.exists() else ""

    def add_user(self, user: str, password: str) -> None:
        self.users[user] = password
        (self.root / "passwd").write_text(
            "".join(f"{u}:{{PLAIN}}{p}\n" for u, p in self.users.items())
        )

    @contextlib.contextmanager
    def session(self, user: str) -> Iterator[imaplib.IMAP4]:
        conn = imaplib.IMAP4(self.host, self.port, timeout=10)
        conn.login(user, self.users[user])
        try:
            yield conn
        finally:
            conn.logout()

    def deliver(self, user: str, message: bytes, folder: str = "INBOX") -> None:
        with self.session(user) as conn:
            conn.create(f'"{folder}"')  # NO when it exists; fine
            typ, data = conn.append(f'"{folder}"', "", None, message)
            assert typ == "OK", data

    def folder(self, user: str, folder: str) -> list[tuple[int, bytes, bytes]]:
        """(uid, flags, raw) of every message in a folder."""
        with self.session(user) as conn:
            typ, _ = conn.select(f'"{folder}"', readonly=True)
            if typ != "OK":
                return []
            typ, data = conn.uid("SEARCH", "ALL")
            out = []
            for uid in (data[0] or b"").split():
                typ, parts = conn.uid("FETCH", uid, "(FLAGS BODY.PEEK[])")
                head, raw = parts[0]  # type: ignore[misc]
                flags = head.split(b"FLAGS (", 1)[1].split(b")", 1)[0]
                out.append((int(uid), flags, raw))
            return out

    def empty(self, user: str) -> None:
        """Delete every message of the user's folders (between tests sharing the server)."""
        with self.session(user) as conn:
            typ, listing = conn.list()
            for line in listing or []:
                m = re.match(r'^\((.*?)\) (NIL|"[^"]*") (.+)$', line.decode()) if line else None
                if m is None:
                    continue
                name = m.group(3).strip('"')
                typ, count = conn.select(f'"{name}"')
                if typ != "OK" or not count or count[0] in (b"0", None):
                    continue
                conn.store("1:*", "+FLAGS", "(\\Deleted)")
                conn.expunge()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _owner() -> tuple[str, int, int]:
    # As root, mail belongs to the package's `dovecot` user (dovecot refuses uid 0).
    pw = pwd.getpwnam("dovecot") if os.geteuid() == 0 else pwd.getpwuid(os.geteuid())
    return pw.pw_name, pw.pw_uid, pw.pw_gid


def _self_signed(root: Path) -> tuple[Path, Path]:
    cert, key = root / "cert.pem", root / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o644)
    return cert, key


def _config(srv: Dovecot, owner: tuple[str, int, int]) -> str:
    name, uid, gid = owner
    root = srv.root
    tls = ""
    if srv.cert is not None:
        tls = (
            f"ssl = yes\nssl_cert = <{srv.cert}\nssl_key = <{root / 'key.pem'}\n"
            "ssl_min_protocol = TLSv1.2\n"
        )
    else:
        tls = "ssl = no\n"
    tls_listener = (
        f"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {srv.tls_port}\n  }}\n"
        if srv.tls_port
        else "  inet_listener imaps {\n    port = 0\n  }\n"
    )
    internal = name if os.geteuid() != 0 else "dovecot"
    login = name if os.geteuid() != 0 else "dovenull"
    return f"""\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
{tls}disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal}
default_login_user = {login}
mail_location = maildir:{root}/mail/%u
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = {uid}
last_valid_uid = {uid}
first_valid_gid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {srv.port}
  }}
{tls_listener}}}
service anvil {{
  chroot =
}}
"""


@contextlib.contextmanager
def dovecot(*, tls: bool = False) -> Iterator[Dovecot]:
    """Start dovecot in a fresh folder; stopped and removed on exit."""
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    root.chmod(0o755)
    srv = Dovecot(root, free_port(), free_port() if tls else None)
    owner = _owner()
    for d in ("run", "state", "mail", "home"):
        (root / d).mkdir()
    if os.geteuid() == 0:
        for d in ("mail", "home"):
            os.chown(root / d, owner[1], owner[2])
    if tls:
        srv.cert, _ = _self_signed(root)
    srv.add_user("intake", "intake-password")
    conf = root / "dovecot.conf"
    conf.write_text(_config(srv, owner))
    srv.proc = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        _wait_ready(srv)
        yield srv
    finally:
        srv.stop()
        shutil.rmtree(root, ignore_errors=True)


def _wait_ready(srv: Dovecot) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if srv.proc is not None and srv.proc.poll() is not None:
            out = srv.proc.stdout.read().decode(errors="replace") if srv.proc.stdout else ""
            raise RuntimeError(f"dovecot exited: {out}\n{srv.log()}")
        try:
            with socket.create_connection((srv.host, srv.port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"dovecot did not start within 30 s\n{srv.log()}")
