"""Any web page as a source (forum thread, review page, council page): the `webpage` kind.

The page is fetched (conditionally: ETag / Last-Modified), parsed with BeautifulSoup within the
element and depth budgets of sources/bounded.py (a page over them is a one-line error), and each
post found by `post_selector` (a CSS selector) becomes an item; without a selector the common
shapes are tried (article, reviews, comments, forum posts), else the whole page is one item.
New posts are found by content fingerprint: the cursor keeps the fingerprints of the last 500
posts returned, so a post is returned once, and an edited post is returned again as new text.
The user chose this page, so robots.txt is not consulted; the default interval is an hour.

Cursor: {"seen": [fingerprint, ...]}.
"""

from __future__ import annotations

import hashlib
from itertools import islice
from typing import Any, ClassVar
from urllib.parse import urljoin

import soupsieve
from bs4 import BeautifulSoup, Tag
from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from sources.base import Collected, FeedParseError, RawItem, SourceSpec, SourceState
from sources.bounded import MAX_PAGE_ELEMENTS, page_soup
from sources.http import GuardedClient, NotModified
from sources.searching import as_str, dump_cursor, headline, load_cursor, parse_time, remember

_SEEN = 500
# Tried in order when no post_selector is given; the first that matches at least one element wins.
_GUESSES = (
    "article",
    "[itemprop=review]",
    "[itemtype$='/Review']",
    ".review",
    ".comment",
    ".post",
    "li.message",
)
_MAX_TEXT = 50_000
# Nodes (elements and strings) read across all posts of one page; see _bounded.
_POST_WORK = 4 * MAX_PAGE_ELEMENTS
_AUTHOR_GUESS = "[itemprop=author], .author, .username"


class WebpageOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl
    post_selector: str | None = None  # e.g. "div.post"; default: guessed, else the whole page
    text_selector: str | None = None  # inside a post, e.g. ".post-body"; default: the whole post
    title_selector: str | None = None  # inside a post, e.g. "h3"; default: its first heading
    author_selector: str | None = None  # inside a post; default: common author markup
    date_selector: str | None = "time"  # inside a post: <time datetime=...> or its text
    link_selector: str | None = None  # inside a post: an <a> whose href is the post's address
    max_posts: int = Field(200, ge=1, le=2000)

    @field_validator(
        "post_selector",
        "text_selector",
        "title_selector",
        "author_selector",
        "date_selector",
        "link_selector",
    )
    @classmethod
    def _css(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                soupsieve.compile(v)
            except (soupsieve.SelectorSyntaxError, ValueError) as exc:
                raise ValueError(
                    f"not a CSS selector: {v!r} ({str(exc).splitlines()[0]})"
                ) from None
        return v


def fingerprint(text: str) -> str:
    """The identity of a post's content: its visible text, case and spacing ignored."""
    norm = " ".join(text.casefold().split())
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:32]


def _text(el: Tag) -> str:
    for tag in el(["script", "style", "noscript", "template"]):
        tag.decompose()
    return " ".join(el.get_text(" ").split())


def _first(el: Tag, selector: str | None) -> Tag | None:
    return el.select_one(selector) if selector else None


def _outermost(found: list[Tag]) -> list[Tag]:
    """The matches not inside another match, in linear time (each ancestor is looked at once)."""
    ids = {id(f) for f in found}
    inside: dict[int, bool] = {}  # id(element) -> it is, or lies inside, a match
    out: list[Tag] = []
    for f in found:
        path: list[int] = []
        node, verdict = f.parent, False
        while node is not None:
            key = id(node)
            if key in inside:
                verdict = inside[key]
                break
            if key in ids:
                verdict = True
                break
            path.append(key)
            node = node.parent
        for key in path:
            inside[key] = verdict
        if not verdict:
            out.append(f)
    return out


def _bounded(posts: list[Tag]) -> list[Tag]:
    """The posts, in order, while the nodes they hold add up to the work budget: nested posts
    (a selector matching 200 nested elements) would otherwise read the same subtree 200 times.
    The posts left out lie inside those kept, so their text is read all the same."""
    left = _POST_WORK
    out: list[Tag] = []
    for post in posts:
        size = sum(1 for _ in islice(post.descendants, left + 1))
        if size > left and out:
            break
        left -= size
        out.append(post)
    return out


