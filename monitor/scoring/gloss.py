"""The word-by-word English gloss that the sentence encoder reads for a post in Polish, Romanian,
Welsh or romanised Urdu/Punjabi.

The encoder (all-MiniLM-L6-v2) knows English only; it cuts "nauczycielka krzyczy na dzieci" into
word pieces that mean nothing to it. No multilingual encoder or translation model installs offline
from the package index, so each of these languages has a glossary (`data/gloss/<lang>.tsv`: an
inflected or diacritic-less form, a tab, one to three English words), and a post that
`language.detect` places in one of them is encoded as its gloss: "teacher shouts at children".
Word order and grammar are lost; the content words are what the heads need. Unknown words (names,
English loanwords, the school's name) stay as written. The n-gram block and the detectors still
read the original text: only the encoder's input changes.

Pure: the glossaries are read once, on first use.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from monitor.scoring.language import detect

GLOSS_DIR = Path(__file__).parent / "data" / "gloss"
LANGUAGES = ("pl", "ro", "cy", "ur-pa")
# Part of the embedding cache's key: a changed glossary changes what a text is encoded as.
VERSION = 1
ENCODING = f"gloss{VERSION}"
_TOKEN = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


class GlossaryError(Exception):
    """A glossary file is missing or malformed."""


@cache
def glossary(lang: str) -> dict[str, str]:
    """form -> English gloss for `lang` (one of LANGUAGES)."""
    path = GLOSS_DIR / f"{lang}.tsv"
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GlossaryError(f"{path}: cannot read the glossary ({exc.strerror})") from None
    out: dict[str, str] = {}
    for n, line in enumerate(lines, 1):
        form, tab, english = line.partition("\t")
        if not tab or not form.strip() or not english.strip():
            raise GlossaryError(f"{path}:{n}: expected 'form<TAB>English gloss'")
        out.setdefault(form.strip().casefold(), english.strip())
    return out


def gloss(text: str, lang: str | None = None) -> str:
    """`text` with each word the glossary of its language knows replaced by its English gloss;
    `text` itself when the language (detected unless given) has no glossary."""
    lang = detect(text) if lang is None else lang
    if lang not in LANGUAGES:
        return text
    words = glossary(lang)

    def english(m: re.Match[str]) -> str:
        word = m.group(0)
        return words.get(word.casefold().replace("’", "'"), word)

    return _TOKEN.sub(english, text)
