"""Academy matching: is an item about a watched academy, which name matched, and where.

Pure: no I/O. The `Matcher` is built once from every academy's `Watch` and then runs on every
item of every feed, so all the work that does not depend on the item is done up front.

How an item is read:
- It is split into word tokens of the ORIGINAL string (offsets kept), hashtags and CamelCase are
  split ("#AnkermoorPrimary" -> "Ankermoor", "Primary"), and each token is normalised (diacritics
  dropped, case folded: "Fierté" -> "fierte").
- A name matches a run of consecutive tokens whose concatenation equals the name's concatenation,
  so spacing and hyphen variants match one another ("Anker-Moor", "Anker Moor", "Ankermoor",
  "#ankermoorprimary"). Small misspellings ("ankermore primary") match through rapidfuzz, but only
  for token runs that start with the same two letters as a name and have a similar length: a
  cheap prefilter so that fuzzy comparison never scans every window of every item.
- Exclusions ("Ankermoor Road") knock out any name occurrence they overlap.
- An ambiguous name ("Ankermoor" alone is also a place) only counts with a context word nearby
  ("Year 5s at Ankermoor"), and not when it is plainly the place or a namesake business: followed
  by a place/business noun ("Ankermoor Lodge", "Anker Moor Dental") or preceded by a place
  preposition ("the far side of Anker Moor").
- A full name used as a landmark ("opposite Ankermoor Primary", "walking distance of ...") is
  about a house or a café, not the school, unless school context sits right next to it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

from rapidfuzz.fuzz import ratio

from monitor.models import Match
from monitor.school_words import (
    NAMESAKE_NOUNS_BEFORE,
    NOT_A_PLACE_PHRASES,
    PLACE_POSTPOSITIONS,
    SCHOOL_FRAME_WORDS,
    SCHOOL_PEOPLE,
    SCHOOL_THINGS_AFTER,
    SCHOOL_VERBS,
    SOFT_NAMESAKE_NOUNS,
)

if TYPE_CHECKING:
    from monitor.config import AcademyConfig

__all__ = [
    "DEFAULT_CONTEXT_WORDS",
    "FUZZY_THRESHOLD",
    "CONTEXT_WINDOW",
    "Watch",
    "Matcher",
    "normalise_token",
    "tokenise",
]

# A score of 88 on rapidfuzz's normalised Indel ratio allows one substituted letter in a nine-letter
# name ("ankermore" for "ankermoor") and about one slip per eight letters in longer ones.
FUZZY_THRESHOLD = 88.0
# Each end of a fuzzy run must be this close to the same stretch of the name (see _ends_agree).
FUZZY_END_THRESHOLD = 80.0
# Fuzzy matching below this many letters finds too many unrelated words.
FUZZY_MIN_LEN = 7
# How many tokens either side of an ambiguous name a context word may be.
CONTEXT_WINDOW = 12
# In a post of at most this many tokens (title and text together), school context anywhere in it
# counts for an ambiguous name.
SHORT_POST = 80

# Used when an academy configures no context words of its own.
DEFAULT_CONTEXT_WORDS: tuple[str, ...] = (
    "school", "primary", "academy", "pupil", "pupils", "head", "headteacher", "head teacher",
    "teacher", "teachers", "teaching assistant", "TA", "PTA", "SENCO", "Ofsted", "SATs",
    "reception", "nursery", "class", "classroom", "playground", "parents", "kids", "children",
    "uniform", "assembly", "governors", "year 1", "year 2", "year 3", "year 4", "year 5",
    "year 6", "KS1", "KS2", "school run", "pick-up", "drop-off",
)  # fmt: skip

# Before "at/from/in the" + an ambiguous name: a person of the school ("Mrs Keel in the
# Ankermoor office", "my son at Ankermoor", "the kid from Ankermoor").
_PERSON_TITLES = frozenset({"mr", "mrs", "miss", "ms", "mx", "sir", "pani", "pan", "doamna"})
_PERSON_LINKS = (
    ("at",),
    ("from",),
    ("at", "the"),
    ("in", "the"),
    ("from", "the"),
    ("to",),
    ("out", "of"),
    ("z",),
    ("w",),
    ("de", "la"),
    ("yn",),
    ("mein",),
)

# After an ambiguous name, these mean the name is part of a place's or a business's name.
NAMESAKE_NOUNS: frozenset[str] = frozenset({
    "road", "rd", "street", "st", "lane", "ln", "close", "avenue", "ave", "drive", "way",
    "crescent", "gardens", "park", "estate", "court", "place", "grove", "rise", "hill", "green",
    "common", "bridge", "lodge", "arms", "inn", "tavern", "hotel", "pub", "rovers", "fc", "united",
    "town", "athletic", "cricket", "rugby", "golf", "tennis", "bowls", "social", "dental",
    "dentist", "dentists", "surgery", "medical", "health", "pharmacy", "vets", "veterinary", "care",
    "nursing", "carehome", "church", "chapel", "methodist", "baptist", "garage", "motors", "cars",
    "taxis", "nature", "reserve", "farm", "mill", "wood", "woods", "lake", "reservoir", "station",
    "leisure", "fitness", "gym", "dance", "ballet", "scouts", "brownies", "guides", "high",
    "secondary", "grammar", "college", "ward", "parish", "council", "wanderers", "harriers",
    "bakery", "cafe", "restaurant", "stores", "shop", "supermarket", "vineyard",
    "brewery", "quarry", "industrial", "retail", "business", "homes", "housing", "development",
    "ridge", "village", "moor", "roundabout", "capital", "partners", "family", "valley", "heath",
    "edge", "marina", "boat", "narrowboat", "allotments", "hall", "library", "community",
    "garden", "centre", "center", "sorting", "car", "boot", "tip", "market",
    # more businesses, clubs and places of the same name
    "fish", "bar", "tandoori", "kebab", "nails", "studios", "launderette", "caravan", "mews",
    "chase", "loop", "lock", "ground", "players", "brass", "band", "district", "residents",
    "elementary", "public", "boxing",
})  # fmt: skip

# Shortly before an ambiguous name, these mean it names a thing ("narrowboat 'Anker Moor'").
_NAMED_THINGS = frozenset({
    "narrowboat", "boat", "cruiser", "yacht", "barge", "ship", "horse", "pony", "racehorse",
    "locomotive", "engine", "rose", "variety", "cultivar",
})  # fmt: skip

# After a full name, these mean another organisation that shares it ("Ankermoor Primary Care
# Network" is the NHS; "Ankermoor Academy of Dance" is a dance school).
FULL_NAME_NAMESAKE_NOUNS: frozenset[str] = frozenset({
    "care", "network", "dental", "surgery", "medical", "health", "pharmacy", "clinic",
})  # fmt: skip
_ORGANISATION_WORDS = frozenset(
    ["network", "centre", "center", "clinic", "services", "practice", "team"]
)
ACADEMY_OF_SUBJECTS: frozenset[str] = frozenset({
    "dance", "music", "ballet", "performing", "arts", "drama", "football", "soccer", "sport",
    "sports", "martial", "gymnastics", "swimming", "theatre", "stage", "languages", "driving",
    "hair", "beauty", "boxing", "karate",
})  # fmt: skip

# Immediately before an ambiguous name, these mean the place, not the school.
PLACE_PREPOSITIONS: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split())
    for p in (
        "in", "on", "across", "over", "around", "through", "towards", "into", "beyond", "near",
        "nearby", "side of", "edge of", "outskirts of", "heart of", "centre of", "center of",
        "middle of", "top of", "north of", "south of", "east of", "west of", "part of",
        "dealul", "pe dealul", "na", "w okolicy",
    )
)  # fmt: skip

# Immediately before any name, these mean the school is a landmark (house adverts, cafés).
LANDMARK_PHRASES: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split())
    for p in (
        "opposite", "near", "nearby", "next to", "close to", "distance of", "distance from",
        "distance to", "walk from", "walk to", "minutes from", "mins from", "throw from",
        "corner from", "road from", "across from", "catchment of", "catchment for",
        "catchment area of", "catchment area for", "opposite to", "adjacent to", "beside",
        "behind", "handy for", "convenient for", "ideal for",
    )
)  # fmt: skip

# Words that only repeat what kind of place a landmark is ("near Ankermoor Primary school").
_SCHOOL_TYPE = frozenset({"school", "academy", "primary"})

# A word: letters and digits (never "_"), with any combining marks inside it.
_WORD = re.compile(r"(?:[^\W_]|[\u0300-\u036f])+")


@lru_cache(maxsize=1 << 16)
def normalise_token(word: str) -> str:
    """One token as matching compares it: compatibility-decomposed, no diacritics, case-folded."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _camel_parts(word: str, start: int) -> Iterable[tuple[int, int]]:
    """Split 'AnkermoorPrimary' at lower->upper boundaries; other words come back whole."""
    cut = start
    for i in range(1, len(word)):
        if word[i].isupper() and word[i - 1].islower():
            yield cut, start + i
            cut = start + i
    yield cut, start + len(word)


