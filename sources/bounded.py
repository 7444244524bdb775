"""Bounded parsing of what strangers publish: every fetched HTML page, HTML fragment and JSON
document is checked here before a parser builds a tree from it.

A parser's work and memory grow with the number of elements and their nesting, not with bytes:
one million nested `<b>` tags fit in 3 MB (under the body cap) and cost BeautifulSoup a minute
and most of a gigabyte, and 9 MB of `[[[...` makes `json.loads` raise RecursionError. So each
document is pre-scanned with C-speed regular expressions (a count of tags, then the nesting depth
of at most that many tags) and refused with one line (`FeedParseError`) when it is over budget.
The budgets are far above what real pages, feeds and API answers need.

Pure: no I/O.
"""

from __future__ import annotations

import html
import json
import re
import warnings
from array import array
from itertools import accumulate
from typing import Any

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, UnicodeDammit

from sources.base import FeedParseError

# A watched web page: elements BeautifulSoup may build, and how deeply they may nest. Large
# forum threads and review pages have a few thousand elements and nest 20-40 deep.
MAX_PAGE_ELEMENTS = 25_000
MAX_DEPTH = 256
# A whole feed or API answer: markup (raw `<p>` or escaped `&lt;p&gt;`) in all of its items
# together, which feedparser's sanitiser and html_to_text must read.
MAX_DOCUMENT_TAGS = 30_000
# One HTML fragment (a feed item's content, a post's HTML) read with BeautifulSoup; a larger one
# is read by a linear tag stripper instead, so the item is kept with plainer text.
MAX_FRAGMENT_ELEMENTS = 2_000
# JSON nesting: real answers nest under 20 deep (a Mastodon reblog with its card and media).
MAX_JSON_DEPTH = 64

# A short fragment that looks like a file name or URL is still text to read, not a mistake.
warnings.filterwarnings("ignore", category=MarkupResemblesLocatorWarning)

_START_TAG = re.compile(r"<(?=[A-Za-z])")
_ESCAPED_TAG = re.compile(r"&lt;(?=[A-Za-z])|\\u003[cC](?=[A-Za-z])")
# Possessive, and only ever run up to the last ">": no backtracking, so the
# scan is linear however the tags are cut short.
_TAG = re.compile(r"<(/?)([A-Za-z][^\t\n\r\f />\x00]*+)([^>]*+)>")
# Elements that never contain others (html.parser and BeautifulSoup close them at once).
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
        "basefont",
        "bgsound",
        "frame",
        "keygen",
    ]
)
_JSON_STRING = re.compile(r'"(?:[^"\\]++|\\.)*+"', re.S)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_BRACKET_STEP = str.maketrans("[{]}", "\x01\x01\xff\xff")


def _count_tags(markup: str) -> int:
    return len(_START_TAG.findall(markup))


def nesting_depth(markup: str) -> int:
    """The deepest element nesting BeautifulSoup's html.parser tree would have (an upper bound:
    end tags close up to the matching open element, void elements and `<x/>` never nest)."""
    stack: list[str] = []
    open_count: dict[str, int] = {}
    deepest = 0
    # After the last ">" no tag can end, so nothing there nests (and no search runs past it).
    for m in _TAG.finditer(markup, 0, markup.rfind(">") + 1):
        name = m.group(2).lower()
        if m.group(1):  # an end tag closes the innermost open element of that name, if any
            if open_count.get(name):
                while stack:
                    top = stack.pop()
                    open_count[top] -= 1
                    if top == name:
                        break
            continue
        if name in _VOID or m.group(3).endswith("/"):
            continue
        stack.append(name)
        open_count[name] = open_count.get(name, 0) + 1
        deepest = max(deepest, len(stack))
    return deepest


def closed_part(markup: str) -> str:
    """`markup` without a start tag left open after the last ">": html.parser would rescan the
    rest of the text once for every such "<" (quadratic), and it is not visible text anyway."""
    opened = _START_TAG.search(markup, markup.rfind(">") + 1)
    return markup[: opened.start()] if opened else markup


def check_page(markup: str, what: str = "the page") -> None:
    """Raise FeedParseError unless an HTML page is within the element and depth budgets."""
    n = _count_tags(markup)
    if n > MAX_PAGE_ELEMENTS:
        raise FeedParseError(
            f"{what} has about {n:,} HTML elements, more than the {MAX_PAGE_ELEMENTS:,} "
            "this monitor reads (a hostile or broken page)"
        )
    depth = nesting_depth(markup)
    if depth > MAX_DEPTH:
        raise FeedParseError(
            f"{what} nests HTML elements {depth:,} deep, more than the {MAX_DEPTH} "
            "this monitor reads (a hostile or broken page)"
        )


