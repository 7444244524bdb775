"""Tests for monitor.dedup: canonical URLs, fingerprints, simhash clustering, identities."""

from __future__ import annotations

import itertools
import json
import unicodedata
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from monitor.dedup import (
    SIMHASH_BANDS,
    TRACKING_PARAMS,
    Identity,
    canonical_url,
    content_fingerprint,
    hamming,
    identify,
    near_duplicate,
    simhash,
    simhash_bands,
    story_title,
)
from sources.base import RawItem

DEV = Path(__file__).resolve().parents[1] / "monitor" / "scoring" / "data" / "mentions-dev.jsonl"

# -- canonical_url: examples ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ("HTTPS://News.Example.COM/story", "https://news.example.com/story"),
        ("https://news.example.com:443/story", "https://news.example.com/story"),
        ("http://news.example.com:80/story", "http://news.example.com/story"),
        ("https://news.example.com/story/", "https://news.example.com/story"),
        ("https://news.example.com/story#comments", "https://news.example.com/story"),
        ("https://news.example.com/story?b=2&a=1", "https://news.example.com/story?a=1&b=2"),
        (
            "https://news.example.com/story?utm_source=fb&utm_medium=social&id=7&fbclid=AbC",
            "https://news.example.com/story?id=7",
        ),
        ("https://news.example.com/story?UTM_Campaign=x&gclid=1&mc_cid=2&mc_eid=3", None),
        ("https://news.example.com/a/./b/../story", "https://news.example.com/a/story"),
        ("https://news.example.com/%7Eeditor/caf%c3%a9", "https://news.example.com/~editor/café"),
        ("https://user:secret@news.example.com/story", "https://news.example.com/story"),
        ("  https://news.example.com/story  ", "https://news.example.com/story"),
        ("https://news.example.com", "https://news.example.com/"),
    ],
)
def test_equivalent_urls_share_one_canonical_form(a: str, b: str | None) -> None:
    if b is None:  # every parameter was tracking: same as no query
        b = a.split("?")[0]
    assert canonical_url(a) == canonical_url(b)
    assert canonical_url(a) is not None


def test_canonical_form_details() -> None:
    got = canonical_url("HTTP://Example.COM:8080/Path/?utm_source=x&q=Caf%c3%a9+au+lait&b=&a=1#top")
    assert got is not None
    parts = urlsplit(got)
    assert parts.scheme == "http" and parts.netloc == "example.com:8080"
    assert parts.path == "/Path"  # the path keeps its case: servers may treat it as significant
    assert parts.fragment == ""
    assert parse_qsl(parts.query, keep_blank_values=True) == [
        ("a", "1"),
        ("b", ""),
        ("q", "Café au lait"),
    ]


@pytest.mark.parametrize(
    "url",
    [
        None,
        "",
        "   ",
        "not a url",
        "/relative/path",
        "mailto:head@example.org",
        "javascript:alert(1)",
        "ftp://example.com/file",
        "https://",
        "https://example.com:99999/",
        "https://example.com:port/",
        "http://[::1/",
    ],
)
def test_missing_or_unusable_urls_give_none(url: str | None) -> None:
    assert canonical_url(url) is None


def test_meaningful_parameters_and_paths_still_tell_pages_apart() -> None:
    assert canonical_url("https://forum.example/t?id=1") != canonical_url(
        "https://forum.example/t?id=2"
    )
    assert canonical_url("https://forum.example/t?id=1&id=2") != canonical_url(
        "https://forum.example/t?id=1"
    )
    assert canonical_url("https://forum.example/a/b") != canonical_url(
        "https://forum.example/a%2Fb"
    )
    assert canonical_url("http://forum.example/t") != canonical_url("https://forum.example/t")


def test_ipv6_host_keeps_its_brackets() -> None:
    assert canonical_url("http://[2001:DB8::1]:80/x/") == "http://[2001:db8::1]/x"
    assert canonical_url("http://[2001:db8::1]:8080/x") == "http://[2001:db8::1]:8080/x"


