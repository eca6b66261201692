"""The agent's appointment jobs: the persons of the configuration seeded at start, each person's
calendar (ICS busy times) fetched every ``calendar_refresh_min``, and the residents' names and
contacts wiped ``keep_days`` after their appointment (at start and every night).

Each job logs its failure and returns: a scheduler thread must never die of one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from zoneinfo import ZoneInfo

from kiosk.agent.calendars import calendar_cache, fetch_ics, refresh_all
from kiosk.core.mediation.booking import AppointmentBook
from kiosk.core.mediation.ics import CalendarStatus
from kiosk.core.ports import Clock
from kiosk.core.settings import KioskSettings
from kiosk.core.store import Store

log = logging.getLogger(__name__)

PURGE_HOUR, PURGE_MINUTE = 3, 40
"""The nightly purge of contacts (beside the statistics' purge at 3:30)."""


class AppointmentJobs:
    def __init__(
        self, store: Store, settings: KioskSettings, clock: Clock, fetch: Callable[[str], bytes] = fetch_ics
    ) -> None:
        zone = ZoneInfo(settings.centre.timezone)
        self.settings = settings.appointments
        self.cache = calendar_cache(settings.paths.data_dir, zone)
        self.book = AppointmentBook(store, settings.appointments, settings.opening, zone, clock, busy=self.cache.busy)
        self.fetch = fetch

    def seed(self) -> int:
        """The configuration's persons into the database (persons made in the console stay)."""
        try:
            self.book.seed_persons(self.settings.persons)
        except Exception:
            log.exception("agent.persons_seed_failed")
            return 0
        log.info("agent.persons_seeded", extra={"count": len(self.settings.persons)})
        return len(self.settings.persons)

    def refresh_calendars(self) -> list[CalendarStatus]:
        """Fetch every active person's calendar (none when appointments are off)."""
        if not self.settings.enabled:
            return []
        try:
            return refresh_all(self.book, self.cache, self.fetch)
        except Exception:
            log.exception("agent.calendars_refresh_failed")
            return []

    def purge(self) -> int:
        """Wipe the names and contacts of appointments older than ``keep_days``."""
        try:
            return self.book.purge()
        except Exception:
            log.exception("agent.appointments_purge_failed")
            return 0
