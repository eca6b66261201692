"""The resident's print jobs: submitted and followed off the GUI thread, cleaned at session end.

``PrintTracker.submit`` hands the PDF to the ``Printer`` port through ``Operation`` and then asks
for the job's state every second (off the GUI thread too) until the printer says done, held or
failed, or ``max_polls`` ran out. Its signals say what a resident or the statistics need:

- ``printed(job, pages)`` — the job is done: paper came out (the "printed" statistic).
- ``held(job, pages)`` — the printer keeps the job for staff.
- ``problem(job, reason)`` — the printer met a ``DeviceFailure`` with this job (no paper, jam,
  offline…), once per job and reason; the job may still print once staff fix it. "absent" (no
  printer at all) is a fact about the terminal, not a device error: it is shown, not signalled.
- ``progress(job, state, reason)`` — every change the resident should see: a ``JobState`` value
  (or "timed_out" when the printer did not finish in time) and the ``DeviceFailure`` value it
  waits on or failed with ("" if none). A refused submission has job "". The viewer turns it
  into words; ``state in OVER`` means the tracker stopped following the job.

``cancel_all()`` cancels every job of the session and purges it, finished or not, with its spool
file, from the printer's history: the window calls it while wiping the session. A job submitted
held (over the quota) is left to staff: the resident was told to ask for it at the reception.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal

from kiosk.core.devices import DeviceFailure, JobId, JobNotFound, JobState, JobStatus, PrinterError, PrintOptions
from kiosk.core.ports import Printer
from kiosk.shell.operations import Operation

log = logging.getLogger(__name__)

POLL_MS = 1000
MAX_POLLS = 300  # five minutes of "en cours": past that the resident has gone, the wipe cleans up
JOB_TITLE = "Borne"  # never the document's own name: it may carry the resident's
TIMED_OUT = "timed_out"
OVER = frozenset({JobState.DONE, JobState.HELD, JobState.FAILED, JobState.CANCELLED, TIMED_OUT})


@dataclass
class _Watch:
    job_id: JobId
    pages: int
    polls_left: int
    polling: bool = False
    reported: set[DeviceFailure] = field(default_factory=set)


class PrintTracker(QObject):
    printed = Signal(str, int)
    held = Signal(str, int)
    problem = Signal(str, str)
    progress = Signal(str, str, str)

    def __init__(
        self, printer: Printer, parent: QObject | None = None, *, poll_ms: int = POLL_MS, max_polls: int = MAX_POLLS
    ) -> None:
        super().__init__(parent)
        self.printer = printer
        self.max_polls = max_polls
        self._watches: dict[JobId, _Watch] = {}
        self._session_jobs: list[JobId] = []  # every job of this session, for cancel_all
        self._submitting = 0
        self._generation = 0  # bumped by cancel_all: answers from an earlier session are stale
        self._timer = QTimer(self)
        self._timer.setInterval(poll_ms)
        self._timer.timeout.connect(self._poll)

    @property
    def busy(self) -> bool:
        """A job is being submitted or followed."""
        return self._submitting > 0 or bool(self._watches)

    def submit(self, pdf: Path, pages: int, *, copies: int = 1, options: PrintOptions | None = None) -> None:
        generation = self._generation
        held = options is not None and options.hold
        self._submitting += 1
        Operation(
            self, lambda: self.printer.submit(pdf, title=JOB_TITLE, copies=copies, options=options), name="print.submit"
        ).success(lambda job_id: self._submitted(generation, job_id, pages, held)).failure(
            lambda error: self._submit_failed(generation, error)
        ).run()

    def cancel_all(self) -> None:
        """Cancel and purge every job of the session (its document leaves the printer's spool)."""
        self._generation += 1
        self._timer.stop()
        jobs, self._session_jobs = self._session_jobs, []
        self._watches.clear()
        self._submitting = 0
        for job_id in jobs:
            self._purge(job_id)

    # -- answers from the workers ------------------------------------------------------------
    def _submitted(self, generation: int, job_id: JobId, pages: int, held: bool = False) -> None:
        if generation != self._generation:
            if not held:
                self._purge(job_id)  # the session ended while this job was on its way
            return
        self._submitting -= 1
        if not held:  # a job held for staff outlives the session: staff release or cancel it
            self._session_jobs.append(job_id)
        self._watches[job_id] = _Watch(job_id, pages, self.max_polls)
        log.info("print.submitted", extra={"job": job_id, "pages": pages})
        self.progress.emit(job_id, JobState.QUEUED.value, "")
        self._timer.start()
        self._poll()

    def _submit_failed(self, generation: int, error: Exception) -> None:
        if generation != self._generation:
            return
        self._submitting -= 1
        reason = error.reason if isinstance(error, PrinterError) else DeviceFailure.UNKNOWN
        log.warning("print.submit_failed", extra={"reason": str(reason), "error": str(error)})
        self._report("", reason, set())
        self.progress.emit("", JobState.FAILED.value, reason.value)

    def _poll(self) -> None:
        for watch in list(self._watches.values()):
            if watch.polling:
                continue
            if watch.polls_left <= 0:
                self._report(watch.job_id, DeviceFailure.TIMED_OUT, watch.reported)
                self._stop(watch, TIMED_OUT, DeviceFailure.TIMED_OUT)
                continue
            self._ask(watch)
        if not self._watches:
            self._timer.stop()

    def _ask(self, watch: _Watch) -> None:
        watch.polls_left -= 1
        watch.polling = True
        generation, job_id = self._generation, watch.job_id
        Operation(self, lambda: self.printer.job(job_id), name="print.job").success(
            lambda status: self._followed(generation, watch, status)
        ).failure(lambda error: self._follow_failed(generation, watch, error)).run()

    def _followed(self, generation: int, watch: _Watch, status: JobStatus) -> None:
        if generation != self._generation or watch.job_id not in self._watches:
            return
        watch.polling = False
        reason = status.reason
        if status.state is JobState.FAILED:
            reason = reason or DeviceFailure.UNKNOWN
        if reason is not None:
            self._report(watch.job_id, reason, watch.reported)
        if status.state in OVER:
            self._stop(watch, status.state, None if status.state is JobState.DONE else reason)
        else:  # queued or printing, perhaps waiting for paper: it may still print once fixed
            self.progress.emit(watch.job_id, status.state.value, reason.value if reason else "")
        if status.state is JobState.DONE:
            self.printed.emit(watch.job_id, watch.pages)
        elif status.state is JobState.HELD:
            self.held.emit(watch.job_id, watch.pages)

    def _follow_failed(self, generation: int, watch: _Watch, error: Exception) -> None:
        if generation != self._generation or watch.job_id not in self._watches:
            return
        watch.polling = False
        if isinstance(error, JobNotFound):  # purged by someone else (staff)
            self._stop(watch, JobState.CANCELLED, None)
            return
        reason = error.reason if isinstance(error, PrinterError) else DeviceFailure.UNKNOWN
        log.warning("print.follow_failed", extra={"job": watch.job_id, "reason": str(reason), "error": str(error)})
        self._report(watch.job_id, reason, watch.reported)
        # Keep asking (cupsd may be restarting); the resident sees why it waits.
        self.progress.emit(watch.job_id, JobState.QUEUED.value, reason.value)

    # -- helpers -----------------------------------------------------------------------------
    def _report(self, job_id: str, reason: DeviceFailure, reported: set[DeviceFailure]) -> None:
        if reason in reported or reason is DeviceFailure.ABSENT:
            return
        reported.add(reason)
        self.problem.emit(job_id, reason.value)

    def _stop(self, watch: _Watch, state: str, reason: DeviceFailure | None) -> None:
        self._watches.pop(watch.job_id, None)
        log.info("print.over", extra={"job": watch.job_id, "state": str(state)})
        self.progress.emit(watch.job_id, str(state), reason.value if reason else "")

    def _purge(self, job_id: JobId) -> None:
        Operation(self, lambda: self.printer.cancel(job_id, purge=True), name="print.purge").failure(
            lambda error: log.warning("print.purge_failed", extra={"job": job_id, "error": str(error)})
        ).run()
