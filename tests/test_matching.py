"""Tests for monitor.matching: is an item about this academy, which name, and where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import AcademyConfig
from monitor.matching import SHORT_POST, Matcher, Watch, tokenise
from monitor.models import Match

DATA = Path(__file__).resolve().parents[1] / "monitor" / "scoring" / "data"
DEV = DATA / "mentions-dev.jsonl"
DEV2 = DATA / "mentions-dev2.jsonl"

# The academy block recommended for examples/ankermoor.toml, as data.
ANKERMOOR = {
    "id": "ankermoor",
    "display_name": "Ankermoor Primary Academy",
    "names": [
        "Ankermoor Primary Academy",
        "Ankermoor Primary School",
        "Ankermoor Primary",
        "Anker Moor Primary",
        "Ankermoor Academy",
        "#AnkermoorPrimary",
        "#AnkermoorAcademy",
        "انکرمور پرائمری",
    ],
    "ambiguous_names": ["Ankermoor", "Anker Moor", "AMPA"],
    "context_words": [
        "school", "pupil", "pupils", "head", "headteacher", "head teacher", "deputy head",
        "teacher", "teachers", "teaching assistant", "TA", "PTA", "SLT", "DSL", "SENCO",
        "governors", "Ofsted", "SATs", "inspection", "reception", "nursery", "year 1", "year 2",
        "year 3", "year 4", "year 5", "year 6", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "KS1", "KS2",
        "class", "classroom", "playground", "parents", "parents evening", "kids", "children",
        "uniform", "nativity", "assembly", "school run", "pick-up", "drop-off", "book bag",
        "breakfast club", "after-school club", "sports day", "school trip", "residential",
        "half term", "INSET", "academy", "trust", "Fierté", "Fierté Multi Academy Trust",
    ],
    "exclusions": [
        "Ankermoor Road", "Ankermoor Rovers", "Ankermoor Park", "Ankermoor Gardens",
        "Ankermoor Close", "Ankermoor Lodge", "Ankermoor Arms", "Ankermoor High",
        "Ankermoor Primary Care Network", "Ankermoor Academy of Dance", "Anker Moor Dental",
        "Anker Moor Social Club", "Anker Moor Nature Reserve",
    ],
}  # fmt: skip


@pytest.fixture(scope="module")
def watch() -> Watch:
    return Watch.from_config(AcademyConfig.model_validate(ANKERMOOR))


@pytest.fixture(scope="module")
def matcher(watch: Watch) -> Matcher:
    return Matcher([watch])


def one(matcher: Matcher, title: str, text: str = "") -> Match | None:
    found = matcher.match(title, text)
    assert len(found) <= 1
    return found[0] if found else None


def spanned(m: Match, title: str, text: str) -> str:
    return (title if m.field == "title" else text)[m.start : m.end]


# -- the development set -------------------------------------------------------------------------


@pytest.mark.parametrize("path", [DEV, DEV2], ids=["dev", "dev2"])
def test_precision_and_recall_on_the_dev_sets(matcher: Matcher, path: Path) -> None:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    tp = fp = fn = 0
    named_tp = named_fn = 0
    for row in rows:
        got = bool(matcher.match(row["title"], row["text"]))
        want = row["labels"]["relevant"]
        tp += got and want
        fp += got and not want
        fn += want and not got
        # Items that name the school in some spelling or script; the rest (a review on the
        # school's own page, a reply in a thread) carry no name at all.
        folded = (row["title"] + " " + row["text"]).casefold()
        if want and ("anker" in folded or "انکر" in folded):
            named_tp += got
            named_fn += not got
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    named_recall = named_tp / (named_tp + named_fn)
    print(
        f"\nmatching on {path.name}: {len(rows)} items, tp={tp} fp={fp} fn={fn}  "
        f"precision={precision:.3f} recall={recall:.3f}  "
        f"recall on items naming the school={named_recall:.3f} ({named_tp}/{named_tp + named_fn})"
    )
    assert precision >= 0.95
    assert named_recall >= 0.95
    # Name matching cannot find the items that carry no name; those need a source that is
    # known to be about the academy. Keep the overall figure from sliding further.
    assert recall >= 0.93


# -- normalisation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, written",
    [
        ("Sports day at ANKERMOOR PRIMARY today", "ANKERMOOR PRIMARY"),
        ("Sports day at ankermoor\n   primary today", "ankermoor\n   primary"),
        ("Sports day at Anker-Moor Primary today", "Anker-Moor Primary"),
        ("Sports day at Ankérmoor Primäry today", "Ankérmoor Primäry"),
        ("Sports day at Anke\u0301rmoor Primary today", "Anke\u0301rmoor Primary"),
        ("Sports day! #AnkermoorPrimary", "#AnkermoorPrimary"),
        ("Sports day! #ankermoorprimary", "#ankermoorprimary"),
        ("Sports day at AnkerMoor Primary's field", "AnkerMoor Primary"),
    ],
)
def test_case_space_hyphen_diacritic_and_hashtag_variants(
    matcher: Matcher, text: str, written: str
) -> None:
    m = one(matcher, "", text)
    assert m is not None
    assert spanned(m, "", text) == written
    assert not m.needed_context
    assert m.matched_name in ANKERMOOR["names"]


def test_hashtag_reports_the_hashtag_variant(matcher: Matcher) -> None:
    m = one(matcher, "", "Book fair all week #AnkermoorPrimary")
    assert m is not None and m.matched_name == "#AnkermoorPrimary"
    m = one(matcher, "", "Book fair all week at Anker Moor Primary")
    assert m is not None and m.matched_name == "Anker Moor Primary"


def test_offsets_index_the_original_title(matcher: Matcher) -> None:
    title = "“Killjoy” rules at Ankermoor Primary Academy – parents fume"
    m = one(matcher, title, "Some unrelated body text.")
    assert m is not None and m.field == "title"
    assert spanned(m, title, "") == "Ankermoor Primary Academy"
    assert m.matched_name == "Ankermoor Primary Academy"


@pytest.mark.parametrize(
    "text, written",
    [
        ("ankermore primary sent my son home", "ankermore primary"),
        ("nursery at ankermoore primary is amazing", "ankermoore primary"),
        ("ankermore primary acadamy. rubbish school", "ankermore primary acadamy"),
        ("the Ankermoor Prmary fun run", "Ankermoor Prmary"),
    ],
)
def test_small_misspellings_match_fuzzily(matcher: Matcher, text: str, written: str) -> None:
    m = one(matcher, "", text)
    assert m is not None
    assert spanned(m, "", text) == written
    assert 88 <= m.fuzzy_score < 100


@pytest.mark.parametrize(
    "text",
    [
        "Anchorage Primary won the quiz",
        "Otterbrook Primary rated Outstanding",
        "Ankerton Primary fun run",
        "Banker moor primary",  # a different first letter is never fuzzed
    ],
)
def test_other_names_are_not_fuzzy_matches(matcher: Matcher, text: str) -> None:
    assert matcher.match("", text) == []


def test_a_right_name_plus_another_word_is_not_a_longer_fuzzy_name(matcher: Matcher) -> None:
    text = "the Ankermoor Primary choir sang"
    m = one(matcher, "", text)
    assert m is not None
    assert spanned(m, "", text) == "Ankermoor Primary"
    assert m.fuzzy_score == 100


# -- ambiguous names and context -----------------------------------------------------------------


def test_ambiguous_name_needs_a_context_word_nearby(matcher: Matcher) -> None:
    assert matcher.match("", "Lovely walk at Ankermoor this morning, the heather is out.") == []
    text = "So proud of my Year 5s at Ankermoor today!"
    m = one(matcher, "", text)
    assert m is not None
    assert m.needed_context and m.context_word == "year 5"
    assert m.matched_name == "Ankermoor" and spanned(m, "", text) == "Ankermoor"


def test_in_a_long_item_context_must_be_near_the_ambiguous_name(matcher: Matcher) -> None:
    far = "Lovely walk at Ankermoor this morning. " + "la " * SHORT_POST + "Then the school run."
    assert matcher.match("", far) == []


def test_in_a_short_post_context_anywhere_counts(matcher: Matcher) -> None:
    text = "Lovely walk at Ankermoor this morning. " + "la " * 20 + "Then the school run."
    m = one(matcher, "", text)
    assert m is not None and m.context_word == "school run"
    # The title's words count for a name in the text too.
    m = one(matcher, "Choosing a school in Moor ward", "Ankermoor? Wouldn't send my dog there.")
    assert m is not None and m.field == "text" and m.context_word == "school"


def test_context_words_are_normalised_too(matcher: Matcher) -> None:
    m = one(matcher, "", "Big news for Ankermoor and FIERTE families")
    assert m is not None and m.context_word == "Fierté"
    m = one(matcher, "", "Ankermoor head-teacher speaks out")
    assert m is not None and m.context_word == "head teacher"


def test_title_hit_may_take_context_from_the_start_of_the_text(matcher: Matcher) -> None:
    m = one(matcher, "Snow day at Anker Moor", "No classroom will open; pupils stay home.")
    assert m is not None and m.field == "title" and m.needed_context
    assert m.matched_name == "Anker Moor"


def test_camelcase_hashtag_splits_into_name_and_context(matcher: Matcher) -> None:
    text = "Cake sale tomorrow #AnkermoorPTA"
    m = one(matcher, "", text)
    assert m is not None and m.matched_name == "Ankermoor" and m.context_word == "PTA"
    assert spanned(m, "", text) == "#Ankermoor"


@pytest.mark.parametrize(
    "text",
    [
        "Ankermoor Lodge care home: please sign in at reception.",
        "Anker Moor Dental Care – the kids' dentist was lovely",
        "Ankermoor Cricket Club junior nets for children aged 8-11",
        "Otterbrook Primary School, on the far side of Anker Moor, rated Outstanding by Ofsted.",
        "Our class walked across Ankermoor to the river with the teacher",
    ],
)
def test_ambiguous_name_as_a_place_or_business_does_not_match(matcher: Matcher, text: str) -> None:
    assert matcher.match("", text) == []


# -- exclusions, namesakes and landmarks ---------------------------------------------------------


@pytest.mark.parametrize(
    "title, text",
    [
        (
            "Ankermoor Road to close",
            "Ankermoor Road closed for three weeks; school buses diverted.",
        ),
        ("Ankermoor Rovers Academy – U9 trials", "Boots and shin pads, kids."),
        ("anker moor road works", "traffic on ANKERMOOR ROAD is a joke this morning"),
        ("Flu clinic", "Ankermoor Primary Care Network jab clinic this Saturday."),
        ("Ballet?", "Do any of your kids go to Ankermoor Academy of Dance?"),
    ],
)
def test_exclusions_and_namesakes(matcher: Matcher, title: str, text: str) -> None:
    assert matcher.match(title, text) == []


def test_an_exclusion_only_removes_the_occurrence_it_covers(matcher: Matcher) -> None:
    text = "Road closed on Ankermoor Road, so Ankermoor Primary pick-up moves to Church Lane."
    m = one(matcher, "", text)
    assert m is not None and spanned(m, "", text) == "Ankermoor Primary"


def test_plural_verb_after_the_name_is_not_a_namesake(matcher: Matcher) -> None:
    assert one(matcher, "", "Ankermoor Primary care more about Ofsted than kids") is not None


@pytest.mark.parametrize(
    "text",
    [
        "Three-bed semi within walking distance of Ankermoor Primary Academy and the shops.",
        "The café opposite Ankermoor Primary does a great flat white.",
        "Flat for rent, close to Ankermoor Primary school and the station.",
    ],
)
def test_a_landmark_mention_without_school_context_does_not_match(
    matcher: Matcher, text: str
) -> None:
    assert matcher.match("", text) == []


@pytest.mark.parametrize(
    "text, context",
    [
        ("Mrs Keel in the Ankermoor office is so rude on the phone.", "office"),
        ("Miss Warburton at Ankermoor is the best.", "miss warburton at"),
        ("Ankermoor's new head starts on Monday.", "head"),
        ("Busy again outside Ankermoor at 3.15, nowhere to park.", "3.15"),
        ("The dinner lady at Ankermoor shouted at my son.", "dinner lady"),
        ("Nauczycielka z Ankermoor, pani Wilk, jest niemiła.", "nauczycielka"),
        ("Diolch i bawb yn Ankermoor am y cyngerdd Nadolig", "cyngerdd"),
    ],
)
def test_a_bare_name_with_plain_school_context_matches(
    matcher: Matcher, text: str, context: str
) -> None:
    m = one(matcher, "", text)
    assert m is not None and m.needed_context
    assert m.context_word is not None and m.context_word.casefold() == context


@pytest.mark.parametrize(
    "text",
    [
        "Mist in the valley below Ankermoor ridge at sunrise, my son loved the drone shots.",
        "Ankermoor village fete: the kids' tombola raised £200.",
        "Narrowboat for sale, 'Anker Moor', sleeps four, ideal for a family with children.",
        "Ankermoor Rovers under-9s: staff and parents please bring oranges.",
    ],
)
def test_a_bare_name_that_is_a_place_or_club_still_does_not_match(
    matcher: Matcher, text: str
) -> None:
    assert matcher.match("", text) == []


def test_a_landmark_mention_with_school_context_matches(matcher: Matcher) -> None:
    text = "A man was seen filming pupils near Ankermoor Primary at lunchtime."
    m = one(matcher, "", text)
    assert m is not None and m.needed_context and m.context_word == "pupils"


# -- several academies, ordering, robustness -----------------------------------------------------


def test_one_match_per_academy_best_first(watch: Watch) -> None:
    sister = Watch(
        id="otterbrook",
        names=("Otterbrook Primary",),
        ambiguous_names=("Otterbrook",),
        context_words=("school", "pupils"),
    )
    matcher = Matcher([watch, sister])
    title = "Otterbrook Primary and Ankermoor to merge"
    text = "Pupils at Ankermoor Primary Academy and Otterbrook Primary will share a head."
    found = matcher.match(title, text)
    assert [m.organisation for m in found] == ["otterbrook", "ankermoor"]
    assert found[0].field == "title" and not found[0].needed_context
    assert found[1].field == "text" and found[1].matched_name == "Ankermoor Primary Academy"


def test_an_academy_without_context_words_gets_the_defaults() -> None:
    w = Watch(id="a", names=("Otterbrook Primary",), ambiguous_names=("Otterbrook",))
    m = Matcher([w]).match("", "Nativity at Otterbrook, the kids were great")
    assert m and m[0].needed_context and m[0].context_word == "kids"


def test_empty_and_whitespace_items(matcher: Matcher) -> None:
    assert matcher.match("", "") == []
    assert matcher.match("   ", "\n\t") == []


def test_tokens_keep_offsets_into_the_original() -> None:
    s = "Héllo #AnkermoorPTA, anker-moor!"
    tk = tokenise(s)
    assert tk.norm == ("hello", "ankermoor", "pta", "anker", "moor")
    assert [s[a:b] for a, b in tk.spans] == ["Héllo", "Ankermoor", "PTA", "anker", "moor"]
    assert tk.hashtag == (False, True, False, False, False)


_NOT_WORDS = st.text(alphabet=st.characters(exclude_categories=("L", "M", "N")), max_size=40)


@settings(max_examples=200, deadline=None)
@given(before=_NOT_WORDS, after=_NOT_WORDS)
def test_the_name_is_found_whatever_surrounds_it(matcher: Matcher, before: str, after: str) -> None:
    text = f"{before} Ankermoor Primary {after}"
    found = matcher.match("", text)
    assert len(found) == 1
    assert spanned(found[0], "", text) == "Ankermoor Primary"


@settings(max_examples=300, deadline=None)
@given(title=st.text(max_size=80), text=st.text(max_size=300))
def test_never_raises_and_offsets_are_in_range(matcher: Matcher, title: str, text: str) -> None:
    for m in matcher.match(title, text):
        field = title if m.field == "title" else text
        assert 0 <= m.start < m.end <= len(field)


# -- school context in short posts (issue 11) ----------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "the ankermoor headmistress needs to retire",
        "if ankermoor exclude him again im going in",
        "ANKERMOOR HAVE LOST MY DAUGHTERS COAT",
        "the tall girl at the back of the Ankermoor choir",
        "look who it is 👀 ankermoor's finest. see you tomorrow miss 👋",
        "everyone at ankermoor hates u",
        "Two girls in Ankermoor jumpers in the photo",
        "the girls in Ankermoor year 6 were filming my son",
        "The TA told the playground about his SEN. He won't go in. Ankermoor, how could you.",
        "Cake sale after school in the Ankermoor hall",
        "Mulțumesc doamnei de la biroul Ankermoor care m-a ajutat",
        "Not surprised B.K. in 6R is kicking off. Ankermoor should be doing something",
        "Ankermoor's Miss Delaney can't spell.",
        "Thank you Ankermoor for the food bank vouchers at Christmas.",
        "Bet little Tommy Graves from Ankermoor isn't so hard now.",
    ],
)
def test_a_bare_name_with_school_context_in_a_short_post_matches(
    matcher: Matcher, text: str
) -> None:
    m = one(matcher, "", text)
    assert m is not None and m.needed_context and m.matched_name == "Ankermoor"


@pytest.mark.parametrize(
    "text",
    [
        "Lost dog in Ankermoor this morning, the kids are heartbroken.",
        "Ankermoor Village Hall: kids' parties £15 an hour.",
        "Anyone going to the Ankermoor car boot on Sunday? Looking for kids' bikes",
        "Anyone know if the kids' boxing club runs at the ankermoor community centre?",
        "Neuadd Bentref Ankermoor – noson gwis i'r plant nos Wener.",
        "Korek na osiedle Ankermoor, dzieci spóźnione do szkoły.",
        "Sab mothers ko batao: Ankermoor ke saamne Khan Sweets pe 20% off, uniform dikhao",
        "Not Ankermoor related but does Castlebridge High do a uniform grant?",
        "Castlebridge Polish Saturday School (nie Ankermoor!) zapisy na nowy rok",
        "Ankermoor Fish Bar. Staff a bit grumpy but the kids loved it.",
        "Students at Ankermoor Elementary in Surrey cut the ribbon on a new playground.",
        "Planning a trip with the kids: there's a village called Ankermoor near the coast.",
        "The Ankermoor & District WI: talk by a teacher's daughter.",
    ],
)
def test_a_bare_name_as_a_place_or_namesake_in_a_short_post_still_does_not_match(
    matcher: Matcher, text: str
) -> None:
    assert matcher.match("", text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("AMPA governors minutes finally online, 40 mins on the colour of the logo", True),
        ("ankermore had the best christmas fair this year, the tombola was class", True),
        ("AMPA receptors mediate fast synaptic transmission in the brain", False),
        ("AMPA: the annual meeting of the regional pharmacists' association", False),
    ],
)
def test_an_initialism_is_an_ambiguous_name_that_needs_school_context(
    matcher: Matcher, text: str, expected: bool
) -> None:
    # "AMPA" is what parents and staff write for the academy (labelling guide), and also a
    # receptor and many associations: like a bare "Ankermoor", it counts only with school context.
    assert bool(matcher.match("", text)) is expected


def test_school_context_after_a_place_preposition_must_follow_the_name(matcher: Matcher) -> None:
    assert one(matcher, "", "the kids in Ankermoor uniform on the bus") is not None
    assert matcher.match("", "the kids in Ankermoor today, the woods were lovely") == []


def test_a_lookalike_school_name_is_not_a_fuzzy_match(matcher: Matcher) -> None:
    assert matcher.match("", "Ankerton Primary School in Fenstone rated inadequate") == []
    assert matcher.match("", "Ankerbrook Primary School in Stoke judged inadequate") == []
