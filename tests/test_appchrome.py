"""App chrome in OCR'd screenshots (sources/appchrome.py): what is the app's, what is the post's."""

from __future__ import annotations

import pytest

from sources.appchrome import Line, chrome_kind, clean_scraps, split_chrome


@pytest.mark.parametrize(
    "line",
    [
        "2h",
        "3 hrs",
        "45m",
        "Yesterday at 14:02",
        "12 March at 09:14",
        "Mar 12",
        "Just now",
        "2h · @",
        "Like · Reply · Share",
        "Like Comment Share",
        "Like Reply 3",
        "Reply",
        "See more",
        "Follow",
        "· Edited",
        "14 9 comments",
        "1.2K 340",
        "12 likes Reply See translation",
        "Write a comment…",
        "Write a comment...",
        "Add a comment...",
        "View 3 more replies",
        "Most relevant",
        "Parents of Ankermoor Primary Academy › Public group",
        "Private group · 1.4K members",
        "Claire Hodgson and 23 others",
        "9:41 4G 87%",
        "09:41",
        "@e@ 4G 87%",
        "tap here for group info",
        "~ Jo (Poppy's mum)",
        "Ankermoor Watch @ankermoorwatch · 3h",
        "jess.parker_ 2h",
        "@ 18 @ 212 9 212",
        "Message",
    ],
)
def test_app_lines_are_chrome(line: str) -> None:
    assert chrome_kind(line) is not None, line


@pytest.mark.parametrize(
    "line",
    [
        "Does anyone know why Year 4 were kept in at lunch again today?",
        "Reply to me if you know who took the photo.",
        "I am",
        "Mr Thornton in Year 3 is a bully.",
        "Training is cancelled tonight, see you on Saturday at 10am.",
        "Share this everywhere, parents deserve to know.",
        "Follow the money: the trust paid £340 for this.",
        "The head left at 14:02 yesterday without a word",
    ],
)
def test_post_lines_are_not_chrome(line: str) -> None:
    assert chrome_kind(line) is None, line


def test_a_facebook_group_post_keeps_only_the_post() -> None:
    lines = [
        Line("9:41 @e@e@ 4G 87%", 1),
        Line("Parents of Ankermoor Primary Academy ›", 2),
        Line("Public group", 2),
        Line("Claire Hodgson", 3),
        Line("2h · @", 3),
        Line("Does anyone know why Year 4 were kept in at", 4),
        Line("lunch again today? Third time this half term @", 4),
        Line("See more", 4),
        Line("14 9 comments", 5),
        Line("Like Comment Share", 6),
        Line("Write a comment…", 7),
    ]
    split = split_chrome(lines)
    assert split.post == (
        "Does anyone know why Year 4 were kept in at",
        "lunch again today? Third time this half term",
    )
    assert "Parents of Ankermoor Primary Academy ›" in split.chrome
    assert "Claire Hodgson" in split.chrome and "Like Comment Share" in split.chrome


def test_a_chat_bubble_loses_its_time_but_a_time_inside_the_post_stays() -> None:
    lines = [
        Line("Year 5 Parents", 1),
        Line("tap here for group info", 1),
        Line("~ Jo (Poppy's mum)", 2),
        Line("The head left at 14:02 yesterday and", 2),
        Line("nobody told us anything 14:07 ✓✓", 2),
        Line("Message", 3),
    ]
    split = split_chrome(lines)
    assert split.post == ("The head left at 14:02 yesterday and", "nobody told us anything")
    assert "14:07" in split.chrome and "Year 5 Parents" in split.chrome


def test_a_name_line_inside_the_post_is_kept() -> None:
    # A short line followed by a time line is a header only above the post, never inside it.
    lines = [Line("Dean Whitfield", 1), Line("5h", 1), Line("I saw him there.", 2)]
    lines += [Line("Sarah Jones", 2), Line("Like Reply", 3)]
    split = split_chrome(lines)
    assert split.post == ("I saw him there.", "Sarah Jones")


def test_scraps_of_emoji_are_removed_but_punctuation_stays() -> None:
    assert clean_scraps("half term @ ++ ‘=") == "half term"
    assert clean_scraps("Mums & Dads - £340 / term!") == "Mums & Dads - £340 / term!"
