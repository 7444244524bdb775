"""Author handles: one comparable form for the ways people write the same author.

Sources store authors as they show them ("@name.bsky.social", "@user@mastodon.social", "/u/name"
from reddit feeds, "pg" from Hacker News, a byline from a news feed). Someone asking for an
erasure writes a handle with or without "@", or pastes a profile URL. `author_key` maps each of
these to the same key, and the store compares keys on both sides. Pure: no I/O.
"""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

# Hosts whose profile paths name a user without saying which server they are on.
_REDDIT = ("reddit.com", "www.reddit.com", "old.reddit.com", "new.reddit.com")


def _from_url(url: str) -> str:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if host == "news.ycombinator.com":
        return (parse_qs(parts.query).get("id") or [""])[0]
    if host in ("bsky.app", "staging.bsky.app") and len(segments) >= 2:
        return segments[1]  # /profile/<handle>
    if host in _REDDIT and len(segments) >= 2 and segments[0] in ("u", "user"):
        return segments[1]
    if segments and segments[0].startswith("@"):
        user = segments[0][1:]  # Mastodon: /@user (local) or /@user@other.host (remote)
        return user if "@" in user else f"{user}@{host}"
    if len(segments) >= 2 and segments[0] in ("u", "c"):
        return f"{segments[1]}@{host}"  # Lemmy: /u/name
    return segments[-1] if segments else host


def author_key(value: str) -> str:
    """The comparable form of an author: lower case, no "@" or "/u/" in front, a profile URL
    reduced to the handle it names. "" for a blank value."""
    text = value.strip()
    if text.lower().startswith(("http://", "https://")):
        text = _from_url(text)
    text = text.strip().lower()
    for prefix in ("/u/", "u/", "/user/"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text.lstrip("@")
