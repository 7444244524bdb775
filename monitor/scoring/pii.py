"""Pure detectors of personal data in a mention, and the redaction alerts use.

No model and no I/O: regular expressions, check digits (python-stdnum) and phone-number rules
(phonenumbers), plus a first-name list with school context for children's names. Spans index
into the string given (the scorer passes `scoring_text(title, text)`).

Kinds found: phone, email, role_email, postcode, address, dob, ni_number, upn, nhs_number,
credential, child_name, child_health (a medical/SEN/safeguarding term next to an identified
child), class_list (several children's names in a list, or with scores), confidential (a
confidentiality marking or a personnel letter to named staff: reported, not redacted).

Where redaction happens: once, in `alerts.rules.clean_text`, when text goes into a notice (urgent
alert, provider notice, digest lines) or into the facts the mention web page shows. Nothing
downstream (render, outbox, web templates) redacts again. `redact` is idempotent all the same
(`redact(redact(x)) == redact(x)`: a marker is never matched or redacted again, see below), and
linear in the length of the text: every pattern scans once, neighbours are found by bisection, and
the case-insensitive patterns run on an ASCII-lowered copy (`_fold`). bench/redact.py measures it.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from phonenumbers import PhoneMetadata
from stdnum.gb import nhs as _nhs
from stdnum.gb import upn as _upn

from monitor.models import Evidence
from monitor.scoring.names import FIRST_NAMES, STRICT

__all__ = ["find_personal_data", "redact", "LeakSignals", "leak_signals", "REPLACEMENTS"]

REPLACEMENTS: dict[str, str] = {
    "phone": "[phone removed]",
    "email": "[email removed]",
    "role_email": "[email removed]",
    "postcode": "[postcode removed]",
    "address": "[address removed]",
    "dob": "[date of birth removed]",
    "ni_number": "[NI number removed]",
    "upn": "[pupil number removed]",
    "nhs_number": "[NHS number removed]",
    "credential": "[credential removed]",
    "child_name": "[name removed]",
    "class_list": "[names removed]",
}

# Kinds that are personal data in themselves (a role mailbox or a lone name is not).
STRONG_KINDS = frozenset(
    {
        "postcode",
        "address",
        "dob",
        "ni_number",
        "upn",
        "nhs_number",
        "credential",
        "child_health",
        "class_list",
        "confidential",
    }
)


def _fold(text: str) -> str:
    """text with ASCII capitals lowered, same length and offsets: what the `_folded` patterns run
    on. Python's re is many times slower with re.I than on pre-lowered text, and these patterns
    scan every character of texts up to 1 MB."""
    low = text.lower()  # fast; only U+0130 lowers to two characters
    return low if len(low) == len(text) else text.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def _folded(source: str) -> re.Pattern[str]:
    """A case-insensitive pattern, compiled to run on `_fold(text)`: its letters are lowered
    (escapes such as \\b and group names are left alone). Match offsets index into the original
    text, so evidence text is always taken from the original."""
    assert "(?-i" not in source
    return re.compile(
        re.sub(
            r"\\.|\(\?P[<=]\w+|[A-Z]", lambda m: m[0].lower() if len(m[0]) == 1 else m[0], source
        )
    )


_EMAIL = re.compile(
    r"(?<![\w.+-])[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
_ROLE_LOCAL = re.compile(
    r"^(?:info|office|admin|enquiries|enquiry|admissions|recruitment|jobs|hr|head|headteacher|"
    r"reception|contact|hello|sendco|senco|finance|governors|clerk|pta|press|media|news|"
    r"noreply|no-reply|safeguarding|dpo|data|privacy|support|it|helpdesk|school|accounts)"
    r"(?:[._-]?\w+)?$",
    re.I,
)
_PHONE = re.compile(
    r"(?<![\w+£$€])(?:\+44\s?\(0\)\s?|\+44\s?|0044\s?|0)"
    r"(?:\d[\s-]?){8,9}\d(?![\d/])"
)
_POSTCODE = re.compile(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|GIR) ?\d[ABD-HJLNP-UW-Z]{2}\b")
_STREET = (
    r"(?:Road|Rd|Street|St|Lane|Ln|Close|Avenue|Ave|Drive|Dr|Way|Crescent|Cres|Grove|Gardens|"
    r"Court|Ct|Place|Pl|Terrace|Walk|Mews|Row|Hill|View|Rise|Square|Green|Parade|Fold|Croft|"
    r"Meadow|Meadows|Chase|Wharf|Yard)"
)
_ADDRESS = re.compile(
    r"\b(?:(?:Flat|Apartment|Apt)\s+\d+[A-Za-z]?,?\s+)?\d{1,4}[A-Za-z]?,?\s+"
    r"(?:[A-Z][a-z'’]+\s+){1,3}" + _STREET + r"\b\.?"
)
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})|\d{1,2}(?:st|nd|rd|th)?\s+"
    + _MONTH
    + r"(?:,?\s+(?:19|20)\d{2})?|"
    + _MONTH
    + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{2}|"
    r"(?:19|20)\d{2}-\d{2}-\d{2})"
)
_DOB = re.compile(
    r"\b(?:DOB|D\.O\.B\.?|d\.o\.b\.?|date of birth|birth ?date|born(?: on)?|birthday(?: is)?)"
    r"\s*(?:[:\-–]\s*)?(" + _DATE + r")",  # not \s*:?\s*, which is quadratic on long spaces
    re.I,
)
_NINO = re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-TW-Z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
_UPN = re.compile(r"\b[A-HJ-NP-TV-Z]\d{11}[A-HJ-NP-TV-Z\d]\b")
_UPN_CONTEXT = re.compile(r"\b(?:UPN|unique pupil number|pupil number)\b", re.I)
_NHS = re.compile(r"\b\d{3}[ -]?\d{3}[ -]?\d{4}\b")
_NHS_CONTEXT = re.compile(r"\bNHS\b", re.I)
# Credentials: one or more labels ("login password", "username/password"), an optional "for the
# staff wifi", a connector (":", "=", "is", "was", ...) and the value, possibly quoted.
_CRED_WORD = (
    r"(?:password|passwd|pwd|passcode|pass ?word|pass ?code|pin(?: code| number)?|log-?in|"
    r"sign-?in|username|user ?name|user ?id|wi-?fi(?: key| code)?|access code|door code)s?"
)
_CRED = _folded(  # "\s*(?:/...)?\s*" would be quadratic on a long run of spaces
    r"\b(?P<label>" + _CRED_WORD + r"(?:\s*(?:(?:/|&|and|\+)\s*)?" + _CRED_WORD + r")*)\b"
    r"(?:\s+(?:for|to|on|of)(?:\s+[\w'’.-]+){1,3}?|(?:\s+[\w'’.-]+){1,2}?(?=\s*[:=]))?"
    r"(?P<conn>\s*[:=]|\s*[-–—]|\s+(?:is|was|are|were|has been|had been|is still|was still|"
    r"set to|changed to|reset to)\b\s*:?|\s+(?=['\"‘“`]?[^\s'\"’”`]*[\d#!$%&*?@]))"
    r"\s*(?P<q>['\"‘“`])?(?P<v>[^\s'\"’”`,;|]{3,64})"
)
# The lookbehind starts an address only where its run of address characters starts: without it a
# long run with no "@" is rescanned from every position (quadratic).
_CRED_PAIR = _folded(
    r"(?:(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"
    r"|\b(?:admin|root|administrator|staff|head)\b)"
    r"\s*[:|/]\s*([^\s,;|]*[\d#!$%&*?@][^\s,;|]*)"
)
_NOT_A_SECRET = re.compile(
    r"^(?:is|was|the|a|an|for|and|or|to|on|in|of|it|this|that|our|my|your|their|his|her|reset|"
    r"page|link|here|there|details?|required|please|changed|change|leaked|shared|stolen|posted|"
    r"written|same|wrong|weak|strong|simple|easy|obvious|public|known|protected|needed|expired|"
    r"incorrect|correct|invalid|forgotten|lost|new|old|screen|box|form|field|system|not|never|"
    r"still|also|now|being|been|sent|available|visible|attached|below|above|n/?a|none|unknown)"
    r"[.!?]?$",
    re.I,
)
_HAS_SECRET_CHAR = re.compile(r"[\d#!$%&*?@]|[a-z][A-Z]")
# Dates of birth. A year plausible for a pupil's or staff member's birth, not this year's events.
_THIS_YEAR = date.today().year
_DOB_YEARS = range(1940, _THIS_YEAR - 1)
_FULL_DATE = re.compile(
    r"\b(?:\d{1,2}[/.-]\d{1,2}[/.-](?P<y1>(?:19|20)\d{2})|\d{1,2}(?:st|nd|rd|th)?\s+"
    + _MONTH
    + r",?\s+(?P<y2>(?:19|20)\d{2})|"
    + _MONTH
    + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+(?P<y3>(?:19|20)\d{2})|(?P<y4>(?:19|20)\d{2})-\d{2}-\d{2})"
    r"(?!\d)"
)
_BORN_YEAR = re.compile(r"\b(?:born|b\.)\s+(?:in\s+)?((?:19|20)\d{2})\b", re.I)
# What may sit between a name and its date of birth: punctuation, "DOB", "born", "b.".
_NAME_DATE_GAP = re.compile(
    r"^[\s,:;()\[\]\-–—|]*(?:(?:DOB|D\.O\.B\.?|born|b\.)[\s:,\-–]*)?$", re.I
)
_PERSON = re.compile(
    r"\b(?:(?:Mr|Mrs|Miss|Ms|Mx|Dr)\.?\s+[A-Z][a-z'’]+(?:-[A-Z][a-z]+)?"
    r"|[A-Z][a-z]+(?:-[A-Z][a-z]+)?\s+(?:[A-Z]\.?(?![a-z])|[A-Z][a-z'’]+(?:-[A-Z][a-z]+)?))"
)

# Confidential academy documents reproduced in public: a confidentiality marking, or a letter to a
# named member of staff about a personnel process. Not redacted (no personal data in the marking
# itself) but a leak signal: discussing a leak in the news carries neither shape.
_CONFIDENTIAL = _folded(
    r"\b(?:strictly confidential|private (?:and|&) confidential|"
    r"not for (?:wider |external |public )?circulation|internal (?:use )?only|"
    r"(?:please )?do not (?:share|forward|circulate|distribute)(?: this| outside)?|"
    r"confidential[^.\n]{0,40}\bdraft|draft\b[^.\n]{0,60}\bconfidential)"
    r"|\bDear (?:Mr|Mrs|Miss|Ms|Mx|Dr)\.? [A-Z][a-z'’-]+[^\n]{0,300}?\b(?:disciplinary|"
    r"(?:final )?written warning|dismissal|gross misconduct|capability (?:procedure|hearing|"
    r"meeting)|suspen(?:sion|ded)|grievance|redundanc(?:y|ies))"
)

# A child is in view: year group, class code, age, or school-role words.
_CHILD_CONTEXT = _folded(
    r"\b(?:year|yr|y) ?[1-6]s?\b|\breception\b|\bnursery\b|\b[1-6][A-Z]{1,2}\b|\bclass\b|"
    r"\bpupils?\b|\bkids?\b|\bchild(?:ren)?\b|\bboys?\b|\bgirls?\b|\bson\b|\bdaughter\b|"
    r"\blads?\b|\b\d{1,2}[- ]?(?:yo|y/o|year[- ]old)\b|\baged? \d{1,2}\b|\bcarpet\b|"
    r"\bplaytime\b|\btimes tables?\b|\breading\b|\bSATs?\b|\bphonics\b|\bspelling\b"
)
_TITLES = re.compile(r"(?:Mr|Mrs|Miss|Ms|Mx|Dr|Sir|Dame|Lady|Lord|Rev|Prof)\.?\s+$")
_WORD = re.compile(r"\b[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b")
_SURNAME = re.compile(r"\s+(?:[A-Z]\.?(?![a-z])|[A-Z][a-z'’]+(?:-[A-Z][a-z]+)?)")
_SCORE = _folded(
    r"\d{1,3}\s?/\s?\d{1,3}|\b(?:got|scored|score|reading|maths|gps|spag|age|level)\b\s*:?\s*\d+"
    r"|\b\d{1,3}%|\b(?:WTS|EXS|GDS|HNM)\b"
)
_HEALTH = _folded(
    r"\b(?:ADHD|autis(?:m|tic)|EHCP|EHC plan|dyslexi[ac]|"
    r"dyspraxi[ac]|"
    r"epilep(?:sy|tic)|diabet(?:es|ic)|anaphyla(?:xis|ctic)|epi-?pen|inhaler|asthma|allerg(?:y|ic)|"
    r"insulin|seizures?|medication|meds|self-harm(?:ing)?|eating disorder|anxiety|depression|"
    r"CAMHS|social services|social worker|child protection|CP plan|CIN plan|looked[- ]after|"
    r"in care|foster(?:ed| care)?|safeguarding|referral|free school meals|"
    r"pupil premium|behaviour plan|exclu(?:ded|sion)|suspended|isolation|1:1|one-to-one|"
    r"speech and language|hearing aid|wheelchair|dad'?s inside|in prison|domestic|"
    r"neglect(?:ed)?|disclos(?:ed|ure)|no food|(?:hasn't|hadn't|has not|had not) been home)\b"
)
# ASD/SEN(D)/DSL/FSM/SALT only in capitals (on the original text): "send her back" or "salt" is not
# a health term. No term of _HEALTH starts where one of these does.
_HEALTH_CAPS = re.compile(r"\b(?:ASD|SEND?(?i: support)?|DSL|FSM|SALT)\b")
# A third-party child described without a name ("the boy in 5B", "a Year 4 girl").
_CHILD_DESCRIPTOR = _folded(
    r"\b(?:the|a|this|that|one|some)\s+(?:\w+\s+){0,3}?(?:boy|girl|kid|child|lad|pupil|lass)s?\b"
    r"(?:\s+\w+){0,4}?\s+(?:in|from)\s+(?:year|yr|y) ?[1-6R]\b"
    r"|\b(?:the|a|this|that|one)\s+(?:year|yr|y) ?[1-6]\s+(?:boy|girl|kid|child|lad|pupil)\b"
    r"|\b(?:boy|girl|kid|child|lad|pupil)s?\s+in\s+(?:[1-6][A-Z]{1,2}|reception|nursery)\b"
    r"|\b(?:the|that|this)\s+other\s+(?:boy|girl|kid|child|lad|pupil)\b"
)


@dataclass(frozen=True)
class LeakSignals:
    """Counts the scorer turns into features and rules."""

    strong: int = 0  # personal data in itself (see STRONG_KINDS)
    phones: int = 0
    mobiles: int = 0
    personal_emails: int = 0
    child_names: int = 0
    child_health: int = 0
    class_list: int = 0

    def as_vector(self) -> list[float]:
        def sat(n: int) -> float:
            return min(float(n), 3.0) / 3.0

        return [
            sat(self.strong),
            sat(self.phones),
            sat(self.mobiles),
            sat(self.personal_emails),
            sat(self.child_names),
            sat(self.child_health),
            sat(self.class_list),
        ]


def _phones(text: str) -> Iterable[Evidence]:
    for m in _PHONE.finditer(text):
        raw = m.group(0).rstrip(" -")
        digits = _NON_DIGIT.sub("", raw)
        national = digits[2:] if digits.startswith("44") else digits[1:]
        # phonenumbers' rule for a possible GB number is its length; its full parse cost more than
        # everything else together on digit-heavy texts (tests check the two agree).
        if national[0] in "1237" and len(national) in _GB_LENGTHS:
            yield Evidence(m.start(), m.start() + len(raw), "phone", "data_leak", raw)


_NON_DIGIT = re.compile(r"\D")


def _gb_lengths() -> frozenset[int]:
    """The national-number lengths phonenumbers accepts as a possible GB number, from 9 to 10."""
    meta = PhoneMetadata.metadata_for_region("GB")
    desc = meta.general_desc if meta is not None else None
    lengths = desc.possible_length if desc is not None else (9, 10)
    return frozenset(n for n in lengths if 9 <= n <= 10)


_GB_LENGTHS = _gb_lengths()


def _emails(text: str) -> Iterable[Evidence]:
    for m in _EMAIL.finditer(text):
        local = m.group(0).split("@", 1)[0]
        kind = "role_email" if _ROLE_LOCAL.match(local) else "email"
        yield Evidence(m.start(), m.end(), kind, "data_leak", m.group(0))


def _simple(text: str, low: str) -> Iterable[Evidence]:
    for m in _POSTCODE.finditer(text):
        yield Evidence(m.start(), m.end(), "postcode", "data_leak", m.group(0))
    for m in _ADDRESS.finditer(text):
        yield Evidence(m.start(), m.end(), "address", "data_leak", m.group(0))
    for m in _DOB.finditer(text):
        yield Evidence(m.start(1), m.end(1), "dob", "data_leak", m.group(1))
    for m in _NINO.finditer(text):
        yield Evidence(m.start(), m.end(), "ni_number", "data_leak", m.group(0))
    for m in _UPN.finditer(text):
        near = text[max(0, m.start() - 30) : m.start()]
        if _upn.is_valid(m.group(0)) or _UPN_CONTEXT.search(near):
            yield Evidence(m.start(), m.end(), "upn", "data_leak", m.group(0))
    for m in _NHS.finditer(text):
        near = text[max(0, m.start() - 30) : m.start()]
        if _NHS_CONTEXT.search(near) or (
            _nhs.is_valid(_NON_DIGIT.sub("", m.group(0))) and " " in m.group(0)
        ):
            yield Evidence(m.start(), m.end(), "nhs_number", "data_leak", m.group(0))
    yield from _credentials(text, low)
    for m in _CONFIDENTIAL.finditer(low):
        yield Evidence(m.start(), m.end(), "confidential", "data_leak", text[m.start() : m.end()])


def _credentials(text: str, low: str) -> Iterable[Evidence]:
    for m in _CRED.finditer(low):
        secret = text[m.start("v") : m.end("v")]
        if not m.group("q"):
            secret = secret.rstrip(".)")  # sentence punctuation, not the secret
        if len(secret) < 3 or _NOT_A_SECRET.match(secret):
            continue
        colon = m.group("conn").strip()[:1] in {":", "=", "-", "–", "—"}
        # "password was leaked": a plain word after is/was is prose, not the password; a quoted
        # value, a value after ":" or one with digits/symbols/mixed case is the secret.
        if not (m.group("q") or colon or _HAS_SECRET_CHAR.search(secret)):
            continue
        start = m.start("v")
        yield Evidence(start, start + len(secret), "credential", "data_leak", secret)
    for m in _CRED_PAIR.finditer(low):
        secret = text[m.start(1) : m.end(1)]
        if _NOT_A_SECRET.match(secret):
            continue
        yield Evidence(m.start(1), m.end(1), "credential", "data_leak", secret)


def _child_names(text: str, low: str) -> list[Evidence]:
    """First names (with a following surname or initial) that sit in a school/child context.

    A name next to an accepted one (a list) is accepted too, so long class lists are caught.
    """
    cands: list[tuple[Evidence, bool]] = []  # (span, has its own context)
    # Child-context words, found once: each candidate then looks up its +-150 window by bisection
    # instead of searching the window again (that was most of the time on long texts).
    context = [(c.start(), c.end()) for c in _CHILD_CONTEXT.finditer(low)]
    context_starts = [c[0] for c in context]

    def in_context(lo: int, hi: int) -> bool:
        i = bisect_left(context_starts, lo)
        return i < len(context) and context[i][1] <= hi

    for m in _WORD.finditer(text):
        word = m.group(0)
        key = word.lower()
        if key not in FIRST_NAMES:
            # "Josh P": a name the list lacks, in the first-name + initial shape of a register;
            # it counts only as a neighbour of accepted names (see the list rule below).
            im = _INITIAL.match(text, m.end())
            if im and key not in _STOP_AFTER_NAME and key not in _NOT_FORENAMES:
                span = text[m.start() : im.end()]
                cands.append((Evidence(m.start(), im.end(), "child_name", None, span), False))
            continue
        if _TITLES.search(text[max(0, m.start() - 6) : m.start()]):
            continue  # Mrs Patel, Miss Grace: staff, named in their public role
        if (m.start() == 0 or text[m.start() - 1] in "\n") and key not in STRICT:
            continue  # a capitalised word at the start of a line may just start a sentence
        scored = bool(_SCORE.search(low[m.end() : m.end() + 40]))
        listed = bool(_LISTED.match(text, m.end()))
        if key not in STRICT and not (scored or listed):
            continue
        own = in_context(m.start() - 150, m.end() + 150) or (scored and key in STRICT)
        end = m.end()
        sm = _SURNAME.match(text, end)
        if sm and sm.group(0).strip().lower() not in _STOP_AFTER_NAME:
            end = sm.end()
        cands.append((Evidence(m.start(), end, "child_name", None, text[m.start() : end]), own))
    # A candidate is accepted when a chain of close neighbours links it to one with its own
    # context. The link between neighbours is symmetric, so each chain (a run of linked
    # neighbours) is accepted or not as a whole: one pass, not a repeat-until-stable loop.
    accepted: list[bool] = []
    start = 0  # first candidate of the current chain
    for i, (ev, own) in enumerate(cands):
        if i:
            prev = cands[i - 1][0]
            between = text[min(ev.end, prev.end) : max(ev.start, prev.start)]
            gap = ev.start - prev.end
            if not (gap <= 12 or (gap <= 45 and _LIST_SEP.search(between))):
                _settle(accepted, start)
                start = i
        accepted.append(own)
    _settle(accepted, start)
    return [ev for (ev, _), ok in zip(cands, accepted, strict=True) if ok]


def _settle(accepted: list[bool], start: int) -> None:
    """The chain accepted[start:] is accepted as a whole if any of it is."""
    if any(accepted[start:]):
        accepted[start:] = [True] * (len(accepted) - start)


_INITIAL = re.compile(r" [A-Z]\.?(?![\w'’])")
_LIST_SEP = re.compile(r"[,;\n|•·]|\band\b")
# Capitalised words that take an initial without being a forename ("Year R", "Key Stage 2").
_NOT_FORENAMES = frozenset(
    [
        "year",
        "class",
        "room",
        "key",
        "stage",
        "plan",
        "block",
        "team",
        "group",
        "vitamin",
        "section",
        "appendix",
        "form",
        "part",
        "level",
        "grade",
        "type",
        "unit",
        "zone",
        "gate",
        "floor",
        "wing",
        "site",
        "option",
        "phase",
        "tier",
        "set",
        "table",
        "page",
        "box",
    ]
)
_LISTED = re.compile(r"(?:\s+[A-Z][a-z'’]+)?\s*[,;/]\s*[A-Z][a-z]+")

_STOP_AFTER_NAME = frozenset(
    [
        "and",
        "or",
        "but",
        "the",
        "a",
        "in",
        "at",
        "on",
        "is",
        "was",
        "has",
        "had",
        "got",
        "from",
        "with",
        "for",
        "to",
        "of",
        "my",
        "our",
        "your",
        "his",
        "her",
        "their",
        "i",
        "it",
        "we",
        "they",
        "he",
        "she",
        "you",
        "who",
        "that",
        "this",
        "then",
        "so",
        "if",
        "when",
        "go",
        "went",
        "says",
        "said",
        "did",
        "does",
        "only",
        "just",
        "primary",
        "academy",
        "school",
        "ankermoor",
        "year",
        "reception",
        "class",
    ]
)


def _clusters(names: list[Evidence], text: str, low: str) -> list[Evidence]:
    """class_list: three or more names close together, or two or more names each with a score."""
    out: list[Evidence] = []
    if len(names) >= 3:
        group = [names[0]]
        for ev in names[1:]:
            if ev.start - group[-1].end <= 40:
                group.append(ev)
            else:
                if len(group) >= 3:
                    out.append(_span(group, text))
                group = [ev]
        if len(group) >= 3:
            out.append(_span(group, text))
    scored = [ev for ev in names if _SCORE.search(low[ev.end : ev.end + 40])]
    if len(scored) >= 2 and not out:
        out.append(_span(scored, text))
    return out


def _span(group: list[Evidence], text: str) -> Evidence:
    start, end = group[0].start, group[-1].end
    return Evidence(start, end, "class_list", "data_leak", text[start:end])


def _dates_of_birth(text: str, names: list[Evidence], lists: list[Evidence]) -> list[Evidence]:
    """Full dates with a birth-range year that sit right next to a person's name, or inside (or
    just after) a class list: in a register, the date beside a name is a date of birth. Dates
    without a year ("Friday 14 November") or with this year's events are left alone."""
    people = [(e.start, e.end) for e in names]
    for m in _PERSON.finditer(text):
        first = m.group(0).split()[0].rstrip(".")
        if first.lower() in FIRST_NAMES or first in {"Mr", "Mrs", "Miss", "Ms", "Mx", "Dr"}:
            people.append((m.start(), m.end()))
    # Sorted positions, so each date looks only at the names within reach (bisection), not at
    # every name in the text.
    ends = sorted(e for _, e in people)
    starts = sorted(s for s, _ in people)
    list_starts, list_reach = _reach(lists, 40)
    out = []
    for m in _FULL_DATE.finditer(text):
        year = int(next(y for y in m.group("y1", "y2", "y3", "y4") if y))
        if year not in _DOB_YEARS:
            continue
        ds, de = m.start(), m.end()
        near = any(
            _NAME_DATE_GAP.match(text[e:ds])
            for e in ends[bisect_left(ends, ds - 20) : bisect_right(ends, ds)]
        ) or any(
            not text[de:s].strip(" \t|")
            for s in starts[bisect_left(starts, de) : bisect_right(starts, de + 3)]
        )
        i = bisect_right(list_starts, ds)
        listed = i > 0 and list_reach[i - 1] >= ds
        if near or listed:
            out.append(Evidence(m.start(), m.end(), "dob", "data_leak", m.group(0)))
    for m in _BORN_YEAR.finditer(text):
        if int(m.group(1)) in _DOB_YEARS:
            out.append(Evidence(m.start(1), m.end(1), "dob", "data_leak", m.group(1)))
    return out