# -- canonical_url: properties -------------------------------------------------------------------

_KEY = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCXYZ0123456789_-.", min_size=1, max_size=8)
_VALUE = st.text(max_size=12)
_TRACKING = st.one_of(
    st.sampled_from(sorted(TRACKING_PARAMS)),
    st.sampled_from(sorted(TRACKING_PARAMS)).map(str.upper),
    _KEY.map(lambda k: "utm_" + k),
    _KEY.map(lambda k: "UTM_" + k),
)
_HOST = st.from_regex(
    r"[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?(\.[A-Za-z]{2,6}){1,2}", fullmatch=True
)
_PATH = st.lists(st.text(min_size=0, max_size=8), max_size=4).map(lambda s: "/" + "/".join(s))


def _url(scheme: str, host: str, port: int | None, path: str, params: list[tuple[str, str]]) -> str:
    from urllib.parse import quote, urlencode

    netloc = host if port is None else f"{host}:{port}"
    q = urlencode(params, quote_via=quote)
    return f"{scheme}://{netloc}{quote(path, safe='/%')}" + (f"?{q}" if q else "")


@st.composite
def urls(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]], list[tuple[str, str]]]:
    kept = draw(st.lists(st.tuples(_KEY, _VALUE), max_size=4))
    kept = [(k, v) for k, v in kept if k.casefold() not in TRACKING_PARAMS]
    kept = [(k, v) for k, v in kept if not k.casefold().startswith(("utm_", "pk_", "mtm_", "hsa_"))]
    tracking = draw(st.lists(st.tuples(_TRACKING, _VALUE), min_size=1, max_size=4))
    params = draw(st.permutations(kept + tracking))
    url = _url(
        draw(st.sampled_from(["http", "https", "HTTP", "Https"])),
        draw(_HOST),
        draw(st.sampled_from([None, 80, 443, 8080])),
        draw(_PATH),
        list(params),
    )
    if draw(st.booleans()):
        url += "#" + draw(st.text(max_size=10))
    return url, kept, tracking


@settings(max_examples=300, deadline=None)
@given(urls())
def test_tracking_parameters_never_survive_and_others_do(
    case: tuple[str, list[tuple[str, str]], list[tuple[str, str]]],
) -> None:
    url, kept, _ = case
    got = canonical_url(url)
    assert got is not None
    query = parse_qsl(urlsplit(got).query, keep_blank_values=True)
    assert sorted(query) == sorted(kept)
    for k, _ in query:
        assert k.casefold() not in TRACKING_PARAMS and not k.casefold().startswith("utm_")
    assert "#" not in got


@settings(max_examples=300, deadline=None)
@given(urls())
def test_canonical_url_is_idempotent_on_urls(
    case: tuple[str, list[tuple[str, str]], list[tuple[str, str]]],
) -> None:
    once = canonical_url(case[0])
    assert once is not None
    assert canonical_url(once) == once


@settings(max_examples=500, deadline=None)
@given(
    st.one_of(
        st.text(),
        st.text().map(lambda s: "https://" + s),
        st.text().map(lambda s: "http://a.b/" + s),
    )
)
def test_canonical_url_never_raises_and_is_idempotent_on_any_text(text: str) -> None:
    once = canonical_url(text)
    assert once is None or isinstance(once, str)
    if once is not None:
        assert canonical_url(once) == once


# -- content fingerprint -------------------------------------------------------------------------

STORY = (
    "Inspectors have praised the calm and purposeful atmosphere at Ankermoor Primary Academy, "
    "which has been rated Good in all areas. The school had previously been judged as requiring "
    "improvement. The report highlighted the school's reading programme and said pupils feel safe "
    "and know who to talk to. Headteacher Mrs Okafor thanked staff, pupils and families for their "
    "hard work over the past two years. Fierté Multi Academy Trust said the result reflected a "
    "clear plan for improvement."
)
TITLE = "Ankermoor Primary rated 'Good' in every area"


