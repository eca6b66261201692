"""The print screen's rules (kiosk.core.print_choice): pages, range, copies, colour, the words."""

from __future__ import annotations

import pytest

from kiosk.core.devices import PrintOptions
from kiosk.core.print_choice import MAX_COPIES, PageSelection, PrintChoice, consequence_words
from kiosk.core.printing import decide
from kiosk.core.settings import PrintingSettings
from kiosk.i18n import translator

FR = translator("fr")


def test_the_screen_starts_with_every_page_one_copy_in_black_and_white() -> None:
    choice = PrintChoice.for_document(5, current=2, max_copies=3)
    assert (choice.selection, choice.copies, choice.monochrome) == (PageSelection.ALL, 1, True)
    assert (choice.first, choice.last) == (2, 5)  # the range, if chosen, starts at the page on screen
    assert choice.selected_pages == 5 and choice.total == 5
    assert choice.options(hold=False) == PrintOptions(pages=(), monochrome=True)


def test_pages_times_copies_is_what_comes_out_and_what_the_quota_counts() -> None:
    choice = PrintChoice.for_document(5, current=4).select(PageSelection.RANGE).step_first(-2)  # 2..5
    choice = choice.step_last(-2).step_copies(+1)  # pages 2..3, 2 copies
    assert choice.pages == (2, 3) and choice.total == 4
    assert choice.options(hold=True) == PrintOptions(pages=((2, 3),), monochrome=True, hold=True)
    current = choice.select(PageSelection.CURRENT)
    assert current.pages == (4, 4) and current.total == 2
    assert current.options(hold=False).pages == ((4, 4),)
    assert choice.select(PageSelection.ALL).total == 10


def test_a_range_of_the_whole_document_sends_no_page_range() -> None:
    whole = PrintChoice.for_document(3).select(PageSelection.RANGE)
    assert whole.pages == (1, 3) and whole.options(hold=False).pages == ()


def test_steppers_stop_at_their_bounds() -> None:
    choice = PrintChoice.for_document(3, max_copies=2)
    assert choice.step_first(-1).first == 1 and not choice.can_step("first", -1)
    assert choice.step_last(+5).last == 3 and not choice.can_step("last", +1)
    assert choice.step_copies(-1).copies == 1 and not choice.can_step("copies", -1)
    assert choice.step_copies(+9).copies == 2  # the configured maximum
    assert not choice.step_copies(+1).can_step("copies", +1)
    # The first page never passes the last, the last never goes before the first.
    narrow = choice.step_first(+1).step_last(-1)  # 2..2
    assert (narrow.first, narrow.last) == (2, 2)
    assert narrow.step_first(+1).first == 2 and narrow.step_last(-1).last == 2
    assert not narrow.can_step("first", +1) and not narrow.can_step("last", -1)
    assert narrow.can_step("first", -1) and narrow.can_step("last", +1)


def test_a_stepper_of_the_range_chooses_the_range() -> None:
    choice = PrintChoice.for_document(4)
    assert choice.step_last(-1).selection is PageSelection.RANGE
    assert choice.step_first(+1).selection is PageSelection.RANGE
    assert choice.step_copies(+1).selection is PageSelection.ALL


def test_colour_is_a_choice() -> None:
    colour = PrintChoice.for_document(2).with_monochrome(False)
    assert colour.options(hold=False).monochrome is False
    assert colour.with_monochrome(True).monochrome


@pytest.mark.parametrize(
    "kwargs",
    [
        {"page_count": 0},
        {"page_count": 3, "current": 4},
        {"page_count": 3, "current": 0},
        {"page_count": 3, "first": 3, "last": 2},
        {"page_count": 3, "first": 0, "last": 2},
        {"page_count": 3, "first": 1, "last": 4},
        {"page_count": 3, "last": 3, "copies": 0},
        {"page_count": 3, "last": 3, "copies": MAX_COPIES + 1},
        {"page_count": 3, "last": 3, "max_copies": 0},
    ],
)
def test_an_impossible_choice_is_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        PrintChoice(**kwargs)  # type: ignore[arg-type]


SETTINGS = PrintingSettings(pages_per_session=10, pages_per_day=200, max_copies=5)


def test_the_words_say_the_pages_and_the_free_pages_left() -> None:
    within = decide(2, 2, SETTINGS, session_used=0, day_used=0)
    assert consequence_words(FR, 4, within) == (
        "Cette impression fait 4 pages. Il vous en reste 10 gratuites aujourd'hui."
    )
    one_left = decide(1, 1, SETTINGS, session_used=9, day_used=9)
    one_left_words = consequence_words(FR, 1, one_left)
    assert one_left_words == "Cette impression fait 1 page. Il vous en reste 1 gratuite aujourd'hui."
    assert consequence_words(FR, 3, None) == "Cette impression fait 3 pages."  # a printer without quota


def test_the_words_say_when_the_job_will_wait_at_the_reception() -> None:
    over = decide(4, 3, SETTINGS, session_used=0, day_used=0)
    assert over.hold
    assert consequence_words(FR, 12, over) == (
        "Cette impression fait 12 pages. Il vous en reste 10 gratuites aujourd'hui."
        " Elle sera gardée à l'accueil : demandez-la à l'accueil."
    )
    day_spent = decide(1, 1, SETTINGS, session_used=0, day_used=200)
    assert consequence_words(FR, 1, day_spent) == (
        "Cette impression fait 1 page. Il ne vous reste plus de pages gratuites aujourd'hui."
        " Elle sera gardée à l'accueil : demandez-la à l'accueil."
    )
