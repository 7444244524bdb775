"""Mention text is redacted once, in one place (alerts.rules.clean_text), on its way into a notice:
not again when the email is rendered, so nothing can be garbled by a second pass."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from alerts import rules
from alerts.notice import Envelope
from alerts.render import render
from monitor.config import AcademyConfig
from monitor.models import Mention
from tests.alerts_support import PII_SECRETS, PII_TEXT, assess

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
TITLE = "Ankermoor class list leaked, password: hunter2X"


def test_each_text_is_redacted_once_and_render_redacts_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: Counter[str] = Counter()
    real = rules.redact

    def counting(text: str) -> str:
        calls[text] += 1
        return real(text)

    monkeypatch.setattr(rules, "redact", counting)
    m = Mention(
        id=3,
        organisation="ankermoor",
        source_key="ankermoor/local-news",
        external_id="x3",
        url="https://news.example.org/a",
        canonical_url="https://news.example.org/a",
        title=TITLE,
        text=PII_TEXT,
        author=None,
        published_at=NOW,
        first_seen_at=NOW,
        has_media=False,
        fingerprint="fp3",
        cluster_id="c-3",
        matched_name="Ankermoor",
    )
    academy = AcademyConfig(
        id="ankermoor",
        display_name="Ankermoor Primary Academy",
        names=("Ankermoor",),
        recipients=("head@ankermoor.example.org",),
    )
    (notice,) = rules.urgent_notices(
        m,
        assess(m.title, m.text, ["data_leak"], urgent=True),
        academy,
        [],
        opted_out=frozenset(),
        incident=None,
        base_url="https://monitor.example.org",
    )
    assert calls[TITLE] == 1 and calls[PII_TEXT] == 1
    before = sum(calls.values())
    message = render(notice, Envelope("<m3@x.example>", "mm@x.example", NOW, "https://x.example/u"))
    assert sum(calls.values()) == before  # render trusts the notice: no second pass
    body = "\n".join(
        str(part.get_content()) for part in message.walk() if part.get_content_maintype() == "text"
    )
    assert "password: [credential removed]" in body and "removed] removed]" not in body
    assert "[credential removed]" in str(message["Subject"])
    for secret in (*PII_SECRETS, "hunter2X"):
        assert secret not in body and secret not in str(message["Subject"])
