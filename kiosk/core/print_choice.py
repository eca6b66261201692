"""What a resident chooses on the print screen, and what it will cost: pure rules, no Qt.

The print screen (``kiosk.shell.printsheet``) holds one :class:`PrintChoice` and replaces it at
each tap: which pages (all, the one on screen, a range), how many copies, black and white or
colour. Every bound is checked here, so the screen's steppers cannot build a job CUPS would
refuse: a first page after the last, a page past the end, copies outside 1..``max_copies``.

Pages counted for the quota are the selected pages × copies (:attr:`PrintChoice.total`).
Black and white is the default: colour toner costs a centre several times more per page, and an
attestation or a CERFA reads the same in grey; a resident who needs colour switches it on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from kiosk.core.devices import PrintOptions
from kiosk.core.printing import Decision
from kiosk.i18n import N_, Translator

MAX_COPIES = 5
"""Copies one job may ask for when no ``[printing] max_copies`` reaches the screen."""


class PageSelection(StrEnum):
    ALL = "all"
    CURRENT = "current"  # the page shown in the viewer
    RANGE = "range"  # from ``first`` to ``last``


@dataclass(frozen=True)
class PrintChoice:
    """One consistent set of choices for a document of ``page_count`` pages (pages 1-based)."""

    page_count: int
    current: int = 1
    selection: PageSelection = PageSelection.ALL
    first: int = 1
    last: int = 1
    copies: int = 1
    max_copies: int = MAX_COPIES
    monochrome: bool = True

    def __post_init__(self) -> None:
        if self.page_count < 1:
            raise ValueError("a document has at least one page")
        if not 1 <= self.current <= self.page_count:
            raise ValueError(f"page {self.current} is not in a document of {self.page_count} pages")
        if not 1 <= self.first <= self.last <= self.page_count:
            raise ValueError(f"pages {self.first} to {self.last} are not a range of {self.page_count} pages")
        if self.max_copies < 1:
            raise ValueError("max_copies is at least 1")
        if not 1 <= self.copies <= self.max_copies:
            raise ValueError(f"copies must be between 1 and {self.max_copies}")

    @classmethod
    def for_document(cls, page_count: int, current: int = 1, max_copies: int = MAX_COPIES) -> PrintChoice:
        """The screen's first state: every page, one copy, black and white; the range ready
        from the page on screen to the end."""
        return cls(page_count, current, first=current, last=page_count, max_copies=max_copies)

    # -- what the choice means -----------------------------------------------------------------
    @property
    def pages(self) -> tuple[int, int]:
        """The first and last page printed."""
        if self.selection is PageSelection.CURRENT:
            return self.current, self.current
        if self.selection is PageSelection.RANGE:
            return self.first, self.last
        return 1, self.page_count

    @property
    def selected_pages(self) -> int:
        first, last = self.pages
        return last - first + 1

    @property
    def total(self) -> int:
        """Pages that come out of the printer, and that the quota counts: pages × copies."""
        return self.selected_pages * self.copies

    def options(self, *, hold: bool) -> PrintOptions:
        """The job's options (no page range when every page is printed)."""
        first, last = self.pages
        ranges = () if (first, last) == (1, self.page_count) else ((first, last),)
        return PrintOptions(pages=ranges, monochrome=self.monochrome, hold=hold)

    # -- the screen's taps: always a valid choice back --------------------------------------------
    def select(self, selection: PageSelection) -> PrintChoice:
        return replace(self, selection=selection)

    def step_first(self, delta: int) -> PrintChoice:
        """Move the first page (the range is chosen); it never passes the last page."""
        return replace(self, selection=PageSelection.RANGE, first=_clamp(self.first + delta, 1, self.last))

    def step_last(self, delta: int) -> PrintChoice:
        """Move the last page (the range is chosen); never before the first, never past the end."""
        return replace(self, selection=PageSelection.RANGE, last=_clamp(self.last + delta, self.first, self.page_count))

    def step_copies(self, delta: int) -> PrintChoice:
        return replace(self, copies=_clamp(self.copies + delta, 1, self.max_copies))

    def with_monochrome(self, monochrome: bool) -> PrintChoice:
        return replace(self, monochrome=monochrome)

    def can_step(self, what: str, delta: int) -> bool:
        """Whether ``step_<what>(delta)`` changes anything (a stepper's button is enabled)."""
        stepped = {"first": self.step_first, "last": self.step_last, "copies": self.step_copies}[what](delta)
        return (stepped.first, stepped.last, stepped.copies) != (self.first, self.last, self.copies)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


# -- the words before "Lancer l'impression" ---------------------------------------------------

HELD_AHEAD = N_("Elle sera gardée à l'accueil : demandez-la à l'accueil.")


def consequence_words(t: Translator, total: int, decision: Decision | None) -> str:
    """What the resident reads before confirming: the pages, the free pages left, and whether
    the job will wait at the reception. ``decision`` is None on a printer without a quota."""
    words = [t.ngettext("Cette impression fait %(pages)d page.", "Cette impression fait %(pages)d pages.", total)]
    words[0] %= {"pages": total}
    if decision is None:
        return words[0]
    left = min(decision.session_left, decision.day_left)
    if left == 0:
        words.append(t(N_("Il ne vous reste plus de pages gratuites aujourd'hui.")))
    else:
        words.append(
            t.ngettext(
                "Il vous en reste %(left)d gratuite aujourd'hui.",
                "Il vous en reste %(left)d gratuites aujourd'hui.",
                left,
            )
            % {"left": left}
        )
    if decision.hold:
        words.append(t(HELD_AHEAD))
    return " ".join(words)
