"""Real local servers for tests: an HTTP server on 127.0.0.1 that serves recorded fixtures.

Routes are static bodies (with ETag / Last-Modified and 304 handling, as a real feed host does)
or handler functions for error cases. Every request is counted per path.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    conditional: bool = True  # answer 304 to a matching If-None-Match / If-Modified-Since


Handler = Callable[[BaseHTTPRequestHandler], Reply]


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-request is normal here (the guarded client refuses a body and
    closes): socketserver would print a traceback to stderr, which CliRunner then captures into
    a command's output. Other errors are still printed."""

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class FixtureServer:
    def __init__(self) -> None:
        self.routes: dict[str, Reply | Handler] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, str]]] = []
        self._lock = threading.Lock()
        server = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; without this, Nagle + delayed ACK add 40 ms.
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:
                pass

            def _route(self) -> Reply | Handler | None:
                path = self.path
                return server.routes.get(path) or server.routes.get(path.split("?", 1)[0])

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                self.body = self.rfile.read(length) if length else b""
                self._serve()

            def _serve(self) -> None:
                with server._lock:
                    server.hits[self.path.split("?", 1)[0]] += 1
                    server.requests.append((self.path, dict(self.headers.items())))
                route = self._route()
                if route is None:
                    reply = Reply(404, b"not found", {"content-type": "text/plain"})
                elif callable(route):
                    reply = route(self)
                else:
                    reply = route
                headers = dict(reply.headers)
                if reply.conditional and reply.status == 200:
                    etag = '"' + hashlib.sha256(reply.body).hexdigest()[:16] + '"'
                    headers.setdefault("etag", etag)
                    headers.setdefault("last-modified", "Sat, 28 Nov 2026 07:00:00 GMT")
                    if self.headers.get("if-none-match") == headers["etag"]:
                        self.send_response(304)
                        for k, v in headers.items():
                            if k.lower() in ("etag", "last-modified"):
                                self.send_header(k, v)
                        self.send_header("content-length", "0")
                        self.end_headers()
                        return
                self.send_response(reply.status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

        self.httpd = _QuietServer(("127.0.0.1", 0), _H)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def serve_file(
        self, path: str, fixture: str | Path, content_type: str = "application/rss+xml"
    ) -> str:
        body = (
            (FIXTURES / fixture).read_bytes()
            if not Path(fixture).is_absolute()
            else Path(fixture).read_bytes()
        )
        self.routes[path] = Reply(200, body, {"content-type": content_type})
        return self.url(path)

    def start(self) -> FixtureServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def fixture_server() -> Iterator[FixtureServer]:
    srv = FixtureServer().start()
    try:
        yield srv
    finally:
        srv.stop()