@dataclass(frozen=True)
class _Tokens:
    """A field's tokens: normalised text, spans into the original string, and hashtag flags."""

    norm: tuple[str, ...]
    spans: tuple[tuple[int, int], ...]
    hashtag: tuple[bool, ...]
    capital: tuple[bool, ...]  # the original word starts with a capital letter
    text: str = ""  # the original string


def tokenise(s: str) -> _Tokens:
    """The tokens of `s` with their offsets into `s` itself."""
    norm: list[str] = []
    spans: list[tuple[int, int]] = []
    tags: list[bool] = []
    caps: list[bool] = []
    for m in _WORD.finditer(s):
        a, b = m.span()
        tag = a > 0 and s[a - 1] == "#"
        word = m.group()
        # Only mixed-case words ("AnkermoorPrimary", "#AnkermoorPTA") can need splitting.
        mixed = not (word.islower() or word.istitle() or word.isupper())
        parts = _camel_parts(word, a) if mixed or tag else ((a, b),)
        for pa, pb in parts:
            n = normalise_token(s[pa:pb])
            if n:
                norm.append(n)
                spans.append((pa, pb))
                tags.append(tag and pa == a)
                caps.append(s[pa].isupper())
    return _Tokens(tuple(norm), tuple(spans), tuple(tags), tuple(caps), s)


