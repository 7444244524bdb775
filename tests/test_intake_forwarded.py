"""Forwarded mail parsing (sources/forwarded.py) on the fixtures of tests/fixtures/intake-mail/
(written by us: make_fixtures.py there), and the report the intake gets from it."""

from __future__ import annotations

import io
from email.message import EmailMessage

import pytest
from PIL import Image

from monitor.mailintake import academy_for, sender_allowed, to_report
from sources.forwarded import (
    MAX_LINKS,
    MAX_PARTS,
    ForwardParseError,
    clean_links,
    find_forward_header,
    parse_forwarded,
    sniff_image,
)
from tests.intake_mail_support import MAIL, imap_settings


def load(name: str) -> bytes:
    return (MAIL / name).read_bytes()


def test_gmail_forward_with_a_screenshot() -> None:
    r = parse_forwarded(load("gmail-screenshot.eml"))
    assert r.sender == "claire.okafor@ankermoor-pta.example.org"
    assert r.forwarded_from == "Dan Whitfield <dan.whitfield@example.net>"
    assert r.forwarded_subject == "Have you seen this??"
    assert r.links == ("https://www.facebook.com/groups/ankermoormumsanddads/posts/1029384756/",)
    [img] = r.images
    assert img.content_type == "image/png"
    assert img.data == (MAIL / "facebook-post.png").read_bytes()
    assert "thought the school should know" in r.body_text
    assert r.original == load("gmail-screenshot.eml")


def test_html_only_mail_becomes_text_without_script_or_style() -> None:
    r = parse_forwarded(load("html-only.eml"))
    assert "I\u2019m a parent at Ankermoor Primary" in r.body_text  # windows-1252, QP
    assert "pupils\u2019 faces \u2013 please" in r.body_text
    assert "alert(" not in r.body_text and "Calibri" not in r.body_text
    # the Outlook Safe Links wrapper is undone; the tracking pixel is not a link
    assert r.links == ("https://www.tiktok.com/@ankermoorkidz/video/7301234567890",)


def test_outlook_forward_in_latin_1() -> None:
    r = parse_forwarded(load("outlook-forward.eml"))
    assert r.forwarded_from == "Village Noticeboard <noreply@noticeboard.example.co.uk>"
    assert r.forwarded_date == "27 November 2026 18:40"
    assert "pocketed \u00a3400" in r.body_text
    assert r.links == ("https://noticeboard.example.co.uk/posts/ankermoor-fundraiser#comment-88",)


def test_apple_mail_forward_with_an_inline_cid_image() -> None:
    r = parse_forwarded(load("apple-inline-image.eml"))
    assert r.forwarded_from == "Priya Shah <priya.shah@example.com>"
    assert r.forwarded_date == "26 November 2026 at 16:20:05 GMT"
    [img] = r.images
    assert img.content_type == "image/jpeg" and img.name == "IMG_4471.jpeg"
    assert Image.open(io.BytesIO(img.data)).size == (160, 90)


def test_thunderbird_forward_and_an_image_that_is_not_one() -> None:
    r = parse_forwarded(load("thunderbird-forward.eml"))
    assert r.forwarded_from == "Forum digest <digest@forum.example.org>"
    assert r.forwarded_subject == "Ankermoor school gates"
    assert r.links == ("https://forum.example.org/t/ankermoor-parking/5521",)  # "." dropped
    assert r.images == ()
    assert r.problems == ("image 'photo.png' ignored: its content is not a PNG, JPEG, GIF or WebP",)


def test_forward_as_an_attachment_in_koi8_r() -> None:
    r = parse_forwarded(load("rfc822-attachment.eml"))
    assert r.forwarded_from == "Ankermoor Watch <ankermoorwatch@example.net>"
    assert r.forwarded_subject == "The truth about Ankermoor Primary"
    assert "(\u0448\u043a\u043e\u043b\u0430)" in r.body_text
    assert r.links == ("https://ankermoorwatch.example.net/the-truth",)


def test_forward_headers_of_each_mail_program() -> None:
    cases = {
        "---------- Forwarded message ---------\nFrom: A <a@x.org>\nDate: 1 Dec\n": "A <a@x.org>",
        "-----Original Message-----\nFrom: B <b@x.org>\nSent: 2 Dec\n": "B <b@x.org>",
        "Begin forwarded message:\n\nFrom: C <c@x.org>\nDate: 3 Dec\n": "C <c@x.org>",
        "-------- Forwarded Message --------\nSubject: s\nFrom: D <d@x.org>\n": "D <d@x.org>",
        "________________________________\nFrom: E <e@x.org>\nSent: 5 Dec\n": "E <e@x.org>",
        "no marker\nFrom: F <f@x.org>\nSent: Monday\nTo: g@x.org\n": "F <f@x.org>",
    }
    for text, sender in cases.items():
        found = find_forward_header("Some words first.\n\n" + text + "\nBody.")
        assert found is not None and found.sender == sender, text
    assert find_forward_header("Just a note, nothing forwarded.\nFrom: me") is None


def test_links_are_http_only_unique_and_bounded() -> None:
    urls = [f"https://x.example.org/{i}" for i in range(MAX_LINKS + 5)]
    got = clean_links(
        ["javascript:alert(1)", "mailto:a@b.org", "ftp://x.org/f", urls[0], urls[0] + ")."] + urls
    )
    assert got == tuple(urls[:MAX_LINKS])


def test_image_type_comes_from_the_content() -> None:
    png = (MAIL / "facebook-post.png").read_bytes()
    assert sniff_image(png) == "image/png"
    assert sniff_image(b"GIF89a but not really") is None
    assert sniff_image(png[:200]) is None  # truncated


def test_too_many_parts_is_a_one_line_error() -> None:
    msg = EmailMessage()
    msg["From"] = "a@x.org"
    msg.set_content("hi")
    for i in range(MAX_PARTS + 1):
        msg.add_attachment(b"x", maintype="application", subtype="pdf", filename=f"{i}.pdf")
    with pytest.raises(ForwardParseError, match=f"more than {MAX_PARTS} parts"):
        parse_forwarded(msg.as_bytes())


def test_allow_list_and_academy_by_recipient() -> None:
    imap = imap_settings(
        allowed_senders=["head@ankermoor.example.org", "@ankermoor-pta.example.org"],
        academy_id="",
        academy_by_recipient={"report@ankermoor.example.org": "ankermoor"},
    ).intake.imap
    assert imap is not None
    assert sender_allowed("Head@Ankermoor.example.org", imap.allowed_senders)
    assert sender_allowed("anyone@ankermoor-pta.example.org", imap.allowed_senders)
    assert not sender_allowed("x@evil-ankermoor-pta.example.org", imap.allowed_senders)
    assert not sender_allowed("ankermoor-pta.example.org", imap.allowed_senders)
    r = parse_forwarded(load("gmail-screenshot.eml"))
    assert academy_for(r, imap) == "ankermoor"
    other = parse_forwarded(load("gmail-screenshot.eml").replace(b"report@", b"elsewhere@"))
    assert academy_for(other, imap) is None


def test_the_report_for_the_intake() -> None:
    r = parse_forwarded(load("gmail-screenshot.eml"))
    rep = to_report(r, "ankermoor")
    assert rep.source == "reported-email" and rep.academy_id == "ankermoor"
    assert rep.reporter == "claire.okafor@ankermoor-pta.example.org"
    assert rep.url == r.links[0]
    assert rep.text == r.body_text and rep.original == r.original
    assert [i.content_type for i in rep.images] == ["image/png"]
    assert "Dan Whitfield" in rep.seen_where and "Dan Whitfield" in rep.note
