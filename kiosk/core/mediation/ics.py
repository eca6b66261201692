"""iCalendar in and out: a person's busy times from their calendar, an appointment as an event.

**In.** A resource person may give the private address of their calendar (Google Agenda,
Outlook…). The agent fetches it on a schedule with an injected ``fetch`` (the network stays out
of the core: :mod:`kiosk.agent.calendars` has the real one) and :func:`refresh` keeps the last
copy that could be read in a :class:`CalendarCache` under the data directory, with the latest
problem for the console. Slots are then computed from the cached copy by either process
(:meth:`CalendarCache.busy`). Recurring events are expanded (``recurring-ical-events``: RRULE,
RDATE, EXDATE, moved occurrences); cancelled and "free" (``TRANSP:TRANSPARENT``) events do not
block; all-day events block their whole days in the centre's time zone; times without a zone are
the centre's. A file too big, not a calendar, or with too many occurrences is a problem, never
a crash, and the last good copy stays in use.

**Out.** :func:`appointment_ics` writes one appointment as a VCALENDAR (for the QR code on the
ticket and the confirmation e-mail): no name or contact of the resident in it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from kiosk.core.mediation.hours import Interval, merge

log = logging.getLogger(__name__)

MAX_BYTES = 4 * 1024 * 1024
"""A calendar bigger than this is refused (a personal agenda of many years is well under 1 MiB)."""

MAX_OCCURRENCES = 5_000
"""Busy intervals read from one calendar within the window: more is a runaway rule, refused."""


class Problem(StrEnum):
    """What went wrong with a calendar; :attr:`message` is for the staff console (French)."""

    UNREACHABLE = "unreachable"
    TOO_BIG = "too_big"
    NOT_A_CALENDAR = "not_a_calendar"
    TOO_MANY = "too_many"

    @property
    def message(self) -> str:
        return _MESSAGES[self]


_KEPT = " Les dernières indisponibilités connues restent utilisées."
_MESSAGES = {
    Problem.UNREACHABLE: "L'adresse du calendrier ne répond pas." + _KEPT,
    Problem.TOO_BIG: "Le calendrier reçu est trop volumineux." + _KEPT,
    Problem.NOT_A_CALENDAR: "L'adresse ne renvoie pas un calendrier lisible (ICS) : vérifiez l'adresse privée." + _KEPT,
    Problem.TOO_MANY: "Le calendrier contient trop d'événements sur la période." + _KEPT,
}


class CalendarError(Exception):
    """Raised by a fetcher or the parser; carries the :class:`Problem`."""

    def __init__(self, problem: Problem, detail: str = "") -> None:
        super().__init__(f"{problem.value}: {detail}" if detail else problem.value)
        self.problem = problem


def _instant(value: date | datetime, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return (value if value.tzinfo is not None else value.replace(tzinfo=zone)).astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=zone).astimezone(UTC)  # an all-day event: local midnight


def _bounds(component: Any, zone: ZoneInfo) -> Interval | None:
    start_prop = component.get("DTSTART")
    if start_prop is None:
        return None
    start_value = start_prop.dt
    end_prop, duration = component.get("DTEND"), component.get("DURATION")
    if end_prop is not None:
        end_value = end_prop.dt
    elif duration is not None:
        end_value = start_value + duration.dt
    else:  # RFC 5545: a date lasts the day, a date-time is an instant
        end_value = start_value + timedelta(days=1) if not isinstance(start_value, datetime) else start_value
    start, end = _instant(start_value, zone), _instant(end_value, zone)
    return Interval(start, end) if start < end else None


def parse_busy(data: bytes | str, window: Interval, zone: ZoneInfo, *, max_bytes: int = MAX_BYTES) -> list[Interval]:
    """The busy intervals of a calendar file within ``window``, merged; raises :class:`CalendarError`."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise CalendarError(Problem.TOO_BIG, f"{len(raw)} bytes")
    try:
        calendar = icalendar.Calendar.from_ical(raw)
    except Exception as error:  # icalendar raises ValueError, KeyError, IndexError… on garbage
        raise CalendarError(Problem.NOT_A_CALENDAR, type(error).__name__) from None
    if not isinstance(calendar, icalendar.Calendar) or calendar.name != "VCALENDAR":
        raise CalendarError(Problem.NOT_A_CALENDAR, "no VCALENDAR")
    busy = []
    try:
        query = recurring_ical_events.of(calendar, skip_bad_series=True)
        for count, component in enumerate(query.after(window.start)):
            if count >= MAX_OCCURRENCES:
                raise CalendarError(Problem.TOO_MANY, f"more than {MAX_OCCURRENCES}")
            interval = _bounds(component, zone)
            if interval is None:
                continue
            if interval.start >= window.end:
                break
            if str(component.get("STATUS", "")).upper() == "CANCELLED":
                continue
            if str(component.get("TRANSP", "")).upper() == "TRANSPARENT":
                continue
            if interval.overlaps(window):
                busy.append(interval)
    except CalendarError:
        raise
    except Exception as error:  # a rule the expander cannot follow
        raise CalendarError(Problem.NOT_A_CALENDAR, type(error).__name__) from None
    return merge(busy)


