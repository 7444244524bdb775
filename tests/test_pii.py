"""Personal-data detectors and redaction (pure; no model)."""

from monitor.scoring.pii import find_personal_data, redact


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
