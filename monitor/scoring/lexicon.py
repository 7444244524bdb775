"""Word lists for the hostility signal: profanity and insults (with common disguised spellings)
and threat phrasing. Pure data plus a counting helper; features for heads.py."""

from __future__ import annotations

import re

_PROFANE = r"""
f+u+c+k\w* f\*+k\w* fk\w* fuk\w* feck\w* sh[i1]t\w* s\*+t bs bullsh\w* cr[a@]p\w* damn\w* hell
bitch\w* b\*+h biatch bastard\w* ass asses asshole\w* arse\w* a\$\$\w* dick\w* d\*+k cock\w*
c[u\*]nt\w* tw[a\*]t\w* wank\w* piss\w* pussy\w* slut\w* whore\w* hoe hoes skank\w* tits?
prick\w* bollock\w* bloody bugger\w* sod wtf stfu gtfo omfg af lmfao motherf\w* mofo
"""
_INSULT = r"""
idiot\w* moron\w* stupid\w* dumb\w* retard\w* imbecile\w* cretin\w* loser\w* pathetic scum\w*
trash garbage rubbish clown\w* fool\w* foolish thick useless disgust\w* disgrace\w* vile
creep\w* freak\w* weirdo\w* ugly ugliest fat pig\w* cow\w* rat\w* snake\w* troll\w* liar\w*
hypocrit\w* traitor\w* coward\w* nazi\w* fascist\w* commie\w* libtard\w* snowflake\w* shut
hate\w* sick\w* evil jerk\w* nutjob\w* lunatic\w* psycho\w* deplorable\w* thug\w* brat\w*
"""
_THREAT = (
    r"kill (?:you|him|her|them)|watch (?:your|his|her) back|i know where|you'?ll regret|"
    r"see you soon|gonna get|will get (?:hurt|what)|deserves? to (?:die|be shot|get)|"
    r"put (?:him|her|you) through|sort (?:him|her|you) out|have a word|waiting (?:for|outside)|"
    r"shoot|stab|burn (?:down|it)|beat (?:him|her|you)|last warning|final warning"
)

PROFANE = re.compile(r"(?<!\w)(?:" + "|".join(_PROFANE.split()) + r")(?!\w)", re.I)
INSULT = re.compile(r"(?<!\w)(?:" + "|".join(_INSULT.split()) + r")(?!\w)", re.I)
THREAT = re.compile(r"(?<!\w)(?:" + _THREAT + r")(?!\w)", re.I)
_SHOUT = re.compile(r"\b[A-Z]{4,}\b")


def lexicon_features(text: str) -> list[float]:
    """Saturated counts of profanity, insults, threat phrasing, shouting and '!' runs."""

    def sat(n: int, top: float = 3.0) -> float:
        return min(float(n), top) / top

    return [
        sat(len(PROFANE.findall(text))),
        sat(len(INSULT.findall(text))),
        sat(len(THREAT.findall(text)), 2.0),
        sat(len(_SHOUT.findall(text))),
        1.0 if "!!" in text else 0.0,
        1.0 if "you" in text.lower().split() else 0.0,
    ]