def _phrase(s: str) -> tuple[str, ...]:
    return tokenise(s).norm


@dataclass(frozen=True)
class Watch:
    """The compiled matching view of one academy."""

    id: str
    names: tuple[str, ...]
    context_words: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    ambiguous_names: tuple[str, ...] = ()
    display_name: str = ""

    @classmethod
    def from_config(cls, academy: AcademyConfig) -> Watch:
        return cls(
            id=academy.id,
            names=tuple(academy.names),
            context_words=tuple(academy.context_words),
            exclusions=tuple(academy.exclusions),
            ambiguous_names=tuple(academy.ambiguous_names),
            display_name=academy.display_name,
        )


@dataclass(frozen=True)
class _Entry:
    """What a concatenated key stands for in one watch."""

    watch: int
    variant: str  # the configured spelling
    kind: str  # "name" | "ambiguous" | "exclusion"
    hashtag: bool  # the configured spelling is a hashtag


@dataclass(frozen=True)
class _Hit:
    """A run of tokens that equals (or nearly equals) a name."""

    entry: _Entry
    first: int  # token index, inclusive
    last: int  # token index, exclusive
    score: float
    key_len: int


@dataclass
class _Compiled:
    exact: dict[str, list[_Entry]] = field(default_factory=dict)
    # first two letters -> (key, entries) for fuzzy candidates
    fuzzy: dict[str, list[tuple[str, list[_Entry]]]] = field(default_factory=dict)
    starts: set[str] = field(default_factory=set)
    max_tokens: int = 1
    max_len: int = 0


def _ends_agree(first: str, last: str, key: str) -> bool:
    """A fuzzy run must be close to the name at both ends, not a right name plus another word.

    ("Ankermoor Primary choir" is close to "Ankermoor Primary School" overall, but "choir" is not
    close to "school".)
    """
    cut = FUZZY_END_THRESHOLD
    return (
        ratio(first, key[: len(first)], score_cutoff=cut) > 0
        and ratio(last, key[-len(last) :], score_cutoff=cut) > 0
    )


