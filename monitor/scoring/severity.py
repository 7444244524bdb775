"""Severity rules: pure functions from category probabilities, text and evidence to
(urgent | digest, one-line reason). Documented in the README ("Scoring").

Urgent when any of:
1. data_leak is flagged (always urgent);
2. harassment is flagged and the text threatens someone, or a child is the target;
3. pupil_image is flagged and the children are identifiable (not "from behind", "no faces");
4. reputation is flagged with a serious allegation (safeguarding, abuse, assault, police);
5. staff_conduct is flagged and a member of staff is contacting pupils;
6. the urgent head's calibrated probability is at least scoring.urgent_threshold (a cut chosen
   in training for recall first; it no longer needs a category flagged: on the grouped figures
   that raised dev2 urgent recall 0.87 -> 0.95 for precision 0.65 -> 0.61).
Otherwise digest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from monitor.models import Evidence, Severity
from monitor.scoring import threats
from monitor.scoring.lexicon import THREAT

_CHILD_TARGET = re.compile(
    r"\b(?:kid|boy|girl|lad|child|pupil|brat|son|daughter)s?\b.{0,40}\b(?:year|yr|y) ?[1-6R]\b|"
    r"\b(?:year|yr|y) ?[1-6]\s+(?:boy|girl|kid|lad|child)s?\b|\b[1-6][A-Z]{1,2}\b|"
    r"\b(?:kid|boy|girl|lad|child|brat|madam|thug)\b.{0,30}\b(?:called|named)\b|"
    r"\blittle (?:madam|brat|thug|cow|sod|git)\b|\bkid\b",
    re.I | re.S,
)
_NOT_IDENTIFIABLE = re.compile(
    r"from behind|can'?t see (?:his|her|their|any)? ?faces?|no faces?|faces? (?:hidden|blurred|"
    r"covered)|cropped|no (?:children|pupils|kids) (?:are )?(?:shown|in (?:it|shot))|"
    r"artwork only|back of (?:his|her|their) heads?",
    re.I,
)
_SERIOUS = re.compile(
    r"\bsafeguarding\b|\babus\w+|\bassault\w*|\bpolice\b|\b101\b|\bLADO\b|\bbruis\w+|"
    r"\b(?:hit|hitting|grabbed|dragged|pulled|slapped|pushed|touched|locked)\b|\bhurt\b|"
    r"\bcover(?:ed)?[- ]up\b|\bsit on his knee\b|\bsexual\w*|\bgrooming\b",
    re.I,
)
_CONTACT = re.compile(
    r"\b(?:messag\w+|DM\w*|text\w*|follow\w*|snapchat|whatsapp|instagram|tiktok|roblox|"
    r"friend request|added)\b",
    re.I,
)
_PUPIL = re.compile(
    r"\b(?:my|her|his|our) (?:\d{1,2}[- ]?(?:yo|year[- ]old) )?"
    r"(?:son|daughter|child|kid|boy|girl)\b|"
    r"\bpupils?\b|\b\d{1,2}[- ]?(?:yo|year[- ]old)\b|\bthe (?:kids|girls|boys|children)\b|"
    r"\b(?:year|yr|y) ?[1-6]s?\b|\bin (?:his|her) class\b",
    re.I,
)


def decide(
    probabilities: Mapping[str, float],
    categories: Sequence[str],
    text: str,
    evidence: Sequence[Evidence],
    urgent_probability: float,
    urgent_threshold: float,
) -> tuple[Severity, str]:
    """The severity of one mention and a one-line reason."""
    cats = set(categories)
    kinds = {e.kind for e in evidence}
    if "data_leak" in cats:
        found = sorted(k.replace("_", " ") for k in kinds - {"role_email", "child_name"})
        what = ", ".join(found) if found else "confidential information"
        return Severity.URGENT, f"data leak: {what} made public (clauses 5.1, 11.3)"
    if "harassment" in cats:
        if THREAT.search(text) or threats.threat(text):
            return Severity.URGENT, "harassment with a threat against a named person (4.1(e))"
        if threats.hate(text):
            return Severity.URGENT, "racist, sexist, disability or faith-based abuse (4.1(e))"
        if "child_name" in kinds or _CHILD_TARGET.search(text):
            return Severity.URGENT, "harassment aimed at a child (4.1(f))"
    if "pupil_image" in cats and not _NOT_IDENTIFIABLE.search(text):
        return Severity.URGENT, "identifiable pupils in a public photo or video (6.3(g)(h))"
    if "reputation" in cats and (_SERIOUS.search(text) or threats.allegation(text)):
        return Severity.URGENT, "serious allegation (safeguarding, abuse or crime) (8.5)"
    if "staff_conduct" in cats and _CONTACT.search(text) and _PUPIL.search(text):
        return Severity.URGENT, "member of staff contacting pupils (6.3, 7.3)"
    if urgent_probability >= urgent_threshold:
        top = max(cats or probabilities, key=lambda c: probabilities.get(c, 0.0))
        return Severity.URGENT, f"likely urgent {top.replace('_', ' ')} ({urgent_probability:.0%})"
    if not cats:
        return Severity.DIGEST, "no policy concern found"
    names = ", ".join(c.replace("_", " ") for c in categories)
    return Severity.DIGEST, f"for the digest: {names}"
