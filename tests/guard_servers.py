"""Hostile local servers for the guarded client's tests: a canary that counts every connection,
routes that redirect, drip, stream huge bodies or gzip bombs. All listen on loopback only.
"""

from __future__ import annotations

import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MiB = 1024 * 1024

Route = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0

    def verify_request(self, request: object, client_address: object) -> bool:
        # Counted at accept time: a connection that never sends a request is still a hit.
        self.connections += 1
        return True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client hanging up on a drip or a bomb is the expected outcome


class RouteServer:
    """An HTTP/1.1 server whose paths are handler functions. Counts connections and requests."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.hits: Counter[str] = Counter()
        self.headers: list[dict[str, str]] = []
        self.times: list[float] = []
        owner = self

        class _H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else Nagle + delayed ACK add 40 ms per response

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                owner.hits[path] += 1
                owner.headers.append({k.lower(): v for k, v in self.headers.items()})
                owner.times.append(time.monotonic())
                route = owner.routes.get(path) or owner.routes.get("*")
                if route is None:
                    send(self, 404, b"not found")
                else:
                    route(self)

            do_POST = do_GET
            do_HEAD = do_GET

        self.httpd = _Server((host, 0), _H)
        self.host = host
        self.port = self.httpd.server_address[1]
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def connections(self) -> int:
        return self.httpd.connections

    @property
    def total_hits(self) -> int:
        return sum(self.hits.values())

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"http://{host or self.host}:{self.port}{path}"

    def start(self) -> RouteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextmanager
def route_server(host: str = "127.0.0.1") -> Iterator[RouteServer]:
    srv = RouteServer(host).start()
    try:
        yield srv
    finally:
        srv.stop()


def send(
    h: BaseHTTPRequestHandler, status: int, body: bytes = b"", headers: dict[str, str] | None = None
) -> None:
    h.send_response(status)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    if h.command != "HEAD":
        h.wfile.write(body)


def reply(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> Route:
    return lambda h: send(h, status, body, headers)


def redirect(location: str, status: int = 302) -> Route:
    return reply(status, b"", {"Location": location})


def drip_body(interval: float, total: int = 100) -> Route:
    """Headers at once, then one body byte every `interval` seconds."""

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        h.send_header("Content-Length", str(total))
        h.end_headers()
        h.wfile.flush()
        for _ in range(total):
            try:
                h.wfile.write(b"x")
                h.wfile.flush()
            except OSError:
                return
            time.sleep(interval)

    return route


def drip_headers(interval: float) -> Route:
    """The status line and headers themselves, one byte every `interval` seconds."""

    def route(h: BaseHTTPRequestHandler) -> None:
        raw = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 200 + b"\r\nContent-Length: 0\r\n\r\n"
        for i in range(len(raw)):
            try:
                h.wfile.write(raw[i : i + 1])
                h.wfile.flush()
            except OSError:
                return
            time.sleep(interval)

    return route


def stream_body(
    total: int,
    chunk: int = 64 * 1024,
    headers: dict[str, str] | None = None,
    declare: bool = True,
) -> Route:
    """A `total`-byte body written from one reused chunk (the server never holds it all).
    `declare=False` sends no Content-Length: the body ends when the connection closes."""
    block = b"a" * chunk

    def route(h: BaseHTTPRequestHandler) -> None:
        h.send_response(200)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if declare:
            h.send_header("Content-Length", str(total))
        else:
            h.send_header("Connection", "close")
            h.close_connection = True
        h.end_headers()
        sent = 0
        try:
            while sent < total:
                n = min(chunk, total - sent)
                h.wfile.write(block[:n])
                sent += n
        except OSError:
            return

    return route


def gzip_bomb(expanded_mib: int = 1024) -> bytes:
    """A valid single-stream gzip of `expanded_mib` MiB of zeros (about 1 KiB per MiB).

    Built from full-flush blocks, which are byte-identical for identical input, so it takes a
    fraction of a second instead of compressing a gibibyte.
    """
    zeros = bytes(MiB)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    middle = c.compress(zeros) + c.flush(zlib.Z_FULL_FLUSH)
    last = c.compress(zeros) + c.flush()
    crc = 0
    for _ in range(expanded_mib):
        crc = zlib.crc32(zeros, crc)
    trailer = struct.pack("<II", crc, (expanded_mib * MiB) & 0xFFFFFFFF)
    return first + middle * (expanded_mib - 2) + last[:-8] + trailer
