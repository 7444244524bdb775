"""The English gloss the encoder reads for posts in Polish, Romanian, Welsh and romanised
Urdu/Punjabi: the shipped glossaries, the substitution, and the scorer encoding the gloss."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.scoring import gloss
from monitor.scoring.language import _WORDS

# Common English words a glossary must not carry as forms: a Polish or Welsh post often holds an
# English sentence, where "to" or "on" glossed as "this" or "he" would change its meaning.
ENGLISH = _WORDS["en"] | {"a", "i", "no", "go", "he", "me", "we", "us", "an", "or", "up", "as"}


@pytest.mark.parametrize("lang", gloss.LANGUAGES)
def test_each_shipped_glossary_loads_and_leaves_english_words_alone(lang: str) -> None:
    words = gloss.glossary(lang)
    assert len(words) > 500
    assert not ENGLISH & words.keys()
    assert all(1 <= len(english.split()) <= 3 for english in words.values())


@pytest.mark.parametrize(
    ("text", "english", "kept"),
    [
        (
            "Pani Kowalska krzyczy na dzieci w szkole, to skandal",
            {"children", "school"},
            "Kowalska",
        ),
        (
            "Profesoara a lovit copilul meu la școală în Ankermoor",
            {"teacher", "child"},
            "Ankermoor",
        ),
        ("Mae Mrs Pugh yn gweiddi ar y plant yn yr ysgol bob dydd", {"children", "school"}, "Pugh"),
        ("Ankermoor wali teacher ne mere bete ko maara, bohat bura hua", {"son"}, "Ankermoor"),
    ],
)
def test_a_foreign_post_is_glossed_word_by_word_and_names_stay(
    text: str, english: set[str], kept: str
) -> None:
    out = gloss.gloss(text)
    assert english <= set(out.replace(",", " ").split())
    assert kept in out


def test_an_english_post_is_left_exactly_as_written() -> None:
    text = "Mrs Nowak at Ankermoor was brilliant with my son today, thank you!"
    assert gloss.gloss(text) == text


def test_a_malformed_glossary_names_its_file_and_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pl.tsv").write_text("szkoła\tschool\nnauczyciel teacher\n", encoding="utf-8")
    monkeypatch.setattr(gloss, "GLOSS_DIR", tmp_path)
    gloss.glossary.cache_clear()
    try:
        with pytest.raises(gloss.GlossaryError, match=r"pl\.tsv:2: expected"):
            gloss.glossary("pl")
        (tmp_path / "pl.tsv").unlink()
        gloss.glossary.cache_clear()
        with pytest.raises(gloss.GlossaryError, match=r"pl\.tsv: cannot read"):
            gloss.glossary("pl")
    finally:
        gloss.glossary.cache_clear()