def _reach(spans: list[Evidence], extra: int) -> tuple[list[int], list[int]]:
    """Starts of the spans in order, and for each prefix the furthest end + extra: a position p
    lies in some [start, end + extra] iff the prefix of spans starting at or before p reaches p."""
    ordered = sorted(spans, key=lambda e: e.start)
    reach: list[int] = []
    for e in ordered:
        reach.append(max(e.end + extra, reach[-1] if reach else e.end + extra))
    return [e.start for e in ordered], reach


def _within(sorted_positions: list[int], lo: int, hi: int) -> bool:
    """Whether any position lies in [lo, hi]."""
    i = bisect_left(sorted_positions, lo)
    return i < len(sorted_positions) and sorted_positions[i] <= hi


def _child_health(text: str, low: str, names: list[Evidence]) -> list[Evidence]:
    anchors = [(e.start, e.end) for e in names]
    anchors += [(m.start(), m.end()) for m in _CHILD_DESCRIPTOR.finditer(low)]
    if not anchors:
        return []
    ends = sorted(e for _, e in anchors)
    starts = sorted(s for s, _ in anchors)
    out = []
    terms = [m.span() for m in _HEALTH.finditer(low)]
    terms += [m.span() for m in _HEALTH_CAPS.finditer(text)]
    for hs, he in sorted(terms):
        # A child (name or description) ending within 160 characters of the term, or starting
        # within 60 of its end.
        if _within(ends, hs - 160, hs + 160) or _within(starts, he - 60, he + 60):
            out.append(Evidence(hs, he, "child_health", "data_leak", text[hs:he]))
    return out