def test_fingerprint_ignores_case_spacing_punctuation_and_unicode_form() -> None:
    base = content_fingerprint(TITLE, STORY)
    assert content_fingerprint(TITLE.upper(), STORY.lower()) == base
    assert content_fingerprint("  " + TITLE + "!!", STORY.replace(" ", "\n  ")) == base
    assert content_fingerprint(TITLE, unicodedata.normalize("NFD", STORY)) == base
    assert content_fingerprint(TITLE, STORY.replace("'", "’").replace(",", "")) == base
    assert len(base) == 64 and int(base, 16) >= 0


def test_fingerprint_differs_for_different_content() -> None:
    base = content_fingerprint(TITLE, STORY)
    assert content_fingerprint(TITLE, STORY.replace("Good", "Outstanding")) != base
    assert content_fingerprint("", STORY) != base
    # Title and text are kept apart: moving a word across the boundary is a different item.
    assert content_fingerprint("a b", "c") != content_fingerprint("a", "b c")


def test_fingerprint_of_symbol_only_posts_keeps_the_symbols() -> None:
    assert content_fingerprint("", "🎉🎉") != content_fingerprint("", "😡😡")
    assert content_fingerprint("", "🎉🎉") == content_fingerprint("", " 🎉🎉 ")


def test_every_dev_item_has_its_own_fingerprint() -> None:
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    prints = {content_fingerprint(r["title"], r["text"]) for r in rows}
    assert len(prints) == len(rows)


# -- simhash and syndication ---------------------------------------------------------------------


def test_story_title_drops_a_site_name_only() -> None:
    assert story_title(TITLE + " - Ankermoor Gazette") == TITLE
    assert story_title(TITLE + " | Tamworth Herald") == TITLE
    assert story_title("Re: Ankermoor Primary – is it really that bad?") == (
        "Re: Ankermoor Primary – is it really that bad?"
    )
    assert story_title("Term Dates | Ankermoor Primary Academy") == (
        "Term Dates | Ankermoor Primary Academy"
    )


@pytest.mark.parametrize(
    "title, text",
    [
        (TITLE + " - Ankermoor Gazette", STORY),
        (TITLE + " | Tamworth Herald", STORY),
        ("Ankermoor school praised by inspectors", STORY),
        (TITLE, STORY + " Read more stories like this at tamworthherald.example."),
        (TITLE, STORY.rsplit(". ", 1)[0] + ". This story first appeared in the Tamworth Herald."),
        (TITLE, "By our education reporter. " + STORY),
        (TITLE, "By Jane Smith, local democracy reporter. " + STORY),
        (TITLE, STORY.replace(". ", ".\n\n").upper()),
    ],
)
def test_syndicated_copies_are_near_duplicates(title: str, text: str) -> None:
    original = simhash(TITLE + " - Ankermoor Gazette", STORY)
    copy = simhash(title, text)
    assert near_duplicate(original, copy), hamming(original, copy)
    assert set(simhash_bands(original)) & set(simhash_bands(copy))


def test_short_items_with_another_site_suffix_are_near_duplicates() -> None:
    a = simhash("Parents protest over teaching assistant cuts - Ankermoor Gazette", "")
    b = simhash("Parents protest over teaching assistant cuts | Tamworth Herald", "")
    assert near_duplicate(a, b)


def test_a_short_story_reposted_with_a_credit_line_is_a_near_duplicate() -> None:
    body = (
        "Pupils from Ankermoor Primary Academy's eco-council spent Tuesday morning planting 200 "
        "saplings along the riverbank with volunteers from the Anker Valley Trust. Head teacher "
        'Claire Morgan said the children had "worked incredibly hard".'
    )
    title = "Pupils plant 200 trees along the River Anker"
    a = simhash(title, body)
    b = simhash(title, body + " (shared from the Ankermoor Gazette)")
    assert near_duplicate(a, b), hamming(a, b)


