"""The free printing quota: how many pages a resident prints without asking, per session and per day.

A job is ``pages × copies`` sheets' worth of pages. Within both allowances it prints at once and
is charged; past either, it is sent *held* (CUPS ``job-hold-until=indefinite``) and the resident
is told to ask at the reception, where staff release or cancel it from the console. A held job is
not charged: staff chose to print it.

The session's count lives in memory (a new session starts at 0); the day's count is kept in the
store (``print_quota_days``: a day and a number, nothing else) so that restarting the shell does
not give the day's pages back. The jobs the console lists are in ``print_jobs``: a CUPS job
number, its queue, pages and copies, held or not, the resident's or staff's — never a title or a
file name. A store that cannot be written (the shell's connection never waits for a lock) keeps
the count in memory and says so in the log.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from kiosk.core.devices import JobId, JobStatus, Printer, PrinterStatus, PrintOptions
from kiosk.core.ports import Clock
from kiosk.core.settings import PrintingSettings
from kiosk.core.store import Store
from kiosk.i18n import N_

log = logging.getLogger(__name__)

HELD_WORDS = N_("Votre impression attend à l'accueil : demandez-la au personnel.")
"""What the resident reads when a job is held for staff (a message id: translate it)."""

Origin = Literal["resident", "staff"]


@dataclass(frozen=True)
class Decision:
    """What to do with one job: ``hold`` it for staff or print it now; ``pages`` = pages × copies."""

    hold: bool
    pages: int
    session_left: int  # free pages left in the session before this job
    day_left: int  # free pages left today before this job


def decide(pages: int, copies: int, settings: PrintingSettings, session_used: int, day_used: int) -> Decision:
    """The rule, on plain numbers. ``ValueError`` for a page count below 1 or copies out of bounds."""
    if pages < 1:
        raise ValueError("a job has at least one page")
    if not 1 <= copies <= settings.max_copies:
        raise ValueError(f"copies must be between 1 and {settings.max_copies}")
    total = pages * copies
    session_left = max(0, settings.pages_per_session - session_used)
    day_left = max(0, settings.pages_per_day - day_used)
    return Decision(total > min(session_left, day_left), total, session_left, day_left)


def record_job(store: Store, job_id: JobId, queue: str, pages: int, copies: int, *, held: bool, origin: Origin,
               at: datetime) -> None:  # fmt: skip
    """Remember a submitted job's numbers for the console (raises ``sqlite3.Error``)."""
    store.conn.execute(
        "INSERT OR REPLACE INTO print_jobs (job_id, queue, pages, copies, held, origin, created_ms)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (str(job_id), queue, pages, copies, int(held), origin, int(at.timestamp() * 1000)),
    )


@dataclass(frozen=True)
class KnownJob:
    job_id: str
    queue: str
    pages: int
    copies: int
    held: bool
    origin: Origin


def known_jobs(store: Store) -> dict[str, KnownJob]:
    rows = store.conn.execute("SELECT job_id, queue, pages, copies, held, origin FROM print_jobs").fetchall()
    return {row[0]: KnownJob(row[0], row[1], row[2], row[3], bool(row[4]), row[5]) for row in rows}


def forget_jobs_before(store: Store, before: datetime) -> int:
    """Drop the numbers of jobs submitted before ``before`` (the console lists today's)."""
    cursor = store.conn.execute("DELETE FROM print_jobs WHERE created_ms < ?", (int(before.timestamp() * 1000),))
    return cursor.rowcount


def pages_since(store: Store, kind: str, since: datetime) -> int:
    """Pages of the ``kind`` events ("staff_print", "print_job") recorded since ``since``."""
    row = store.conn.execute(
        "SELECT COALESCE(SUM(json_extract(data, '$.pages')), 0) FROM events WHERE kind = ? AND ts_ms >= ?",
        (kind, int(since.timestamp() * 1000)),
    ).fetchone()
    return int(row[0])


