"""Intake end to end (monitor/intake.py): a reported link served by a local server and a
screenshot read by the real Tesseract become a scored mention, stored with who reported it and
the image as evidence; an urgent one reaches a real SMTP server through the outbox. Limits,
refusals, duplicates, the intake link and its rate limit."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image as PILImage

from alerts.outbox import dispatch_pending
from alerts.smtp import SmtpTransport
from monitor.cli import cli
from monitor.clock import fixed_clock
from monitor.config import Settings, settings_from_mapping
from monitor.intake import (
    MAX_IMAGE_BYTES,
    MAX_IMAGES,
    Image,
    Report,
    intake_link_academy,
    new_intake_link,
    submit_report,
    take_link_submission,
)
from monitor.jobs import JobContext
from monitor.store import Store
from tests.alerts_support import smtp_server
from tests.servers import FIXTURES, FixtureServer

NOW = datetime(2026, 11, 28, 14, 5, tzinfo=UTC)
OCR = FIXTURES / "ocr"
URGENT_PNG = OCR / "ig-01-phone-390-1x-dark.png"  # "This is the teacher who left my son…"
CALM_PNG = OCR / "x-01-desktop-1280-light.png"  # the Ofsted report tweet

PAGE = b"""<!doctype html><html><head><title>Ankermoor parents forum</title></head><body>
<article><h2>Ankermoor Primary Academy pickup</h2>
<p>The new one-way system at Ankermoor Primary Academy pickup works well, well done to the
office staff for sorting it out so quickly.</p></article></body></html>"""


def _settings(tmp_path: Path, smtp_port: int | None = None) -> Settings:
    mail: dict[str, object] = {
        "from_address": "monitor@ankermoor.example.org",
        "outbox_dir": str(tmp_path / "outbox"),
    }
    if smtp_port:
        mail |= {"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "smtp_security": "none"}
    return settings_from_mapping(
        {
            "database_url": f"sqlite:///{tmp_path}/mm.db",
            "mail": mail,
            "network": {"allow_private": ["127.0.0.1"], "per_host_interval_seconds": 0},
            "web": {"public_base_url": "https://monitor.example.org"},
            "academies": [
                {
                    "id": "ankermoor",
                    "display_name": "Ankermoor Primary Academy",
                    "names": ["Ankermoor Primary Academy"],
                    "recipients": ["head@ankermoor.example.org"],
                }
            ],
        }
    )


def _report(**kw: object) -> Report:
    base: dict[str, object] = {
        "academy_id": "ankermoor",
        "source": "reported",
        "reporter": "parent@example.org",
        "url": None,
        "note": "",
        "text": "",
        "images": (),
        "seen_where": "Year 5 WhatsApp group",
        "original": None,
    }
    base.update(kw)
    return Report(**base)  # type: ignore[arg-type]


def _png(path: Path) -> Image:
    return Image(path.name, path.read_bytes(), "image/png")


@pytest.fixture(scope="module")
def scored_ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JobContext]:
    """One context with the real model, shared by the tests that score (it loads once)."""
    tmp = tmp_path_factory.mktemp("scored")
    ctx = JobContext.open(_settings(tmp), clock=fixed_clock(NOW))
    yield ctx
    ctx.close()


def test_a_screenshot_becomes_an_urgent_mention_and_the_head_gets_mail(tmp_path: Path) -> None:
    with smtp_server() as srv:
        settings = _settings(tmp_path, srv.port)
        ctx = JobContext.open(settings, clock=fixed_clock(NOW))
        try:
            result = submit_report(
                ctx,
                _report(source="reported-screenshot", images=(_png(URGENT_PNG),)),
                NOW,
            )
            assert result.mention_id is not None and result.reason == "stored"
            assert result.assessment is not None and result.assessment.urgent
            assert "harassment" in result.assessment.categories
            got = ctx.store.mention(result.mention_id)
            assert got is not None
            mention, assessment = got
            assert mention.source_key == "ankermoor/reported-screenshot"
            assert mention.organisation == "ankermoor" and mention.has_media
            assert "left my son in" in mention.text and "playground" in mention.text
            # the app's chrome is not in the scored text
            for chrome in ("jess.parker", "Reply", "See translation", "12 likes", "9:41"):
                assert chrome not in mention.text, chrome
            assert assessment is not None and assessment.urgent
            (report,) = ctx.store.intake.reports_for_mention(mention.id)
            assert report.reporter == "parent@example.org"
            assert report.seen_where == "Year 5 WhatsApp group"
            assert report.source == "reported-screenshot" and report.outcome == "stored"
            (img,) = report.images
            data = URGENT_PNG.read_bytes()
            assert img.sha256 == hashlib.sha256(data).hexdigest() and img.size == len(data)
            assert ctx.store.intake.image_data(img.id) == data  # kept as sent
            assert any("Reply" in line for line in img.chrome_lines)
            sent = dispatch_pending(ctx.store, settings, SmtpTransport(settings.mail), NOW)
            assert sent.sent == 1
            (msg,) = srv.handler.messages()
            assert msg["To"] == "head@ankermoor.example.org"
            body = msg.get_body(("plain",))
            assert body is not None and f"/mentions/{mention.id}" in body.get_content()
        finally:
            ctx.close()


def test_a_reported_link_is_fetched_through_the_guarded_client(
    scored_ctx: JobContext, server: FixtureServer
) -> None:
    url = server.serve_file("/thread/42", Path("/dev/null"), "text/html")
    server.routes["/thread/42"].body = PAGE  # type: ignore[union-attr]
    result = submit_report(
        scored_ctx, _report(url=url, note="Seen on the parents forum"), NOW + timedelta(minutes=1)
    )
    assert result.mention_id is not None and result.fetch_error is None
    assert server.hits["/thread/42"] == 1
    got = scored_ctx.store.mention(result.mention_id)
    assert got is not None
    mention, assessment = got
    assert mention.source_key == "ankermoor/reported" and mention.url == url
    assert "one-way system" in mention.text and mention.text.startswith("Seen on the parents")
    assert assessment is not None and not assessment.urgent
    # the same report again: recorded against the same mention, nothing new stored
    again = submit_report(scored_ctx, _report(url=url, note="Seen on the parents forum"), NOW)
    assert again.duplicate and again.mention_id == result.mention_id
    reports = scored_ctx.store.intake.reports_for_mention(result.mention_id)
    assert [r.outcome for r in reports] == ["stored", "duplicate"]


def test_a_link_that_cannot_be_read_still_makes_a_mention(
    scored_ctx: JobContext, server: FixtureServer
) -> None:
    url = server.url("/closed-group/1")  # 404: a login wall, a deleted post
    result = submit_report(
        scored_ctx,
        _report(url=url, note="Ankermoor Primary Academy parents are sharing a pupil's address"),
        NOW,
    )
    assert result.mention_id is not None and result.fetch_error and "404" in result.fetch_error
    (report,) = scored_ctx.store.intake.reports_for_mention(result.mention_id)
    assert report.fetch_error == result.fetch_error


def test_a_link_to_a_private_address_is_refused_by_the_guard(scored_ctx: JobContext) -> None:
    result = submit_report(
        scored_ctx, _report(url="http://169.254.169.254/latest/meta-data/", note="odd link"), NOW
    )
    assert result.fetch_error is not None and "169.254.169.254" in result.fetch_error


def _huge_png(width: int, height: int) -> bytes:
    """A valid PNG header declaring width x height, with a few bytes of pixel data."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1024))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        ((Image("post.png", b"this is text, not a picture\n", "image/png"),), "not an image"),
        ((Image("bomb.png", _huge_png(50_000, 50_000), "image/png"),), "too large"),
        ((Image("big.png", _huge_png(8_000, 6_000), "image/png"),), "too large"),
        (
            (Image("x.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml"),),
            "not an image",
        ),
        ((Image("big.jpg", b"\xff\xd8" + b"\0" * MAX_IMAGE_BYTES, "image/jpeg"),), "too large"),
        (tuple(_png(CALM_PNG) for _ in range(MAX_IMAGES + 1)), "too many images"),
    ],
)
def test_refusals_are_one_line_and_store_nothing(
    tmp_path: Path, images: tuple[Image, ...], expected: str
) -> None:
    ctx = JobContext.open(_settings(tmp_path), clock=fixed_clock(NOW), score=False)
    try:
        result = submit_report(ctx, _report(images=images), NOW)
        assert result.mention_id is None and expected in result.reason
        assert "\n" not in result.reason
        assert ctx.store.count_mentions() == 0
    finally:
        ctx.close()


