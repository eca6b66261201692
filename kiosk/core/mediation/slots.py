"""Free appointment slots: pure arithmetic on intervals, no database.

A person's bookable time on a day is the centre's opening hours intersected with the person's
own weekly hours (the centre's when they give none), minus closures of either. It is cut into
slots of the person's length, counted in real time from the start of each range (so a range
across a DST change holds the slots that really fit). A slot is offered when it starts after
``now + min_notice`` and overlaps no booking and no busy time.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.core.mediation.hours import Interval, day_intervals, days_from, intersect, local_day, merge
from kiosk.core.mediation_config import PersonSettings, WeeklyHours
from sync.vocabulary import Category


@dataclass(frozen=True, order=True)
class Slot:
    start: datetime  # UTC
    end: datetime
    person_id: str

    @staticmethod
    def order(slot: Slot) -> tuple[datetime, datetime, str]:
        """The dataclass order as a sort key: a thousand slots sort several times faster by key
        than through the generated ``__lt__``."""
        return (slot.start, slot.end, slot.person_id)

    @property
    def interval(self) -> Interval:
        return Interval(self.start, self.end)


def bookable_intervals(person: PersonSettings, opening: WeeklyHours, day: date, zone: ZoneInfo) -> list[Interval]:
    """When ``person`` can receive someone on ``day`` (UTC intervals)."""
    if person.closure_on(day) is not None:
        return []
    centre = day_intervals(opening, day, zone)
    if not person.has_hours:
        return centre
    return intersect(centre, day_intervals(person, day, zone))


class _Blocked:
    """Sorted, merged intervals with a fast overlap test."""

    def __init__(self, intervals: Iterable[Interval]) -> None:
        self._intervals = merge(intervals)
        self._ends = [interval.end for interval in self._intervals]

    def overlaps_range(self, start: datetime, end: datetime) -> bool:
        """Whether ``[start, end)`` touches a blocked interval (no Interval made: called per slot)."""
        if not self._intervals:
            return False
        index = bisect_left(self._ends, start)
        while index < len(self._intervals) and self._intervals[index].end <= start:
            index += 1  # an interval ending exactly at the slot's start does not touch it
        return index < len(self._intervals) and self._intervals[index].start < end


def person_slots(
    person: PersonSettings,
    opening: WeeklyHours,
    zone: ZoneInfo,
    now: datetime,
    *,
    blocked: Iterable[Interval] = (),
    horizon_days: int = 14,
    min_notice: timedelta = timedelta(0),
    only_day: date | None = None,
) -> list[Slot]:
    """``person``'s free slots from today (the centre's day of ``now``) for ``horizon_days`` days
    (``only_day``: those of that one day, if it is within them: checking one slot is cheap)."""
    length = timedelta(minutes=person.slot_minutes)
    earliest = now + min_notice
    taken = _Blocked(blocked)
    slots = []
    days = days_from(local_day(now, zone), horizon_days)
    for day in days if only_day is None else [d for d in days if d == only_day]:
        for interval in bookable_intervals(person, opening, day, zone):
            start = interval.start
            while (end := start + length) <= interval.end:
                if start >= earliest and not taken.overlaps_range(start, end):
                    slots.append(Slot(start, end, person.id))
                start = end
    return slots


def free_slots(
    persons: Sequence[PersonSettings],
    opening: WeeklyHours,
    zone: ZoneInfo,
    now: datetime,
    category: Category,
    *,
    blocked: Mapping[str, Sequence[Interval]],
    horizon_days: int = 14,
    min_notice: timedelta = timedelta(0),
) -> list[Slot]:
    """Every free slot of the persons who handle ``category``, by start time then person.

    ``blocked`` maps a person's id to their bookings and busy times.
    """
    slots = [
        slot
        for person in persons
        if person.handles(category)
        for slot in person_slots(
            person,
            opening,
            zone,
            now,
            blocked=blocked.get(person.id, ()),
            horizon_days=horizon_days,
            min_notice=min_notice,
        )
    ]
    return sorted(slots, key=Slot.order)


def one_per_start(slots: Iterable[Slot]) -> list[Slot]:
    """One slot per start time (the first person's): what the resident chooses from."""
    chosen: dict[datetime, Slot] = {}
    for slot in sorted(slots, key=Slot.order):
        chosen.setdefault(slot.start, slot)
    return list(chosen.values())
