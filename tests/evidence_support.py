"""Test helpers for the end-to-end evidence tests: a post page with its image on a FixtureServer
(tests/servers.py, 127.0.0.1), and the response bodies a pack's WARC holds."""

from __future__ import annotations

from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from tests.evidence_site import png
from tests.servers import FixtureServer, Reply

PHOTO = png(24, 12, (30, 90, 200))


def post_page(text: str) -> bytes:
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>Ankermoor parents</title>"
        f"</head><body><h1>Post about Ankermoor Primary</h1><p>{text}</p>"
        "<img src='/photo.png' alt='photo'></body></html>"
    ).encode()


def serve_post(server: FixtureServer, text: str) -> bytes:
    """/post.html and its image /photo.png; returns the page's bytes as served."""
    page = post_page(text)
    server.routes["/post.html"] = Reply(200, page, {"Content-Type": "text/html; charset=utf-8"})
    server.routes["/photo.png"] = Reply(200, PHOTO, {"Content-Type": "image/png"})
    return page


def warc_bodies(folder: Path) -> dict[str, list[bytes]]:
    """Each target URI's response bodies in the pack's page.warc.gz, raw as recorded."""
    bodies: dict[str, list[bytes]] = {}
    with (folder / "page.warc.gz").open("rb") as f:
        for rec in ArchiveIterator(f):
            if rec.rec_type == "response":
                uri = rec.rec_headers.get_header("WARC-Target-URI")
                bodies.setdefault(uri, []).append(rec.raw_stream.read())
    return bodies