def test_other_refusals(tmp_path: Path) -> None:
    ctx = JobContext.open(_settings(tmp_path), clock=fixed_clock(NOW), score=False)
    try:
        assert (
            "unknown academy"
            in submit_report(ctx, _report(academy_id="nope", note="x"), NOW).reason
        )
        assert "missing" in submit_report(ctx, _report(reporter=" ", note="x"), NOW).reason
        assert (
            "not a web address" in submit_report(ctx, _report(url="file:///etc/passwd"), NOW).reason
        )
        assert "nothing to report" in submit_report(ctx, _report(), NOW).reason
        assert (
            "unknown report source" in submit_report(ctx, _report(source="x", note="x"), NOW).reason
        )
        assert ctx.store.count_mentions() == 0
    finally:
        ctx.close()


def test_a_gif_and_a_jpeg_are_taken_by_content_whatever_their_name(tmp_path: Path) -> None:
    img = PILImage.open(CALM_PNG).convert("RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    ctx = JobContext.open(_settings(tmp_path), clock=fixed_clock(NOW), score=False)
    try:
        result = submit_report(
            ctx,
            _report(
                source="reported-screenshot",
                images=(Image("shot.png", buf.getvalue(), "image/png"),),
            ),
            NOW,
        )
        assert result.mention_id is not None
        (report,) = ctx.store.intake.reports_for_mention(result.mention_id)
        assert report.images[0].content_type == "image/jpeg"  # by content, not by name
    finally:
        ctx.close()


def test_intake_link_rotation_and_rate_limit(tmp_path: Path) -> None:
    store = Store.open(_settings(tmp_path).database_url)
    try:
        first = new_intake_link(store, "ankermoor", NOW)
        assert intake_link_academy(store, first) == "ankermoor"
        assert intake_link_academy(store, first + "x") is None
        assert intake_link_academy(store, "") is None
        second = new_intake_link(store, "ankermoor", NOW)
        assert second != first
        assert intake_link_academy(store, first) is None  # rotation ends the old link
        assert intake_link_academy(store, second) == "ankermoor"
        assert [take_link_submission(store, second, NOW, per_hour=2) for _ in range(3)] == [
            True,
            True,
            False,
        ]
        assert take_link_submission(store, first, NOW, per_hour=2)  # per link
        later = NOW + timedelta(hours=1, seconds=1)
        assert take_link_submission(store, second, later, per_hour=2)
    finally:
        store.close()


def test_cli_link_and_submit(tmp_path: Path) -> None:
    settings_file = tmp_path / "monitor.toml"
    settings_file.write_text(
        f"""database_url = "sqlite:///{tmp_path}/mm.db"
[web]
public_base_url = "https://monitor.example.org"
[mail]
outbox_dir = "{tmp_path}/outbox"
[[academies]]
id = "ankermoor"
display_name = "Ankermoor Primary Academy"
names = ["Ankermoor Primary Academy"]
recipients = ["head@ankermoor.example.org"]
""",
        encoding="utf-8",
    )
    runner = CliRunner()
    args = ["--config", str(settings_file), "intake"]
    out = runner.invoke(cli, [*args, "link", "--academy", "ankermoor"], obj=fixed_clock(NOW))
    assert out.exit_code == 0, out.output
    url = out.output.strip()
    assert url.startswith("https://monitor.example.org/report/")
    again = runner.invoke(cli, [*args, "link", "--academy", "ankermoor"], obj=fixed_clock(NOW))
    assert again.exit_code == 1 and "--rotate" in again.output
    rotated = runner.invoke(
        cli, [*args, "link", "--academy", "ankermoor", "--rotate"], obj=fixed_clock(NOW)
    )
    assert rotated.exit_code == 0 and rotated.output.strip() != url
    store = Store.open(f"sqlite:///{tmp_path}/mm.db")
    try:
        assert intake_link_academy(store, url.rsplit("/", 1)[1]) is None
        assert intake_link_academy(store, rotated.output.strip().rsplit("/", 1)[1]) == "ankermoor"
    finally:
        store.close()

    bad = tmp_path / "notes.png"
    bad.write_text("not a picture", encoding="utf-8")
    refused = runner.invoke(
        cli,
        [
            *args,
            "submit",
            "--academy",
            "ankermoor",
            "--image",
            str(bad),
            "--reporter",
            "p@example.org",
        ],
        obj=fixed_clock(NOW),
    )
    assert refused.exit_code == 2 and "report refused: notes.png: not an image" in refused.output
