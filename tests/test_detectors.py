"""The structured detectors (leaks.py, threats.py) and the language guess: pure, no model."""

from __future__ import annotations

import pytest

from monitor.scoring import leaks, threats
from monitor.scoring.language import detect


@pytest.mark.parametrize(
    "text, fact",
    [
        ("Ankermoor's new office manager is Sandra Keel, just divorced, renting the flat above "
         "the chippy.", "divorced"),
        ("DD's friend Chloe W in Y6 told her a social worker comes to the house.",
         "social worker"),
        ("Mrs Bastable is off again, apparently it's cancer this time.", "cancer"),
        ("The dinner lady drives a blue Corsa, reg AB12 CDE, if anyone wants a word.", "AB12 CDE"),
        ("The new girl in Andrei's class is fostered, her mum's in prison.", "fostered"),
        ("Fetița nouă din clasa lui Andrei, Daria Popescu, are HIV, mi-a zis o mamă.", "are HIV"),
    ],
)  # fmt: skip
def test_a_person_next_to_a_sensitive_fact_is_a_leak(text: str, fact: str) -> None:
    assert fact in [e.text for e in leaks.sensitive_person(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Our SEN provision was praised by Ofsted this term.",
        "Ankermoor Primary has a new policy on exclusions, read it on the website.",
        "My daughter has autism and the school has been amazing for her.",
    ],
)
def test_a_sensitive_topic_without_an_identified_person_is_not(text: str) -> None:
    assert leaks.sensitive_person(text) == []


@pytest.mark.parametrize(
    "text",
    [
        # "I" is not an initial: "Thursday I" is no person.
        "Went to the EHCP workshop on Thursday I found it really useful.",
        # The SENCO's job is SEN: a SENCO next to an EHCP is not a fact about the SENCO.
        "The SENCo has been brilliant with our EHCP paperwork this year.",
        # A staff member suspended or arrested is an allegation (reputation), not a leak.
        "Mrs Dunmore in Y3 has been suspended and nobody will say why.",
        "Heard Mr Pask was arrested on Friday, is that true?",
    ],
)
def test_the_cues_that_were_mostly_wrong_in_training_are_not_leaks(text: str) -> None:
    # Each of these shapes fired on written training items that were not data_leak far more often
    # than on ones that were (labelling guide: allegations are reputation; a SENCO's role).
    assert leaks.sensitive_person(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "That teacher had better watch her back, I know where she parks.",
        "Tell your Jayden he'll regret it. We'll be waiting outside at 3.15.",
        "Ta nauczycielka pożałuje, wiem gdzie mieszka.",
        "Fairclough ne mere puttar nu dobara cheda taan gate te hi milanga ohnu.",
    ],
)
def test_a_target_and_an_intent_to_harm_is_a_threat(text: str) -> None:
    assert threats.threat(text)


@pytest.mark.parametrize(
    "text",
    [
        "The kids were killing it at sports day!",
        "Waiting for the results of the Ofsted visit.",
        "We know where the new library will go: next to the hall.",
    ],
)
def test_no_threat_in_ordinary_posts(text: str) -> None:
    assert threats.threat(text) == []


def test_punjabi_maar_is_a_threat_only_as_a_promise() -> None:
    # "maarta hai" reports a hit (reputation); "maar dunga" promises one.
    assert not threats.threat("Ek larka mere bete nu roz maarta hai, teacher kuch nahi kardi.")
    assert threats.threat("Us teacher nu main gate te maar dunga, dekh lena.")


def test_if_he_touches_my_son_again_is_not_an_allegation() -> None:
    # The lead-in of a threat ("... I'll sort him out"), labelled harassment, not reputation.
    assert not threats.allegation("If that boy touches my son again I'll sort him out myself.")
    assert threats.allegation("Mr Hale touched my daughter at the disco and nobody believes her.")


def test_allegation_and_hate_need_a_cue() -> None:
    assert threats.allegation("Everyone knows Mr Hewitt is a paedo, keep your kids away from him")
    assert not threats.allegation("Mr Hewitt ran a lovely assembly about kindness")
    assert threats.hate("Ms Novak should go back to Poland if she can't speak English")
    assert not threats.hate("Ms Novak taught the class some Polish words today")


@pytest.mark.parametrize(
    "text, lang",
    [
        ("Czy ktoś wie, czy w szkole są jeszcze wolne miejsca? Dzwoniłam ale nikt nie odbiera.",
         "pl"),
        ("Școala e un dezastru. Fiul meu e acolo de un an și nu a primit niciun ajutor.", "ro"),
        ("Diolch o galon i bawb am y cyngerdd Nadolig neithiwr, roedd y plant yn wych.", "cy"),
        ("Ankermoor ki woh teacher bohat badtameez hai, meri beti ko sab ke samne kaha.",
         "ur-pa"),
        ("The fun run raised £600 for the hospice and the kids loved it.", "en"),
    ],
)  # fmt: skip
def test_language_guess(text: str, lang: str) -> None:
    assert detect(text) == lang