def page_soup(data: str | bytes, what: str = "the page") -> BeautifulSoup:
    """A BeautifulSoup tree of a fetched page, or FeedParseError if the page is over budget."""
    # Decode first (as BeautifulSoup would), so that the budget counts the tags it will see
    # whatever the encoding (UTF-16 included).
    markup = data if isinstance(data, str) else UnicodeDammit(data, is_html=True).unicode_markup
    markup = closed_part(markup or "")
    check_page(markup, what)
    return BeautifulSoup(markup, "html.parser")


def check_document(text: str, what: str) -> None:
    """Raise FeedParseError when a feed or API answer carries more markup than its items need."""
    n = _count_tags(text) + len(_ESCAPED_TAG.findall(text))
    if n > MAX_DOCUMENT_TAGS:
        raise FeedParseError(
            f"{what} contains about {n:,} HTML tags, more than the {MAX_DOCUMENT_TAGS:,} "
            "this monitor reads in one response (a hostile or broken response)"
        )


# --- HTML fragments to text -------------------------------------------------------------------

_HIDDEN = ("script", "style", "noscript", "template")
_BLOCKS = frozenset(
    [
        "p",
        "div",
        "br",
        "li",
        "ul",
        "ol",
        "tr",
        "td",
        "th",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "pre",
        "section",
        "article",
        "header",
        "footer",
        "img",
        "figure",
        "hr",
    ]
)
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _cut_closed(text: str, start: str, end: str) -> str:
    """Remove every `start ... end>` span in linear time: after the last `end` nothing can close,
    so an unclosed `start` there hides the rest (as in a browser) and no search runs past it."""
    lower = text.translate(_ASCII_LOWER)  # same length as text, unlike str.lower()
    last = lower.rfind(end)
    close = lower.find(">", last + len(end) - 1) if last >= 0 else -1
    head, tail = (text[: close + 1], text[close + 1 :]) if close >= 0 else ("", text)
    opened = tail.translate(_ASCII_LOWER).find(start)
    if opened >= 0:
        tail = tail[:opened]
    if head:
        pattern = (
            re.escape(start) + r".*?" + re.escape(end) + ("" if end.endswith(">") else "[^>]*>")
        )
        head = re.sub(pattern, " ", head, flags=re.S | re.I)
    return head + tail


def strip_tags(fragment: str) -> str:
    """Visible text of HTML in linear time, without building a tree (for oversized fragments):
    comments, scripts and styles removed, block elements separated by spaces, entities decoded."""
    text = _cut_closed(fragment, "<!--", "-->") if "<!--" in fragment else fragment
    for name in _HIDDEN:
        if f"<{name}" in text.translate(_ASCII_LOWER):
            text = _cut_closed(text, f"<{name}", f"</{name}")
    last = text.rfind(">")
    head, tail = text[: last + 1], text[last + 1 :]
    head = _TAG.sub(lambda m: " " if m.group(2).lower() in _BLOCKS else "", head)
    opened = tail.find("<")  # an unclosed tag at the end is not text
    if opened >= 0 and _START_TAG.match(tail, opened):
        tail = tail[:opened]
    return " ".join(html.unescape(head + tail).split())


def fragment_text(fragment: str) -> str:
    """Visible text of an HTML fragment, whitespace collapsed; BeautifulSoup within budget."""
    if "<" not in fragment and "&" not in fragment:
        return " ".join(fragment.split())
    if _count_tags(fragment) > MAX_FRAGMENT_ELEMENTS or nesting_depth(fragment) > MAX_DEPTH:
        return strip_tags(fragment)
    soup = BeautifulSoup(closed_part(fragment), "html.parser")
    for tag in soup(list(_HIDDEN)):
        tag.decompose()
    # Separate block elements with spaces, but join inline ones as written ("<b>X</b>'s").
    for tag in soup.find_all(list(_BLOCKS)):
        tag.insert_before(" ")
        tag.insert_after(" ")
    return " ".join(soup.get_text("").split())


# --- JSON -------------------------------------------------------------------------------------


def json_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets in strings ignored)."""
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    steps = array("b", brackets.translate(_BRACKET_STEP).encode("latin-1"))
    return max(0, max(accumulate(steps), default=0))


def _json_text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    return data.decode(json.detect_encoding(data), "surrogatepass")


def load_json(data: bytes | str, what: str, *, strict: bool = True) -> Any:
    """json.loads within the depth and markup budgets; anything unreadable (malformed, nested too
    deep, too much markup) is FeedParseError with one line."""
    try:
        text = _json_text(data)
    except UnicodeDecodeError as exc:
        raise FeedParseError(f"{what} answered with malformed JSON ({exc.reason})") from None
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise FeedParseError(
            f"{what} nests JSON {depth:,} deep, more than the {MAX_JSON_DEPTH} "
            "this monitor reads (a hostile or broken response)"
        )
    check_document(text, what)
    try:
        return json.loads(text, strict=strict)
    except RecursionError:  # defence in depth: the pre-check refuses such documents first
        raise FeedParseError(f"{what} nests JSON too deeply to read") from None
    except ValueError as exc:
        detail = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise FeedParseError(f"{what} answered with malformed JSON ({detail})") from None
