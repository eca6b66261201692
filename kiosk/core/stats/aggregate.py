"""Daily aggregates: what a closed day of the terminal looked like, in counts.

A day is cut in the centre's time zone (a DST day has 23 or 25 hours). :func:`compute_day` is
pure: events in, one :class:`DayAggregate` out. :func:`seal_closed_days` runs in the agent: for
each closed day it counts the events not yet counted, stores the aggregate and marks those
events with the day, in one transaction, so an event is counted exactly once even if the agent
is killed halfway or two agents race. A sealed day never changes (its batch may already have
left the terminal); events that arrive late for it (a clock put back) are counted in the next
open day and reported as ``late_events``.

Aggregates are stored before suppression: :mod:`kiosk.core.stats.suppression` hides small cells
whenever figures are shown or leave the terminal, day by day or over a period.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kiosk.core.devices import PrintOutcome
from kiosk.core.stats.events import (
    AgeBracket,
    Appointment,
    DeviceError,
    Event,
    EventsLost,
    HelpArticleViewed,
    HelpSearched,
    MediatorCall,
    NavigationBlocked,
    Outcome,
    PagesScanned,
    PrintJob,
    Satisfaction,
    SessionEnded,
    SessionStarted,
    StaffPrint,
    TicketPrinted,
    TileOpened,
    parse_event,
)
from kiosk.core.store import Store
from sync.vocabulary import NO_ANSWER, TABLES

log = logging.getLogger(__name__)

AGGREGATE_VERSION = 2
"""2: durations and waits only as buckets (no exact total, no median), refusals counted per tile
(no domain), tiles keyed ``category/tile``. Version 1 aggregates are read as version 2."""

DURATION_BUCKETS: tuple[tuple[str, float], ...] = (
    ("moins_5_min", 5 * 60),
    ("5_15_min", 15 * 60),
    ("15_30_min", 30 * 60),
    ("30_60_min", 60 * 60),
    ("plus_60_min", float("inf")),
)
WAIT_BUCKETS: tuple[tuple[str, float], ...] = (
    ("moins_1_min", 60),
    ("1_3_min", 3 * 60),
    ("3_5_min", 5 * 60),
    ("5_10_min", 10 * 60),
    ("10_20_min", 20 * 60),
    ("plus_20_min", float("inf")),
)
END_REASONS = ("button", "idle", "crash", "staff")
OUTSIDE_TILES = "hors_tuile"  # a refusal from the home page or a help page
UNKNOWN_TILE = "inconnue"  # in aggregates of version 1, which did not say which tile

QUESTIONS: dict[str, tuple[str, ...]] = {
    "age": tuple(a.value for a in AgeBracket),
    "outcome": tuple(o.value for o in Outcome),
    "satisfaction": tuple(s.value for s in Satisfaction),
    "first_visit": ("oui", "non"),
}
"""The end-of-session questions and their answers; each table also has :data:`NO_ANSWER`."""


def _bucket(value: float, buckets: tuple[tuple[str, float], ...]) -> str:
    for name, upper in buckets:
        if value < upper:
            return name
    return buckets[-1][0]


class MediatorFigures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opened: int = 0
    taken: int = 0
    done: int = 0
    missed: int = 0
    waits: dict[str, int] = Field(default_factory=dict)  # taken calls by wait bucket


class PrintFigures(BaseModel):
    model_config = ConfigDict(extra="forbid")
    jobs: int = 0
    pages_printed: int = 0  # printed at once or released by staff: paper that came out
    pages_held: int = 0
    pages_released: int = 0
    pages_cancelled: int = 0
    pages_staff: int = 0  # printed by staff from the console (pages × copies)


class DayAggregate(BaseModel):
    """One closed day. Every table is a dict ``key → count`` (absent keys are 0)."""

    model_config = ConfigDict(extra="forbid")
    version: int = AGGREGATE_VERSION
    day: date
    weekday: int = Field(ge=0, le=6)  # Monday = 0
    sessions: int = 0  # started this day
    sessions_ended: int = 0
    end_reasons: dict[str, int] = Field(default_factory=dict)
    durations: dict[str, int] = Field(default_factory=dict)
    hours: list[int] = Field(default_factory=lambda: [0] * 24)  # sessions started per local hour
    tiles: dict[str, int] = Field(default_factory=dict)  # "category/tile" → openings
    categories: dict[str, int] = Field(default_factory=dict)
    blocked: dict[str, int] = Field(default_factory=dict)  # tile (or OUTSIDE_TILES) → refused navigations
    help_views: dict[str, int] = Field(default_factory=dict)
    help_searches: int = 0
    help_searches_empty: int = 0
    mediator: MediatorFigures = Field(default_factory=MediatorFigures)
    appointments_booked: dict[str, int] = Field(default_factory=dict)
    appointments_cancelled: dict[str, int] = Field(default_factory=dict)
    printing: PrintFigures = Field(default_factory=PrintFigures)
    scan_pages: int = 0
    tickets: int = 0
    device_errors: dict[str, int] = Field(default_factory=dict)  # "printer/paper_out" → count
    answers: dict[str, dict[str, int]] = Field(default_factory=dict)  # question → answer → count
    events_lost: int = 0
    late_events: int = 0  # stamped in an earlier, already sealed day
    undated_events: int = 0  # recorded while the clock was wrong, never dated

    @model_validator(mode="before")
    @classmethod
    def _from_version_1(cls, data: Any) -> Any:
        """A version 1 aggregate (stored before the upgrade) read as version 2: what version 2 no
        longer keeps is dropped, tiles whose category is unknown are counted by category."""
        if not isinstance(data, dict) or data.get("version", AGGREGATE_VERSION) != 1:
            return data
        data = {key: value for key, value in data.items() if key != "total_duration_s"}
        data["version"] = AGGREGATE_VERSION
        data["mediator"] = {k: v for k, v in dict(data.get("mediator") or {}).items() if k != "median_wait_s"}
        data["tiles"] = {f"{cat}/{UNKNOWN_TILE}": n for cat, n in dict(data.get("categories") or {}).items() if n}
        refused = sum(dict(data.get("blocked") or {}).values())
        data["blocked"] = {UNKNOWN_TILE: refused} if refused else {}
        return data

    @property
    def asked(self) -> int:
        """Sessions that were offered the questions: those ended with the button."""
        return self.end_reasons.get("button", 0)


@dataclass(frozen=True)
class StoredEvent:
    ts_ms: int | None
    event: Event


def day_bounds_ms(day: date, zone: ZoneInfo) -> tuple[int, int]:
    """UTC milliseconds of local midnight at the start of ``day`` and of the next day."""
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def new_tables() -> dict[str, Counter[str]]:
    """Empty counters for every table of :data:`TABLES` and for the mediator's waits."""
    return {name: Counter() for name in (*TABLES, "waits")}