def _plural_stems(t: str) -> tuple[str, ...]:
    if t.endswith("es") and len(t) > 3:
        return (t, t[:-1], t[:-2])
    if t.endswith("s") and len(t) > 1:
        return (t, t[:-1])
    return (t,)


class _Context:
    """One academy's context words, looked up by their first token."""

    def __init__(self, words: Sequence[str]) -> None:
        self.by_first: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for w in words:
            toks = _phrase(w)
            if toks:
                self.by_first.setdefault(toks[0], []).append((w, toks))
        for phrases in self.by_first.values():
            phrases.sort(key=lambda p: -len(p[1]))  # "head teacher" before "head"

    def find(self, toks: Sequence[str], lo: int, hi: int, skip: range) -> str | None:
        """The first configured context word within toks[lo:hi], ignoring indexes in `skip`."""
        lo = max(lo, 0)
        hi = min(hi, len(toks))
        for i in range(lo, hi):
            if i in skip:
                continue
            for stem in _plural_stems(toks[i]):
                for word, phrase in self.by_first.get(stem, ()):
                    end = i + len(phrase)
                    if end > hi or any(j in skip for j in range(i, end)):
                        continue
                    if len(phrase) == 1 or _same_phrase(toks[i + 1 : end], phrase[1:]):
                        return word
        return None


def _same_phrase(toks: Sequence[str], phrase: Sequence[str]) -> bool:
    return len(toks) == len(phrase) and all(
        p in _plural_stems(t) for t, p in zip(toks, phrase, strict=True)
    )


def _full_name_namesake(tk: _Tokens, after: int) -> bool:
    """Whether the words after a full name make it another organisation's name."""
    toks = tk.norm
    if after >= len(toks):
        return False
    nxt = toks[after + 1] if after + 1 < len(toks) else ""
    if toks[after] in FULL_NAME_NAMESAKE_NOUNS:
        # "Ankermoor Primary Care Network", but not "Ankermoor Primary care more about Ofsted".
        return tk.capital[after] or nxt in _ORGANISATION_WORDS
    return toks[after] == "of" and nxt in ACADEMY_OF_SUBJECTS


_FRAME = _Context(SCHOOL_FRAME_WORDS)

# Between two tokens, any of these ends a clause: a preposition or a namesake noun on the far side
# of one does not bind the name ("He won't go in. Ankermoor, how could you.").
_CLAUSE_BREAK = frozenset(".,;:!?()[]{}|\n–—•")
# A named thing may sit a comma away ("Narrowboat for sale, 'Anker Moor'"), not a sentence away.
_SENTENCE_BREAK = frozenset(".!?()[]{}\n")
_APOSTROPHES = frozenset("'’")
# A class's code ("6B", "Y4", "yr2", "Rec"): only a school has them right after its name.
_CLASS_CODE = re.compile(r"(?:[1-6][a-z]{1,2}|y[1-6]|yr[1-6]|rec)")
# After a lower-case soft namesake noun, these make it a namesake's name after all
# ("ankermoor community centre", "the Ankermoor car boot").
_SOFT_NOUN_NAMESAKE_NEXT = frozenset(
    {"centre", "center", "boot", "boots", "home", "homes", "group", "club", "sale", "shop"}
)
# A class code as written: "6B", "3M", "Y4" (not "1a", a flat).
_CLASS_CODE_WRITTEN = re.compile(r"[1-6][A-Z]{1,2}|[Yy][1-6]|Yr[1-6]")
_AGE = re.compile(r"\d{1,2}(?:yo|yrs?)")
_TEACHER_TITLES = frozenset({"mr", "mrs", "miss", "ms", "pani", "doamna", "doamnei"})
# Before a clause-final "miss": the verb, not a teacher addressed ("I'll miss", "don't miss").
_NOT_ADDRESS = frozenset(
    {
        "will",
        "ll",
        "t",
        "not",
        "to",
        "never",
        "would",
        "d",
        "i",
        "we",
        "you",
        "they",
        "gonna",
        "must",
        "can",
        "always",
        "really",
        "so",
        "near",
        "a",
    }
)
# Just before the name: the post speaks to the school ("Thank you Ankermoor", "Dear Ankermoor").
_ADDRESS_FORMS: tuple[tuple[str, ...], ...] = (
    ("thank", "you"), ("thanks",), ("dear",), ("diolch", "i"), ("multumim",), ("mersi",),
    ("dziekujemy",), ("dziekuje",), ("aciu",), ("listen", "up"), ("shocking",), ("shame", "on"),
)  # fmt: skip
# "Not Ankermoor related", "(nie Ankermoor!)": the post says it is not about the school.
_NEGATIONS = frozenset({"not", "nie", "nu", "ddim", "nahi"})


