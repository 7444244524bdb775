"""The policy taxonomy the scorer labels: categories, their clauses in words, plain-English labels
for emails, prototype descriptions (zero-shot anchors for the heads) and cue phrases (evidence).

Pure data and small helpers; the clause numbers are those of the trust's staff social-media policy
(see the design notes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from monitor.models import CATEGORIES, Evidence

__all__ = ["Category", "TAXONOMY", "category", "label", "cue_evidence", "CUES"]


@dataclass(frozen=True)
class Category:
    key: str
    title: str  # plain English for emails and pages
    clauses: tuple[str, ...]
    meaning: str
    urgent_when: str
    prototypes: tuple[str, ...]

    @property
    def clause_text(self) -> str:
        return ", ".join(self.clauses)

    def label(self, detail: str | None = None) -> str:
        """E.g. "data leak — pupil information, clause 5.1(a)"."""
        head = f"{self.title} — {detail}" if detail else self.title
        word = "clause" if len(self.clauses) == 1 else "clauses"
        return f"{head}, {word} {self.clause_text}"


TAXONOMY: dict[str, Category] = {
    "reputation": Category(
        key="reputation",
        title="reputation",
        clauses=("8.5", "7.1", "7.2"),
        meaning="disparages or reflects poorly on the academy, its staff or pupils: complaints, "
        "insults, allegations, critical news",
        urgent_when="serious allegations (safeguarding, abuse, crime)",
        prototypes=(
            "A parent complains that the school ignored bullying and the leadership does not care.",
            "Negative review: poor communication, rude office staff, "
            "would not recommend this school.",
            "News report: the school was rated requires improvement by inspectors.",
            "Allegation that a member of staff hurt a child and the school covered it up.",
            "Sarcastic post mocking the school's priorities and wasted money.",
        ),
    ),
    "harassment": Category(
        key="harassment",
        title="harassment",
        clauses=("4.1(e)", "4.1(f)", "7.2"),
        meaning="abuse, bullying, threats or discrimination aimed at identifiable staff or pupils",
        urgent_when="threats, or a child is targeted",
        prototypes=(
            "Insulting a named teacher: she is a useless disgrace and should be sacked.",
            "Threat: I will be waiting for that teacher after school, she will regret it.",
            "Mocking a named child's appearance, calling him names.",
            "Racist comment telling a teacher to go back where she came from.",
            "Encouraging people to pile on and make the headteacher's life hell.",
        ),
    ),
    "data_leak": Category(
        key="data_leak",
        title="data leak",
        clauses=("5.1(a)", "5.1(b)", "5.1(c)", "6.3(f)", "11.3"),
        meaning="personal data of pupils or staff, or confidential academy information, "
        "made public",
        urgent_when="always",
        prototypes=(
            "A list of pupils' names with their test scores or reading ages posted online.",
            "A teacher's home address and personal mobile number shared publicly.",
            "A named child's medical condition, special needs or social services involvement.",
            "Confidential staffing restructure document leaked before it was announced.",
            "Staff logins and passwords pasted publicly.",
        ),
    ),
    "pupil_image": Category(
        key="pupil_image",
        title="pupil image",
        clauses=("6.3(g)", "6.3(h)"),
        meaning="photos or videos of identifiable pupils, especially in uniform",
        urgent_when="identifiable children",
        prototypes=(
            "Photo of the whole class in school uniform posted publicly with their faces visible.",
            "Video of the school nativity play uploaded showing all the children on stage.",
            "Someone filmed pupils in the playground and put it on TikTok.",
        ),
    ),
    "staff_conduct": Category(
        key="staff_conduct",
        title="staff conduct",
        clauses=("6.3(a)", "6.3(b)", "6.3(c)", "6.3(d)", "6.3(e)", "7.3", "7.12", "8.2"),
        meaning="staff speaking for the academy unauthorised, posting work information, "
        "contacting pupils or families",
        urgent_when="contact with pupils, or leaks",
        prototypes=(
            "As a teacher at this school, here is my view on the trust's new policy.",
            "A teacher messaged a pupil on social media from her personal account.",
            "A member of staff posts inside information from the staff meeting.",
            "I work at the school and can confirm the announcement before the official letter.",
        ),
    ),
}
assert tuple(TAXONOMY) == CATEGORIES


def category(key: str) -> Category:
    return TAXONOMY[key]


def label(key: str, detail: str | None = None) -> str:
    return TAXONOMY[key].label(detail)


# Cue phrases: shown as evidence when their category is flagged, and counted as features.
_CUE_WORDS: dict[str, tuple[str, ...]] = {
    "reputation": (
        r"avoid",
        r"disgrace(?:ful)?",
        r"shambles",
        r"joke",
        r"useless",
        r"rubbish",
        r"appalling",
        r"dreadful",
        r"terrible",
        r"awful",
        r"incompetent",
        r"requires improvement",
        r"inadequate",
        r"special measures",
        r"complain(?:ed|t|ts)?",
        r"ignored",
        r"nothing was done",
        r"not good enough",
        r"do better",
        r"cover(?:ed)?[- ]up",
        r"suspended",
        r"investigat\w+",
        r"bullying",
        r"grim",
        r"unreal",
        r"\bwors[te]\b",
        r"1[- ]star",
        r"★☆☆☆☆",
    ),
    "harassment": (
        r"watch (?:her|his|their|your) back",
        r"wait(?:ing)? (?:for|outside)",
        r"sort (?:him|her) out",
        r"find out where",
        r"where (?:he|she) lives",
        r"see you soon",
        r"you know what you did",
        r"make (?:his|her|their) li(?:fe|ves) hell",
        r"go back (?:to )?where",
        r"send (?:him|her) back",
        r"cow",
        r"creep",
        r"freak",
        r"clown",
        r"idiot",
        r"ugl(?:y|iest)",
        r"smells?",
        r"fat",
        r"kill",
        r"hurt",
        r"slap",
        r"punch",
        r"deserves? (?:a|to)",
        r"put (?:her|him) in (?:her|his) place",
    ),
    "data_leak": (
        r"confidential",
        r"not for circulation",
        r"leaked?",
        r"spreadsheet",
        r"attachment",
        r"screenshot",
        r"payroll",
        r"salar(?:y|ies)",
        r"disciplinary",
        r"safeguarding log",
        r"shared publicly",
        r"anyone with the link",
        r"in the to:? field",
        r"\bbcc\b",
        r"redundanc(?:y|ies)",
        r"reading ages?",
        r"class list",
        r"medical",
    ),
    "pupil_image": (
        r"photos?",
        r"pics?",
        r"pictures?",
        r"snaps?",
        r"video",
        r"filmed",
        r"footage",
        r"recording",
        r"uploaded",
        r"tiktok",
        r"faces?",
        r"in uniform",
        r"nativity",
        r"class photo",
        r"on stage",
        r"sports day",
        r"assembly",
        r"📸",
    ),
    "staff_conduct": (
        r"i(?:'m| am) (?:a |an )?"
        r"(?:teacher|ta|teaching assistant|slt|senco|deputy|head|member of staff)",
        r"i work at",
        r"teacher (?:at|@)",
        r"views my own",
        r"my class",
        r"my year \d",
        r"staff (?:group|meeting|room)",
        r"on behalf of",
        r"can confirm",
        r"followed my",
        r"messag\w+ (?:me|my|her|him|pupils?)",
        r"whatsapp",
        r"personal (?:number|account|phone)",
        r"added me on",
        r"friend request",
        r"throwaway",
    ),
}
CUES: dict[str, re.Pattern[str]] = {
    key: re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.I)
    for key, words in _CUE_WORDS.items()
}


def cue_evidence(text: str, key: str, limit: int = 4) -> list[Evidence]:
    """Cue phrases of one category found in text (first few)."""
    out = []
    for m in CUES[key].finditer(text):
        out.append(Evidence(m.start(), m.end(), "phrase", key, m.group(0)))
        if len(out) >= limit:
            break
    return out


def cue_counts(text: str) -> list[float]:
    """Per category, a saturated count of cue phrases (features for the heads)."""
    return [min(len(CUES[k].findall(text)), 3) / 3.0 for k in CATEGORIES]
