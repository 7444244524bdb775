"""Defusing feed bytes before feedparser sees them: no DTD, no entity declarations, one encoding.

feedparser strips a DOCTYPE's entity declarations but re-inserts the ones it deems "safe"
(any value without '&'), and its loose fallback parser then expands them without limit: one
100 KB entity referenced 20,000 times is 2 GB of text. expat alone stops billion-laughs only via
its amplification limit. So `defuse` removes every DOCTYPE (with its internal subset) and every
ENTITY declaration, wherever it appears. With no declarations there is nothing to expand, and
an `&name;` reference is just an undefined entity: expat refuses it and the loose parser leaves
it as text.

The text we check must be the text feedparser parses, so `defuse` decodes the bytes once (BOM,
then the XML declaration, UTF-16/32 included), edits the text, and always returns UTF-8 with a
declaration that says so. Pure: no I/O.
"""

from __future__ import annotations

import codecs
import re

# Byte-order marks, longest first (the UTF-32-LE mark begins with the UTF-16-LE one).
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
)
# Without a BOM, the first four bytes of "<?xm" / "<" tell the code unit width (XML 1.0, F.1).
_SNIFF: tuple[tuple[bytes, str], ...] = (
    (b"\x00\x00\x00\x3c", "utf-32-be"),
    (b"\x3c\x00\x00\x00", "utf-32-le"),
    (b"\x00\x3c\x00\x3f", "utf-16-be"),
    (b"\x3c\x00\x3f\x00", "utf-16-le"),
)
_WIDE = ("utf-16", "utf-32")
_DECL_ENCODING = re.compile(
    rb"""^\s*<\?xml[^>]{0,200}?\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._:-]{0,39})["']"""
)
_TEXT_DECL_ENCODING = re.compile(
    r"""\A(\s*<\?xml\b[^>]{0,200}?\sencoding\s*=\s*)(["'])[^"']{0,40}\2"""
)
# Declarations we remove. XML names them in upper case; the loose (SGML) parser in any case.
_DANGEROUS = re.compile(r"<!(?:doctype|entity)", re.IGNORECASE)
# Inside a declaration: quoted literals, comments and PIs may contain '>' or ']'.
_DECL_TOKEN = re.compile(r"""["'\[\]>]|<!--|<\?""")


def _text_codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        name = codecs.lookup(label.strip().strip("\"'").lower()).name
        "<".encode(name)  # a text encoding, not e.g. "zlib" or "rot13" (LookupError)
    except (LookupError, UnicodeError):
        return None
    return name


def detect_encoding(data: bytes, charset: str | None = None) -> tuple[str, int]:
    """(codec name, BOM length) for XML bytes: the BOM, else the HTTP charset parameter (RFC
    7303), else code-unit sniffing, else the XML declaration, else UTF-8."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name, len(bom)
    from_http = _text_codec(charset)
    if from_http is not None:
        return from_http, 0
    for head, name in _SNIFF:
        if data.startswith(head):
            return name, 0
    m = _DECL_ENCODING.match(data[:512])
    if m:
        canonical = _text_codec(m.group(1).decode("ascii"))
        # A UTF-16/32 label on bytes that are plainly 8-bit (we sniffed no wide "<?") is wrong.
        if canonical is not None and not canonical.startswith(_WIDE):
            return canonical, 0
    return "utf-8", 0


def decode(data: bytes, charset: str | None = None) -> str:
    """The document as text, by `detect_encoding`, falling back as browsers and feedparser do."""
    name, bom = detect_encoding(data, charset)
    body = data[bom:]
    candidates = [name] if name.startswith(_WIDE) else [name, "utf-8", "windows-1252"]
    for candidate in candidates:
        try:
            return body.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    # Wide encodings keep their width with replacement characters; 8-bit text falls to Latin-1,
    # which decodes every byte.
    return body.decode(name, errors="replace") if name.startswith(_WIDE) else body.decode("latin-1")


def _declaration_end(text: str, start: int) -> int:
    """Index just past the declaration that begins at `start` (or the end of the text)."""
    depth = 0
    i = start + 2
    end = len(text)
    while True:
        m = _DECL_TOKEN.search(text, i)
        if m is None:
            return end
        tok = m.group()
        if tok in ("'", '"'):
            close = text.find(tok, m.end())
            if close < 0:
                return end
            i = close + 1
        elif tok == "<!--":
            close = text.find("-->", m.end())
            if close < 0:
                return end
            i = close + 3
        elif tok == "<?":
            close = text.find("?>", m.end())
            if close < 0:
                return end
            i = close + 2
        elif tok == "[":
            depth += 1
            i = m.end()
        elif tok == "]":
            depth = max(0, depth - 1)
            i = m.end()
        else:  # ">"
            if depth == 0:
                return m.end()
            i = m.end()


def strip_declarations(text: str) -> str:
    """Remove every DOCTYPE (with its internal subset) and every ENTITY declaration.

    Each removed declaration becomes one space, so removing one can never join the text around
    it into a new "<!ENTITY": after one pass, none is left anywhere in the result.
    """
    kept: list[str] = []
    pos = 0
    while True:
        m = _DANGEROUS.search(text, pos)
        if m is None:
            break
        kept.append(text[pos : m.start()])
        kept.append(" ")
        pos = _declaration_end(text, m.start())
    if not kept:
        return text
    kept.append(text[pos:])
    return "".join(kept)


def defuse(data: bytes, charset: str | None = None) -> bytes:
    """Bytes safe for feedparser: UTF-8, no DOCTYPE, no ENTITY declarations anywhere.

    `charset` is the HTTP Content-Type charset parameter, if any. The result is always UTF-8,
    so tell feedparser so (e.g. response_headers content-type "application/xml; charset=utf-8"),
    never the original charset.
    """
    text = strip_declarations(decode(data, charset))
    # The declaration must now say UTF-8 (or say nothing, which means UTF-8).
    text = _TEXT_DECL_ENCODING.sub(r'\1"utf-8"', text, count=1)
    return text.encode("utf-8", errors="replace")
