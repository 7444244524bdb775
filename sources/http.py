"""THE guarded HTTP client. Every fetch in the program goes through `GuardedClient`.

It owns: the scheme allow-list and address checks (SSRF) on every hop, the total deadline, the
body cap counted after decompression, conditional GET, per-host politeness, robots.txt for
search/API endpoints, and the mapping of httpx errors to the FetchError family below.
"Not modified" is a return value (`NotModified`), never an exception.

How the guarantees are kept:
- Address checks live in the connection layer: a custom httpcore network backend resolves the
  host once, checks every address (sources/addresses.py), and connects to a checked address. TLS
  still verifies the certificate for the host name. So the address checked is the address
  connected to (no DNS-rebinding gap), every redirect hop is checked, and environment proxies
  are never used (trust_env=False, no proxy configured).
- The whole request, redirects included, shares one deadline: every socket read, write and
  connect is given at most the time left, so a server dripping a byte every few seconds is cut
  off at the deadline rather than after a per-phase timeout that each byte resets.
- Bodies are decompressed here, a bounded step at a time, and counted after decompression.
"""

from __future__ import annotations

import contextvars
import email.utils
import http
import ipaddress
import random
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpcore
import httpx

from sources.addresses import (
    AddressProblem,
    IPAddress,
    IPNetwork,
    UnsafeURL,
    address_problem,
    parse_allow_list,
    parse_target,
)
from sources.errors import ConnectFailed as ConnectFailed
from sources.errors import FetchError as FetchError
from sources.errors import FetchRefused as FetchRefused
from sources.errors import FetchTimeout as FetchTimeout
from sources.errors import HTTPStatusError as HTTPStatusError
from sources.errors import ResponseTooLarge as ResponseTooLarge
from sources.errors import RobotsUnreadable as RobotsUnreadable
from sources.errors import TooManyRedirects as TooManyRedirects
from sources.robots import MAX_ROBOTS_BYTES, RobotsAnswer, RobotsCache

PRODUCT = "mention-monitor/0.1"
ROBOTS_AGENT = "mention-monitor"  # the product token robots.txt groups are matched against

# A resolver maps (host, port) to IP address strings. Tests inject one so that a public-looking
# name can resolve to 127.0.0.1 without any network.
Resolver = Callable[[str, int], Sequence[str]]


@dataclass(frozen=True)
class ClientConfig:
    """What the client needs to know; built by the monitor from its NetworkSettings."""

    contact_url: str = "https://github.com/mention-monitor/mention-monitor"
    timeout_seconds: float = 20.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    allow_private: tuple[str, ...] = ()
    per_host_interval_seconds: float = 1.0
    # Hosts that ask for a longer gap than the default (GDELT: one call every 5 seconds).
    host_intervals: tuple[tuple[str, float], ...] = (("api.gdeltproject.org", 5.0),)
    robots_cache_seconds: float = 24 * 3600
    max_backoff_seconds: float = 48 * 3600

    @property
    def user_agent(self) -> str:
        return f"{PRODUCT} (+{self.contact_url})"