def find_personal_data(text: str) -> list[Evidence]:
    """Every piece of personal data found in text, in order of position."""
    if not text:
        return []
    low = _fold(text)
    found: list[Evidence] = [*_phones(text), *_emails(text), *_simple(text, low)]
    names = _child_names(text, low)
    found += [Evidence(e.start, e.end, e.kind, "data_leak", e.text) for e in names]
    lists = _clusters(names, text, low)
    found += lists
    found += _dates_of_birth(text, names, lists)
    found += _child_health(text, low, names)
    # A phone number inside an NI/UPN/NHS match is the same digits: keep the more specific one.
    specific_starts, specific_reach = _reach(
        [e for e in found if e.kind in {"ni_number", "upn", "nhs_number"}], 0
    )

    def inside_specific(p: int) -> bool:
        i = bisect_right(specific_starts, p)
        return i > 0 and specific_reach[i - 1] > p

    found = [e for e in found if not (e.kind == "phone" and inside_specific(e.start))]
    uniq = {(e.start, e.end, e.kind): e for e in found}
    return sorted(uniq.values(), key=lambda e: (e.start, -e.end))


def leak_signals(evidence: Iterable[Evidence], text: str) -> LeakSignals:
    ev = list(evidence)
    mobiles = 0
    for e in ev:
        if e.kind == "phone":
            digits = _NON_DIGIT.sub("", e.text)
            if digits.startswith("447") or digits.startswith("07"):
                mobiles += 1
    return LeakSignals(
        strong=sum(1 for e in ev if e.kind in STRONG_KINDS),
        phones=sum(1 for e in ev if e.kind == "phone"),
        mobiles=mobiles,
        personal_emails=sum(1 for e in ev if e.kind == "email"),
        child_names=sum(1 for e in ev if e.kind == "child_name"),
        child_health=sum(1 for e in ev if e.kind == "child_health"),
        class_list=sum(1 for e in ev if e.kind == "class_list"),
    )


