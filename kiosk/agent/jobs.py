"""The agent's scheduled statistics jobs: seal closed days, purge, checkpoint.

Each job is a plain method, so ``kiosk agent --once`` and the tests run exactly what the
scheduler runs. A job never raises into the scheduler: it logs and the next run tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from kiosk.core.ports import Clock
from kiosk.core.settings import KioskSettings
from kiosk.core.stats.aggregate import seal_closed_days
from kiosk.core.stats.recorder import EventClock, date_undated, last_stamp, read_boot_id
from kiosk.core.stats.retention import purge
from kiosk.core.store import Store

log = logging.getLogger(__name__)


@dataclass
class StatsJobs:
    store: Store
    settings: KioskSettings
    clock: Clock
    boot: str = field(default_factory=read_boot_id)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.settings.centre.timezone)

    def _trusted_now(self) -> tuple[int, float] | None:
        trusted = EventClock(self.clock, self.boot, last_stamp(self.store)).trusted_now()
        if trusted is None:
            log.warning("agent.clock_untrusted", extra={"now": self.clock.now().isoformat()})
        return trusted

    def aggregate(self) -> int:
        """Date what can be dated, then seal every closed day. Returns the days sealed."""
        try:
            trusted = self._trusted_now()
            if trusted is None:
                return 0  # cutting days on a wrong clock would put events in the wrong day
            date_undated(self.store, self.boot, *trusted)
            return len(seal_closed_days(self.store, self.zone, trusted[0], self.boot))
        except Exception:
            log.exception("agent.aggregate_failed")
            return 0

    def purge(self) -> int:
        """Apply the retention settings. Returns the rows deleted."""
        try:
            trusted = self._trusted_now()
            if trusted is None:
                return 0
            stats = self.settings.stats
            purged = purge(self.store, trusted[0], self.zone, stats.keep_event_days, stats.keep_aggregate_months)
            return purged.events + purged.aggregates
        except Exception:
            log.exception("agent.purge_failed")
            return 0

    def checkpoint(self) -> None:
        self.store.checkpoint()

    def run_all(self) -> None:
        self.aggregate()
        self.purge()
        self.checkpoint()