def _joined(tk: _Tokens, i: int, j: int, breaks: frozenset[str] = _CLAUSE_BREAK) -> bool:
    """Whether tokens i < j sit in the same clause (no clause-ending punctuation between)."""
    if i < 0 or j >= len(tk.norm):
        return False
    between = tk.text[tk.spans[i][1] : tk.spans[j][0]]
    return not any(c in breaks for c in between)


def _after(tk: _Tokens, last: int) -> int | None:
    """The index of the word after a name, past a possessive 's, if it is in the same clause."""
    j = last
    if j < len(tk.norm) and tk.norm[j] == "s" and tk.text[tk.spans[j][0] - 1] in _APOSTROPHES:
        j += 1
    return j if _joined(tk, j - 1, j) else None


def _soft_school_noun(tk: _Tokens, at: int) -> bool:
    """A SOFT_NAMESAKE_NOUN written in lower case, and not the start of a namesake's longer name:
    "the Ankermoor hall" and "the Ankermoor car park" are the school's, "Ankermoor Hall" and "the
    ankermoor community centre" are not."""
    toks = tk.norm
    if toks[at] not in SOFT_NAMESAKE_NOUNS or (tk.capital[at] and not tk.text.isupper()):
        return False
    nxt = toks[at + 1] if at + 1 < len(toks) else ""
    return nxt not in _SOFT_NOUN_NAMESAKE_NEXT


def _school_thing_after(tk: _Tokens, last: int) -> str | None:
    """A thing of the school right after the name: "Ankermoor uniform", "Ankermoor's Y6"."""
    j = _after(tk, last)
    if j is None:
        return None
    t = tk.norm[j]
    if t in SCHOOL_THINGS_AFTER or _CLASS_CODE.fullmatch(t):
        if t in SOFT_NAMESAKE_NOUNS and not _soft_school_noun(tk, j):
            return None  # "Ankermoor Hall" is a hall's name
        return t
    return None


def _person_before(tk: _Tokens, first: int) -> str | None:
    """A person of the school just before "at/from/to/in the" + the name: "Mrs Keel at Ankermoor",
    "my son at Ankermoor", "works at Ankermoor", "Tommy Graves from Ankermoor"."""
    toks = tk.norm
    for link in _PERSON_LINKS:
        n = len(link)
        if first < n + 1 or tuple(toks[first - n : first]) != link:
            continue
        if not _joined(tk, first - n - 1, first):
            continue
        who = toks[first - n - 1]
        if who in SCHOOL_PEOPLE or who in SCHOOL_VERBS:
            return f"{who} {' '.join(link)}"
        before = toks[max(0, first - n - 3) : first - n]
        if any(t in _PERSON_TITLES for t in before):
            return f"{' '.join(before)} {' '.join(link)}"
        # A person's full name: two capitalised words, neither opening the item or a sentence.
        k = first - n - 2
        if (
            link[0] in ("at", "from")
            and k > 0
            and tk.capital[k]
            and tk.capital[k + 1]
            and _joined(tk, k - 1, k + 1)
            and not tk.text.isupper()
        ):
            return f"{tk.text[tk.spans[k][0] : tk.spans[k + 1][1]]} {' '.join(link)}"
    return None


