"""The capture's forward proxy: every request Chromium makes leaves through here, and every
upstream connection is made by the guarded client (sources/http.py), so the browser reaches
exactly what a collector may reach and nothing else.

- Plain HTTP (`GET http://host/path`): fetched with `GuardedClient.fetch_raw` (the SSRF checks
  on the address actually connected to, the deadline, the size cap), one hop at a time: a
  redirect goes back to the browser, which asks for the next hop through here again. The answer
  is relayed byte for byte and recorded for the pack's WARC.
- CONNECT (HTTPS, and WebSockets through a proxy): the host is resolved and checked by the
  guard once, and the tunnel is opened to that checked address only (no second lookup, so no
  DNS-rebinding gap). TLS runs end to end between Chromium and the site, which verifies the
  certificate; what flows inside is not recorded (the WARC's raw fetch of the page itself is).
- Anything else (POST, PUT, …) is refused: a capture only reads.

It listens on 127.0.0.1 on an ephemeral port, for one capture, and stops with it.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sources.errors import FetchError, FetchRefused
from sources.http import GuardedClient, RawResponse

# Request headers passed on upstream; the rest (cookies of other sites, proxy headers, the
# browser's Accept-Encoding) stay here. The guarded client sets User-Agent and Accept-Encoding.
_FORWARD = ("accept", "accept-language", "referer", "cookie", "range")
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "content-length",
    }
)


@dataclass(frozen=True)
class Refusal:
    url: str
    reason: str
    layer: str  # "proxy" or "route"


class Recorder:
    """What the capture's browser fetched (for the WARC) and what was refused (capture.json)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exchanges: list[RawResponse] = []
        self.refusals: list[Refusal] = []

    def fetched(self, r: RawResponse) -> None:
        with self._lock:
            self.exchanges.append(r)

    def refused(self, url: str, reason: str, layer: str) -> None:
        with self._lock:
            self.refusals.append(Refusal(url, reason, layer))


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the browser closing a connection (or being closed at the deadline) is normal


class GuardProxy:
    """A forward proxy on 127.0.0.1:<ephemeral> whose upstream is the guarded client."""

    def __init__(self, client: GuardedClient, recorder: Recorder, deadline_seconds: float) -> None:
        self.client = client
        self.recorder = recorder
        self.ends_at = time.monotonic() + deadline_seconds
        proxy = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy._relay(self)

            do_HEAD = do_GET

            def do_CONNECT(self) -> None:
                proxy._tunnel(self)

            def _refuse_method(self) -> None:
                proxy.recorder.refused(self.path, f"method {self.command} refused", "proxy")
                _answer(self, 405, b"a capture only reads")

            do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method

        self._httpd = _Server(("127.0.0.1", 0), _H)
        self.port = int(self._httpd.server_address[1])
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def address(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> GuardProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- plain HTTP --

    def _relay(self, h: BaseHTTPRequestHandler) -> None:
        url = h.path
        if not url.lower().startswith("http://"):
            self.recorder.refused(url, "not an absolute http URL", "proxy")
            _answer(h, 400, b"absolute http URLs only")
            return
        headers = {k: v for k, v in h.headers.items() if k.lower() in _FORWARD}
        try:
            got = self.client.fetch_raw(url, method=h.command, headers=headers)
        except FetchRefused as exc:
            self.recorder.refused(url, exc.reason, "proxy")
            _answer(h, 403, b"refused by the SSRF guard")
            return
        except FetchError as exc:
            self.recorder.refused(url, exc.reason, "proxy")
            _answer(h, 502, b"upstream failed")
            return
        self.recorder.fetched(got)
        lines = [f"HTTP/1.1 {got.status} {got.reason or 'OK'}"]
        lines += [f"{k}: {v}" for k, v in got.headers if k.lower() not in _HOP_BY_HOP]
        lines += [f"Content-Length: {len(got.body)}", "Connection: close", "", ""]
        h.close_connection = True
        try:
            h.wfile.write("\r\n".join(lines).encode("latin-1"))
            if h.command != "HEAD":
                h.wfile.write(got.body)
            h.wfile.flush()
        except OSError:
            pass

    # -- CONNECT --

    def _tunnel(self, h: BaseHTTPRequestHandler) -> None:
        target = h.path
        host, _, port_text = target.rpartition(":")
        host = host.strip("[]")
        if not host or not port_text.isdigit():
            self.recorder.refused(target, "CONNECT needs host:port", "proxy")
            _answer(h, 400, b"CONNECT host:port")
            return
        try:
            address = self.client.checked_address(host, int(port_text))
        except FetchError as exc:
            self.recorder.refused(f"connect://{target}", exc.reason, "proxy")
            _answer(h, 403, b"refused by the SSRF guard")
            return
        left = self.ends_at - time.monotonic()
        if left <= 0:
            _answer(h, 504, b"the capture's deadline passed")
            return
        try:
            upstream = socket.create_connection((address, int(port_text)), timeout=left)
        except OSError:
            _answer(h, 502, b"could not connect")
            return
        h.close_connection = True
        try:
            h.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            h.wfile.flush()
            _pipe(h.connection, upstream, self.ends_at)
        except OSError:
            pass
        finally:
            upstream.close()


def _answer(h: BaseHTTPRequestHandler, status: int, body: bytes) -> None:
    h.close_connection = True
    try:
        h.send_response(status)
        h.send_header("Content-Type", "text/plain")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(body)
    except OSError:
        pass


def _pipe(a: socket.socket, b: socket.socket, ends_at: float) -> None:
    """Copy bytes both ways until either side closes or the capture's deadline passes."""
    socks = [a, b]
    while True:
        left = ends_at - time.monotonic()
        if left <= 0:
            return
        ready, _, _ = select.select(socks, [], [], min(left, 1.0))
        for s in ready:
            data = s.recv(65536)
            if not data:
                return
            (b if s is a else a).sendall(data)
