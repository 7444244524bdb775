"""Where to report a post, for the mention page (policy 11.2): the platform's own report form or
help page for the platforms we know, and the UK help lines that apply to any post. Pure: a URL
in, typed values out. The links are the platforms' public help pages (checked 2026-12); a
platform that moves one is fixed here, in one table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class ReportLink:
    platform: str  # the platform's name, e.g. "Facebook"
    url: str  # its report form or help page on reporting
    note: str  # one line: how to report there


@dataclass(frozen=True)
class HelpLine:
    name: str
    url: str | None
    phone: str | None
    when: str  # one line: what it is for


@dataclass(frozen=True)
class ReportHelp:
    """What the mention page shows next to "reported to platform"."""

    platform: ReportLink | None  # None when the host is not a platform we know
    uk_help: tuple[HelpLine, ...]


_IN_APP = "Use the post's own Report option first; this page explains the form and appeals."

# (host suffixes, name, report/help URL, note)
_PLATFORMS: tuple[tuple[tuple[str, ...], str, str, str], ...] = (
    (
        ("facebook.com", "fb.com", "fb.watch"),
        "Facebook",
        "https://www.facebook.com/help/1380418588640631",
        _IN_APP,
    ),
    (
        ("instagram.com",),
        "Instagram",
        "https://help.instagram.com/2922067214679225",
        _IN_APP,
    ),
    (
        ("x.com", "twitter.com"),
        "X (Twitter)",
        "https://help.x.com/en/forms/safety-and-sensitive-content",
        "X's safety report form; a post can also be reported from its menu.",
    ),
    (
        ("tiktok.com",),
        "TikTok",
        "https://www.tiktok.com/legal/report/feedback",
        "TikTok's report form; a video can also be reported from its Share menu.",
    ),
    (
        ("youtube.com", "youtu.be"),
        "YouTube",
        "https://support.google.com/youtube/answer/2802027",
        _IN_APP,
    ),
    (
        ("reddit.com", "redd.it"),
        "Reddit",
        "https://support.reddithelp.com/hc/en-us/requests/new",
        "Reddit's help-centre request form; the subreddit's moderators can also remove a post.",
    ),
    (
        ("bsky.app", "bsky.social"),
        "Bluesky",
        "https://bsky.social/about/support/community-guidelines",
        "Report the post from its menu in the app; the guidelines page says what is removed.",
    ),
    (
        ("linkedin.com", "lnkd.in"),
        "LinkedIn",
        "https://www.linkedin.com/help/linkedin/answer/a1344213",
        _IN_APP,
    ),
)

# Mastodon and other fediverse servers run on any host: known by the shape of a post's address.
_FEDIVERSE_POST = re.compile(r"^/(@[^/]+/\d+|users/[^/]+/statuses/\d+|notice/\w+)/?$")

UK_HELP: tuple[HelpLine, ...] = (
    HelpLine(
        "Professionals Online Safety Helpline (POSH)",
        "https://saferinternet.org.uk/professionals-online-safety-helpline",
        "0344 381 4772",
        "Free help for school staff with harmful content about them or their school, "
        "including escalating a report the platform did not act on.",
    ),
    HelpLine(
        "Report Harmful Content",
        "https://reportharmfulcontent.com/",
        None,
        "The UK service for reporting legal but harmful content after a platform report failed.",
    ),
    HelpLine(
        "Police (non-emergency): 101",
        "https://www.police.uk/",
        "101",
        "Threats, harassment or hate crime that is not an immediate danger.",
    ),
    HelpLine(
        "Police (emergency): 999",
        None,
        "999",
        "Call 999 if anyone is in immediate danger.",
    ),
)


def _host(url: str) -> str:
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    return host.lower().rstrip(".")


def platform_for(url: str | None, source_kind: str | None = None) -> ReportLink | None:
    """The platform a post's URL belongs to, with its report link; None when not known.

    `source_kind` (the collector that found it: "mastodon", "lemmy", …) helps with fediverse
    servers, whose host names are anyone's."""
    if not url:
        return None
    host = _host(url)
    for suffixes, name, link, note in _PLATFORMS:
        if any(host == s or host.endswith("." + s) for s in suffixes):
            return ReportLink(name, link, note)
    path = urlsplit(url).path if host else ""
    if host and (source_kind in ("mastodon", "lemmy") or _FEDIVERSE_POST.match(path)):
        return ReportLink(
            f"Mastodon / fediverse server {host}",
            f"https://{host}/about",
            "Report the post from its menu on that server: the report goes to the server's own "
            "moderators, whose contact and rules are on its About page.",
        )
    return None


def report_help(url: str | None, source_kind: str | None = None) -> ReportHelp:
    """The platform's report link (if known) and the UK help lines, for a mention's URL."""
    return ReportHelp(platform_for(url, source_kind), UK_HELP)


__all__ = ["UK_HELP", "HelpLine", "ReportHelp", "ReportLink", "platform_for", "report_help"]