def _school_marks(tk: _Tokens) -> str | None:
    """Marks of a school post anywhere in a short item: a class's code as written ("6B", "Yr 2"),
    a child's age ("my 7 year old", "5yo"), a teacher by title ("Miss Delaney", "mr hollins")."""
    toks = tk.norm
    for i, t in enumerate(toks):
        word = tk.text[tk.spans[i][0] : tk.spans[i][1]]
        nxt = toks[i + 1] if i + 1 < len(toks) else ""
        if _CLASS_CODE_WRITTEN.fullmatch(word) or (t in ("yr", "year") and nxt in "123456"):
            return word
        if _AGE.fullmatch(t) or (
            t.isdigit()
            and len(t) <= 2
            and nxt == "year"
            and i + 2 < len(toks)
            and toks[i + 2] in ("old", "olds")
        ):
            return word
        if (
            t in _TEACHER_TITLES
            and i + 1 < len(toks)
            and not nxt.isdigit()
            and nxt not in ("and", "a", "the")
            and len(nxt) > 1
        ):
            return f"{word} {tk.text[tk.spans[i + 1][0] : tk.spans[i + 1][1]]}"
        if (
            t in ("miss", "sir")
            and (i + 1 == len(toks) or not _joined(tk, i, i + 1))
            and (i == 0 or toks[i - 1] not in _NOT_ADDRESS)
        ):
            return word  # "see you tomorrow miss", "thanks sir!"
    return None


def _school_frame(tk: _Tokens, first: int, last: int, skip: range) -> str | None:
    """School context any school has, near an ambiguous name: a school word of SCHOOL_FRAME_WORDS
    in the window, a person of the school just before it ("Mrs Keel at Ankermoor"), or a thing of
    the school just after it ("Ankermoor uniform")."""
    word = _FRAME.find(tk.norm, first - CONTEXT_WINDOW, last + CONTEXT_WINDOW, skip)
    if word is not None:
        return word
    return _person_before(tk, first) or _school_thing_after(tk, last)


def _place_or_namesake(tk: _Tokens, first: int, last: int) -> bool:
    """Whether a bare ambiguous name is plainly the place, a namesake, or said not to be the school."""
    toks = tk.norm
    j = _after(tk, last)
    after = toks[j] if j is not None and j == last else ""
    if after in NAMESAKE_NOUNS and not _soft_school_noun(tk, last):
        return True  # "Ankermoor Road", "Ankermoor Village Hall"
    if j is not None and any(tuple(toks[j : j + len(p)]) == p for p in PLACE_POSTPOSITIONS):
        return True  # "Ankermoor ke saamne" (opposite Ankermoor)
    if first > 0 and _joined(tk, first - 1, first):
        before = toks[first - 1]
        if before in NAMESAKE_NOUNS_BEFORE:
            return True  # "Heol Ankermoor", "osiedle Ankermoor", "MV Ankermoor"
        if before in _NEGATIONS and (j is None or toks[j] == "related"):
            return True  # "not Ankermoor related", "(nie Ankermoor!)"
        if before in ("called", "named") and first > 1 and toks[first - 2] in NAMESAKE_NOUNS:
            return True  # "a village called Ankermoor"
    if _school_thing_after(tk, last) is not None:
        return False  # "the girls in Ankermoor year 6", "in Ankermoor uniform"
    for p in PLACE_PREPOSITIONS:
        n = len(p)
        if (
            first >= n
            and tuple(toks[first - n : first]) == p
            and _joined(tk, first - n, first)
            and not _preceded_by(toks, first, NOT_A_PLACE_PHRASES)
        ):
            return True  # "in Ankermoor", "the far side of Anker Moor"
    for k in range(max(0, first - 3), first):
        if toks[k] in _NAMED_THINGS and _joined(tk, k, first, _SENTENCE_BREAK):
            return True  # "narrowboat 'Anker Moor'"
    return False


def _preceded_by(toks: Sequence[str], first: int, phrases: Sequence[tuple[str, ...]]) -> bool:
    for p in phrases:
        n = len(p)
        if first >= n and tuple(toks[first - n : first]) == p:
            return True
    return False


