"""De-duplication: the identity of an item, so that nothing is stored twice and copies cluster.

Pure: no I/O. Three levels, strongest first:
1. the canonical URL (tracking parameters, fragments, default ports and case differences removed),
   together with the source's own external id;
2. a content fingerprint: a digest of the normalised title and text, for exact copies that arrive
   under other URLs or ids;
3. a 64-bit simhash of the story's body, for syndicated copies (the same article on several sites,
   with another site name after the title or another first or last sentence). The store finds
   candidate clusters through `simhash_bands` (an indexed equality lookup) and confirms them with
   `near_duplicate`.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from monitor.values import RawItem

__all__ = [
    "TRACKING_PARAMS",
    "TRACKING_PREFIXES",
    "SIMHASH_BANDS",
    "SIMHASH_NEAR",
    "Identity",
    "canonical_url",
    "content_fingerprint",
    "simhash",
    "simhash_bands",
    "near_duplicate",
    "hamming",
    "identify",
    "story_title",
]

# Query parameters that only say how a reader arrived (compared case-insensitively).
TRACKING_PREFIXES: tuple[str, ...] = ("utm_", "pk_", "mtm_", "hsa_")
TRACKING_PARAMS: frozenset[str] = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
    "ttclid", "li_fat_id", "igshid", "igsh", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi",
    "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id", "vero_conv", "rb_clickid", "s_cid",
    "ref_src", "ref_url", "cmpid", "ncid", "ocid", "sr_share", "si", "at_medium", "at_campaign",
    "wt_mc", "wt.mc_id", "spm", "__s",
})  # fmt: skip

SIMHASH_BITS = 64
SIMHASH_BANDS = 4  # 4 x 16 bits: copies within 3 bits share at least one whole band
SIMHASH_NEAR = 3
_BAND_BITS = SIMHASH_BITS // SIMHASH_BANDS
_MASK64 = (1 << SIMHASH_BITS) - 1

_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
# Characters left as they are in a path; everything else is percent-encoded.
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


# -- URLs ----------------------------------------------------------------------------------------


def _is_tracking(key: str) -> bool:
    k = key.strip().casefold()
    return k in TRACKING_PARAMS or k.startswith(TRACKING_PREFIXES)


def _pct_normal(m: re.Match[str]) -> str:
    """%7e -> ~ (unreserved characters decoded), %2f -> %2F (hex in capitals)."""
    ch = chr(int(m.group(1), 16))
    return ch if ch in _UNRESERVED else "%" + m.group(1).upper()


def _remove_dot_segments(path: str) -> str:
    out: list[str] = []
    segments = path.split("/")
    for seg in segments:
        if seg == ".":
            continue
        if seg == "..":
            if len(out) > 1:
                out.pop()
            continue
        out.append(seg)
    if segments[-1] in (".", ".."):
        out.append("")  # "/a/b/.." names the folder "/a/"
    return "/".join(out)


def _path(raw: str) -> str:
    path = _PCT.sub(_pct_normal, quote(raw, safe=_PATH_SAFE))
    path = _remove_dot_segments(path) if "." in path else path
    if not path.startswith("/"):
        path = "/" + path
    # One form for "/news/story" and "/news/story/"; the root stays "/".
    path = path.rstrip("/") or "/"
    return path


def canonical_url(url: str | None) -> str | None:
    """One spelling per web address, or None when `url` is missing or not an http(s) URL.

    Lower-case scheme and host; no user name or password, default port, fragment or tracking
    parameter; other query parameters kept, sorted; percent-escapes normalised; no trailing slash
    except for the root. Never raises.
    """
    if not url or not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return None
        host = (parts.hostname or "").rstrip(".")
        if not host or any(c.isspace() or c in '<>"{}|\\^`' for c in host):
            return None
        port = parts.port  # raises ValueError when not a number in range
        if ":" in host:
            host = f"[{host}]"  # IPv6
        netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k and not _is_tracking(k)
        ]
        query.sort()
        q = urlencode(query, quote_via=quote, safe="-._~")
        return urlunsplit((scheme, netloc, _path(parts.path), q, ""))
    except (ValueError, UnicodeError):
        return None


# -- content -------------------------------------------------------------------------------------


def _fold(s: str) -> str:
    decomposed = unicodedata.normalize("NFKD", s)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _words(s: str, keep_symbols: bool = False) -> list[str]:
    """Words of `s`, normalised: no case, diacritics, punctuation (or symbols) or spacing."""
    out = []
    for c in _fold(s):
        cat = unicodedata.category(c)
        if cat[0] in "LN" or (keep_symbols and cat[0] == "S"):
            out.append(c)
        else:
            out.append(" ")
    return "".join(out).split()


def content_fingerprint(title: str, text: str) -> str:
    """Hex SHA-256 of the normalised title and text: equal for exact copies.

    Case, spacing, punctuation, diacritics and Unicode forms do not count. Content that is only
    symbols (a post of emoji) keeps them, so that two such posts do not collide.
    """
    t, x = _words(title or ""), _words(text or "")
    if not t and not x:
        t, x = _words(title or "", keep_symbols=True), _words(text or "", keep_symbols=True)
    payload = " ".join(t) + "\x1f" + " ".join(x)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


_TITLE_SUFFIX = re.compile(r"\s+[-–—|:•·]+\s+(?!.*\s[-–—|:•·]+\s)(?P<site>.+)$")


def story_title(title: str) -> str:
    """The title without a trailing site name: 'Parents protest - Ankermoor Gazette' -> 'Parents
    protest'. Only a short tail after a longer headline counts as a site name."""
    m = _TITLE_SUFFIX.search(title or "")
    if not m:
        return title or ""
    head = title[: m.start()]
    tail_words = len(m.group("site").split())
    head_words = len(head.split())
    if 1 <= tail_words <= 5 and head_words >= 4 and tail_words < head_words:
        return head
    return title


