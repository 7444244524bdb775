"""Threat, allegation and hate detectors: a target plus an intent to harm, a target plus a serious
allegation, or abuse of a person for their race, sex, disability or faith. Pure; no I/O.

Targets are people of a school: pronouns (you, him, her), titled names, a named child ("your
Jayden"), roles (teacher, head, TA, dinner lady, caretaker), within a short window of the cue.
Cues include Polish, Romanian and romanised Urdu/Punjabi phrasings common in English school
communities. Used as floors under harassment/reputation and by the severity rules.
"""

from __future__ import annotations

import re

from monitor.models import Evidence

WINDOW = 120

_TARGET = re.compile(
    r"\b(?i:you|him|her|them|he|she|his|your|ur|u)\b"
    r"|\b(?:Mr|Mrs|Miss|Ms|Mx|Dr|[Pp]ani|[Dd]oamna)\.?\s+[A-Z][a-z'’]+"
    r"|\b(?i:teacher|teachers|head|headteacher|deputy|TA|staff|dinner lady|caretaker|"
    r"receptionist|office manager|governor|kid|boy|girl|lad|child|pupil|nauczycielk\w*|"
    r"profesoar\w*|ustad|isko|usko|ohnu|onu|nu)\b",
)
_INTENT = re.compile(
    r"\b(?:watch (?:your|his|her|their) back|(?:i|we) know where (?:you|he|she|they) (?:live|park)"
    r"\w*|know(?:s)? where (?:she|he) lives|find out where (?:she|he|they) lives?|"
    r"(?:i'?ll|i will|we'?ll|we will|gonna|going to|am going to) (?:be )?(?:waiting|wait|get|sort|"
    r"batter|smash|deck|slap|punch|hit|hurt|kill|stab|burn|find|come for|deal with|teach)\b|"
    r"(?:be|are|is) waiting (?:for|outside|at)|waiting (?:for (?:him|her|you)|outside|at the gates?)|"
    r"see (?:you|him|her) (?:at|outside|after)|(?:you'?ll|she'?ll|he'?ll|will) regret|"
    r"(?:get|gets|getting) what'?s coming|deserves? (?:a (?:slap|kicking|beating|smack)|to be "
    r"(?:hurt|beaten|shot|stabbed|attacked))|someone (?:should|needs to) (?:slap|hit|smack|batter|"
    r"deck|sort|hurt)|(?:kill|stab|shoot|batter|smash) (?:him|her|you|them)|last warning|"
    r"final warning|he knows what he did|she knows what she did|you know what you did|"
    r"make (?:his|her|their) li(?:fe|ves) hell|"
    r"won'?t (?:be|feel) safe|burn (?:it|the school|their house) down|"
    # Polish, Romanian, romanised Urdu/Punjabi
    r"pożałuje\w*|wiem,? gdzie (?:mieszka|mieszkasz)|dostanie za swoje|policz\w+ się|"
    r"îi arăt eu|o să-i arăt|știu unde (?:stă|locuiește)|o să-i pară rău|o să vadă|"
    r"sabak sikhana|dekh lunga|dekh lenge|dekhte hain|chhodunga nahi|chhadanga nahi|"
    # "maar" alone also reports a hit ("roz maarta hai"); only its promise is a threat.
    r"milanga|nahi chhoddange|maar (?:dunga|denge|doonga|deyanga|devanga)|maarunga|maarenge)\b",
    re.I,
)
_ALLEGATION = re.compile(
    r"\b(?:paedo\w*|pedo\w*|pedofil\w*|nonce\w*|groom(?:er|ers|ing|ed)\b|sex offender|"
    r"kiddy fiddler|fiddl(?:es|ed|ing) with|molest\w*|predator|rapist|raped|"
    # "if he touches my son again…" leads into a threat (harassment), not an allegation.
    r"touch(?:ed|es|ing) (?:kids|children|pupils|girls|boys)|touch(?:ed|ing) my (?:son|daughter)|"
    r"inappropriate(?:ly)? with (?:kids|children|pupils|girls|boys|a (?:child|pupil|girl|boy))|"
    r"abus(?:ed|es|ing|er) (?:kids|children|pupils|a (?:child|pupil|girl|boy)|my)|"
    r"(?:sit|sat) on his knee|messag\w+ (?:a |the )?(?:year \d |y\d )?(?:girl|boy|pupil|kid)s?|"
    r"hit (?:a|my|the) (?:child|kid|son|daughter|boy|girl)|grabbed (?:my|a|the) (?:son|daughter|"
    r"child|kid|boy|girl)|drunk (?:at|in) (?:work|school|class)|embezzl\w+|on the sex offenders?'? register|under investigation)",
    re.I,
)
_HATE = re.compile(
    r"\b(?:paki\w*|p\*ki|wog\w*|n[i1\*]gg\w*|coon|chink\w*|gyppo\w*|pikey\w*|"
    r"towelhead\w*|raghead\w*|terrorist|go back (?:to )?(?:where|your (?:own )?country|poland|"
    r"romania|pakistan|africa)|send (?:her|him|them) back|(?:bloody|dirty|filthy) (?:foreigner|"
    r"immigrant|pole|romanian|muslim|polack)\w*|polack\w*|retard\w*|spastic|spaz|mong\b|"
    r"window[- ]licker|cripple|tranny|dyke|(?:he|she)'?s a (?:man|bloke) in a dress|"
    r"should be in the kitchen|go back to poland|wracaj do polski)",
    re.I,
)


def _near(text: str, pattern: re.Pattern[str], kind: str, category: str) -> list[Evidence]:
    out: list[Evidence] = []
    targets = [m.span() for m in _TARGET.finditer(text)]
    if not targets:
        return out
    for m in pattern.finditer(text):
        a, b = m.span()
        if any(a - WINDOW <= tb and ta <= b + WINDOW for ta, tb in targets):
            out.append(Evidence(a, b, kind, category, m.group(0)))
    return out


def threat(text: str) -> list[Evidence]:
    """A target plus an intent to harm them."""
    return _near(text, _INTENT, "threat", "harassment")


def allegation(text: str) -> list[Evidence]:
    """A target plus a serious allegation (abuse, grooming, violence, crime)."""
    return _near(text, _ALLEGATION, "allegation", "reputation")


def hate(text: str) -> list[Evidence]:
    """Racist, sexist, disability or anti-faith abuse aimed at someone."""
    return _near(text, _HATE, "hate", "harassment")
