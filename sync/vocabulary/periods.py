"""The fixed calendar periods figures are published over: ISO weeks, and months, quarters and
years made of whole ISO weeks.

A week belongs to the month of its Thursday (the rule that gives an ISO week its year), so every
period is a set of whole weeks and the periods nest: week ⊂ month ⊂ quarter ⊂ year. No week is
split between two months, so no part of a week can be found by subtracting one period from
another. A "month" therefore starts on the Monday of its first week: ``2026-03`` runs from
Monday 2 March to Sunday 29 March 2026 (weeks 10 to 13), and ``2026`` from 29 December 2025 to
3 January 2027 (weeks 1 to 53).

Labels: ``2026-W05``, ``2026-03``, ``2026-Q1``, ``2026``. Pure standard library.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Kind = Literal["week", "month", "quarter", "year"]
KINDS: tuple[Kind, ...] = ("week", "month", "quarter", "year")
FIRST_YEAR, LAST_YEAR = 2000, 2100  # what the server is asked about: never an overflow deeper down
# Days whose week lies in those years (2000-01-01 belongs to a week of December 1999; 2100-12-31,
# a Friday, to the last week of 2100).
FIRST_DAY = date.fromisocalendar(FIRST_YEAR, 1, 1)
LAST_DAY = date(LAST_YEAR, 12, 31)
assert LAST_DAY.isocalendar().year == LAST_YEAR
KIND_NAMES = {"week": "semaine", "month": "mois", "quarter": "trimestre", "year": "année"}
MONTH_NAMES = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
LABEL_PATTERN = r"^(20\d\d|2100)(-W(0[1-9]|[1-4]\d|5[0-3])|-Q[1-4]|-(0[1-9]|1[0-2]))?$"  # the API's, for clients
_LABEL = re.compile(r"(?P<year>\d{4})(?:-W(?P<week>\d{2})|-Q(?P<quarter>[1-4])|-(?P<month>\d{2}))?")
HELP = "a period is YYYY-Www (ISO week), YYYY-MM (month), YYYY-Qn (quarter) or YYYY (year), e.g. 2026-03"


class PeriodError(ValueError):
    """Not a period label; the message says how to write one."""


def week_of(day: date) -> date:
    """The Monday of the ISO week holding ``day``."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True, order=True)
