"""Pure detectors of personal data in a mention, and the redaction alerts use.

No model and no I/O: regular expressions, check digits (python-stdnum) and phone-number rules
(phonenumbers), plus a first-name list with school context for children's names. Spans index
into the string given (the scorer passes `scoring_text(title, text)`).

Kinds found: phone, email, role_email, postcode, address, dob, ni_number, upn, nhs_number,
credential, child_name, child_health (a medical/SEN/safeguarding term next to an identified
child), class_list (several children's names in a list, or with scores), confidential (a
confidentiality marking or a personnel letter to named staff: reported, not redacted).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import phonenumbers
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
    r"\s*[:\-–]?\s*(" + _DATE + r")",
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
_CRED = re.compile(
    r"\b(?P<label>" + _CRED_WORD + r"(?:\s*(?:/|&|and|\+)?\s*" + _CRED_WORD + r")*)\b"
    r"(?:\s+(?:for|to|on|of)(?:\s+[\w'’.-]+){1,3}?|(?:\s+[\w'’.-]+){1,2}?(?=\s*[:=]))?"
    r"(?P<conn>\s*[:=]|\s*[-–—]|\s+(?:is|was|are|were|has been|had been|is still|was still|"
    r"set to|changed to|reset to)\b\s*:?|\s+(?=['\"‘“`]?[^\s'\"’”`]*[\d#!$%&*?@]))"
    r"\s*(?P<q>['\"‘“`])?(?P<v>[^\s'\"’”`,;|]{3,64})",
    re.I,
)
_CRED_PAIR = re.compile(
    r"(?:[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}|\b(?:admin|root|administrator|staff|head)\b)"
    r"\s*[:|/]\s*([^\s,;|]*[\d#!$%&*?@][^\s,;|]*)",
    re.I,
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
_CONFIDENTIAL = re.compile(
    r"\b(?:strictly confidential|private (?:and|&) confidential|"
    r"not for (?:wider |external |public )?circulation|internal (?:use )?only|"
    r"(?:please )?do not (?:share|forward|circulate|distribute)(?: this| outside)?|"
    r"confidential[^.\n]{0,40}\bdraft|draft\b[^.\n]{0,60}\bconfidential)"
    r"|\bDear (?:Mr|Mrs|Miss|Ms|Mx|Dr)\.? [A-Z][a-z'’-]+[^\n]{0,300}?\b(?:disciplinary|"
    r"(?:final )?written warning|dismissal|gross misconduct|capability (?:procedure|hearing|"
    r"meeting)|suspen(?:sion|ded)|grievance|redundanc(?:y|ies))",
    re.I,
)

# A child is in view: year group, class code, age, or school-role words.
_CHILD_CONTEXT = re.compile(
    r"\b(?:year|yr|y) ?[1-6]s?\b|\breception\b|\bnursery\b|\b[1-6][A-Z]{1,2}\b|\bclass\b|"
    r"\bpupils?\b|\bkids?\b|\bchild(?:ren)?\b|\bboys?\b|\bgirls?\b|\bson\b|\bdaughter\b|"
    r"\blads?\b|\b\d{1,2}[- ]?(?:yo|y/o|year[- ]old)\b|\baged? \d{1,2}\b|\bcarpet\b|"
    r"\bplaytime\b|\btimes tables?\b|\breading\b|\bSATs?\b|\bphonics\b|\bspelling\b",
    re.I,
)
_TITLES = re.compile(r"(?:Mr|Mrs|Miss|Ms|Mx|Dr|Sir|Dame|Lady|Lord|Rev|Prof)\.?\s+$")
_WORD = re.compile(r"\b[A-Z][a-z]+(?:-[A-Z][a-z]+)?\b")
_SURNAME = re.compile(r"\s+(?:[A-Z]\.?(?![a-z])|[A-Z][a-z'’]+(?:-[A-Z][a-z]+)?)")
_SCORE = re.compile(
    r"\d{1,3}\s?/\s?\d{1,3}|\b(?:got|scored|score|reading|maths|gps|spag|age|level)\b\s*:?\s*\d+"
    r"|\b\d{1,3}%|\b(?:WTS|EXS|GDS|HNM)\b",
    re.I,
)
_HEALTH = re.compile(
    r"\b(?:ADHD|(?-i:ASD)|autis(?:m|tic)|EHCP|EHC plan|(?-i:SEND?)(?: support)?|dyslexi[ac]|"
    r"dyspraxi[ac]|"
    r"epilep(?:sy|tic)|diabet(?:es|ic)|anaphyla(?:xis|ctic)|epi-?pen|inhaler|asthma|allerg(?:y|ic)|"
    r"insulin|seizures?|medication|meds|self-harm(?:ing)?|eating disorder|anxiety|depression|"
    r"CAMHS|social services|social worker|child protection|CP plan|CIN plan|looked[- ]after|"
    r"in care|foster(?:ed| care)?|safeguarding|(?-i:DSL)|referral|free school meals|(?-i:FSM)|"
    r"pupil premium|behaviour plan|exclu(?:ded|sion)|suspended|isolation|1:1|one-to-one|"
    r"speech and language|(?-i:SALT)|hearing aid|wheelchair|dad'?s inside|in prison|domestic|"
    r"neglect(?:ed)?|disclos(?:ed|ure)|no food|(?:hasn't|hadn't|has not|had not) been home)\b",
    re.I,
)
# ASD/SEN(D)/DSL/FSM/SALT only in capitals: "send her back" or "salt" is not a health term.
# A third-party child described without a name ("the boy in 5B", "a Year 4 girl").
_CHILD_DESCRIPTOR = re.compile(
    r"\b(?:the|a|this|that|one|some)\s+(?:\w+\s+){0,3}?(?:boy|girl|kid|child|lad|pupil|lass)s?\b"
    r"(?:\s+\w+){0,4}?\s+(?:in|from)\s+(?:year|yr|y) ?[1-6R]\b"
    r"|\b(?:the|a|this|that|one)\s+(?:year|yr|y) ?[1-6]\s+(?:boy|girl|kid|child|lad|pupil)\b"
    r"|\b(?:boy|girl|kid|child|lad|pupil)s?\s+in\s+(?:[1-6][A-Z]{1,2}|reception|nursery)\b"
    r"|\b(?:the|that|this)\s+other\s+(?:boy|girl|kid|child|lad|pupil)\b",
    re.I,
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
        digits = re.sub(r"\D", "", raw)
        national = digits[2:] if digits.startswith("44") else digits[1:]
        if not 9 <= len(national) <= 10 or national[0] not in "1237":
            continue
        try:
            num = phonenumbers.parse(raw, "GB")
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(num):
            yield Evidence(m.start(), m.start() + len(raw), "phone", "data_leak", raw)


def _emails(text: str) -> Iterable[Evidence]:
    for m in _EMAIL.finditer(text):
        local = m.group(0).split("@", 1)[0]
        kind = "role_email" if _ROLE_LOCAL.match(local) else "email"
        yield Evidence(m.start(), m.end(), kind, "data_leak", m.group(0))


def _simple(text: str) -> Iterable[Evidence]:
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
            _nhs.is_valid(re.sub(r"\D", "", m.group(0))) and " " in m.group(0)
        ):
            yield Evidence(m.start(), m.end(), "nhs_number", "data_leak", m.group(0))
    yield from _credentials(text)
    for m in _CONFIDENTIAL.finditer(text):
        yield Evidence(m.start(), m.end(), "confidential", "data_leak", m.group(0))


def _credentials(text: str) -> Iterable[Evidence]:
    for m in _CRED.finditer(text):
        secret = m.group("v")
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
    for m in _CRED_PAIR.finditer(text):
        secret = m.group(1)
        if _NOT_A_SECRET.match(secret):
            continue
        yield Evidence(m.start(1), m.end(1), "credential", "data_leak", secret)


def _child_names(text: str) -> list[Evidence]:
    """First names (with a following surname or initial) that sit in a school/child context.

    A name next to an accepted one (a list) is accepted too, so long class lists are caught.
    """
    cands: list[tuple[Evidence, bool]] = []  # (span, has its own context)
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
        scored = bool(_SCORE.search(text[m.end() : m.end() + 40]))
        listed = bool(_LISTED.match(text, m.end()))
        if key not in STRICT and not (scored or listed):
            continue
        window = text[max(0, m.start() - 150) : m.end() + 150]
        own = bool(_CHILD_CONTEXT.search(window) or (scored and key in STRICT))
        end = m.end()
        sm = _SURNAME.match(text, end)
        if sm and sm.group(0).strip().lower() not in _STOP_AFTER_NAME:
            end = sm.end()
        cands.append((Evidence(m.start(), end, "child_name", None, text[m.start() : end]), own))
    accepted = [own for _, own in cands]
    changed = True
    while changed:
        changed = False
        for i, (ev, _) in enumerate(cands):
            if accepted[i]:
                continue
            for j in (i - 1, i + 1):
                if 0 <= j < len(cands) and accepted[j]:
                    other = cands[j][0]
                    gap = ev.start - other.end if j < i else other.start - ev.end
                    between = text[min(ev.end, other.end) : max(ev.start, other.start)]
                    if gap <= 12 or (gap <= 45 and _LIST_SEP.search(between)):
                        accepted[i] = changed = True
                        break
    return [ev for (ev, _), ok in zip(cands, accepted, strict=True) if ok]


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


def _clusters(names: list[Evidence], text: str) -> list[Evidence]:
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
    scored = [ev for ev in names if _SCORE.search(text[ev.end : ev.end + 40])]
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
    out = []
    for m in _FULL_DATE.finditer(text):
        year = int(next(y for y in m.group("y1", "y2", "y3", "y4") if y))
        if year not in _DOB_YEARS:
            continue
        near = any(
            (0 <= m.start() - e <= 20 and _NAME_DATE_GAP.match(text[e : m.start()]))
            or (0 <= s - m.end() <= 3 and not text[m.end() : s].strip(" \t|"))
            for s, e in people
        )
        listed = any(c.start <= m.start() <= c.end + 40 for c in lists)
        if near or listed:
            out.append(Evidence(m.start(), m.end(), "dob", "data_leak", m.group(0)))
    for m in _BORN_YEAR.finditer(text):
        if int(m.group(1)) in _DOB_YEARS:
            out.append(Evidence(m.start(1), m.end(1), "dob", "data_leak", m.group(1)))
    return out


def _child_health(text: str, names: list[Evidence]) -> list[Evidence]:
    anchors = [(e.start, e.end) for e in names]
    anchors += [(m.start(), m.end()) for m in _CHILD_DESCRIPTOR.finditer(text)]
    if not anchors:
        return []
    out = []
    for m in _HEALTH.finditer(text):
        if any(
            abs(m.start() - a_end) <= 160 or abs(a_start - m.end()) <= 60
            for a_start, a_end in anchors
        ):
            out.append(Evidence(m.start(), m.end(), "child_health", "data_leak", m.group(0)))
    return out


def find_personal_data(text: str) -> list[Evidence]:
    """Every piece of personal data found in text, in order of position."""
    if not text:
        return []
    found: list[Evidence] = [*_phones(text), *_emails(text), *_simple(text)]
    names = _child_names(text)
    found += [Evidence(e.start, e.end, e.kind, "data_leak", e.text) for e in names]
    lists = _clusters(names, text)
    found += lists
    found += _dates_of_birth(text, names, lists)
    found += _child_health(text, names)
    # A phone number inside an NI/UPN/NHS match is the same digits: keep the more specific one.
    specific = [e for e in found if e.kind in {"ni_number", "upn", "nhs_number"}]
    found = [
        e
        for e in found
        if not (e.kind == "phone" and any(s.start <= e.start < s.end for s in specific))
    ]
    uniq = {(e.start, e.end, e.kind): e for e in found}
    return sorted(uniq.values(), key=lambda e: (e.start, -e.end))


def leak_signals(evidence: Iterable[Evidence], text: str) -> LeakSignals:
    ev = list(evidence)
    mobiles = 0
    for e in ev:
        if e.kind == "phone":
            digits = re.sub(r"\D", "", e.text)
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


def redact(text: str) -> str:
    """text with each piece of personal data replaced by a bracketed label, e.g. [phone removed]."""
    spans = [e for e in find_personal_data(text) if e.kind in REPLACEMENTS]
    if not spans:
        return text
    # Merge overlaps; the widest span's label wins (an address beats the postcode inside it).
    spans.sort(key=lambda e: (e.start, -(e.end - e.start)))
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
