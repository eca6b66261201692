"""Opening hours in the centre's time zone: intervals of real time, correct across DST changes.

Hours are wall-clock times of the centre (``09:00-12:00``); :func:`day_intervals` turns one day's
hours into :class:`Interval` values in UTC. A wall-clock time that does not exist (02:30 on the
last Sunday of March in Paris) is read with the offset before the change (PEP 495's ``fold=0``),
which is the instant the clocks show as 03:30; a range that thereby ends where it starts is
dropped. A range across the October change lasts one hour more, as it really does.

:func:`mediator_availability` says whether a resident can call a mediator now and, when not,
why and when the next opening is (:mod:`.wording` says it in French).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from kiosk.core.mediation_config import Closure, WeeklyHours


@dataclass(frozen=True, order=True)
class Interval:
    """``[start, end)`` in UTC (both timezone-aware)."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("an Interval needs timezone-aware datetimes")

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, at: datetime) -> bool:
        return self.start <= at < self.end

    @property
    def duration(self) -> timedelta:
        return self.end - self.start


def wall_time(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of ``at`` on ``day`` in ``zone`` (``time.max`` is the next midnight)."""
    if at == time.max:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone).astimezone(UTC)
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def local_day(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def day_intervals(hours: WeeklyHours, day: date, zone: ZoneInfo) -> list[Interval]:
    """The day's open intervals in UTC; none on a closure day."""
    if hours.closure_on(day) is not None:
        return []
    intervals = []
    for start, end in hours.day_ranges(day.weekday()):
        interval_start, interval_end = wall_time(day, start, zone), wall_time(day, end, zone)
        if interval_start < interval_end:  # "02:30-03:30" on the night of March is empty
            intervals.append(Interval(interval_start, interval_end))
    return intervals


def intersect(first: Sequence[Interval], second: Sequence[Interval]) -> list[Interval]:
    """The parts of time in both lists (each sorted, without overlaps inside a list)."""
    result = []
    for a in first:
        for b in second:
            start, end = max(a.start, b.start), min(a.end, b.end)
            if start < end:
                result.append(Interval(start, end))
    return sorted(result)


def merge(intervals: Iterable[Interval]) -> list[Interval]:
    """Overlapping or touching intervals joined."""
    merged: list[Interval] = []
    for interval in sorted(intervals):
        if merged and interval.start <= merged[-1].end:
            if interval.end > merged[-1].end:
                merged[-1] = Interval(merged[-1].start, interval.end)
        else:
            merged.append(interval)
    return merged


def days_from(first: date, count: int) -> Iterator[date]:
    for offset in range(count):
        yield first + timedelta(days=offset)


@dataclass(frozen=True)
class OpeningHours:
    """A week of hours with closures, in a time zone."""

    hours: WeeklyHours
    zone: ZoneInfo

    def on(self, day: date) -> list[Interval]:
        return day_intervals(self.hours, day, self.zone)

    def current(self, now: datetime) -> Interval | None:
        """The open interval ``now`` is in, if any."""
        return next((i for i in self.on(local_day(now, self.zone)) if i.contains(now)), None)

    def is_open(self, now: datetime) -> bool:
        return self.current(now) is not None

    def closure(self, now: datetime) -> Closure | None:
        return self.hours.closure_on(local_day(now, self.zone))

    def next_opening(self, now: datetime, *, after_current: bool = False, within_days: int = 120) -> Interval | None:
        """The first open interval that is not over at ``now`` (the current one, unless
        ``after_current``); ``None`` if nothing opens within ``within_days``."""
        today = local_day(now, self.zone)
        for day in days_from(today - timedelta(days=1), within_days + 1):  # yesterday: a range past midnight
            for interval in self.on(day):
                if interval.end <= now or (after_current and interval.start <= now):
                    continue
                return interval
        return None


class Unavailable(StrEnum):
    """Why no mediator can be called right now."""

    DISABLED = "disabled"  # the centre has no mediator call at this terminal
    CLOSED = "closed"  # outside the opening hours (or a closure day)
    ABSENT = "absent"  # open, but the staff set themselves absent
    LONG_QUEUE = "long_queue"  # open and present, but the wait would be long


@dataclass(frozen=True)
class Availability:
    reason: Unavailable | None  # None: a mediator can be called now
    next_opening: Interval | None  # when it is not now: the next time someone should be there
    closure: Closure | None = None  # today's exceptional closure, for its reason

    @property
    def available(self) -> bool:
        return self.reason is None

    @property
    def suggest_appointment(self) -> bool:
        return self.reason is not None and self.reason is not Unavailable.DISABLED


def mediator_availability(
    opening: OpeningHours, now: datetime, *, staff_present: bool, queue_long: bool, enabled: bool = True
) -> Availability:
    """Open and staff present and the queue not long: a mediator can be called."""
    if not enabled:
        return Availability(Unavailable.DISABLED, None)
    if not opening.is_open(now):
        return Availability(Unavailable.CLOSED, opening.next_opening(now), opening.closure(now))
    if not staff_present:
        return Availability(Unavailable.ABSENT, opening.next_opening(now, after_current=True))
    if queue_long:
        return Availability(Unavailable.LONG_QUEUE, opening.next_opening(now, after_current=True))
    return Availability(None, None)