def _posts(soup: BeautifulSoup, opts: WebpageOptions) -> list[Tag]:
    if opts.post_selector:
        found = soup.select(opts.post_selector)
        if not found:
            raise FeedParseError(
                f"post_selector {opts.post_selector!r} matched nothing on the page "
                "(the page changed, or a login or cookie page was served)"
            )
        return _bounded(found[: opts.max_posts])
    for guess in _GUESSES:
        found = soup.select(guess)
        if found:
            # Nested matches (a comment inside an article) would be read twice: keep outermost.
            return _bounded(_outermost(found)[: opts.max_posts])
    body = soup.find("main") or soup.body or soup
    return [body] if isinstance(body, Tag) else []


def parse_webpage(
    data: bytes, source_key: str, page_url: str, opts: WebpageOptions
) -> list[RawItem]:
    """One item per post on the page (pure: no fetching; links are resolved against page_url)."""
    if not data.strip():
        raise FeedParseError("the page was empty")
    head = data.lstrip()[:1]
    if head in (b"{", b"["):
        raise FeedParseError("the URL returned JSON, not a web page (use a feed or API kind)")
    soup = page_soup(data, "the page")
    page_title = " ".join(soup.title.get_text(" ").split()) if soup.title else ""
    out: list[RawItem] = []
    seen: set[str] = set()
    for post in _posts(soup, opts):
        has_media = post.find(["img", "video", "picture"]) is not None
        title_el = _first(post, opts.title_selector) or post.find(["h1", "h2", "h3", "h4"])
        author_el = _first(post, opts.author_selector or _AUTHOR_GUESS)
        date_el = _first(post, opts.date_selector)
        link_el = _first(post, opts.link_selector)
        title = _text(title_el) if isinstance(title_el, Tag) else ""
        author = _text(author_el) if isinstance(author_el, Tag) else ""
        published = None
        if isinstance(date_el, Tag):
            published = parse_time(as_str(date_el.get("datetime"))) or parse_time(_text(date_el))
        href = as_str(link_el.get("href")) if isinstance(link_el, Tag) else ""
        anchor = as_str(post.get("id"))
        text_el = _first(post, opts.text_selector)
        text = _text(text_el if isinstance(text_el, Tag) else post)
        if not text:
            continue
        fp = fingerprint(text)
        if fp in seen:
            continue
        seen.add(fp)
        if href:
            url = urljoin(page_url, href)
        elif anchor:
            url = f"{page_url.split('#', 1)[0]}#{anchor}"
        else:
            url = page_url
        out.append(
            RawItem(
                source_key=source_key,
                external_id=f"webpage:{page_url}#{fp}"[:500],
                url=url,
                title=(title or headline(text) or page_title)[:1000],
                text=text[:_MAX_TEXT],
                author=author[:200] or None,
                published_at=published,
                has_media=has_media,
            )
        )
    return out


class WebpageCollector:
    """Posts on a page the user chose, each returned once (by content fingerprint)."""

    kind: ClassVar[str] = "webpage"
    options_model: ClassVar[type[BaseModel]] = WebpageOptions
    default_interval_minutes: ClassVar[int] = 60
    description: ClassVar[str] = (
        "Any web page (forum thread, reviews); each post found by CSS selector."
    )

    def collect(self, spec: SourceSpec, state: SourceState, client: GuardedClient) -> Collected:
        opts = spec.options
        assert isinstance(opts, WebpageOptions)
        got = client.get(str(opts.url), etag=state.etag, last_modified=state.last_modified)
        if isinstance(got, NotModified):
            kept = SourceState(got.etag, got.last_modified, state.cursor)
            return Collected(items=(), state=kept, not_modified=True)
        cursor: dict[str, Any] = load_cursor(state.cursor)
        seen_list = [s for s in cursor.get("seen") or [] if isinstance(s, str)]
        seen = set(seen_list)
        items = [
            i
            for i in parse_webpage(got.content, spec.key, got.url, opts)
            if i.external_id.rsplit("#", 1)[-1] not in seen
        ]
        fps = (i.external_id.rsplit("#", 1)[-1] for i in items)
        doc = {"seen": remember(seen_list, fps, limit=_SEEN)}
        return Collected(
            items=tuple(items),
            state=SourceState(got.etag, got.last_modified, dump_cursor(doc)),
        )
