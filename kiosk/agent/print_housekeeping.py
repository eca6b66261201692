"""The agent's hourly printing housekeeping: a resident's job held for staff does not wait forever.

A job held over the quota keeps the resident's document in CUPS's spool until staff release or
cancel it. One still held ``[printing] held_keep_hours`` after it was sent is cancelled and
purged with its document (the resident has gone home; they can print it again). Only the
kiosk's own held jobs (``print_jobs``, origin "resident") are touched, never another program's.
The jobs' numbers are forgotten after two days (or once no held job can still be waiting), the
quota's days after forty.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import timedelta

from kiosk.core.ports import Clock
from kiosk.core.printing import forget_jobs_before, known_jobs
from kiosk.core.settings import KioskSettings
from kiosk.core.store import Store

log = logging.getLogger(__name__)

KEEP_NUMBERS = timedelta(days=2)
KEEP_QUOTA_DAYS = timedelta(days=40)
CUPS_TIMEOUT_S = 20.0


@dataclass
class PrintHousekeeping:
    store: Store
    settings: KioskSettings
    clock: Clock
    cups_server: str | None = None  # None: CUPS_SERVER or libcups' default
    timeout_s: float = CUPS_TIMEOUT_S
    _busy: bool = field(default=False, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def run(self) -> int:
        """Purge the held jobs that waited too long; returns how many. Never raises."""
        try:
            return self._expire()
        except Exception:
            log.exception("agent.print_housekeeping_failed")
            return 0
        finally:
            self._forget()

    def _expire(self) -> int:
        if self.settings.devices.printer == "none":
            return 0
        now = self.clock.now()
        oldest = int((now - timedelta(hours=self.settings.printing.held_keep_hours)).timestamp())
        held = {job_id for job_id, job in known_jobs(self.store).items() if job.held and job.origin == "resident"}
        if not held:
            return 0
        # CUPS may hang: never on the scheduler's thread (the beat the shell reads runs there).
        with self._lock:
            if self._busy:
                log.warning("agent.print_housekeeping_still_running")
                return 0
            self._busy = True
        result: list[int] = []
        worker = threading.Thread(
            target=self._cancel_old, args=(held, oldest, result), name="agent-print-housekeeping", daemon=True
        )
        worker.start()
        worker.join(self.timeout_s)
        if worker.is_alive():
            log.warning("agent.print_housekeeping_timed_out", extra={"timeout_s": self.timeout_s})
        return sum(result)

    def _cancel_old(self, held: set[str], oldest: int, result: list[int]) -> None:
        try:
            from kiosk.agent.console.print_jobs import HELD, connect

            conn = connect(self.cups_server)
            asked = ["job-id", "job-state", "time-at-creation"]  # "job-id" too, or CUPS answers no job
            jobs = conn.getJobs(which_jobs="not-completed", requested_attributes=asked)
            for number, attributes in jobs.items():
                if str(number) not in held or int(attributes.get("job-state", 0)) != HELD:
                    continue
                if int(attributes.get("time-at-creation") or 0) > oldest:
                    continue
                conn.cancelJob(number, purge_job=True)
                result.append(1)
                log.info("print.held_job_expired", extra={"job": number})
        except Exception:
            log.exception("agent.print_housekeeping_failed")
        finally:
            with self._lock:
                self._busy = False

    def _forget(self) -> None:
        try:
            now = self.clock.now()
            held = timedelta(hours=self.settings.printing.held_keep_hours + 1)
            forget_jobs_before(self.store, now - max(KEEP_NUMBERS, held))  # a held job's numbers outlive it
            day = (now - KEEP_QUOTA_DAYS).date().isoformat()
            self.store.conn.execute("DELETE FROM print_quota_days WHERE day < ?", (day,))
        except Exception:
            log.exception("agent.print_housekeeping_failed")