@dataclass(frozen=True)
class Response:
    url: str  # the final URL, after redirects
    status: int
    headers: Mapping[str, str]
    content: bytes
    elapsed: float
    etag: str | None = None
    last_modified: str | None = None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The Content-Type charset parameter, if the server sent one."""
        for param in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
        return None


@dataclass(frozen=True)
class NotModified:
    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class RawResponse:
    """One hop's answer exactly as received (`GuardedClient.fetch_raw`): no redirect followed,
    no status raised, the body still in its Content-Encoding. For evidence (WARC records)."""

    url: str
    status: int
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]  # as sent, in order, repeats kept
    body: bytes  # the raw bytes of the body, still compressed if the server compressed it
    request_headers: tuple[tuple[str, str], ...]  # what we sent

    def header(self, name: str) -> str | None:
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None


# --- the error family lives in sources/errors.py; httpx errors are mapped to it at this boundary

# --- pure helpers --------------------------------------------------------------------------------


def parse_retry_after(
    value: str | None, *, cap: float = 48 * 3600, now: datetime | None = None
) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date), capped at `cap`;
    None when absent or unreadable. A date in the past means 0."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if text.isdigit():
        return min(float(text), cap)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # HTTP dates are GMT
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(delta, 0.0), cap)


def backoff_seconds(
    consecutive_errors: int,
    *,
    base: float = 60.0,
    cap: float = 48 * 3600,
    rng: Callable[[], float] = random.random,
) -> float:
    """How long to wait after `consecutive_errors` failures in a row: base * 2^(n-1), capped,
    with "equal jitter" (between half and all of it) so that sources failing together spread
    out without ever retrying at once. 0 when there were no errors."""
    if consecutive_errors <= 0:
        return 0.0
    full = min(cap, base * 2.0 ** min(consecutive_errors - 1, 60))
    return full / 2 + rng() * full / 2


# --- the connection layer: checked addresses, one deadline ---------------------------------------

# The deadline (time.monotonic) of the request running in this thread; streams read it on every
# call, so a pooled connection reused by a later request obeys that request's deadline.
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "guarded_deadline", default=None
)


def _clamp(timeout: float | None, exc: type[Exception]) -> float | None:
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise exc("the total deadline passed")
    return left if timeout is None else min(timeout, left)


class _Refusal(Exception):
    """Raised inside the connection layer; becomes FetchRefused at the boundary."""

    def __init__(self, host: str, address: IPAddress, problem: AddressProblem) -> None:
        super().__init__(str(problem))
        self.host = host
        self.address = address
        self.problem = problem

    def reason(self) -> str:
        try:
            named = ipaddress.ip_address(self.host.strip("[]")) != self.address
        except ValueError:
            named = True
        where = f"{self.host} resolves to {self.address}; " if named else ""
        # Intranet feeds are a real need; metadata, multicast and reserved addresses are not.
        hint = (
            " (to allow it, add it to network.allow_private)"
            if self.problem.category in ("loopback", "private", "shared")
            else ""
        )
        return f"refused: {where}{self.problem}{hint}"


class _ResolveFailed(Exception):
    """The host name could not be resolved; becomes ConnectFailed at the boundary."""


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every operation ends by the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _clamp(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _clamp(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(
            ssl_context, server_hostname, _clamp(timeout, httpcore.ConnectTimeout)
        )
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves once, refuses unless every address passes, connects only to checked addresses."""

    def __init__(
        self, resolver: Resolver, allow: tuple[IPNetwork, ...], dns_pool: ThreadPoolExecutor
    ) -> None:
        self._inner = httpcore.SyncBackend()
        self._resolver = resolver
        self._allow = allow
        self._dns = dns_pool

    def checked_addresses(self, host: str, port: int) -> list[IPAddress]:
        host = host.strip("[]")
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses: list[IPAddress] = [literal]
        else:
            addresses = self._resolve(host, port)
        for addr in addresses:
            problem = address_problem(addr, self._allow)
            if problem is not None:
                raise _Refusal(host, addr, problem)
        return addresses

    def _resolve(self, host: str, port: int) -> list[IPAddress]:
        # getaddrinfo cannot be interrupted, so it runs in a pool thread and we stop waiting
        # for it at the deadline.
        wait = _clamp(None, httpcore.ConnectTimeout)
        future = self._dns.submit(self._resolver, host, port)
        try:
            found = future.result(timeout=wait)
        except FutureTimeout:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from None
        except (OSError, UnicodeError) as exc:
            raise _ResolveFailed(f"could not find the server {host} ({exc})") from None
        out: list[IPAddress] = []
        for text in found:
            try:
                addr = ipaddress.ip_address(text)
            except ValueError:
                raise _ResolveFailed(
                    f"{host} resolved to something that is not an address"
                ) from None
            if addr not in out:
                out.append(addr)
        if not out:
            raise _ResolveFailed(f"could not find the server {host} (no addresses)")
        return out

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        last: Exception | None = None
        for addr in self.checked_addresses(host, port):
            try:
                stream = self._inner.connect_tcp(
                    str(addr),
                    port,
                    timeout=_clamp(timeout, httpcore.ConnectTimeout),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except httpcore.ConnectError as exc:
                last = exc
                continue
            return _DeadlineStream(stream)
        assert last is not None
        raise last

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("unix sockets are not used by the guarded client")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport over a connection pool that uses the guarded backend."""

    def __init__(self, backend: _GuardedBackend) -> None:
        ssl_context = httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=ssl_context, trust_env=False, retries=0)
        # HTTPTransport builds its own pool and takes no backend; replace it (same arguments).
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            http1=True,
            http2=False,
            retries=0,
            network_backend=backend,
        )


# --- politeness ---------------------------------------------------------------------------------


class _Deadline(Exception):
    pass


@dataclass
class _HostSlot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    last_done: float = float("-inf")
    hold_until: float = float("-inf")  # a 429/503 Retry-After from this host
    hold_status: int = 0


class _HostGate:
    """At most one request in flight per host, and a minimum interval between them."""

    def __init__(self, interval: float, per_host: Mapping[str, float] | None = None) -> None:
        self.interval = interval
        self.per_host = {h.lower(): max(interval, v) for h, v in (per_host or {}).items()}
        self._slots: dict[str, _HostSlot] = {}
        self._lock = threading.Lock()

    def slot_for(self, host: str) -> _HostSlot:
        with self._lock:
            return self._slots.setdefault(host, _HostSlot())

    @contextmanager
    def turn(self, host: str, deadline: float) -> Iterator[_HostSlot]:
        slot = self.slot_for(host)
        left = deadline - time.monotonic()
        if left <= 0 or not slot.lock.acquire(timeout=left):
            raise _Deadline(f"another request to {host} did not finish in time")
        try:
            gap = self.per_host.get(host.lower(), self.interval)
            wait = slot.last_done + gap - time.monotonic()
            if wait > 0:
                if time.monotonic() + wait >= deadline:
                    raise _Deadline(f"waiting {wait:.1f} s between requests to {host}")
                time.sleep(wait)
            yield slot
        finally:
            slot.last_done = time.monotonic()
            slot.lock.release()


# --- the body ------------------------------------------------------------------------------------

_STEP = 64 * 1024  # decompress at most this much per step, so memory stays bounded


class _Decoder:
    """One Content-Encoding layer (gzip or deflate), producing output in bounded steps."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._raw_fallback = encoding == "deflate"  # some servers send raw deflate
        self._d = self._new()
        self._started = False

    def _new(self) -> Any:
        return zlib.decompressobj(31 if self.encoding == "gzip" else 15)

    def feed(self, data: bytes) -> Iterator[bytes]:
        while True:
            try:
                out = self._d.decompress(data, _STEP)
            except zlib.error:
                if self._raw_fallback and not self._started:
                    self._raw_fallback = False
                    self._d = zlib.decompressobj(-15)
                    out = self._d.decompress(data, _STEP)
                else:
                    raise
            self._started = True
            if out:
                yield out
            if self._d.eof:
                rest = self._d.unused_data
                if self.encoding == "gzip" and rest.strip(b"\x00"):
                    self._d = self._new()  # a further gzip member
                    data = rest
                    continue
                return
            data = self._d.unconsumed_tail
            if not data and not out:
                return

    @property
    def complete(self) -> bool:
        return bool(self._d.eof)


def _encoding_of(headers: httpx.Headers, url: str) -> str | None:
    tokens = [
        t.strip().lower()
        for t in headers.get("content-encoding", "").split(",")
        if t.strip() and t.strip().lower() != "identity"
    ]
    if not tokens:
        return None
    if len(tokens) > 1:
        raise FetchError(f"the server compressed the response twice ({', '.join(tokens)})", url)
    token = {"x-gzip": "gzip"}.get(tokens[0], tokens[0])
    if token not in ("gzip", "deflate"):
        raise FetchError(f"the server used a compression we did not ask for ({token})", url)
    return token


# --- the client ----------------------------------------------------------------------------------


class GuardedClient:
    """One client for the whole process. Thread-safe: one request at a time per host."""

    def __init__(self, config: ClientConfig, *, resolver: Resolver | None = None) -> None:
        self.config = config
        self._allow = parse_allow_list(config.allow_private)
        self._dns = ThreadPoolExecutor(max_workers=8, thread_name_prefix="guarded-dns")
        self._backend = _GuardedBackend(resolver or system_resolver, self._allow, self._dns)
        # trust_env=False and our own transport: proxies from the environment are never used.
        self._client = httpx.Client(
            transport=_GuardedTransport(self._backend),
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(config.timeout_seconds),
        )
        self._gate = _HostGate(config.per_host_interval_seconds, dict(config.host_intervals))
        self._robots = RobotsCache(config.robots_cache_seconds)

    def close(self) -> None:
        self._client.close()
        self._dns.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> GuardedClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- checks --

    def _target(self, url: str) -> str:
        """The URL's host after the syntax checks, or FetchRefused."""
        try:
            return parse_target(url).host
        except UnsafeURL as exc:
            raise FetchRefused(f"refused: {exc.reason}", url, rule=exc.category) from None

    def check_url(self, url: str) -> None:
        """Raise FetchRefused unless `url` may be fetched (syntax, then every address the host
        resolves to now); ConnectFailed when the name does not resolve. The connection itself is
        checked again when it is made."""
        try:
            target = parse_target(url)
        except UnsafeURL as exc:
            raise FetchRefused(f"refused: {exc.reason}", url, rule=exc.category) from None
        token = _DEADLINE.set(time.monotonic() + self.config.timeout_seconds)
        try:
            self._backend.checked_addresses(target.host, target.port)
        except _Refusal as exc:
            raise self._refused(exc, url) from None
        except _ResolveFailed as exc:
            raise ConnectFailed(str(exc), url) from None
        except httpcore.TimeoutException:
            raise FetchTimeout(f"resolving {target.host} took too long", url) from None
        finally:
            _DEADLINE.reset(token)

    def _refused(self, exc: _Refusal, url: str) -> FetchRefused:
        return FetchRefused(exc.reason(), url, rule=exc.problem.category)

    # -- requests --

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
        respect_robots: bool = False,
        max_body_bytes: int | None = None,
    ) -> Response | NotModified:
        """GET `url`. `respect_robots=True` for search/API endpoints (not for subscribed feeds)."""
        return self.request(
            "GET",
            url,
            etag=etag,
            last_modified=last_modified,
            headers=headers,
            respect_robots=respect_robots,
            max_body_bytes=max_body_bytes,
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        headers: Mapping[str, str] | None = None,
        json: object | None = None,
        respect_robots: bool = False,
        max_body_bytes: int | None = None,
    ) -> Response | NotModified:
        start = time.monotonic()
        deadline = start + self.config.timeout_seconds
        token = _DEADLINE.set(deadline)
        try:
            return self._run(
                method,
                url,
                start=start,
                deadline=deadline,
                etag=etag,
                last_modified=last_modified,
                headers=headers,
                json=json,
                respect_robots=respect_robots,
                cap=max_body_bytes or self.config.max_body_bytes,
            )
        finally:
            _DEADLINE.reset(token)

    def _headers(
        self, etag: str | None, last_modified: str | None, extra: Mapping[str, str] | None
    ) -> dict[str, str]:
        out = {"User-Agent": self.config.user_agent}
        for k, v in (extra or {}).items():
            if k.lower() not in ("host", "accept-encoding"):
                out[k] = v
        # We decompress ourselves, with a cap; only encodings we can bound are accepted.
        out["Accept-Encoding"] = "gzip, deflate"
        if etag:
            out["If-None-Match"] = etag
        if last_modified:
            out["If-Modified-Since"] = last_modified
        return out

    def _timeout(self, url: str) -> FetchTimeout:
        limit = self.config.timeout_seconds
        return FetchTimeout(f"no complete answer within {limit:g} s (network.timeout_seconds)", url)

    def _run(
        self,
        method: str,
        url: str,
        *,
        start: float,
        deadline: float,
        etag: str | None,
        last_modified: str | None,
        headers: Mapping[str, str] | None,
        json: object | None,
        respect_robots: bool,
        cap: int,
    ) -> Response | NotModified:
        self._target(url)
        try:
            req = self._client.build_request(
                method, url, headers=self._headers(etag, last_modified, headers), json=json
            )
        except httpx.InvalidURL as exc:
            raise FetchRefused(
                f"refused: the URL cannot be used ({exc})", url, rule="syntax"
            ) from None
        seen = {str(req.url)}
        redirects = 0
        while True:
            hop = str(req.url)
            try:
                host = self._target(hop)
                if respect_robots:
                    self._check_robots(hop, url, deadline)
                with self._gate.turn(host, deadline) as slot:
                    outcome = self._hop(req, slot, url, cap, deadline, start, etag, last_modified)
            except _Deadline as exc:
                raise FetchTimeout(
                    f"no answer within {self.config.timeout_seconds:g} s: {exc}", url
                ) from None
            except FetchRefused as exc:
                if redirects:  # say where the redirect led; the error is about the asked URL
                    exc.reason = f"refused: redirected to {hop}; " + exc.reason.removeprefix(
                        "refused: "
                    )
                exc.url = url
                raise
            if not isinstance(outcome, httpx.Request):
                return outcome
            redirects += 1
            if redirects > self.config.max_redirects:
                raise TooManyRedirects(
                    f"more than {self.config.max_redirects} redirects (network.max_redirects)",
                    url,
                )
            nxt = str(outcome.url)
            if nxt in seen:
                raise TooManyRedirects(f"redirect loop: {nxt} was already visited", url)
            seen.add(nxt)
            req = outcome

    def _hop(
        self,
        req: httpx.Request,
        slot: _HostSlot,
        url: str,
        cap: int,
        deadline: float,
        start: float,
        etag: str | None,
        last_modified: str | None,
    ) -> Response | NotModified | httpx.Request:
        """One request/response on one host, inside that host's turn. A redirect returns the
        next request; anything else returns the result or raises."""
        host = req.url.host
        now = time.monotonic()
        if slot.hold_until > now:
            left = slot.hold_until - now
            raise HTTPStatusError(
                f"not sent: {host} answered HTTP {slot.hold_status} recently and asked us to "
                f"wait another {left:.0f} s",
                url,
                retry_after=left,
                status=slot.hold_status,
            )
        resp = self._send(req, url, deadline)
        try:
            if resp.next_request is not None:
                return resp.next_request
            if resp.status_code == 304:
                return NotModified(
                    str(resp.url),
                    resp.headers.get("etag") or etag,
                    resp.headers.get("last-modified") or last_modified,
                )
            if resp.status_code >= 400:
                raise self._status_error(resp, slot, url)
            body = self._read_capped(resp, cap, deadline, url)
        except httpx.HTTPError as exc:
            raise self._map(exc, url, deadline) from None
        finally:
            resp.close()
        return Response(
            url=str(resp.url),
            status=resp.status_code,
            headers={k.lower(): v for k, v in resp.headers.items()},
            content=body,
            elapsed=time.monotonic() - start,
            etag=resp.headers.get("etag"),
            last_modified=resp.headers.get("last-modified"),
        )

    def _status_error(self, resp: httpx.Response, slot: _HostSlot, url: str) -> HTTPStatusError:
        status = resp.status_code
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        reason = f"the server answered HTTP {status} {phrase}".rstrip()
        retry_after = None
        if status in (429, 503):
            retry_after = parse_retry_after(
                resp.headers.get("retry-after"), cap=self.config.max_backoff_seconds
            )
            if retry_after is not None:
                reason += f"; it asked us to wait {retry_after:.0f} s"
                slot.hold_until = time.monotonic() + retry_after
                slot.hold_status = status
        elif status in (401, 403):
            reason += " (the site refuses access to this client)"
        return HTTPStatusError(reason, url, retry_after=retry_after, status=status)

    def _send(self, req: httpx.Request, url: str, deadline: float) -> httpx.Response:
        """Send one request (streamed), with the guard's refusals and httpx's errors mapped."""
        try:
            return self._client.send(req, stream=True)
        except _Refusal as exc:
            raise self._refused(exc, url) from None
        except _ResolveFailed as exc:
            raise ConnectFailed(str(exc), url) from None
        except httpx.HTTPError as exc:
            raise self._map(exc, url, deadline) from None

    def _map(self, exc: httpx.HTTPError, url: str, deadline: float) -> FetchError:
        if isinstance(exc, httpx.TimeoutException) or time.monotonic() >= deadline:
            return self._timeout(url)
        host = exc.request.url.host if _has_request(exc) else ""
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, httpx.ConnectError):
            if "CERTIFICATE" in text.upper() or "SSL" in text.upper():
                return ConnectFailed(
                    f"the TLS certificate of {host} could not be verified ({text})", url
                )
            return ConnectFailed(f"could not connect to {host} ({text})", url)
        if isinstance(exc, httpx.RemoteProtocolError):
            return FetchError(f"{host} sent a response that is not valid HTTP ({text})", url)
        if isinstance(exc, httpx.TransportError):
            return ConnectFailed(f"the connection to {host} broke ({text})", url)
        return FetchError(f"the request failed ({text})", url)

    def _read_capped(self, resp: httpx.Response, cap: int, deadline: float, url: str) -> bytes:
        encoding = _encoding_of(resp.headers, url)
        too_large = ResponseTooLarge(
            f"the response is larger than {cap} bytes (network.max_body_bytes)", url
        )
        declared = resp.headers.get("content-length", "")
        if encoding is None and declared.isdigit() and int(declared) > cap:
            raise too_large
        decoder = _Decoder(encoding) if encoding else None
        body = bytearray()
        raw_total = 0
        try:
            for chunk in resp.iter_raw():
                raw_total += len(chunk)
                if raw_total > cap:
                    raise too_large
                for piece in decoder.feed(chunk) if decoder else (chunk,):
                    body += piece
                    if len(body) > cap:
                        raise too_large
                if time.monotonic() >= deadline:
                    raise self._timeout(url)
        except zlib.error:
            raise FetchError(
                f"the response could not be decompressed (Content-Encoding {encoding})", url
            ) from None
        if decoder is not None and not decoder.complete and raw_total:
            raise FetchError("the compressed response ended early", url)
        return bytes(body)

    # -- one raw hop, for evidence --

    def fetch_raw(
        self,
        url: str,
        *,
        method: str = "GET",
        headers: Mapping[str, str] | None = None,
        max_body_bytes: int | None = None,
    ) -> RawResponse:
        """One request to `url` with `Accept-Encoding: identity`: the same scheme, address and
        port checks, deadline and size cap (counted after decompression when the server
        compresses anyway), but no redirect is followed and no status is an error, and the body
        comes back as received. Evidence capture (monitor/evidence/) records it byte for byte and
        hands redirects to the browser, which asks again (and is checked again) for the next hop.

        Not behind the per-host gate: one capture is one visit, bounded by its own deadline."""
        if method not in ("GET", "HEAD"):
            raise FetchRefused(f"refused: only GET and HEAD are used here, not {method}", url)
        start = time.monotonic()
        deadline = start + self.config.timeout_seconds
        token = _DEADLINE.set(deadline)
        cap = max_body_bytes or self.config.max_body_bytes
        self._target(url)
        sent = {"User-Agent": self.config.user_agent}
        for k, v in (headers or {}).items():
            if k.lower() not in ("host", "accept-encoding", "user-agent"):
                sent[k] = v
        sent["Accept-Encoding"] = "identity"
        try:
            try:
                req = self._client.build_request(method, url, headers=sent)
            except httpx.InvalidURL as exc:
                raise FetchRefused(
                    f"refused: the URL cannot be used ({exc})", url, rule="syntax"
                ) from None
            resp = self._send(req, url, deadline)
            try:
                raw = bytearray()
                encoding = _encoding_of(resp.headers, url)
                decoder = _Decoder(encoding) if encoding else None
                decoded = 0
                too_large = ResponseTooLarge(
                    f"the response is larger than {cap} bytes (network.max_body_bytes)", url
                )
                for chunk in resp.iter_raw() if method == "GET" else ():
                    raw += chunk
                    if len(raw) > cap:
                        raise too_large
                    for piece in decoder.feed(chunk) if decoder else (chunk,):
                        decoded += len(piece)
                        if decoded > cap:
                            raise too_large
                    if time.monotonic() >= deadline:
                        raise self._timeout(url)
            except zlib.error:
                raise FetchError(
                    f"the response could not be decompressed (Content-Encoding {encoding})", url
                ) from None
            except httpx.HTTPError as exc:
                raise self._map(exc, url, deadline) from None
            finally:
                resp.close()
            version = resp.extensions.get("http_version", b"HTTP/1.1")
            phrase = resp.extensions.get("reason_phrase", b"")
            return RawResponse(
                url=str(resp.url),
                status=resp.status_code,
                reason=phrase.decode("latin-1") if isinstance(phrase, bytes) else str(phrase),
                http_version=version.decode("ascii") if isinstance(version, bytes) else version,
                headers=tuple(
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in resp.headers.raw
                ),
                body=bytes(raw),
                request_headers=tuple(
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in req.headers.raw
                ),
            )
        finally:
            _DEADLINE.reset(token)

    def checked_address(self, host: str, port: int) -> str:
        """The first address `host` resolves to, after every address passed the checks (the
        evidence proxy tunnels CONNECT to exactly this address); FetchRefused otherwise."""
        url = f"https://{host}:{port}/" if ":" not in host else f"https://[{host}]:{port}/"
        try:
            target = parse_target(url)
        except UnsafeURL as exc:
            raise FetchRefused(f"refused: {exc.reason}", url, rule=exc.category) from None
        token = _DEADLINE.set(time.monotonic() + self.config.timeout_seconds)
        try:
            return str(self._backend.checked_addresses(target.host, target.port)[0])
        except _Refusal as exc:
            raise self._refused(exc, url) from None
        except _ResolveFailed as exc:
            raise ConnectFailed(str(exc), url) from None
        except httpcore.TimeoutException:
            raise FetchTimeout(f"resolving {host} took too long", url) from None
        finally:
            _DEADLINE.reset(token)

    # -- robots.txt --

    def _check_robots(self, hop_url: str, url: str, deadline: float) -> None:
        rules = self._robots.rules(hop_url, lambda robots: self._fetch_robots(robots, deadline))
        if not rules.allows(hop_url, ROBOTS_AGENT) and rules.unreadable:
            # RFC 9309: an unreadable robots.txt means "disallowed" for now. That is a passing
            # condition (the site or the network is down), so it is retried, not "blocked".
            raise RobotsUnreadable(
                f"{rules.note} ({rules.origin}); trying again later",
                url,
                retry_after=max(60.0, rules.expires - time.monotonic()),
            )
        if not rules.allows(hop_url, ROBOTS_AGENT):
            raise FetchRefused(
                f"refused: {rules.note} at {rules.origin} does not allow "
                f"{ROBOTS_AGENT} to fetch this address",
                url,
                rule="robots",
            )

    def _fetch_robots(self, robots_url: str, deadline: float) -> RobotsAnswer:
        """robots.txt through the same guard, within the same deadline."""
        try:
            got = self._run(
                "GET",
                robots_url,
                start=time.monotonic(),
                deadline=deadline,
                etag=None,
                last_modified=None,
                headers=None,
                json=None,
                respect_robots=False,
                cap=MAX_ROBOTS_BYTES,
            )
        except HTTPStatusError as exc:
            return RobotsAnswer(exc.status)
        except (FetchRefused, TooManyRedirects):
            return RobotsAnswer(404)  # RFC 9309: treat as unavailable, i.e. no rules
        except FetchError:
            return RobotsAnswer(None)
        if isinstance(got, NotModified):
            return RobotsAnswer(None)
        return RobotsAnswer(got.status, got.content)


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when no request is attached
    except RuntimeError:
        return False
    return True