# Idempotence: redact(redact(x)) == redact(x). A marker already in the text is opaque: detectors see
# it masked (its letters become U+FFFC, so "[date of birth removed]" is no date-of-birth label) and
# a span touching one is dropped (so "password: [credential removed]" is not redacted again).
# Replacing a span changes its neighbours' context (a name's surroundings get shorter or longer),
# so redact repeats until a pass finds nothing new; the text it returns is one where that pass
# found nothing, which is why a second call changes nothing. In practice one pass finds everything
# and a second confirms it; the cap only bounds a contrived cascade.
_MARKERS = re.compile(
    "|".join(re.escape(v) for v in sorted(set(REPLACEMENTS.values()), key=len, reverse=True))
)
_MASK = "\ufffc"
_MAX_PASSES = 6


def redact(text: str) -> str:
    """text with each piece of personal data replaced by a bracketed label, e.g. [phone removed].

    Idempotent (see above) and linear in the length of the text."""
    for _ in range(_MAX_PASSES):
        spans = _new_spans(text)
        if not spans:
            break
        text = _replace(text, spans)
    return text


def _new_spans(text: str) -> list[Evidence]:
    """The redactable spans of text that do not touch a marker already there."""
    markers = [m.span() for m in _MARKERS.finditer(text)]
    if not markers:
        return [e for e in find_personal_data(text) if e.kind in REPLACEMENTS]
    parts, pos = [], 0
    for start, end in markers:
        parts += [text[pos:start], "[", _MASK * (end - start - 2), "]"]
        pos = end
    parts.append(text[pos:])
    masked = "".join(parts)
    starts = [s for s, _ in markers]

    def touches_marker(e: Evidence) -> bool:
        i = bisect_left(starts, e.end)  # markers starting before the span ends...
        return i > 0 and markers[i - 1][1] > e.start  # ...the last of which ends after it starts

    return [
        e for e in find_personal_data(masked) if e.kind in REPLACEMENTS and not touches_marker(e)
    ]


def _replace(text: str, spans: list[Evidence]) -> str:
    # Merge overlaps; the widest span's label wins (an address beats the postcode inside it).
    spans = sorted(spans, key=lambda e: (e.start, -(e.end - e.start)))
    merged: list[Evidence] = []
    for e in spans:
        if merged and e.start < merged[-1].end:
            last = merged[-1]
            if e.end > last.end:
                merged[-1] = Evidence(last.start, e.end, last.kind, last.category, "")
            continue
        merged.append(e)
    out, pos = [], 0
    for e in merged:
        out.append(text[pos : e.start])
        out.append(REPLACEMENTS[e.kind])
        pos = e.end
    out.append(text[pos:])
    return "".join(out)
