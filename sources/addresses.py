"""Pure SSRF checks: which URLs may be fetched and which IP addresses may be connected to.

`parse_target` turns a URL into the scheme, host and port the client will use, or refuses it
(scheme, user info, odd characters, unusual IP spellings, ports other protocols use).
`address_problem` says why an IP address must not be connected to, or None when it is a public
address (or on the configured allow-list). Wrappers that embed an IPv4 address in IPv6
(IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) are judged by the address they carry.

Nothing here does I/O: resolving names and connecting is sources/http.py's job, and it calls
`address_problem` on the very address it is about to connect to.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https")
MAX_URL_LENGTH = 8192

# Ports browsers refuse for HTTP (the Fetch standard's "bad ports"): talking HTTP to a mail,
# SSH or IRC server is how request forgery reaches services that are not web servers.
BAD_PORTS = frozenset(
    {
        0, 1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95,
        101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161,
        179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563,
        587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060,
        5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
    }
)  # fmt: skip


@dataclass(frozen=True)
class Rule:
    """A refused address range: `category` is a stable word, `description` is for people."""

    network: IPNetwork
    category: str
    description: str


def _rules(rows: Iterable[tuple[str, str, str]]) -> tuple[Rule, ...]:
    return tuple(Rule(ipaddress.ip_network(net), cat, desc) for net, cat, desc in rows)


LOOPBACK = "a loopback address (this machine)"
PRIVATE = "a private network address"
LINK_LOCAL = "a link-local address (this includes cloud metadata services)"
RESERVED = "a reserved or special-purpose address"

# IANA IPv4 special-purpose registry, plus multicast and the old class E space.
IPV4_RULES = _rules(
    [
        ("0.0.0.0/8", "unspecified", "the 'this network' range, which reaches this machine"),
        ("10.0.0.0/8", "private", PRIVATE + " (RFC 1918)"),
        ("100.64.0.0/10", "shared", "a carrier-grade NAT shared address (RFC 6598)"),
        ("127.0.0.0/8", "loopback", LOOPBACK),
        ("169.254.0.0/16", "link-local", LINK_LOCAL),
        ("172.16.0.0/12", "private", PRIVATE + " (RFC 1918)"),
        ("192.0.0.0/24", "reserved", RESERVED + " (IETF protocol assignments)"),
        ("192.0.2.0/24", "reserved", RESERVED + " (documentation)"),
        ("192.88.99.0/24", "reserved", RESERVED + " (6to4 relay anycast)"),
        ("192.168.0.0/16", "private", PRIVATE + " (RFC 1918)"),
        ("198.18.0.0/15", "reserved", RESERVED + " (benchmarking)"),
        ("198.51.100.0/24", "reserved", RESERVED + " (documentation)"),
        ("203.0.113.0/24", "reserved", RESERVED + " (documentation)"),
        ("224.0.0.0/4", "multicast", "a multicast address"),
        ("240.0.0.0/4", "reserved", RESERVED + " (future use and broadcast)"),
    ]
)

# IPv6: everything outside 2000::/3 (global unicast) is refused; inside it, these ranges too.
IPV6_RULES = _rules(
    [
        ("::/128", "unspecified", "the unspecified address, which reaches this machine"),
        ("::1/128", "loopback", LOOPBACK),
        ("64:ff9b:1::/48", "private", PRIVATE + " (local-use NAT64)"),
        ("100::/64", "reserved", RESERVED + " (discard-only)"),
        ("2001:2::/48", "reserved", RESERVED + " (benchmarking)"),
        ("2001:10::/28", "reserved", RESERVED + " (ORCHID)"),
        ("2001:20::/28", "reserved", RESERVED + " (ORCHIDv2)"),
        ("2001:db8::/32", "reserved", RESERVED + " (documentation)"),
        ("3fff::/20", "reserved", RESERVED + " (documentation)"),
        ("fc00::/7", "private", PRIVATE + " (unique local)"),
        ("fe80::/10", "link-local", LINK_LOCAL),
        ("fec0::/10", "private", PRIVATE + " (site-local)"),
        ("ff00::/8", "multicast", "a multicast address"),
    ]
)
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_6TO4 = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")


@dataclass(frozen=True)
class AddressProblem:
    """Why an address is refused. `category`: loopback, private, link-local, shared,
    unspecified, multicast or reserved."""

    address: IPAddress
    category: str
    description: str
    via: str = ""  # e.g. "IPv4-mapped IPv6 address ::ffff:7f00:1" when a wrapper carried it

    def __str__(self) -> str:
        if self.via:
            return f"{self.via} carries {self.address}, which is {self.description}"
        return f"{self.address} is {self.description}"


def embedded_ipv4(addr: ipaddress.IPv6Address) -> tuple[list[ipaddress.IPv4Address], str] | None:
    """The IPv4 address(es) an IPv6 wrapper carries, and the wrapper's name; None if not one."""
    if addr in _MAPPED:
        return [ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)], "IPv4-mapped IPv6 address"
    if addr in _NAT64:
        return [ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)], "NAT64 IPv6 address"
    if addr in _COMPATIBLE and int(addr) > 1:
        return [ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)], "IPv4-compatible IPv6 address"
    if addr in _6TO4:
        return [ipaddress.IPv4Address((int(addr) >> 80) & 0xFFFFFFFF)], "6to4 IPv6 address"
    if addr in _TEREDO:
        server, client = addr.teredo or (None, None)
        assert server is not None and client is not None
        return [server, client], "Teredo IPv6 address"
    return None