CORE_SENTENCES = 3
MIN_SENTENCE_WORDS = 5
SHORT_STORY_WORDS = 40
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def _body_words(title: str, text: str) -> list[str]:
    """The words that identify a story.

    Syndicated copies differ in their titles and in short lines around the story (a byline,
    "shared from the Ankermoor Gazette", another site's sign-off), rarely in its main sentences.
    So a story is read as its CORE_SENTENCES longest sentences, in their order, leaving out
    sentences much shorter than the longest; a short story also gets its headline (without a
    site name).
    """
    sentences = [w for w in (_words(s) for s in _SENTENCE_END.split(text or "")) if w]
    words: list[str] = []
    if sentences:
        floor = max(MIN_SENTENCE_WORDS, max(len(s) for s in sentences) // 3)
        kept = [i for i, s in enumerate(sentences) if len(s) >= floor] or range(len(sentences))
        ranked = sorted(
            kept,
            # Longest first; equal lengths in an order fixed by their content, not position.
            key=lambda i: (-len(sentences[i]), _feature_hash(" ".join(sentences[i]))),
        )
        words = [w for i in sorted(ranked[:CORE_SENTENCES]) for w in sentences[i]]
    if len(words) >= SHORT_STORY_WORDS:
        return words
    headline = story_title(title)
    site = _words(title[len(headline) :]) if headline != title else []
    if site and words[-len(site) :] == site:
        words = words[: -len(site)]  # "Headline  Ankermoor Gazette" in a news search feed
    return _words(headline) + words


def _feature_hash(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "big")


def _features(words: list[str]) -> Iterable[str]:
    yield from words
    yield from (f"{a} {b}" for a, b in zip(words, words[1:], strict=False))


def simhash(title: str, text: str) -> int:
    """64-bit simhash of the story (words and word pairs), as a signed 64-bit integer.

    Near-identical stories give values a few bits apart (see `near_duplicate`).
    """
    # numpy does the 64 signed sums per feature at once: a Python loop over the bits was the
    # runner's largest single cost after the model (bench/cycle.py). Imported here so that the
    # processes that never hash a story (web, dispatcher) do not load it.
    import numpy as np

    counts = Counter(_features(_body_words(title, text)))
    if not counts:
        return 0
    digests = b"".join(hashlib.blake2b(f.encode("utf-8"), digest_size=8).digest() for f in counts)
    hashes = np.frombuffer(digests, dtype=">u8").astype(np.uint64)  # = _feature_hash, big-endian
    n = np.fromiter(counts.values(), dtype=np.int64, count=len(counts))
    bits = (hashes[:, None] >> np.arange(SIMHASH_BITS, dtype=np.uint64)) & np.uint64(1)
    weights = ((bits.astype(np.int64) * 2 - 1) * n[:, None]).sum(axis=0)
    value = 0
    for bit in np.flatnonzero(weights > 0):
        value |= 1 << int(bit)
    return value - (1 << SIMHASH_BITS) if value >= 1 << (SIMHASH_BITS - 1) else value


def hamming(a: int, b: int) -> int:
    """Bits that differ between two simhashes (signed or unsigned)."""
    return ((a ^ b) & _MASK64).bit_count()


def near_duplicate(a: int, b: int, max_distance: int = SIMHASH_NEAR) -> bool:
    """Whether two simhashes are of the same story."""
    return hamming(a, b) <= max_distance


def simhash_bands(h: int) -> tuple[int, ...]:
    """SIMHASH_BANDS unsigned 16-bit slices of `h`, low bits first.

    Two values within SIMHASH_BANDS - 1 bits of each other share at least one band, so the store
    finds every near-duplicate by looking up equal bands in an index.
    """
    u = h & _MASK64
    mask = (1 << _BAND_BITS) - 1
    return tuple((u >> (i * _BAND_BITS)) & mask for i in range(SIMHASH_BANDS))


# -- items ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """Everything the store compares to decide whether an item is new."""

    canonical_url: str | None
    external_id: str
    fingerprint: str
    simhash: int


def identify(item: RawItem) -> Identity:
    """The identity of one collected item."""
    return Identity(
        canonical_url=canonical_url(item.url),
        external_id=(item.external_id or "").strip(),
        fingerprint=content_fingerprint(item.title, item.text),
        simhash=simhash(item.title, item.text),
    )
