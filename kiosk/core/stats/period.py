"""Figures over a period (several days summed), published with small cells hidden.

Used by ``kiosk stats report`` and, later, the staff console. Sums are taken over the stored
aggregates *before* suppression and the result is suppressed once: answers that are too few on
each day can still show up over a month, and nothing hidden can be recovered from the sum.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from kiosk.core.stats.aggregate import QUESTIONS, WAIT_BUCKETS, DayAggregate, MediatorFigures, PrintFigures, new_tables
from kiosk.core.stats.suppression import suppress_answers
from sync.vocabulary import DEFAULT_K, MEDIATOR_COUNTS, NO_ANSWER, PRINTING_COUNTS


class PeriodFigures(BaseModel):
    """Published figures for ``first`` … ``last``; ``None`` in ``answers`` is a hidden cell."""

    model_config = ConfigDict(extra="forbid")
    first: date
    last: date
    days: int = 0  # days with an aggregate
    provisional_days: list[date] = Field(default_factory=list)  # not closed yet (today)
    k: int = DEFAULT_K
    sessions: int = 0
    sessions_ended: int = 0
    total_duration_s: int = 0
    end_reasons: dict[str, int] = Field(default_factory=dict)
    durations: dict[str, int] = Field(default_factory=dict)
    week_hours: list[list[int]] = Field(default_factory=lambda: [[0] * 24 for _ in range(7)])  # [weekday][hour]
    per_day: dict[date, int] = Field(default_factory=dict)  # sessions started per day
    tiles: dict[str, int] = Field(default_factory=dict)
    categories: dict[str, int] = Field(default_factory=dict)
    blocked: dict[str, int] = Field(default_factory=dict)
    help_views: dict[str, int] = Field(default_factory=dict)
    help_searches: int = 0
    help_searches_empty: int = 0
    mediator: MediatorFigures = Field(default_factory=MediatorFigures)
    mediator_median_wait: str | None = None  # the wait bucket holding the median, over the period
    appointments_booked: dict[str, int] = Field(default_factory=dict)
    appointments_cancelled: dict[str, int] = Field(default_factory=dict)
    printing: PrintFigures = Field(default_factory=PrintFigures)
    scan_pages: int = 0
    tickets: int = 0
    device_errors: dict[str, int] = Field(default_factory=dict)
    answers_asked: int = 0
    answers: dict[str, dict[str, int | None]] = Field(default_factory=dict)
    events_lost: int = 0
    late_events: int = 0
    undated_events: int = 0

    @property
    def average_duration_s(self) -> float | None:
        return self.total_duration_s / self.sessions_ended if self.sessions_ended else None

    @property
    def answered_share(self) -> float | None:
        """Share of mediator calls that a person took."""
        calls = self.mediator.taken + self.mediator.missed
        return self.mediator.taken / calls if calls else None


def _add(target: Counter[str], source: Mapping[str, int]) -> None:
    target.update(source)


def _sorted(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def combine(
    first: date,
    last: date,
    days: Iterable[DayAggregate],
    k: int = DEFAULT_K,
    provisional: Iterable[date] = (),
    salt: bytes = b"",
) -> PeriodFigures:
    """Sum ``days`` into published figures for the period (``salt``: the terminal's secret)."""
    figures = PeriodFigures(first=first, last=last, k=k, provisional_days=sorted(provisional))
    tables = new_tables()
    answers: dict[str, Counter[str]] = {question: Counter() for question in QUESTIONS}
    mediator = figures.mediator
    printing = figures.printing
    for day in days:
        figures.days += 1
        figures.sessions += day.sessions
        figures.sessions_ended += day.sessions_ended
        figures.total_duration_s += day.total_duration_s
        figures.per_day[day.day] = day.sessions
        for hour, count in enumerate(day.hours):
            figures.week_hours[day.weekday][hour] += count
        for name in tables:
            if name != "waits":
                _add(tables[name], getattr(day, name))
        _add(tables["waits"], day.mediator.waits)
        figures.help_searches += day.help_searches
        figures.help_searches_empty += day.help_searches_empty
        for field in MEDIATOR_COUNTS:
            setattr(mediator, field, getattr(mediator, field) + getattr(day.mediator, field))
        for field in PRINTING_COUNTS:
            setattr(printing, field, getattr(printing, field) + getattr(day.printing, field))
        figures.scan_pages += day.scan_pages
        figures.tickets += day.tickets
        figures.answers_asked += day.asked
        for question, table in day.answers.items():
            if question in answers:
                _add(answers[question], table)
        figures.events_lost += day.events_lost
        figures.late_events += day.late_events
        figures.undated_events += day.undated_events
    for name in ("end_reasons", "durations", "tiles", "categories", "blocked", "help_views", "device_errors"):
        setattr(figures, name, _sorted(tables[name]))
    figures.appointments_booked = _sorted(tables["appointments_booked"])
    figures.appointments_cancelled = _sorted(tables["appointments_cancelled"])
    mediator.waits = {name: tables["waits"][name] for name, _ in WAIT_BUCKETS if tables["waits"][name]}
    figures.mediator_median_wait = _median_bucket(tables["waits"])
    # Keep every option of each question (a zero is a cell too), in the questionnaire's order.
    full = {
        question: {option: answers[question].get(option, 0) for option in (*QUESTIONS[question], NO_ANSWER)}
        for question in QUESTIONS
    }
    figures.answers = suppress_answers(full, k, salt + f"{first}..{last}".encode())
    return figures


def _median_bucket(waits: Counter[str]) -> str | None:
    total = sum(waits.values())
    if not total:
        return None
    seen = 0
    for name, _ in WAIT_BUCKETS:
        seen += waits.get(name, 0)
        if seen * 2 >= total:
            return name
    return WAIT_BUCKETS[-1][0]
