"""Which language a mention is written in, for the languages common in English school
communities: English, Polish, Romanian, Welsh, Urdu/Punjabi (script or romanised), Arabic and
"other". Pure and cheap (stopwords, diacritics and scripts; no model): py3langid/langdetect would
call romanised Urdu/Punjabi English or Indonesian, which is the case that matters most here.
"""

from __future__ import annotations

import re

LANGUAGES = ("en", "pl", "ro", "cy", "ur-pa", "ar", "other")


def _words(s: str) -> frozenset[str]:
    return frozenset(s.split())


_WORDS: dict[str, frozenset[str]] = {
    "en": _words(
        "the and is are was to of in it that for you with my this at have be not they his her "
        "our on what if just so been from about all do has"
    ),
    "pl": _words(
        "na nie jest się że czy jak ale tak dla przez już jestem są mam ma ktoś mój moja "
        "moje jego jej szkoła szkole szkoły nauczycielka nauczyciel dziecko dzieci córka syn "
        "bardzo tylko wszyscy wie proszę pani pan"
    ),
    "ro": _words(
        "și este nu în cu pe că mai din sunt fost ăla asta are zis copilul copiii copil "
        "școala scoala profesoara profesorul doamna fiica fiul meu mea lui ei foarte dacă daca "
        "pentru cineva acum"
    ),
    "cy": _words(
        "yr ac mae yn ei eu gyda wedi bod ddim dim iawn heddiw diolch ydy oedd roedd mawr merched ennill bawb holl ôl plant ysgol athrawes athro "
        "pennaeth fy ein chi hi fe fo nid oes hyn hwn hon rhieni"
    ),
    "ur-pa": _words(
        "hai hain nahi nahin nai ki ke ko se mein bohat bahut boht bht kya kyun "
        "woh wo yeh ye aur bhi toh tou hum ap aap apni apna meri mera beti beta bacha bachay "
        "bachon sab saath kal dekhte dekho wala wali karo kar kuch koi tusi sanu mainu ohna "
        "nu vich ni si hoya gaya gayi raha rahi"
    ),
}
# Letters that only some of these languages use.
_MARKS: dict[str, re.Pattern[str]] = {
    "pl": re.compile(r"[ąćęłńśźżĄĆĘŁŃŚŹŻ]"),
    "ro": re.compile(r"[ăâîșşțţĂÂÎȘŞȚŢ]"),
    "cy": re.compile(r"[ŵŷêôûŴŶÊÔÛ]"),
}
_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06ff\u0750-\u077f]")
_URDU_LETTERS = re.compile(r"[ٹڈڑںےۓھ]")  # Urdu/Shahmukhi letters Arabic lacks
_GURMUKHI = re.compile(r"[\u0a00-\u0a7f]")
_WORD = re.compile(r"[^\W\d_]+")


def detect(text: str) -> str:
    """One of LANGUAGES for `text` (mostly by the commonest function words)."""
    if _GURMUKHI.search(text):
        return "ur-pa"
    arabic = len(_ARABIC_SCRIPT.findall(text))
    if arabic >= 5:
        return "ur-pa" if _URDU_LETTERS.search(text) else "ar"
    words = [w.casefold() for w in _WORD.findall(text)]
    if not words:
        return "other"
    score = {k: sum(1 for w in words if w in v) for k, v in _WORDS.items()}
    for k, pat in _MARKS.items():
        score[k] += 2 * min(len(pat.findall(text)), 5)
    other = max((k for k in score if k != "en"), key=lambda k: score[k])
    # Names and English loanwords sit inside foreign posts, so a clear foreign score wins.
    if score[other] >= 2 and score[other] >= 0.6 * score["en"]:
        return other
    return "en" if score["en"] else "other"
