"""Personal-data detectors and redaction (pure; no model)."""

import subprocess
import sys
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.scoring.names import STRICT
from monitor.scoring.pii import REPLACEMENTS, find_personal_data, redact


def kinds(text: str) -> set[str]:
    return {e.kind for e in find_personal_data(text)}


def test_redact_removes_phone_email_address_postcode():
    text = "Ring Mrs Patel on 07700 900123 or jo.bloggs77@gmail.com, 14 Riverside Close, B79 0XX."
    out = redact(text)
    assert "07700" not in out and "gmail" not in out and "Riverside" not in out and "B79" not in out
    assert "[phone removed]" in out and "[email removed]" in out
    assert "Mrs Patel" in out  # staff named in their public role stay readable


def test_identifiers_and_credentials():
    text = "DOB: 12/03/2016, NI QQ 12 34 56 C, UPN A801200310023, password: Green5weater"
    assert {"dob", "ni_number", "upn", "credential"} <= kinds(text)
    out = redact(text)
    assert "Green5weater" not in out and "12/03/2016" not in out
    assert "[NI number removed]" in out and "[pupil number removed]" in out


def test_class_list_and_named_child_health():
    text = "Year 3 Oak class list: Amelia, Jake, Noah B, Isla, Freddie. Oliver K (5B) has epilepsy."
    found = kinds(text)
    assert "class_list" in found and "child_health" in found
    assert "Amelia" not in redact(text)


def test_no_false_alarms_on_ordinary_posts():
    for text in [
        "Sports day at Ankermoor Primary this morning, Year 4 smashed the relay!",
        "Mr Hughes set up a lunchtime reading group. Lovely teacher.",
        "Scores were 25/25 in the quiz final, well done everyone",
        "Summer fair Saturday 5 July, 12-3pm, entry £2",
    ]:
        assert not [e for e in find_personal_data(text) if e.kind != "role_email"], text
        assert redact(text) == text


def test_spans_index_into_text_and_bad_input():
    text = "call 07700 900456 now"
    (ev,) = find_personal_data(text)
    assert text[ev.start : ev.end] == ev.text == "07700 900456"
    assert find_personal_data("") == [] and redact("") == ""
    assert redact("\x00\x01 😀😀 " * 1000).startswith("\x00")


# Realistic leak shapes: (text, secrets that must not survive redaction, kinds that must be found).
LEAKS = [
    ("login password: Hunter22!", ["Hunter22!"], {"credential"}),
    (
        "The admin password was 'Ankermoor2026!' in a public config file.",
        ["Ankermoor2026"],
        {"credential"},
    ),
    (
        "Staff wifi password for the hall is Oak2024 and the office PIN 4821",
        ["Oak2024", "4821"],
        {"credential"},
    ),
    ("username: jsmith password: bluebell", ["jsmith", "bluebell"], {"credential"}),
    ("MIS login for the office PC: Kestrel#9", ["Kestrel#9"], {"credential"}),
    (
        "Tom B 12/03/2015 reading age 8, Amira K 04/07/2015 reading age 7, "
        "Josh P 21/01/2015 reading age 9.",
        ["Tom B", "Amira", "Josh P", "12/03/2015", "04/07/2015", "21/01/2015"],
        {"class_list", "dob"},
    ),
    (
        "Spelling test 4K: Ruby S 18/20, Kacper W 12/20, Zayn A 20/20, Elsie T 9/20",
        ["Ruby S", "Kacper", "Zayn", "Elsie"],
        {"class_list"},
    ),
    (
        "Medical register (office copy): Isla M (3P) – anaphylaxis, epipen in office; "
        "Harvey D (3P) – asthma, inhaler",
        ["Isla M", "Harvey D"],
        {"child_health", "child_name"},
    ),
    (
        "Safeguarding note: Noah Williams in Year 5 was referred to social services "
        "after a disclosure on Tuesday.",
        ["Noah Williams"],
        {"child_health"},
    ),
    (
        "Mr Daniel Hughes (Year 6 teacher), DOB 14/02/1979, lives at 22 Larch Grove, B78 2PQ, "
        "mobile 07700 900214",
        ["14/02/1979", "Larch Grove", "B78 2PQ", "900214"],
        {"dob", "address", "postcode", "phone"},
    ),
    ("Leo Carter, date of birth 3 May 2016, is in Year 4", ["3 May 2016"], {"dob"}),
    ("Maisie Hart 09.11.2017 EHCP review", ["09.11.2017"], {"dob"}),
    ("Our daughter Poppy was born in 2018 and starts in Reception", ["2018"], {"dob"}),
]