class Period:
    kind: Kind
    year: int
    number: int = 0  # week 1–53, month 1–12, quarter 1–4; 0 for a year

    @staticmethod
    def parse(label: str) -> Period:
        match = _LABEL.fullmatch(label.strip())
        if match is None:
            raise PeriodError(f"{label!r} is not a period: {HELP}")
        year = int(match["year"])
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise PeriodError(f"{label!r}: the year must lie between {FIRST_YEAR} and {LAST_YEAR}")
        if match["week"]:
            number = int(match["week"])
            if not 1 <= number <= weeks_in_year(year):
                raise PeriodError(f"{label!r}: {year} has weeks 1 to {weeks_in_year(year)}")
            return Period("week", year, number)
        if match["quarter"]:
            return Period("quarter", year, int(match["quarter"]))
        if match["month"]:
            number = int(match["month"])
            if not 1 <= number <= 12:
                raise PeriodError(f"{label!r}: months are 01 to 12")
            return Period("month", year, number)
        return Period("year", year)

    @staticmethod
    def of_week(monday: date) -> Period:
        year, week, _ = monday.isocalendar()
        return Period("week", year, week)

    @property
    def label(self) -> str:
        if self.kind == "week":
            return f"{self.year}-W{self.number:02d}"
        if self.kind == "month":
            return f"{self.year}-{self.number:02d}"
        if self.kind == "quarter":
            return f"{self.year}-Q{self.number}"
        return str(self.year)

    def __str__(self) -> str:
        return self.label

    def weeks(self) -> list[date]:
        """Mondays of the period's weeks, in order."""
        if self.kind == "week":
            return [date.fromisocalendar(self.year, self.number, 1)]
        first = date.fromisocalendar(self.year, 1, 1)
        mondays = [first + timedelta(weeks=n) for n in range(weeks_in_year(self.year))]
        return [monday for monday in mondays if self.contains_week(monday)]

    def contains_week(self, monday: date) -> bool:
        thursday = monday + timedelta(days=3)
        if thursday.year != self.year:
            return False
        if self.kind == "year":
            return True
        if self.kind == "quarter":
            return (thursday.month - 1) // 3 + 1 == self.number
        if self.kind == "month":
            return thursday.month == self.number
        return monday.isocalendar()[1] == self.number

    @property
    def first_day(self) -> date:
        return self.weeks()[0]

    @property
    def last_day(self) -> date:
        return self.weeks()[-1] + timedelta(days=6)

    def parent(self) -> Period | None:
        if self.kind == "week":
            thursday = self.first_day + timedelta(days=3)
            return Period("month", thursday.year, thursday.month)
        if self.kind == "month":
            return Period("quarter", self.year, (self.number - 1) // 3 + 1)
        if self.kind == "quarter":
            return Period("year", self.year)
        return None

    def ancestors(self) -> list[Period]:
        """The period itself and every longer period holding it."""
        chain: list[Period] = [self]
        while (up := chain[-1].parent()) is not None:
            chain.append(up)
        return chain

    def children(self) -> list[Period]:
        """The next shorter periods making this one (a week has none)."""
        if self.kind == "year":
            return [Period("quarter", self.year, n) for n in range(1, 5)]
        if self.kind == "quarter":
            return [Period("month", self.year, 3 * (self.number - 1) + n) for n in range(1, 4)]
        if self.kind == "month":
            return [Period.of_week(monday) for monday in self.weeks()]
        return []

    def months(self) -> list[Period]:
        if self.kind == "month":
            return [self]
        if self.kind in ("quarter", "year"):
            return [m for child in self.children() for m in child.months()]
        parent = self.parent()
        assert parent is not None
        return [parent]

    def closed(self, today: date, grace_days: int) -> bool:
        """Whether the period ended more than ``grace_days`` before ``today``."""
        return self.last_day + timedelta(days=grace_days) < today

    def french(self) -> str:
        """The period in words, with its dates: what a person reading a figure must know."""
        span = f"du {_fr(self.first_day)} au {_fr(self.last_day)}"
        if self.kind == "week":
            return f"semaine {self.number} de {self.year} ({span})"
        if self.kind == "month":
            return f"{MONTH_NAMES[self.number - 1]} {self.year} ({span})"
        if self.kind == "quarter":
            return f"{self.number}{'er' if self.number == 1 else 'e'} trimestre {self.year} ({span})"
        return f"année {self.year} ({span})"

    @property
    def short(self) -> str:
        if self.kind == "week":
            return f"S{self.number} {self.year}"
        if self.kind == "month":
            return f"{MONTH_NAMES[self.number - 1]} {self.year}"
        if self.kind == "quarter":
            return f"T{self.number} {self.year}"
        return str(self.year)


def weeks_in_year(year: int) -> int:
    return date(year, 12, 28).isocalendar()[1]


def month_of(day: date) -> Period:
    """The (week-based) month holding ``day``."""
    parent = Period.of_week(week_of(day)).parent()
    assert parent is not None
    return parent


def months_between(first: Period, last: Period) -> list[Period]:
    """Months from ``first`` to ``last`` included, in order."""
    out = []
    year, number = first.year, first.number
    while (year, number) <= (last.year, last.number):
        out.append(Period("month", year, number))
        year, number = (year + 1, 1) if number == 12 else (year, number + 1)
    return out


def snap(first: date, last: date) -> Period:
    """The one period running exactly from ``first`` to ``last``; :class:`PeriodError` if none does."""
    if not (FIRST_DAY <= first <= LAST_DAY and FIRST_DAY <= last <= LAST_DAY):
        raise PeriodError(f"dates must lie between {FIRST_DAY} and {LAST_DAY}")
    for kind in KINDS:
        candidate = _period_of(first, kind)
        if candidate is not None and candidate.first_day == first and candidate.last_day == last:
            return candidate
    raise PeriodError(
        f"{first}..{last} is not a published period: figures are published over whole ISO weeks,"
        f" months, quarters and years only; {HELP}"
    )


def _period_of(day: date, kind: Kind) -> Period | None:
    week = Period.of_week(week_of(day))
    for candidate in week.ancestors():
        if candidate.kind == kind:
            return candidate
    return None


def _fr(day: date) -> str:
    return f"{day.day}{'er' if day.day == 1 else ''} {MONTH_NAMES[day.month - 1]} {day.year}"