# -- the cache ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CalendarStatus:
    """What the console shows for a person's calendar."""

    person_id: str
    fetched_at: datetime | None  # the last good copy's time; None: never read
    problem: Problem | None  # the latest attempt's problem; None: it worked
    problem_at: datetime | None


class CalendarCache:
    """One directory (``<data_dir>/calendars``): ``<person>.ics`` the last good copy,
    ``<person>.json`` its status. Both processes read it; only the agent writes it."""

    def __init__(self, directory: Path, zone: ZoneInfo) -> None:
        self.directory, self.zone = directory, zone
        self._parsed: dict[str, tuple[tuple[int, int, datetime, datetime], list[Interval]]] = {}

    def _ics(self, person_id: str) -> Path:
        return self.directory / f"{person_id}.ics"

    def _state(self, person_id: str) -> Path:
        return self.directory / f"{person_id}.json"

    def status(self, person_id: str) -> CalendarStatus:
        try:
            data = json.loads(self._state(person_id).read_text(encoding="utf-8"))
            problem = Problem(data["problem"]) if data.get("problem") else None
            fetched = datetime.fromisoformat(data["fetched_at"]) if data.get("fetched_at") else None
            problem_at = datetime.fromisoformat(data["problem_at"]) if data.get("problem_at") else None
        except (OSError, ValueError, KeyError, TypeError):
            return CalendarStatus(person_id, None, None, None)
        return CalendarStatus(person_id, fetched, problem, problem_at)

    def _write(self, path: Path, data: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _save_status(self, status: CalendarStatus) -> None:
        state = {
            "fetched_at": status.fetched_at.isoformat() if status.fetched_at else None,
            "problem": status.problem.value if status.problem else None,
            "problem_at": status.problem_at.isoformat() if status.problem_at else None,
        }
        self._write(self._state(status.person_id), json.dumps(state).encode())

    def save_good(self, person_id: str, data: bytes, at: datetime) -> None:
        self._write(self._ics(person_id), data)
        self._save_status(CalendarStatus(person_id, at, None, None))

    def save_problem(self, person_id: str, problem: Problem, at: datetime) -> None:
        self._save_status(CalendarStatus(person_id, self.status(person_id).fetched_at, problem, at))

    def busy(self, person_id: str, window: Interval) -> list[Interval]:
        """The busy times of the last good copy within ``window`` (none if there is none).
        Parsed once per file and window day, not at each screen."""
        path = self._ics(person_id)
        try:
            info = path.stat()
        except OSError:
            return []
        cached = self._parsed.get(person_id)
        if cached is not None:
            (mtime, size, start, end), busy = cached
            if (mtime, size) == (info.st_mtime_ns, info.st_size) and start <= window.start and window.end <= end:
                return [i for i in busy if i.overlaps(window)]
        # Parse a day wider on each side, so that the next screens of the day reuse it.
        key = (info.st_mtime_ns, info.st_size, window.start - timedelta(days=1), window.end + timedelta(days=1))
        try:
            busy = parse_busy(path.read_bytes(), Interval(key[2], key[3]), self.zone)
        except (OSError, CalendarError) as error:
            log.warning("calendar.cache_unreadable", extra={"person": person_id, "error": str(error)})
            return []
        self._parsed[person_id] = (key, busy)
        return [i for i in busy if i.overlaps(window)]


def refresh(
    cache: CalendarCache, person_id: str, url: str, fetch: Callable[[str], bytes], now: datetime, window: Interval
) -> CalendarStatus:
    """Fetch and check a person's calendar; keep it if readable, else record the problem.

    ``fetch`` returns the body or raises (:class:`CalendarError` for a known problem, anything
    else is taken as the address being unreachable).
    """
    try:
        data = fetch(url)
        parse_busy(data, window, cache.zone)
    except CalendarError as error:
        problem = error.problem
    except Exception as error:
        log.info("calendar.fetch_failed", extra={"person": person_id, "error": type(error).__name__})
        problem = Problem.UNREACHABLE
    else:
        cache.save_good(person_id, data, now)
        return cache.status(person_id)
    log.warning("calendar.problem", extra={"person": person_id, "problem": problem.value})
    cache.save_problem(person_id, problem, now)
    return cache.status(person_id)


# -- out ----------------------------------------------------------------------------------------

PRODID = "-//Borne//Rendez-vous//FR"


def appointment_ics(
    *,
    uid: str,
    start: datetime,
    end: datetime,
    summary: str,
    location: str,
    description: str = "",
    stamp: datetime,
) -> bytes:
    """One appointment as an iCalendar file (UTC times; the resident's phone shows local ones)."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = icalendar.Event()
    event.add("uid", f"{uid}@borne")
    event.add("dtstamp", stamp.astimezone(UTC))
    event.add("dtstart", start.astimezone(UTC))
    event.add("dtend", end.astimezone(UTC))
    event.add("summary", summary)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    calendar.add_component(event)
    return bytes(calendar.to_ical())