class PrintQuota:
    """The quota of one terminal: the session's pages in memory, the day's in the store."""

    def __init__(self, settings: PrintingSettings, store: Store | None, clock: Clock, zone: ZoneInfo) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.zone = zone
        self.session_pages = 0
        self._day: date | None = None
        self._day_pages = 0  # what this process charged today, when the store could not say

    def today(self) -> date:
        return self.clock.now().astimezone(self.zone).date()

    def day_pages(self) -> int:
        """Pages charged today (by every run of the shell on this database)."""
        today = self.today()
        if self._day != today:
            self._day, self._day_pages = today, 0
        if self.store is not None:
            try:
                row = self.store.conn.execute(
                    "SELECT pages FROM print_quota_days WHERE day = ?", (today.isoformat(),)
                ).fetchone()
                return max(self._day_pages, int(row[0]) if row else 0)
            except sqlite3.Error as error:
                log.warning("print.quota_unreadable", extra={"error": str(error)})
        return self._day_pages

    def decide(self, pages: int, copies: int = 1) -> Decision:
        return decide(pages, copies, self.settings, self.session_pages, self.day_pages())

    def charge(self, pages: int) -> None:
        """Count ``pages`` printed without asking, in the session and the day."""
        used = self.day_pages() + pages
        self.session_pages += pages
        self._day_pages = used
        if self.store is None:
            return
        try:
            self.store.conn.execute(
                "INSERT INTO print_quota_days (day, pages) VALUES (?, ?)"
                " ON CONFLICT (day) DO UPDATE SET pages = pages + excluded.pages",
                (self.today().isoformat(), pages),
            )
        except sqlite3.Error as error:
            log.warning("print.quota_not_saved", extra={"error": str(error), "pages": pages})

    def refund(self, pages: int) -> None:
        """Give back pages charged for a job the printer refused."""
        self.session_pages = max(0, self.session_pages - pages)
        self._day_pages = max(0, self._day_pages - pages)
        if self.store is None:
            return
        try:
            self.store.conn.execute(
                "UPDATE print_quota_days SET pages = MAX(0, pages - ?) WHERE day = ?", (pages, self.today().isoformat())
            )
        except sqlite3.Error as error:
            log.warning("print.quota_not_saved", extra={"error": str(error), "pages": -pages})

    def end_session(self) -> None:
        self.session_pages = 0


class QuotaPrinter:
    """A ``Printer`` that carries the terminal's :class:`PrintQuota` to the PDF viewer.

    The viewer decides on the GUI thread (the store's connection belongs to it), then submits
    through the port as usual, held if over the quota. Plain calls pass through untouched (the
    staff panel's test page is not counted). ``queue`` names the CUPS queue for the console's
    list ("" for the default destination).
    """

    def __init__(self, printer: Printer, quota: PrintQuota, queue: str = "") -> None:
        self.printer = printer
        self.quota = quota
        self.queue = queue

    def remember(self, job_id: JobId, decision: Decision, pages: int, copies: int) -> None:
        """A job CUPS accepted: its numbers for the console (never raises)."""
        store = self.quota.store
        if store is None:
            return
        try:
            record_job(store, job_id, self.queue, pages, copies, held=decision.hold, origin="resident",
                       at=self.quota.clock.now())  # fmt: skip
        except sqlite3.Error as error:
            log.warning("print.job_not_recorded", extra={"job": job_id, "error": str(error)})

    # -- the Printer port, passed through ---------------------------------------------------------
    def submit(self, pdf: Path, *, title: str, copies: int = 1, options: PrintOptions | None = None) -> JobId:
        return self.printer.submit(pdf, title=title, copies=copies, options=options)

    def job(self, job_id: JobId) -> JobStatus:
        return self.printer.job(job_id)

    def cancel(self, job_id: JobId, *, purge: bool = True) -> None:
        self.printer.cancel(job_id, purge=purge)

    def release(self, job_id: JobId) -> None:
        self.printer.release(job_id)

    def status(self) -> PrinterStatus:
        return self.printer.status()