def local_day(ts_ms: int, zone: ZoneInfo) -> date:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(zone).date()


def compute_day(day: date, zone: ZoneInfo, events: Iterable[StoredEvent]) -> DayAggregate:
    """The aggregate of ``day`` from its events (and late or undated ones counted with it)."""
    start_ms, end_ms = day_bounds_ms(day, zone)
    agg = DayAggregate(day=day, weekday=day.weekday())
    counters = new_tables()
    answers: dict[str, Counter[str]] = {question: Counter() for question in QUESTIONS}
    for stored in events:
        event = stored.event
        if stored.ts_ms is None:
            agg.undated_events += 1
        elif stored.ts_ms < start_ms:
            agg.late_events += 1
        if isinstance(event, SessionStarted):
            agg.sessions += 1
            if stored.ts_ms is not None and start_ms <= stored.ts_ms < end_ms:
                hour = datetime.fromtimestamp(stored.ts_ms / 1000, tz=UTC).astimezone(zone).hour
                agg.hours[hour] += 1
        elif isinstance(event, SessionEnded):
            agg.sessions_ended += 1
            counters["end_reasons"][event.reason] += 1
            counters["durations"][_bucket(event.duration_s, DURATION_BUCKETS)] += 1
            if event.reason == "button":
                _count_answers(answers, event)
        elif isinstance(event, TileOpened):
            counters["tiles"][f"{event.category.value}/{event.tile}"] += 1
            counters["categories"][event.category.value] += 1
        elif isinstance(event, NavigationBlocked):
            counters["blocked"][event.tile or OUTSIDE_TILES] += 1  # the domain never leaves the event
        elif isinstance(event, HelpArticleViewed):
            counters["help_views"][event.article] += 1
        elif isinstance(event, HelpSearched):
            agg.help_searches += 1
            agg.help_searches_empty += event.results == 0
        elif isinstance(event, MediatorCall):
            _count_call(agg.mediator, event, counters["waits"])
        elif isinstance(event, Appointment):
            counters[f"appointments_{event.action}"][event.category.value] += 1
        elif isinstance(event, PrintJob):
            _count_print(agg.printing, event)
        elif isinstance(event, StaffPrint):
            agg.printing.pages_staff += event.pages
        elif isinstance(event, PagesScanned):
            agg.scan_pages += event.pages
        elif isinstance(event, TicketPrinted):
            agg.tickets += 1
        elif isinstance(event, DeviceError):
            counters["device_errors"][f"{event.device}/{event.error}"] += 1
        elif isinstance(event, EventsLost):
            agg.events_lost += event.count
    for name in ("end_reasons", "durations", "tiles", "categories", "blocked", "help_views"):
        setattr(agg, name, dict(sorted(counters[name].items())))
    agg.appointments_booked = dict(sorted(counters["appointments_booked"].items()))
    agg.appointments_cancelled = dict(sorted(counters["appointments_cancelled"].items()))
    agg.device_errors = dict(sorted(counters["device_errors"].items()))
    agg.mediator.waits = dict(counters["waits"])
    asked = agg.end_reasons.get("button", 0)
    agg.answers = {question: _answer_table(answers[question], QUESTIONS[question], asked) for question in QUESTIONS}
    return agg


