"""When the federation publishes: never inside a reader's request.

A due month is published by :func:`publish_now`, called by ``kiosk-federation publish`` (the
nightly systemd timer) and by a job of the server process itself (:class:`PublicationSchedule`,
APScheduler), at start-up and then every night, so that a server installed without the timer
publishes too. ``ServerSettings.publish_in_process`` (``BORNE_FEDERATION_PUBLISH_IN_SERVER=0``)
turns the job off where the timer does it.

Several processes may try at once (server workers, the timer): :func:`~sync.server.publication.publish_due`
lets one of them work at a time on PostgreSQL (an advisory lock), and a month is stored in one
transaction whose first row is the month's own (its primary key), so a second publisher of the
same month waits for the first and then gives up: published once, never half.
"""

from __future__ import annotations

import logging
import time
from datetime import date

from sync.server.db import Database
from sync.server.publication import publish_due
from sync.vocabulary.periods import Period

log = logging.getLogger(__name__)

NIGHTLY_HOUR_UTC, NIGHTLY_MINUTE = 0, 20
"""The in-process job's time of day (UTC); a month is due a week after it ends."""


def publish_now(db: Database, today: date | None = None) -> list[Period] | None:
    """Publish every due month, logging start, end and duration. ``None`` when it failed (logged:
    the next run tries again); nothing is ever half published."""
    log.info("publication.started")
    start = time.perf_counter()
    try:
        months = publish_due(db, today)
    except Exception:
        log.exception("publication.failed", extra={"seconds": round(time.perf_counter() - start, 1)})
        return None
    log.info(
        "publication.finished",
        extra={"months": ",".join(m.label for m in months), "seconds": round(time.perf_counter() - start, 1)},
    )
    return months


class PublicationSchedule:
    """The server's own publication job: once at start-up, then every night (APScheduler, one
    background thread; a run still going when the next is due is not doubled)."""

    def __init__(self, db: Database) -> None:
        from apscheduler.schedulers.background import BackgroundScheduler

        self.scheduler = BackgroundScheduler(timezone="UTC")
        common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600}
        self.scheduler.add_job(publish_now, "date", args=[db], id="publish-at-start", **common)
        self.scheduler.add_job(
            publish_now,
            "cron",
            args=[db],
            hour=NIGHTLY_HOUR_UTC,
            minute=NIGHTLY_MINUTE,
            jitter=600,
            id="publish-nightly",
            **common,
        )

    def start(self) -> None:
        self.scheduler.start()
        log.info("publication.scheduled", extra={"nightly_utc": f"{NIGHTLY_HOUR_UTC:02d}:{NIGHTLY_MINUTE:02d}"})

    def stop(self) -> None:
        """Stop; a publication under way is left to finish (its transaction is all or nothing)."""
        self.scheduler.shutdown(wait=False)