def _rule_for(addr: IPAddress) -> Rule | None:
    rules = IPV4_RULES if addr.version == 4 else IPV6_RULES
    for rule in rules:
        if addr in rule.network:
            return rule
    return None


def classify(addr: IPAddress) -> AddressProblem | None:
    """Why `addr` is not a public address, or None when it is. Ignores any allow-list."""
    if isinstance(addr, ipaddress.IPv6Address) and addr.scope_id:
        addr = ipaddress.IPv6Address(addr.compressed.split("%")[0])
    rule = _rule_for(addr)
    if rule is not None:
        return AddressProblem(addr, rule.category, rule.description)
    if isinstance(addr, ipaddress.IPv6Address):
        wrapped = embedded_ipv4(addr)
        if wrapped is not None:
            inner, kind = wrapped
            for v4 in inner:
                problem = classify(v4)
                if problem is not None:
                    return AddressProblem(
                        v4, problem.category, problem.description, f"{kind} {addr}"
                    )
            return None
        if addr not in _GLOBAL_UNICAST:
            return AddressProblem(addr, "reserved", RESERVED + " (outside global unicast)")
    return None


def parse_allow_list(entries: Iterable[str]) -> tuple[IPNetwork, ...]:
    """Addresses or CIDR ranges ("127.0.0.1", "10.20.0.0/16"); ValueError names a bad one."""
    out: list[IPNetwork] = []
    for entry in entries:
        text = entry.strip()
        try:
            out.append(ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(
                f"{entry!r} is not an IP address or range (write e.g. 127.0.0.1 or 10.0.0.0/8)"
            ) from None
    return tuple(out)


def _allowed(addr: IPAddress, allow: tuple[IPNetwork, ...]) -> bool:
    return any(addr.version == net.version and addr in net for net in allow)


def address_problem(addr: IPAddress, allow: tuple[IPNetwork, ...] = ()) -> AddressProblem | None:
    """Why the client must not connect to `addr`, or None. The allow-list is checked against the
    address itself and against the IPv4 address a wrapper carries."""
    problem = classify(addr)
    if problem is None or _allowed(addr, allow) or _allowed(problem.address, allow):
        return None
    return problem


# --- URLs ---------------------------------------------------------------------------------------


class UnsafeURL(ValueError):
    """The URL is refused before any name is resolved. `category` is a stable word."""

    def __init__(self, reason: str, category: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.category = category


@dataclass(frozen=True)
class Target:
    """What the client will connect to for one URL."""

    scheme: str
    host: str  # lower-case ASCII (IDNA-encoded) name, or an IP literal without brackets
    port: int
    literal: IPAddress | None  # set when the host is written as an IP address


_FORBIDDEN_CHARS = re.compile(r"[\x00-\x20\x7f\\]")
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMBER = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")


def loose_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address a host means under inet_aton / WHATWG rules ("127.1", "0x7f.1",
    "2130706433", "0177.0.0.1"), or None when the host is not numeric in that sense."""
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts = parts[:-1]  # one trailing dot is allowed
    if not 1 <= len(parts) <= 4 or not all(_NUMBER.match(p) for p in parts):
        return None
    values: list[int] = []
    for p in parts:
        if p[:2].lower() == "0x":
            values.append(int(p[2:] or "0", 16))
        elif len(p) > 1 and p.startswith("0"):
            if not all(c in "01234567" for c in p):
                return None
            values.append(int(p, 8))
        else:
            values.append(int(p))
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = last
    for i, v in enumerate(head):
        number += v << (24 - 8 * i)
    return ipaddress.IPv4Address(number)


def _looks_numeric(host: str) -> bool:
    """WHATWG "ends in a number": such a host is an IPv4 address, never a DNS name."""
    parts = host.rstrip(".").split(".") if host not in (".", "") else [""]
    return bool(_NUMBER.match(parts[-1]))


def parse_target(url: str) -> Target:
    """Scheme, host and port for `url`, or UnsafeURL saying why it is refused."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeURL(f"the URL is longer than {MAX_URL_LENGTH} characters", "syntax")
    if _FORBIDDEN_CHARS.search(url):
        raise UnsafeURL("the URL contains spaces, control characters or backslashes", "syntax")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURL(f"the URL cannot be read ({exc})", "syntax") from None
    scheme = parts.scheme.lower()
    if scheme not in SCHEMES:
        shown = scheme or "(none)"
        raise UnsafeURL(f"scheme {shown!r} is not allowed (only http and https)", "scheme")
    if "@" in parts.netloc:
        raise UnsafeURL("the URL contains a user name or password", "userinfo")
    raw_host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    if raw_host.startswith("["):
        host = raw_host[1 : raw_host.find("]")] if "]" in raw_host else ""
        if "%" in host:
            raise UnsafeURL("IPv6 zone identifiers are not allowed in URLs", "syntax")
        try:
            literal: IPAddress | None = ipaddress.IPv6Address(host)
        except ValueError:
            raise UnsafeURL(f"[{host}] is not a valid IPv6 address", "syntax") from None
        assert literal is not None
        host = literal.compressed
    else:
        host = parts.hostname or ""
        if not host:
            raise UnsafeURL("the URL has no host name", "syntax")
        if "%" in host:
            raise UnsafeURL("the host name contains '%' escapes", "syntax")
        if not host.isascii():
            try:
                host = idna.encode(host.lower()).decode("ascii")
            except (idna.IDNAError, UnicodeError):
                raise UnsafeURL(
                    f"{host!r} is not a valid internationalised domain name", "syntax"
                ) from None
        host = host.lower()
        literal = None
        if _looks_numeric(host):
            loose = loose_ipv4(host)
            if loose is None:
                raise UnsafeURL(f"{host!r} is not a valid IPv4 address", "syntax")
            if str(loose) != host:
                raise UnsafeURL(
                    f"{host!r} is an unusual way of writing the IP address {loose}; "
                    "write addresses in the usual dotted form",
                    "ip-spelling",
                )
            literal = loose
        elif host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
            # RFC 6761: these names always mean this machine, whatever a resolver says.
            raise UnsafeURL(f"{host!r} always means this machine (loopback)", "loopback")
        else:
            labels = host[:-1].split(".") if host.endswith(".") else host.split(".")
            if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
                raise UnsafeURL(f"{host!r} is not a valid host name", "syntax")
    if port is None:
        port = 443 if scheme == "https" else 80
    if port == 0 or port in BAD_PORTS:
        raise UnsafeURL(
            f"port {port} belongs to another protocol (mail, SSH, ...), not to web servers",
            "port",
        )
    return Target(scheme=scheme, host=host, port=port, literal=literal)