def _count_answers(answers: dict[str, Counter[str]], event: SessionEnded) -> None:
    if event.age is not None:
        answers["age"][event.age.value] += 1
    if event.outcome is not None:
        answers["outcome"][event.outcome.value] += 1
    if event.satisfaction is not None:
        answers["satisfaction"][event.satisfaction.value] += 1
    if event.first_visit is not None:
        answers["first_visit"]["oui" if event.first_visit else "non"] += 1


def _answer_table(counts: Mapping[str, int], options: tuple[str, ...], asked: int) -> dict[str, int]:
    table = {option: counts.get(option, 0) for option in options}
    table[NO_ANSWER] = asked - sum(table.values())
    return table


def _count_call(figures: MediatorFigures, event: MediatorCall, buckets: Counter[str]) -> None:
    if event.stage == "opened":
        figures.opened += 1
    elif event.stage == "taken":
        figures.taken += 1
        if event.wait_s is not None:
            buckets[_bucket(event.wait_s, WAIT_BUCKETS)] += 1
    elif event.stage == "done":
        figures.done += 1
    else:
        figures.missed += 1


def _count_print(figures: PrintFigures, event: PrintJob) -> None:
    if event.status in (PrintOutcome.PRINTED, PrintOutcome.HELD):
        figures.jobs += 1
    if event.status is PrintOutcome.PRINTED:
        figures.pages_printed += event.pages
    elif event.status is PrintOutcome.HELD:
        figures.pages_held += event.pages
    elif event.status is PrintOutcome.RELEASED:
        figures.pages_released += event.pages
        figures.pages_printed += event.pages
    else:
        figures.pages_cancelled += event.pages


# -- sealing days in the store ---------------------------------------------------------------