@pytest.mark.parametrize(("text", "secrets", "expected"), LEAKS)
def test_leak_shapes_are_found_and_redacted(text: str, secrets: list[str], expected: set[str]):
    assert expected <= kinds(text)
    out = redact(text)
    for secret in secrets:
        assert secret not in out, (secret, out)
    assert "removed]" in out


BENIGN = [
    "Open evening Friday 14 November, 6-8pm in the hall. All welcome!",
    "Spring term runs from 1 April to 23 May; INSET day on Monday 2 June.",
    "Ankermoor Primary was rated Good by Ofsted on 12 March 2015, Mrs Patel said.",
    "The school opened in 1998 and moved to its new building in 2012.",
    "Sports Day 14/07/2019 was a scorcher, Year 5 won the tug of war.",
    "Forgot my password for the parent app again, the login page is so slow.",
    "Reminder: pin the poster up by the office, the login screen is fixed now.",
    "Year R, Year 1 and Year 2 nativity rehearsals this week.",
    "Key Stage 2 results were published on 10 July 2024.",
    "We're hiring a Year 3 teacher, start date 1 September, apply by 30 May.",
]


@pytest.mark.parametrize("text", BENIGN)
def test_no_false_alarms_on_benign_posts(text: str):
    assert not [e for e in find_personal_data(text) if e.kind != "role_email"], text
    assert redact(text) == text


def test_job_ad_redacts_only_the_recruitment_mailbox():
    text = "Teaching assistant wanted from 1 April. Apply to recruitment@ankermoor.example.org"
    out = redact(text)
    assert "from 1 April" in out and "Teaching assistant" in out
    assert {e.kind for e in find_personal_data(text)} <= {"role_email"}


def test_importing_pii_and_taxonomy_does_not_load_the_model_stack():
    code = (
        "import sys, monitor.scoring.pii, monitor.scoring.taxonomy\n"
        "heavy = [m for m in ('sklearn', 'scipy', 'torch', 'sentence_transformers') "
        "if m in sys.modules]\n"
        "print(','.join(heavy))"
    )
    root = Path(__file__).resolve().parents[1]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "", out.stdout
    # the lazy names still resolve
    import monitor.scoring as scoring

    assert callable(scoring.load_scorer) and scoring.Scorer.__name__ == "Scorer"


# --- idempotence -----------------------------------------------------------------------------
# Texts made of the shapes the detectors look for (not only random text), glued in any order, with
# markers that an earlier redaction left, so that redacting the redacted text is exercised hard.

