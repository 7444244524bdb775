"""A hostile local "site" for the evidence tests: a real page on 127.0.0.2 (allow-listed) with
images, a redirect, a gzip-served stylesheet and subresources that point at a canary on
127.0.0.1, at loopback spellings, link-local, metadata and private addresses."""

from __future__ import annotations

import gzip
import struct
import time
import zlib
from http.server import BaseHTTPRequestHandler

from tests.guard_servers import RouteServer, redirect, reply


def png(width: int = 4, height: int = 4, rgb: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    """A real PNG, built by hand (no image library needed to serve one)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


LOGO = png(16, 16)
CSS = b"body { font-family: sans-serif; } h1 { color: #123456; }\n" * 20
CSS_GZ = gzip.compress(CSS, mtime=0)


def hostile_page(canary_port: int, site_port: int) -> bytes:
    c = f"http://127.0.0.1:{canary_port}"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Ankermoor parents</title>
<link rel="stylesheet" href="/style.css">
<link rel="prefetch" href="{c}/prefetch">
<link rel="preload" as="image" href="http://[::1]:{canary_port}/preload.png">
<link rel="dns-prefetch" href="//169.254.169.254">
<style>
  .bg {{ background: url('{c}/css-bg.png'); height: 20px; }}
  .meta {{ background: url('http://169.254.169.254/latest/meta-data/'); height: 5px; }}
</style>
</head><body>
<h1>Post about Ankermoor Primary Academy</h1>
<p>The words of the post, as the page shows them.</p>
<img src="/logo.png" alt="logo">
<img src="/moved.png" alt="moved">
<img src="{c}/img.png">
<img src="http://localhost:{canary_port}/img-localhost.png">
<img src="http://2130706433:{canary_port}/img-decimal.png">
<img src="http://10.1.2.3/private.png">
<img src="/to-canary">
<iframe src="{c}/frame"></iframe>
<iframe src="http://[::1]:{canary_port}/frame6"></iframe>
<div class="bg"></div><div class="meta"></div>
<script>
  fetch("{c}/fetch").catch(() => 0);
  fetch("http://169.254.169.254/latest/meta-data/iam").catch(() => 0);
  fetch("http://10.0.0.1/").catch(() => 0);
  fetch("{c}/post", {{method: "POST", body: "x", mode: "no-cors"}}).catch(() => 0);
  try {{ new WebSocket("ws://127.0.0.1:{canary_port}/ws"); }} catch (e) {{}}
  try {{ new WebSocket("ws://127.0.0.2:{site_port}/ws"); }} catch (e) {{}}
  const img = new Image(); img.src = "{c}/js-img.png";
  navigator.sendBeacon && navigator.sendBeacon("{c}/beacon", "x");
  setTimeout(() => {{ const f = document.createElement("iframe");
    f.src = "/refresh"; document.body.appendChild(f); }}, 10);
</script>
</body></html>""".encode()


def serve_site(site: RouteServer, canary_port: int) -> bytes:
    """Routes of the site; returns the page's bytes as served."""
    page = hostile_page(canary_port, site.port)
    html = {"Content-Type": "text/html; charset=utf-8"}
    site.routes["/"] = redirect("/post")
    site.routes["/post"] = reply(200, page, html)
    site.routes["/logo.png"] = reply(200, LOGO, {"Content-Type": "image/png"})
    site.routes["/moved.png"] = redirect("/logo.png", 301)
    site.routes["/to-canary"] = redirect(f"http://127.0.0.1:{canary_port}/redirected")
    # Served gzip although the capture asks for identity: the WARC must hold it compressed.
    site.routes["/style.css"] = reply(
        200, CSS_GZ, {"Content-Type": "text/css", "Content-Encoding": "gzip"}
    )
    site.routes["/refresh"] = reply(
        200,
        f'<meta http-equiv="refresh" content="0; url=http://127.0.0.1:{canary_port}/refresh">'.encode(),
        html,
    )
    site.routes["/robots.txt"] = reply(200, b"User-agent: *\nDisallow: /private\n")
    return page


def never_ending(h: BaseHTTPRequestHandler) -> None:
    """An image that sends its headers and then a byte now and then, for ever."""
    h.send_response(200)
    h.send_header("Content-Type", "image/png")
    h.send_header("Content-Length", "100000")
    h.end_headers()
    try:
        for _ in range(100000):
            h.wfile.write(b"\x00")
            h.wfile.flush()
            time.sleep(0.5)
    except OSError:
        return