def test_news_search_items_naming_their_site_in_title_and_text_are_near_duplicates() -> None:
    # News search feeds repeat the headline in the description, followed by the site's name.
    headline = "Parents protest over teaching assistant cuts at Ankermoor Primary"
    a = simhash(f"{headline} - Ankermoor Gazette", f"{headline}  Ankermoor Gazette")
    b = simhash(f"{headline} - Tamworth Herald Online", f"{headline}\xa0\xa0Tamworth Herald Online")
    assert near_duplicate(a, b), hamming(a, b)
    other = "Parents praise teaching assistants at Ankermoor Primary"
    c = simhash(f"{other} - Ankermoor Gazette", f"{other}  Ankermoor Gazette")
    assert not near_duplicate(a, c)


def test_different_stories_about_the_same_school_are_not_near_duplicates() -> None:
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line]
    by_id = {r["id"]: r for r in rows}
    # Two Ofsted stories about Ankermoor Primary, one 'requires improvement', one 'Good'.
    a, b = by_id["dev-031"], by_id["dev-135"]
    assert not near_duplicate(simhash(a["title"], a["text"]), simhash(b["title"], b["text"]))
    hashes = [simhash(r["title"], r["text"]) for r in rows]
    closest = min(hamming(x, y) for x, y in itertools.combinations(hashes, 2))
    print(f"\nclosest pair of different dev items: {closest} bits apart")
    assert closest > 3


@settings(max_examples=300, deadline=None)
@given(title=st.text(max_size=60), text=st.text(max_size=400))
def test_simhash_fits_a_signed_bigint(title: str, text: str) -> None:
    h = simhash(title, text)
    assert -(2**63) <= h < 2**63
    bands = simhash_bands(h)
    assert len(bands) == SIMHASH_BANDS
    assert all(0 <= b < 2**16 for b in bands)


@settings(max_examples=500, deadline=None)
@given(h=st.integers(-(2**63), 2**63 - 1), flips=st.sets(st.integers(0, 63), max_size=3))
def test_within_three_bits_always_share_a_band(h: int, flips: set[int]) -> None:
    other = h
    for bit in flips:
        other ^= 1 << bit
    other = other - 2**64 if other >= 2**63 else other
    assume(-(2**63) <= other < 2**63)
    assert near_duplicate(h, other)
    assert hamming(h, other) == len(flips)
    assert any(x == y for x, y in zip(simhash_bands(h), simhash_bands(other), strict=True))


def test_near_duplicate_threshold() -> None:
    assert near_duplicate(0, 0b111)
    assert not near_duplicate(0, 0b1111)
    assert near_duplicate(0, 0b1111, max_distance=4)
    assert near_duplicate(-1, 2**64 - 1)  # the same bits, signed or not


# -- identify ------------------------------------------------------------------------------------


def test_identify_an_item() -> None:
    item = RawItem(
        source_key="ankermoor/gazette",
        external_id=" guid-123 ",
        url="https://Gazette.example/news/ofsted/?utm_source=rss",
        title=TITLE + " - Ankermoor Gazette",
        text=STORY,
    )
    ident = identify(item)
    assert isinstance(ident, Identity)
    assert ident.canonical_url == "https://gazette.example/news/ofsted"
    assert ident.external_id == "guid-123"
    assert ident.fingerprint == content_fingerprint(item.title, item.text)
    assert ident.simhash == simhash(item.title, item.text)
    copy = RawItem("ankermoor/herald", "h-9", None, TITLE + " | Tamworth Herald", STORY)
    other = identify(copy)
    assert other.canonical_url is None
    assert other.fingerprint != ident.fingerprint  # not an exact copy: the titles differ ...
    assert near_duplicate(other.simhash, ident.simhash)  # ... but the same story
