"""The agent fetches the resource persons' calendars (ICS busy times) on its schedule.

The network is here, not in the core: :func:`fetch_ics` is the ``fetch`` that
:func:`kiosk.core.mediation.ics.refresh` is given. A slow, huge or failing address costs at most
``timeout_s`` and ``max_bytes``; the last good copy stays in use.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from kiosk.core.mediation.booking import AppointmentBook
from kiosk.core.mediation.ics import MAX_BYTES, CalendarCache, CalendarError, CalendarStatus, Problem, refresh
from kiosk.core.mediation.reservation import CALENDARS_DIR

log = logging.getLogger(__name__)

TIMEOUT_S = 15.0
CACHE_DIR = CALENDARS_DIR


def calendar_cache(data_dir: Path, zone: ZoneInfo) -> CalendarCache:
    """The persons' calendars under the data directory (the agent writes, both processes read)."""
    return CalendarCache(data_dir / CACHE_DIR, zone)


def fetch_ics(url: str, *, timeout_s: float = TIMEOUT_S, max_bytes: int = MAX_BYTES) -> bytes:
    """The body at ``url``; raises :class:`CalendarError` (too big) or a requests error."""
    with requests.get(url, timeout=timeout_s, stream=True, headers={"Accept": "text/calendar"}) as response:
        response.raise_for_status()
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise CalendarError(Problem.TOO_BIG, f"{declared} bytes announced")
        body = bytearray()
        for chunk in response.iter_content(64 * 1024):
            body += chunk
            if len(body) > max_bytes:
                raise CalendarError(Problem.TOO_BIG, f"more than {max_bytes} bytes")
        return bytes(body)


def refresh_all(
    book: AppointmentBook, cache: CalendarCache, fetch: Callable[[str], bytes] = fetch_ics
) -> list[CalendarStatus]:
    """Refresh the calendar of every active person who has one (a job of the agent)."""
    now = book.clock.now()
    window = book.window(now)
    statuses = []
    for person in book.persons():
        if person.ics_url:
            statuses.append(refresh(cache, person.id, person.ics_url, fetch, now, window))
    return statuses
