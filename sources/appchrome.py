"""App chrome in an OCR'd screenshot: the lines that are the app's, not the poster's.

A screenshot of a Facebook group post, a tweet, a WhatsApp chat or an Instagram comment carries
the app around the post: the author and time header ("Sarah Jones · 2h", "@handle · 3 hrs",
"Yesterday at 14:02"), action bars ("Like · Reply · Share", "Like Comment Share"), reaction and
like/retweet counts, "Write a comment…", the group's name ("Parents of X Academy › Public group"),
"See more", "Follow", "· Edited", and the phone's status bar (clock, signal, battery). Scoring
that chrome would dilute the post, and it must not be taken as what was said.

`split_chrome(lines)` sorts OCR lines into the post's own lines and the chrome lines, which the
caller keeps separately (they still say where and when it was seen). Rules are deliberately
narrow: a line is chrome only when every token on it is a chrome token, or it is a header (a
short name-like line with a handle or followed by a time line). A post that happens to say "Reply
to me" keeps its words. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|jun(?:e)?|jul(?:y)?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAYS = r"(?:mon|tues|wednes|thurs|fri|satur|sun)day"
_CLOCK = r"\d{1,2}[:.]\d{2}(?:\s?[ap]\.?m\.?)?"
_AT_CLOCK = rf"(?:\s*(?:at|,)\s*{_CLOCK})?"
# Relative and absolute times as apps print them.
_TIME = (
    r"(?:just\s+now|now"
    r"|\d{1,3}\s?(?:s|m|h|d|w|y|sec|secs|min|mins|minutes?|hr|hrs|hours?|days?|wks?|weeks?"
    r"|mo|mos|months?|yrs?|years?)(?:\s+ago)?"
    rf"|(?:yesterday|today){_AT_CLOCK}"
    rf"|{_DAYS}{_AT_CLOCK}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}(?:\s+\d{{4}})?{_AT_CLOCK}"
    rf"|{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?{_AT_CLOCK}"
    rf"|{_CLOCK}(?:\s*[·•-]\s*\d{{1,2}}\s+{_MONTHS}\s+\d{{2,4}})?"
    r"|\d{1,2}/\d{1,2}/\d{2,4})"
)
_COUNT = r"\d[\d,.]*\s?[kKmM]?"
_COUNTED = (
    rf"(?:{_COUNT}\s*(?:likes?|comments?|shares?|reposts?|retweets?|quotes?|views?|replies|reply"
    r"|reactions?|bookmarks?|answers?|others?|more\s+repl(?:y|ies))?)"
)
# Words and phrases of action bars, labels and prompts (one token each).
_ACTIONS = (
    r"(?:like|liked|love|care|haha|wow|sad|angry|reply|replies|share|shared|comment|comments"
    r"|send|repost|retweet|quote|bookmark|views?|follow|following|message|more|edited|top\s+fan"
    r"|author|admin|moderator|group\s+expert|rising\s+contributor|see\s+more|see\s+less"
    r"|see\s+translation|translate|view\s+more\s+comments|view\s+(?:all\s+)?\d*\s*(?:more\s+)?"
    r"(?:comments?|replies|repl(?:y|ies))|hide\s+replies|most\s+relevant|all\s+comments"
    r"|newest|write\s+a\s+(?:public\s+)?comment\W*|write\s+an?\s+answer\W*|add\s+a\s+comment\W*"
    r"|post\s+your\s+reply|post|tweet|show\s+this\s+thread|show\s+more|read\s+more"
    r"|public|private|public\s+group|private\s+group|join(?:\s+group)?|joined|members?"
    r"|typing|online|last\s+seen.*|forwarded|delivered|seen|read|sent"
    r"|lte|[345]g|wi-?fi|sos)"
)
_SEP = r"[\s·•|,:;.\-–—~()\[\]]"
# A strong token: something an app prints. A weak one: a scrap of an icon (up to four non-word
# characters, or one or two letters the OCR made of a glyph).
_STRONG = rf"(?:{_TIME}|{_COUNTED}|{_ACTIONS}|\d{{1,3}}\s?%)"
_WEAK = r"(?:[^\w\s]{1,4}|[a-zA-Z]{1,2})"
_TOKEN = re.compile(rf"(?:(?P<strong>{_STRONG})|{_WEAK})(?={_SEP}|$)", re.IGNORECASE)
_LEADING = re.compile(rf"{_SEP}+")
_GROUP_LINE = re.compile(
    r"\b(?:public|private|visible)\s+group\b|^group$|^tap\s+here\s+for\s+group\s+info$",
    re.IGNORECASE,
)
_CONTINUED = re.compile(r"[›>»]\W{0,2}$")  # "Parents of X Academy ›" (the group is next line)
_SENDER = re.compile(r"^~\s?\S.{0,40}$")  # WhatsApp: "~ Jo" (a sender not in contacts)
# "jess.parker_2h", "the_hendersons4 iw" (1w): a handle with its time, OCR's slips included.
_GLUED_HANDLE_TIME = re.compile(r"^(?=\S*[._\d])[\w.]{3,30}?\s?(?:\d{1,3}|[Iil|])[smhdw]$")
# A scrap of an icon or emoji inside a line: no letter or digit, not ordinary punctuation.
_SCRAP = re.compile(r"(?<!\S)[^\w\s&£$%/:;,.!?'\"()\-–—]{1,3}(?!\S)|(?<!\S)[^\w\s]{2,3}(?!\S)")
_OTHERS = re.compile(r"^.{1,80}\band\s+[\d,.]+[kKmM]?\s+others?\W*$", re.IGNORECASE)
_HANDLE = re.compile(r"(?<!\w)@[A-Za-z0-9_.]{2,30}\b")
# A status bar: a clock at the start, then signal/battery scraps and a percentage or nothing.
_STATUS_BAR = re.compile(rf"^\W*{_CLOCK}\W*(?:\w{{0,4}}\W*){{0,6}}(?:\d{{1,3}}\s?%\W*)?$")
# A time at the end of a chat bubble's last line ("… tomorrow. 14:02 ✓✓").
# (OCR may read 14:02 as "1a.o2": after a first digit, the letters it confuses with digits.)
_OCR_CLOCK = r"\d[\dOoIl|a]?[:.][\dOoIl]{2}(?:\s?[ap]\.?m\.?)?"
_TRAILING_TIME = re.compile(rf"\s+{_OCR_CLOCK}\s*[^\w\s]{{0,3}}\s*[vV]{{0,2}}\s*$")
_NUMBERED = re.compile(r"\S*\d\S*")
_WORD = re.compile(r"[A-Za-z]{4,}")
_SENTENCE_END = re.compile(r"[.!?…]\W*$")
_MAX_NAME_WORDS = 6


@dataclass(frozen=True)
class Line:
    """One OCR line; `block` numbers the layout block it came from (a chat bubble, a card)."""

    text: str
    block: int = 0


def is_chrome_tokens(text: str) -> bool:
    """Whether every token of the line is an app's: a time, a count, an action word, an icon
    scrap. Scraps alone count only without a two-letter word ("I am" is a post's line)."""
    pos, s = 0, text.strip()
    strong = False
    letters = False
    while pos < len(s):
        sep = _LEADING.match(s, pos)
        if sep:
            pos = sep.end()
            if pos >= len(s):
                break
        m = _TOKEN.match(s, pos)
        if not m or m.end() == pos:
            return False
        strong = strong or m.group("strong") is not None
        letters = letters or sum(ch.isalpha() for ch in m.group(0)) >= 2
        pos = m.end()
    return strong or not letters


def clean_scraps(text: str) -> str:
    """The line without icon and emoji scraps standing alone ("term @", "years ++")."""
    return " ".join(_SCRAP.sub(" ", text).split())


def _time_line(text: str) -> bool:
    """A line made of chrome tokens that include a time (the line under a name in a header)."""
    return is_chrome_tokens(text) and re.search(_TIME, text, re.IGNORECASE) is not None


def _name_like(text: str) -> bool:
    words = text.split()
    return (
        0 < len(words) <= _MAX_NAME_WORDS
        and not _SENTENCE_END.search(text)
        and len(text) <= 60
        and any(ch.isalpha() for ch in text)
    )


def _header(text: str) -> bool:
    """ "Name @handle · 2h", "username 2h", "Sarah Jones › Parents of X" with a time: a short
    name-like head and a tail of chrome tokens that has a time in it."""
    words = text.split()
    for cut in range(1, min(len(words), _MAX_NAME_WORDS + 1)):
        head, tail = " ".join(words[:cut]), " ".join(words[cut:])
        if (
            _name_like(head)
            and _time_line(tail)
            and re.fullmatch(rf"{_SEP}*(?:{_TIME}).*", tail, re.I)
        ):
            return True
    return _HANDLE.search(text) is not None and _name_like(_HANDLE.sub("", text).strip(" ·•|"))


def chrome_kind(text: str) -> str | None:
    """Why one line, on its own, is chrome (None: it may be the post's)."""
    s = text.strip()
    if not s:
        return "blank"
    if _STATUS_BAR.match(s):
        return "status bar"
    if _GROUP_LINE.search(s) and len(s) <= 120:
        return "group"
    if _SENDER.match(s):
        return "header"
    if _OTHERS.match(s):
        return "reactions"
    if is_chrome_tokens(s):
        return "time" if re.search(_TIME, s, re.IGNORECASE) else "actions"
    if len(_NUMBERED.findall(s)) >= 2 and not _WORD.search(s):
        return "counts"  # an action bar's counts with its icons read as scraps ("@1e [ise 9 212")
    if _header(s):
        return "header"
    return None


@dataclass(frozen=True)
class Split:
    post: tuple[str, ...]
    chrome: tuple[str, ...]


def split_chrome(lines: Sequence[Line]) -> Split:
    """The post's own lines and the chrome lines, in reading order.

    Besides lines that are chrome on their own, a short name-like line directly above a time
    line is the author header (Facebook puts the name and "2h · 🌍" on two lines), and a clock
    ending the last line of a block is a chat bubble's time."""
    kinds = [chrome_kind(line.text) for line in lines]
    for i, line in enumerate(lines):
        text = line.text.strip()
        nxt = kinds[i + 1] if i + 1 < len(lines) else None
        above_post = not any(k is None for k in kinds[:i])
        if kinds[i] == "header" and not above_post:
            kinds[i] = None  # "… notice 14:02" inside the post is the post's (and its time)
        elif kinds[i] is not None or not above_post:
            continue
        elif nxt == "group" and (_CONTINUED.search(text) or _name_like(text)):
            kinds[i] = "group"  # "Parents of X Academy ›" over "Public group"
        elif nxt in ("time", "header") and _name_like(text):
            kinds[i] = "header"  # the author's name over "2h · 🌍"
        elif _GLUED_HANDLE_TIME.match(text):
            kinds[i] = "header"  # "jess.parker_2h": OCR glued the handle and the time
    post: list[str] = []
    chrome: list[str] = []
    for i, (line, kind) in enumerate(zip(lines, kinds, strict=True)):
        if kind == "blank":
            continue
        if kind is not None:
            chrome.append(line.text.strip())
            continue
        text = clean_scraps(line.text)
        if not text:
            chrome.append(line.text.strip())
            continue
        last_of_block = i + 1 == len(lines) or lines[i + 1].block != line.block
        m = _TRAILING_TIME.search(text) if last_of_block else None
        if m and m.start() > 0:
            chrome.append(text[m.start() :].strip())
            text = text[: m.start()].rstrip()
        post.append(text)
    return Split(tuple(post), tuple(chrome))
