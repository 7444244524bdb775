"""One error tree for sources: every error is a SourceError with a stable `kind` and an optional
`retry_after`, the old import paths still work, and the runner handles the whole tree."""

from __future__ import annotations

import inspect

import pytest

import sources.base
import sources.feeds
import sources.http
from sources import errors
from sources.errors import (
    FeedParseError,
    FetchError,
    HTTPStatusError,
    SourceError,
    SourceUnavailable,
)


def _classes() -> list[type[SourceError]]:
    return [
        c
        for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, SourceError) and c.__module__ == errors.__name__
    ]


def test_every_error_is_a_source_error_with_its_own_kind() -> None:
    classes = _classes()
    assert len(classes) >= 10
    kinds = [c.KIND for c in classes if c is not SourceError and c is not FetchError]
    assert len(kinds) == len(set(kinds)), "each class has its own kind"
    for c in classes:
        assert c.__name__ in (errors.__doc__ or ""), f"{c.__name__} is missing from the drawn tree"


@pytest.mark.parametrize(
    ("exc", "kind", "retry_after"),
    [
        (
            HTTPStatusError("429 from the server", "https://x.example", 30.0, status=429),
            "status",
            30.0,
        ),
        (errors.FetchTimeout("took too long", "https://x.example"), "timeout", None),
        (errors.FetchRefused("loopback", "http://127.0.0.1/", rule="loopback"), "refused", None),
        (FeedParseError("not a readable feed: junk"), "parse", None),
        (
            SourceUnavailable("needs_credentials", "no app password", "set BLUESKY_APP_PASSWORD"),
            "unavailable",
            None,
        ),
        (SourceError("rate limited", retry_after=120.0), "error", 120.0),
    ],
)
def test_kind_reason_and_retry_after(
    exc: SourceError, kind: str, retry_after: float | None
) -> None:
    assert isinstance(exc, SourceError)
    assert exc.kind == kind
    assert exc.retry_after == retry_after
    assert str(exc) == exc.reason and "\n" not in exc.reason
    with pytest.raises(SourceError):
        raise exc


def test_old_import_paths_name_the_same_classes() -> None:
    assert sources.base.FeedParseError is sources.feeds.FeedParseError is FeedParseError
    assert sources.base.SourceUnavailable is SourceUnavailable
    assert sources.http.FetchError is FetchError
    assert sources.http.HTTPStatusError is HTTPStatusError
    unavailable = SourceUnavailable("blocked", "robots.txt forbids it", "ask the site")
    assert (unavailable.status, unavailable.advice) == ("blocked", "ask the site")