class Matcher:
    """Finds which watched academies an item is about. Build once; call `match` per item."""

    def __init__(self, watches: Sequence[Watch]) -> None:
        self.watches = tuple(watches)
        self._c = _Compiled()
        self._context = [_Context(w.context_words or DEFAULT_CONTEXT_WORDS) for w in self.watches]
        for wi, w in enumerate(self.watches):
            ambiguous = set(w.ambiguous_names)
            for variant in (*w.names, *w.ambiguous_names):
                kind = "ambiguous" if variant in ambiguous else "name"
                self._add(variant, _Entry(wi, variant, kind, variant.lstrip().startswith("#")))
            for variant in w.exclusions:
                self._add(variant, _Entry(wi, variant, "exclusion", False), fuzzy=False)

    def _add(self, variant: str, entry: _Entry, fuzzy: bool = True) -> None:
        toks = _phrase(variant)
        key = "".join(toks)
        if not key:
            return
        c = self._c
        entries = c.exact.setdefault(key, [])
        if entry not in entries:
            entries.append(entry)
        c.starts.add(key[:2])
        c.max_len = max(c.max_len, len(key))
        # A name written as one word may appear split ("Anker-Moor"): allow a couple more tokens.
        c.max_tokens = max(c.max_tokens, len(toks) + 2)
        if fuzzy and len(key) >= FUZZY_MIN_LEN:
            bucket = c.fuzzy.setdefault(key[:2], [])
            for k, es in bucket:
                if k == key:
                    if entry not in es:
                        es.append(entry)
                    break
            else:
                bucket.append((key, [entry]))

    # -- finding names ------------------------------------------------------------------------

    def _hits(self, toks: Sequence[str]) -> list[_Hit]:
        c = self._c
        limit = c.max_len + c.max_len // 4 + 1
        hits: list[_Hit] = []
        n = len(toks)
        for i in range(n):
            head = toks[i][:2]
            if head not in c.starts:
                continue
            fuzzy_bucket = c.fuzzy.get(head, ())
            joined = ""
            for j in range(i, min(n, i + c.max_tokens)):
                joined += toks[j]
                if len(joined) > limit:
                    break
                exact = c.exact.get(joined)
                if exact:
                    hits.extend(_Hit(e, i, j + 1, 100.0, len(joined)) for e in exact)
                for key, entries in fuzzy_bucket:
                    if key == joined or abs(len(key) - len(joined)) > len(key) // 6 + 1:
                        continue
                    score = ratio(joined, key, score_cutoff=FUZZY_THRESHOLD)
                    if score and _ends_agree(toks[i], toks[j], key):
                        hits.extend(_Hit(e, i, j + 1, score, len(key)) for e in entries)
        return hits

    def _field_matches(
        self, fname: str, tk: _Tokens, extra: _Tokens | None
    ) -> list[tuple[int, Match]]:
        toks = tk.norm
        hits = self._hits(toks)
        if not hits:
            return []
        excluded: dict[int, list[tuple[int, int]]] = {}
        for h in hits:
            if h.entry.kind == "exclusion":
                excluded.setdefault(h.entry.watch, []).append((h.first, h.last))
        # The longest name, then the better score: one occurrence yields one name.
        names = sorted(
            (h for h in hits if h.entry.kind != "exclusion"),
            key=lambda h: (-h.key_len, -h.score, h.first),
        )
        taken: dict[int, list[tuple[int, int]]] = {}
        out: list[tuple[int, Match]] = []
        for h in names:
            w = h.entry.watch
            if any(h.first < b and a < h.last for a, b in taken.get(w, ())):
                continue
            taken.setdefault(w, []).append((h.first, h.last))
            if any(h.first < b and a < h.last for a, b in excluded.get(w, ())):
                continue
            m = self._judge(h, fname, tk, extra)
            if m is not None:
                out.append((w, m))
        return out

    def _judge(self, h: _Hit, fname: str, tk: _Tokens, extra: _Tokens | None) -> Match | None:
        toks = tk.norm
        ambiguous = h.entry.kind == "ambiguous"
        landmark = _preceded_by(toks, h.first, LANDMARK_PHRASES)
        if ambiguous:
            if _place_or_namesake(tk, h.first, h.last):
                return None
        elif _full_name_namesake(tk, h.last):
            return None
        context_word = None
        if ambiguous or landmark:
            skip = range(h.first, h.last)
            if landmark and h.last < len(toks) and toks[h.last] in _SCHOOL_TYPE:
                skip = range(h.first, h.last + 1)
            ctx = self._context[h.entry.watch]
            lo, hi = h.first - CONTEXT_WINDOW, h.last + CONTEXT_WINDOW
            context_word = ctx.find(toks, lo, hi, skip)
            if context_word is None and extra is not None and not landmark and fname == "title":
                # A title is short: its context is usually in the first lines of the text.
                context_word = ctx.find(extra.norm, 0, 2 * CONTEXT_WINDOW, range(0))
            if context_word is None and ambiguous:
                context_word = _school_frame(tk, h.first, h.last, skip)
            if context_word is None and ambiguous:
                context_word = self._short_post_context(h, tk, extra, skip)
            if context_word is None:
                return None
        start = tk.spans[h.first][0]
        if tk.hashtag[h.first]:
            start -= 1  # include the '#'
        end = tk.spans[h.last - 1][1]
        variant = self._variant(h, tk)
        return Match(
            organisation=self.watches[h.entry.watch].id,
            matched_name=variant,
            field=fname,
            start=start,
            end=end,
            needed_context=context_word is not None,
            context_word=context_word,
            fuzzy_score=round(h.score, 1),
        )

    def _short_post_context(
        self, h: _Hit, tk: _Tokens, other: _Tokens | None, skip: range
    ) -> str | None:
        """In a short post (a comment, a review, a title and its blurb) school context anywhere
        in it counts: people write "ANKERMOOR HAVE LOST MY DAUGHTERS COAT", not a sentence that
        puts the school word next to the name."""
        other_len = len(other.norm) if other is not None else 0
        if len(tk.norm) + other_len > SHORT_POST:
            return None
        ctx = self._context[h.entry.watch]
        n = len(tk.norm)
        word = ctx.find(tk.norm, 0, n, skip) or _FRAME.find(tk.norm, 0, n, skip)
        if word is None and other is not None:
            m = len(other.norm)
            word = ctx.find(other.norm, 0, m, range(0)) or _FRAME.find(other.norm, 0, m, range(0))
        if word is None:
            word = _school_marks(tk) or (_school_marks(other) if other is not None else None)
        if word is None and _preceded_by(tk.norm, h.first, _ADDRESS_FORMS):
            word = tk.text[tk.spans[h.first - 1][0] : tk.spans[h.first][0]].strip()
        return word

    def _variant(self, h: _Hit, tk: _Tokens) -> str:
        """The configured spelling closest in form to what was written (hashtag or not)."""
        if h.score < 100.0:
            return h.entry.variant
        written = tk.norm[h.first : h.last]
        same = [
            e
            for e in self._c.exact.get("".join(written), ())
            if e.watch == h.entry.watch and e.kind == h.entry.kind
        ]
        written_tag = tk.hashtag[h.first]
        for e in same:
            if e.hashtag == written_tag and _phrase(e.variant) == written:
                return e.variant
        for e in same:
            if e.hashtag == written_tag:
                return e.variant
        return h.entry.variant

    def match(self, title: str, text: str) -> list[Match]:
        """One Match per academy the item is about, best first; [] when it is about none."""
        title = title or ""
        text = text or ""
        t_title = tokenise(title)
        t_text = tokenise(text)
        found = self._field_matches("title", t_title, t_text)
        found += self._field_matches("text", t_text, t_title)
        best: dict[int, Match] = {}
        for w, m in found:
            if w not in best or _rank(m) < _rank(best[w]):
                best[w] = m
        return sorted(best.values(), key=_rank)


def _rank(m: Match) -> tuple[bool, float, bool, int]:
    """Smaller is better: no context needed, exact, in the title, early."""
    return (m.needed_context, -m.fuzzy_score, m.field != "title", m.start)
