"""Turns one notice and its envelope into an email: plain text and HTML, CSS inlined.

Pure (templates are package data). Mention text arrives already redacted: it is redacted once,
where notice content is built (`alerts.rules.clean_text`, see monitor/scoring/pii.py), not again
here. Safety rules kept here, whatever the caller did before: every piece of text is made one line
and sanitised with nh3 before it reaches HTML; links are http(s) only; no remote images; header
values are single lines with encoded-word openers broken, so a hostile title can never add a
header, and our own headers are written by `alerts.headers` (one clean line each, unfolded).
"""

from __future__ import annotations

import html
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache, lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import css_inline
import jinja2
import nh3
from markupsafe import Markup

from alerts import headers
from alerts.notice import (
    BreachReminderContent,
    ConfirmContent,
    DigestContent,
    Envelope,
    Notice,
    ProviderContent,
    SigninContent,
    UrgentContent,
)
from alerts.rules import one_line, safe_url, shorten

SENDER_NAME = "Mention Monitor"
SUBJECT_TITLE_CHARS = 70


def header_text(text: str, limit: int = 200) -> str:
    """A header-safe single line: no CR/LF or other controls, and no `=?` that a mail client
    could read as the start of an encoded word."""
    return shorten(one_line(text).replace("=?", "= ?").replace("?=", "? ="), limit)


def subject_for(notice: Notice) -> str:
    c = notice.content
    name = notice.academy_name
    if isinstance(c, UrgentContent):
        what = ", ".join(f.key.replace("_", " ") for f in c.mention.found) or "urgent mention"
        title = shorten(one_line(c.mention.title), SUBJECT_TITLE_CHARS)  # redacted already
        subject = f"Urgent: {what} — {name}: {title}"
    elif isinstance(c, ProviderContent):
        what = ", ".join(f.key.replace("_", " ") for f in c.found)
        subject = f"Possible {what} at {name}: incident {c.reference}"
    elif isinstance(c, DigestContent):
        d = c.digest_date
        count = "nothing found" if c.total == 0 else f"{c.total} mention{'s' * (c.total != 1)}"
        subject = f"Daily digest for {name}, {d:%a} {d.day} {d:%b %Y}: {count}"
    elif isinstance(c, SigninContent):
        subject = "Your sign-in link for Mention Monitor"
    elif isinstance(c, BreachReminderContent):
        subject = f"Breach decision due within 24 hours: incident {c.incident_id} at {name}"
    else:
        subject = "Please confirm: breach notifications from Mention Monitor"
    return header_text(subject)


def local_time(dt: datetime | None, tz: str) -> str:
    """E.g. 'Saturday 28 November 2026 at 14:05 (UK time)'."""
    if dt is None:
        return "unknown"
    local = dt.astimezone(ZoneInfo(tz))
    zone = "UK time" if tz == "Europe/London" else tz
    return f"{local:%A} {local.day} {local:%B %Y} at {local:%H:%M} ({zone})"


def short_time(dt: datetime, tz: str) -> str:
    """E.g. 'Sat 28 Nov 14:05'."""
    local = dt.astimezone(ZoneInfo(tz))
    return f"{local:%a} {local.day} {local:%b %H:%M}"


@lru_cache(maxsize=4096)
def _sanitised(value: str) -> str:
    """One line, every tag stripped by nh3 and the rest HTML-escaped (the text was redacted when
    the notice was built). Cached: the plain and HTML parts ask for the same strings."""
    return nh3.clean(shorten(one_line(value), 10_000), tags=set())


def _html_text(value: object) -> Markup:
    return Markup(_sanitised(str(value)))  # noqa: S704 - nh3 output is escaped and tag-free


def _plain_text(value: object) -> str:
    return html.unescape(_sanitised(str(value)))


def _href(value: object) -> str:
    return safe_url(str(value) if value else None) or ""


@cache
def _env(autoescape: bool) -> jinja2.Environment:
    # The plain-text templates are not HTML: escaping would corrupt them. Mention text in them
    # still goes through the `m` filter (one line, tags stripped).
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("alerts", "templates"),
        autoescape=autoescape,  # noqa: S701
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["m"] = _html_text if autoescape else _plain_text
    env.filters["href"] = _href
    return env


def _template_name(notice: Notice) -> str:
    c = notice.content
    if isinstance(c, UrgentContent):
        return "urgent"
    if isinstance(c, ProviderContent):
        return "provider"
    if isinstance(c, DigestContent):
        return "digest"
    if isinstance(c, ConfirmContent):
        return "confirm"
    if isinstance(c, SigninContent):
        return "signin"
    if isinstance(c, BreachReminderContent):
        return "breach_reminder"
    raise TypeError(f"unknown notice content {type(c).__name__}")


def render_parts(notice: Notice, envelope: Envelope) -> tuple[str, str]:
    """(plain text, HTML with CSS inlined)."""
    name = _template_name(notice)
    tz = envelope.timezone
    ctx: dict[str, Any] = {
        "n": notice,
        "c": notice.content,
        "academy": notice.academy_name,
        "unsubscribe_url": _href(envelope.unsubscribe_url),
        "t": lambda dt: local_time(dt, tz),
        "ts": lambda dt: short_time(dt, tz),
        "subject": subject_for(notice),
    }
    text = _env(False).get_template(f"{name}.txt").render(ctx)
    page = _env(True).get_template(f"{name}.html").render(ctx)
    inlined = css_inline.inline(page, load_remote_stylesheets=False, keep_link_tags=False)
    return text, inlined


def render(notice: Notice, envelope: Envelope) -> EmailMessage:
    """The complete message, headers included, ready for any transport."""
    text, page = render_parts(notice, envelope)
    msg = EmailMessage()
    sender = Address(SENDER_NAME, addr_spec=envelope.sender)
    msg["From"] = sender
    msg["To"] = Address(addr_spec=notice.recipient)
    # Our own headers fold themselves (alerts.headers): the SMTP policy's refolding encoded the
    # unsubscribe URL and could start a subject with a blank folded line.
    msg["Subject"] = headers.unstructured("Subject", subject_for(notice))
    msg["Date"] = format_datetime(envelope.date)
    msg["Message-ID"] = envelope.message_id
    msg["Auto-Submitted"] = headers.verbatim("Auto-Submitted", "auto-generated")
    unsubscribe = _href(envelope.unsubscribe_url)
    try:
        # RFC 2369 and RFC 8058 one-click: a POST to this URL unsubscribes; mail programs show a
        # button. Exactly "<https://…>" on one line, or the button does not appear.
        one_click = (
            headers.verbatim("List-Unsubscribe", f"<{unsubscribe}>") if unsubscribe else None
        )
    except ValueError:  # a base URL too long for a header line: the link in the body remains
        one_click = None
    if one_click is not None:
        msg["List-Unsubscribe"] = one_click
        msg["List-Unsubscribe-Post"] = headers.verbatim(
            "List-Unsubscribe-Post", "List-Unsubscribe=One-Click"
        )
    msg.set_content(text)
    msg.add_alternative(page, subtype="html")
    return msg