_NAMES = sorted(STRICT)[:: max(1, len(STRICT) // 60)] + ["Grace", "Will", "Josh", "Kacper"]


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


_PHONE_S = st.one_of(
    st.builds(lambda a, b, sep: f"07{a}{sep}{b}", _digits(3), _digits(6), st.sampled_from(" -")),
    st.builds(lambda a, b: f"+44 7{a} {b}", _digits(3), _digits(6)),
    st.builds(lambda a, b: f"01{a} {b}", _digits(3), _digits(6)),
)
_POSTCODE_S = st.builds(
    lambda a, d, e, f: f"{a}{d} {e}{f}",
    st.sampled_from(["B", "AB", "SW", "M", "WS"]),
    st.integers(1, 99),
    st.integers(0, 9),
    st.sampled_from(["XX", "DE", "PQ", "AB", "NW"]),
)
_EMAIL_S = st.builds(
    lambda local, dom: f"{local}@{dom}.example.org",
    st.sampled_from(["jo.bloggs77", "amelia.mum", "office", "head", "x"]),
    st.sampled_from(["gmail", "ankermoor", "school"]),
)
_SECRET_S = st.text(
    alphabet="abcdefghXYZ0123456789!#$%&*?@[]()_.-", min_size=1, max_size=14
) | st.sampled_from(["hunter2X", "Green5weater", "bluebell", "removed]", "[credential", "is"])
_CRED_S = st.builds(
    lambda label, conn, q, v: f"{label}{conn}{q}{v}{q}",
    st.sampled_from(["password", "login password", "PIN", "username/password", "wifi code", "pwd"]),
    st.sampled_from([": ", " is ", " = ", " - ", " ", ":"]),
    st.sampled_from(["", "'", '"']),
    _SECRET_S,
)
_DATE_S = st.builds(
    lambda d, m, y, fmt: fmt.format(d=d, m=m, y=y),
    st.integers(1, 28),
    st.integers(1, 12),
    st.integers(1975, 2019),
    st.sampled_from(["{d}/{m}/{y}", "{d:02}.{m:02}.{y}", "{d} May {y}", "{y}-{m:02}-{d:02}"]),
)
_DOB_S = st.builds(
    lambda label, date: f"{label}{date}",
    st.sampled_from(["DOB ", "DOB: ", "D.O.B. ", "date of birth ", "born ", "born on ", ""]),
    _DATE_S,
)
_ADDRESS_S = st.builds(
    lambda n, w, street: f"{n} {w} {street}",
    st.integers(1, 999),
    st.sampled_from(["Mill", "Larch", "Riverside", "Oak Tree", "St Mary's"]),
    st.sampled_from(["Lane", "Close", "Road", "Grove", "Way", "Court"]),
)
_NAME_S = st.builds(
    lambda first, last: f"{first.capitalize()}{last}",
    st.sampled_from(_NAMES),
    st.sampled_from(["", " B", " K.", " Smith", " Jones", " W"]),
)
_CLASS_LIST_S = st.builds(
    lambda names, seps, scores: "".join(
        n + sc + sep for n, sep, sc in zip(names, seps, scores, strict=False)
    ),
    st.lists(_NAME_S, min_size=2, max_size=6),
    st.lists(st.sampled_from([", ", "; ", " and ", "\n", " | ", " "]), min_size=6, max_size=6),
    st.lists(
        st.sampled_from(["", " 18/20", " 9/20", " reading age 8", " 95%"]), min_size=6, max_size=6
    ),
)
_CONTEXT_S = st.sampled_from(
    [
        "Year 3 Oak class list:",
        "in Year 5",
        "(5B)",
        "has epilepsy",
        "ADHD",
        "SEN support",
        "social services",
        "the boy in Year 4",
        "Mrs Patel",
        "Mr Hughes",
        "UPN",
        "NHS",
        "NI QQ 12 34 56 C",
        "A801200310023",
        "943 476 5919",
        "Ankermoor Primary Academy",
    ]
)
_MARKER_S = st.sampled_from(sorted(set(REPLACEMENTS.values())))
_WORDS_S = st.text(
    alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "Zs", "S"]), max_size=25
)
_FRAGMENT_S = st.one_of(
    _PHONE_S,
    _POSTCODE_S,
    _EMAIL_S,
    _CRED_S,
    _DOB_S,
    _ADDRESS_S,
    _NAME_S,
    _CLASS_LIST_S,
    _CONTEXT_S,
    _MARKER_S,
    _WORDS_S,
)
_JOIN_S = st.sampled_from([" ", ", ", "\n", ": ", "", ". ", " - ", " (", ") "])
PII_TEXTS = st.lists(st.tuples(_FRAGMENT_S, _JOIN_S), min_size=1, max_size=14).map(
    lambda parts: "".join(f + j for f, j in parts)
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(PII_TEXTS)
def test_redacting_twice_changes_nothing(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@given(st.text(max_size=300))
def test_redacting_random_text_twice_changes_nothing(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("password: hunter2X", "password: [credential removed]"),
        ("DOB 12/03/2015", "DOB [date of birth removed]"),
        ("UPN A801200310023 and NHS 943 476 5919", "UPN [pupil number removed] and NHS "),
    ],
)
def test_a_redacted_text_is_left_as_it_is(text: str, expected: str) -> None:
    once = redact(text)
    assert once.startswith(expected), once
    assert redact(once) == once
    assert "removed] removed]" not in redact(redact(once))


def test_markers_already_in_a_post_are_not_redacted_again() -> None:
    text = "Their password: [credential removed] and date of birth [date of birth removed]"
    assert redact(text) == text


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(["0", "+44", "+44 "]), st.sampled_from("1237"), _digits(8) | _digits(9))
def test_the_phone_length_rule_agrees_with_phonenumbers(prefix: str, first: str, rest: str) -> None:
    raw = f"{prefix}{first}{rest}"
    expected = phonenumbers.is_possible_number(phonenumbers.parse(raw, "GB"))
    assert (kinds(f"call {raw} now") == {"phone"}) == expected, raw


def test_offsets_hold_when_lower_casing_would_change_the_length() -> None:
    # "İ".lower() is two characters: the case-folded copy the patterns scan must not shift.
    text = "İİİ Password: Hunter22! and SEN support for Oliver Smith in Year 5, call 07700 900123"
    out = redact(text)
    assert out.startswith("İİİ Password: [credential removed] and ")
    assert out.endswith("call [phone removed]") and "Oliver" not in out
    assert {e.text for e in find_personal_data(text) if e.kind == "child_health"} == {"SEN support"}
