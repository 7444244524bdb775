"""A forwarded email, parsed into a `ForwardedReport`: who sent it, what it says, the links and
images it carries, and who wrote the message it forwards. Untrusted input: imports nothing of
the project.

Handles the forward formats of common mail programs in the text (Gmail "---------- Forwarded
message ---------", Outlook "-----Original Message-----" or a "From: … Sent: …" block, Apple
Mail "Begin forwarded message:", Thunderbird "-------- Forwarded Message --------"), forwards as
message/rfc822 attachments, HTML-only mail (text extracted with BeautifulSoup), inline (cid:)
and attached images, quoted-printable and base64, and any charset Python knows (others are read
as UTF-8 with replacement characters).

Bounded: at most MAX_PARTS MIME parts, MAX_DEPTH nested forwards, MAX_HTML_BYTES of HTML parsed,
MAX_TEXT_CHARS of text kept, MAX_LINKS links, MAX_IMAGES images of at most MAX_IMAGE_BYTES each.
An image is an image when Pillow reads it as PNG, JPEG, GIF or WebP, whatever its name or type
says. What is left out is listed in `ForwardedReport.problems`, never dropped silently.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

MAX_PARTS = 200
MAX_DEPTH = 3
MAX_HTML_BYTES = 2 * 1024 * 1024
MAX_TEXT_CHARS = 100_000
MAX_LINKS = 20
MAX_IMAGES = 10
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_IMAGE_PIXELS = 40_000_000  # a 4000 x 10000 phone screenshot; more is a decompression bomb

_IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


class ForwardParseError(Exception):
    """The message cannot be read within the bounds; one line saying why."""


@dataclass(frozen=True)
class ForwardedImage:
    name: str
    data: bytes
    content_type: str  # from the content, not from the message's claim


@dataclass(frozen=True)
class ForwardedReport:
    """One forwarded message, as the intake needs it."""

    sender: str  # the forwarder's address (lower case), "" if none could be read
    recipients: tuple[str, ...]  # To, Cc, Delivered-To, X-Original-To (lower case)
    subject: str
    message_id: str
    received_at: datetime | None  # the Date header, when valid
    body_text: str
    links: tuple[str, ...]
    images: tuple[ForwardedImage, ...]
    original: bytes
    forwarded_from: str = ""  # who wrote the forwarded message, when a forward header says
    forwarded_date: str = ""
    forwarded_subject: str = ""
    problems: tuple[str, ...] = ()


# --- forward headers in the text ------------------------------------------------------------

_MARKERS = re.compile(
    r"^[>\s]*(?:-{2,}\s*Forwarded message\s*-{2,}"  # Gmail
    r"|-{2,}\s*Original Message\s*-{2,}"  # Outlook
    r"|Begin forwarded message:"  # Apple Mail
    r"|-{2,}\s*Forwarded Message\s*-{2,}"  # Thunderbird
    r"|_{10,})\s*$",  # Outlook's rule above a From/Sent block
    re.IGNORECASE | re.MULTILINE,
)
_HEADER_LINE = re.compile(r"^[>\s]*\*?(From|Sent|Date|Subject|To|Cc)\*?:\s*(.*)$", re.IGNORECASE)
# Outlook without a marker: a "From:" line followed within a few lines by "Sent:".
_OUTLOOK_BLOCK = re.compile(
    r"^[>\s]*From:.*\n(?:.*\n){0,2}[>\s]*Sent:", re.IGNORECASE | re.MULTILINE
)


@dataclass(frozen=True)
class _ForwardHeader:
    sender: str
    date: str
    subject: str


def find_forward_header(text: str) -> _ForwardHeader | None:
    """The From/Date/Subject block of the first forwarded message quoted in `text`."""
    m = _MARKERS.search(text)
    start = m.end() if m else None
    if start is None:
        b = _OUTLOOK_BLOCK.search(text)
        if b is None:
            return None
        start = b.start()
    fields: dict[str, str] = {}
    seen_any = False
    for line in text[start:].splitlines()[:20]:
        if not line.strip(" >"):
            if seen_any:
                break
            continue
        hm = _HEADER_LINE.match(line)
        if hm is None:
            if seen_any:
                break
            continue
        seen_any = True
        key = hm.group(1).lower()
        fields.setdefault("date" if key == "sent" else key, hm.group(2).strip())
    if not fields:
        return None
    return _ForwardHeader(fields.get("from", ""), fields.get("date", ""), fields.get("subject", ""))


# --- text -----------------------------------------------------------------------------------


def _decoded(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        text = payload.decode("utf-8", errors="replace")
    return text.replace("\r\n", "\n")


def html_to_text(html: str) -> str:
    """The readable text of an HTML mail body (scripts, styles and head dropped), bounded."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html[:MAX_HTML_BYTES], "html.parser")
    for tag in soup(["script", "style", "head", "title", "template"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    text = soup.get_text("\n")
    lines = [" ".join(line.split()) for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def _html_links(html: str) -> list[str]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html[:MAX_HTML_BYTES], "html.parser")
    return [str(a.get("href")) for a in soup.find_all("a", href=True)]


_URL = re.compile(r"https?://[^\s<>\"'\]\[]+", re.IGNORECASE)


def _unwrap(url: str) -> str:
    """The real link inside an Outlook Safe Links or Google redirect wrapper."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    query = parse_qs(parts.query)
    if host.endswith("safelinks.protection.outlook.com") and query.get("url"):
        return query["url"][0]
    if host in ("www.google.com", "google.com") and parts.path == "/url":
        for key in ("q", "url"):
            if query.get(key):
                return query[key][0]
    return url


def _trim(url: str) -> str:
    """Sentence punctuation after a link is not part of it; a closing bracket only when unpaired
    (https://en.wikipedia.org/wiki/Foo_(bar) keeps its own)."""
    while True:
        trimmed = url.rstrip(".,;:!?>»'\"")
        if trimmed.endswith(")") and trimmed.count("(") < trimmed.count(")"):
            trimmed = trimmed[:-1]
        if trimmed == url:
            return url
        url = trimmed


def clean_links(candidates: list[str]) -> tuple[str, ...]:
    """http(s) links only, unwrapped, trailing punctuation removed, de-duplicated, at most
    MAX_LINKS, in order of appearance."""
    seen: dict[str, None] = {}
    for raw in candidates:
        url = _trim(raw.strip())
        url = _unwrap(url)
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            continue
        seen.setdefault(url, None)
        if len(seen) >= MAX_LINKS:
            break
    return tuple(seen)


# --- images ---------------------------------------------------------------------------------


def sniff_image(data: bytes) -> str | None:
    """The content type of `data` when Pillow reads it as an allowed image, else None."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                fmt = img.format or ""
                w, h = img.size
                if w * h > MAX_IMAGE_PIXELS:
                    return None
                img.verify()
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        return None
    except (OSError, ValueError, SyntaxError, EOFError):  # what a broken file raises in Pillow
        return None
    return _IMAGE_TYPES.get(fmt)


# --- the message ----------------------------------------------------------------------------


def _addresses(msg: Message, *names: str) -> list[str]:
    values: list[str] = []
    for name in names:
        for v in msg.get_all(name, []) or []:
            values.append(str(v))
    return [addr.lower() for _, addr in getaddresses(values) if "@" in addr]


def _header(msg: Message, name: str) -> str:
    try:
        value = msg.get(name)
    except (ValueError, IndexError, TypeError):  # a malformed header the policy cannot parse
        return ""
    return " ".join(str(value).split()) if value is not None else ""


class _Walk:
    def __init__(self) -> None:
        self.parts = 0
        self.texts: list[str] = []
        self.html_links: list[str] = []
        self.images: list[ForwardedImage] = []
        self.problems: list[str] = []
        self.inner: list[Message] = []

    def body(self, msg: Message) -> None:
        """The text of one message: its plain body, else its HTML body as text."""
        body = msg.get_body(("plain", "html")) if isinstance(msg, EmailMessage) else None
        if body is None:
            return
        text = _decoded(body)
        if body.get_content_type() == "text/html":
            self.html_links += _html_links(text)
            # A plain body sent alongside may be empty (some clients): use the HTML then.
            text = html_to_text(text)
        elif not text.strip():
            html = msg.get_body(("html",)) if isinstance(msg, EmailMessage) else None
            if html is not None:
                raw_html = _decoded(html)
                self.html_links += _html_links(raw_html)
                text = html_to_text(raw_html)
        if text.strip():
            self.texts.append(text.strip())

    def walk(self, part: Message, depth: int) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise ForwardParseError(f"the message has more than {MAX_PARTS} parts")
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            inner_msg = inner[0] if isinstance(inner, list) and inner else None
            if not isinstance(inner_msg, Message):
                return
            if depth >= MAX_DEPTH:
                self.problems.append(f"a forward nested deeper than {MAX_DEPTH} was not read")
                return
            self.inner.append(inner_msg)
            self.body(inner_msg)
            self.walk(inner_msg, depth + 1)
            return
        if part.is_multipart():
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    self.walk(sub, depth)
            return
        self._maybe_image(part)

    def _maybe_image(self, part: Message) -> None:
        ctype = part.get_content_type()
        name = part.get_filename() or ""
        disposition = (part.get_content_disposition() or "").lower()
        looks = ctype.startswith("image/") or (
            disposition == "attachment"
            and (
                ctype == "application/octet-stream"
                or re.search(r"\.(png|jpe?g|gif|webp|heic)$", name, re.I)
            )
        )
        if not looks:
            if disposition == "attachment":
                self.problems.append(f"attachment {name or ctype!r} ignored: not an image")
            return
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes) or not data:
            return
        label = name or (part.get("Content-ID") or "").strip("<> ") or f"image-{len(self.images)}"
        if len(data) > MAX_IMAGE_BYTES:
            self.problems.append(f"image {label!r} ignored: over {MAX_IMAGE_BYTES} bytes")
            return
        sniffed = sniff_image(data)
        if sniffed is None:
            self.problems.append(
                f"image {label!r} ignored: its content is not a PNG, JPEG, GIF or WebP"
            )
            return
        if len(self.images) >= MAX_IMAGES:
            self.problems.append(f"image {label!r} ignored: more than {MAX_IMAGES} images")
            return
        self.images.append(ForwardedImage(label, data, sniffed))


def parse_forwarded(raw: bytes) -> ForwardedReport:
    """Parse one message (as fetched) into a ForwardedReport; ForwardParseError if it cannot be
    read within the bounds."""
    try:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
    except RecursionError:
        raise ForwardParseError("the message is nested too deeply to read") from None
    w = _Walk()
    try:
        w.body(msg)
        w.walk(msg, 0)
    except RecursionError:
        raise ForwardParseError("the message is nested too deeply to read") from None
    text = "\n\n".join(w.texts)
    if len(text) > MAX_TEXT_CHARS:
        w.problems.append(f"text cut at {MAX_TEXT_CHARS} characters")
        text = text[:MAX_TEXT_CHARS]
    fwd = find_forward_header(text)
    fwd_from, fwd_date, fwd_subject = (fwd.sender, fwd.date, fwd.subject) if fwd else ("", "", "")
    if w.inner and not fwd_from:  # a forward as attachment: its own headers say it
        inner = w.inner[0]
        fwd_from, fwd_date = _header(inner, "From"), _header(inner, "Date")
        fwd_subject = _header(inner, "Subject")
    received: datetime | None = None
    try:
        date = _header(msg, "Date")
        received = parsedate_to_datetime(date) if date else None
        if received is not None and received.tzinfo is None:
            received = None
    except (TypeError, ValueError):
        received = None
    senders = _addresses(msg, "From")
    return ForwardedReport(
        sender=senders[0] if senders else "",
        recipients=tuple(
            dict.fromkeys(_addresses(msg, "To", "Cc", "Delivered-To", "X-Original-To"))
        ),
        subject=_header(msg, "Subject"),
        message_id=_header(msg, "Message-ID"),
        received_at=received,
        body_text=text,
        links=clean_links(_URL.findall(text) + w.html_links),
        images=tuple(w.images),
        original=raw,
        forwarded_from=fwd_from,
        forwarded_date=fwd_date,
        forwarded_subject=fwd_subject,
        problems=tuple(w.problems),
    )


__all__ = [
    "ForwardParseError",
    "ForwardedImage",
    "ForwardedReport",
    "clean_links",
    "find_forward_header",
    "html_to_text",
    "parse_forwarded",
    "sniff_image",
]
