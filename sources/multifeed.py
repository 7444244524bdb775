"""Several RSS/Atom URLs read as one source (one per query, channel or subreddit).

Used by google_news, bing_news, reddit and youtube. `SourceState` has room for one ETag, so the
validators of every URL, and a bounded list of the item ids already returned, live in the
collector's cursor JSON: {"validators": {url: [etag, last_modified]}, "seen": [id, ...]}.
A second cycle therefore sends conditional GETs (an unchanged feed costs a 304 and no parsing)
and returns only items it has not returned before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sources.base import Collected, RawItem, SourceState
from sources.http import GuardedClient, NotModified
from sources.searching import as_dict, dump_cursor, load_cursor, polite_get, remember

# (body, source key) -> items. These services give absolute links, so no base URL is needed.
Parser = Callable[[bytes, str], list[RawItem]]


def collect_urls(
    client: GuardedClient,
    urls: Sequence[str],
    state: SourceState,
    source_key: str,
    parse: Parser,
    *,
    respect_robots: bool,
) -> Collected:
    """Fetch every URL (conditionally), parse, merge, drop ids returned before, de-duplicate."""
    doc = load_cursor(state.cursor)
    old_validators = as_dict(doc.get("validators"))
    seen_list = [s for s in doc.get("seen") or [] if isinstance(s, str)]
    seen = set(seen_list)
    validators: dict[str, list[str | None]] = {}
    items: list[RawItem] = []
    returned: set[str] = set()
    unchanged = 0
    for url in urls:
        etag, modified = _validators(old_validators.get(url))
        got = polite_get(
            client, url, etag=etag, last_modified=modified, respect_robots=respect_robots
        )
        if isinstance(got, NotModified):
            unchanged += 1
            validators[url] = [got.etag, got.last_modified]
            continue
        validators[url] = [got.etag, got.last_modified]
        for item in parse(got.content, source_key):
            if item.external_id in seen or item.external_id in returned:
                continue
            returned.add(item.external_id)
            items.append(item)
    # Validators of URLs no longer configured are dropped with the old dict.
    new_doc = {
        "validators": validators,
        "seen": remember(seen_list, (i.external_id for i in items)),
    }
    return Collected(
        items=tuple(items),
        state=SourceState(cursor=dump_cursor(new_doc)),
        not_modified=bool(urls) and unchanged == len(urls),
    )


def _validators(value: object) -> tuple[str | None, str | None]:
    if isinstance(value, list) and len(value) == 2:
        etag = value[0] if isinstance(value[0], str) else None
        modified = value[1] if isinstance(value[1], str) else None
        return etag, modified
    return None, None