def seal_day(store: Store, day: date, zone: ZoneInfo, boot: str) -> DayAggregate | None:
    """Aggregate ``day`` from the events not yet counted and seal it; ``None`` if already sealed.

    Counted with it: events stamped before its end that no earlier day counted (late), and
    undated events of other boots (their clock never came right; ``boot`` is the current one).
    """
    _, end_ms = day_bounds_ms(day, zone)
    key = day.isoformat()
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM daily_aggregates WHERE day = ?", (key,)).fetchone():
            return None
        selection = "agg_day IS NULL AND ((ts_ms IS NOT NULL AND ts_ms < ?) OR (ts_ms IS NULL AND boot != ?))"
        rows = conn.execute(f"SELECT ts_ms, kind, data FROM events WHERE {selection}", (end_ms, boot)).fetchall()
        events = []
        for ts_ms, kind, data in rows:
            event = parse_event(kind, data)
            if event is None:
                log.warning("stats.unreadable_event", extra={"kind": kind})
                continue
            events.append(StoredEvent(ts_ms, event))
        aggregate = compute_day(day, zone, events)
        conn.execute(
            "INSERT INTO daily_aggregates (day, version, computed_at, data) VALUES (?, ?, ?, ?)",
            (key, AGGREGATE_VERSION, datetime.now(UTC).isoformat(timespec="seconds"), aggregate.model_dump_json()),
        )
        conn.execute(f"UPDATE events SET agg_day = ? WHERE {selection}", (key, end_ms, boot))
    return aggregate


def last_sealed_day(store: Store) -> date | None:
    row = store.conn.execute("SELECT MAX(day) FROM daily_aggregates").fetchone()
    return date.fromisoformat(row[0]) if row and row[0] else None


def first_pending_day(store: Store, zone: ZoneInfo) -> date | None:
    row = store.conn.execute("SELECT MIN(ts_ms) FROM events WHERE agg_day IS NULL").fetchone()
    return local_day(int(row[0]), zone) if row and row[0] is not None else None


def closed_days(store: Store, zone: ZoneInfo, now_ms: int, grace: timedelta = timedelta(minutes=10)) -> list[date]:
    """Days to seal now: from the day after the last sealed one (or the first event's day) to
    the last day that ended at least ``grace`` ago. Days without any event are included once
    the terminal has a first sealed day: "nobody came" is a figure too."""
    last_closed = local_day(now_ms - int(grace.total_seconds() * 1000), zone) - timedelta(days=1)
    sealed = last_sealed_day(store)
    if sealed is not None:
        first = sealed + timedelta(days=1)
    else:
        pending = first_pending_day(store, zone)
        if pending is None:
            return []
        first = pending
    if first > last_closed:
        return []
    return [first + timedelta(days=n) for n in range((last_closed - first).days + 1)]


def seal_closed_days(
    store: Store, zone: ZoneInfo, now_ms: int, boot: str, *, max_days: int = 1000
) -> list[DayAggregate]:
    """Seal every closed day (oldest first, at most ``max_days`` per call)."""
    sealed = []
    for day in closed_days(store, zone, now_ms)[:max_days]:
        aggregate = seal_day(store, day, zone, boot)
        if aggregate is not None:
            sealed.append(aggregate)
    if sealed:
        log.info("stats.days_sealed", extra={"first": str(sealed[0].day), "last": str(sealed[-1].day)})
    return sealed


def load_aggregates(store: Store, first: date, last: date) -> list[DayAggregate]:
    rows = store.conn.execute(
        "SELECT data FROM daily_aggregates WHERE day BETWEEN ? AND ? ORDER BY day",
        (first.isoformat(), last.isoformat()),
    ).fetchall()
    return [DayAggregate.model_validate_json(row[0]) for row in rows]


def provisional_day(store: Store, day: date, zone: ZoneInfo) -> DayAggregate:
    """The aggregate ``day`` would have if sealed now, without sealing it (the report's "today")."""
    start_ms, end_ms = day_bounds_ms(day, zone)
    rows = store.conn.execute(
        "SELECT ts_ms, kind, data FROM events WHERE agg_day IS NULL AND ts_ms >= ? AND ts_ms < ?",
        (start_ms, end_ms),
    ).fetchall()
    events = [StoredEvent(ts, e) for ts, kind, data in rows if (e := parse_event(kind, data)) is not None]
    return compute_day(day, zone, events)
