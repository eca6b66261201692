"""The ``Printer`` port on CUPS, with pycups.

CUPS speaks IPP: job states (pending, held, processing, stopped, cancelled, aborted, completed)
and ``printer-state-reasons`` keywords (``media-empty-error``, ``offline-report``…). This module
maps both onto the closed vocabulary of ``kiosk.core.devices``; nothing of CUPS leaks out.

The resident's document is streamed to cupsd and never copied anywhere else; ``cancel`` with
``purge`` erases a job and its spool file from cupsd's history, finished or not, which is how a
session's prints are cleaned up at its end.

libcups keeps its server and port per thread, and calls may come from any worker thread: every
call sets them for its own thread and opens its own connection (cheap on a local socket).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import cups

from kiosk.core.devices import (
    DeviceFailure,
    DeviceState,
    DeviceWarning,
    JobId,
    JobNotFound,
    JobState,
    JobStatus,
    Marker,
    PrinterError,
    PrinterStatus,
    PrinterUnavailable,
    PrintOptions,
    PrintRejected,
)

log = logging.getLogger(__name__)

# printer-state-reasons keywords (RFC 8011, PWG 5100.9, CUPS), without their -error/-warning/
# -report suffix. A keyword without suffix is an error (RFC 8011 §5.4.12).
_FAILURE_KEYWORDS: dict[str, DeviceFailure] = {
    "offline": DeviceFailure.OFFLINE,  # CUPS backends say "offline-report": counted whatever the suffix
    "timed-out": DeviceFailure.OFFLINE,
    "shutdown": DeviceFailure.OFFLINE,
    "paused": DeviceFailure.STOPPED,
    "spool-area-full": DeviceFailure.REFUSED,
    "media-empty": DeviceFailure.PAPER_OUT,
    "media-needed": DeviceFailure.PAPER_OUT,
    "input-tray-missing": DeviceFailure.PAPER_OUT,
    "media-jam": DeviceFailure.JAM,
    "toner-empty": DeviceFailure.TONER_OUT,
    "marker-supply-empty": DeviceFailure.TONER_OUT,
    "marker-waste-full": DeviceFailure.TONER_OUT,
    "developer-empty": DeviceFailure.TONER_OUT,
    "door-open": DeviceFailure.DOOR_OPEN,
    "cover-open": DeviceFailure.DOOR_OPEN,
    "interlock-open": DeviceFailure.DOOR_OPEN,
    "output-area-full": DeviceFailure.OUTPUT_FULL,
    "output-tray-missing": DeviceFailure.OUTPUT_FULL,
}
_ALWAYS_FAILURES = {"offline", "paused"}  # whatever their suffix says
_WARNING_KEYWORDS: dict[str, DeviceWarning] = {
    "media-low": DeviceWarning.PAPER_LOW,
    "toner-low": DeviceWarning.TONER_LOW,
    "marker-supply-low": DeviceWarning.TONER_LOW,
    "marker-waste-almost-full": DeviceWarning.TONER_LOW,
    "developer-low": DeviceWarning.TONER_LOW,
}
# Normal progress, not problems (a network printer "connecting" for a second is not offline).
_IGNORED_KEYWORDS = {"none", "connecting-to-device", "moving-to-paused", "other", "cups-waiting-for-job-completed"}

# job-state-reasons of an aborted job that blame the document.
_DOCUMENT_REASONS: dict[str, DeviceFailure] = {
    "document-format-error": DeviceFailure.BAD_DOCUMENT,
    "document-unprintable-error": DeviceFailure.BAD_DOCUMENT,
    "unsupported-document-format": DeviceFailure.BAD_DOCUMENT,
    "unsupported-compression": DeviceFailure.BAD_DOCUMENT,
    "compression-error": DeviceFailure.BAD_DOCUMENT,
    "document-access-error": DeviceFailure.NO_DOCUMENT,
    "job-data-insufficient": DeviceFailure.NO_DOCUMENT,
}

# IPP status codes of a refused request → the error raised and its reason.
_IPP_ERRORS: dict[int, tuple[type[PrinterError], DeviceFailure]] = {
    cups.IPP_NOT_FOUND: (PrinterUnavailable, DeviceFailure.ABSENT),
    cups.IPP_NOT_ACCEPTING: (PrinterUnavailable, DeviceFailure.REFUSED),
    cups.IPP_FORBIDDEN: (PrinterUnavailable, DeviceFailure.REFUSED),
    cups.IPP_NOT_AUTHENTICATED: (PrinterUnavailable, DeviceFailure.REFUSED),
    cups.IPP_NOT_AUTHORIZED: (PrinterUnavailable, DeviceFailure.REFUSED),
    cups.IPP_NOT_POSSIBLE: (PrinterUnavailable, DeviceFailure.REFUSED),
    cups.IPP_PRINTER_BUSY: (PrinterUnavailable, DeviceFailure.BUSY),
    cups.IPP_SERVICE_UNAVAILABLE: (PrinterUnavailable, DeviceFailure.OFFLINE),
    cups.IPP_DEVICE_ERROR: (PrinterUnavailable, DeviceFailure.OFFLINE),
    cups.IPP_TEMPORARY_ERROR: (PrinterUnavailable, DeviceFailure.OFFLINE),
    cups.IPP_REQUEST_ENTITY: (PrintRejected, DeviceFailure.TOO_LARGE),
    cups.IPP_DOCUMENT_FORMAT: (PrintRejected, DeviceFailure.BAD_DOCUMENT),
    cups.IPP_DOCUMENT_FORMAT_ERROR: (PrintRejected, DeviceFailure.BAD_DOCUMENT),
    cups.IPP_DOCUMENT_ACCESS_ERROR: (PrintRejected, DeviceFailure.NO_DOCUMENT),
}

_PRINTER_ATTRIBUTES = [
    "printer-state",
    "printer-state-reasons",
    "printer-state-message",
    "printer-is-accepting-jobs",
    "marker-names",
    "marker-types",
    "marker-levels",
]
_JOB_ATTRIBUTES = [
    "job-state",
    "job-state-reasons",
    "job-printer-state-reasons",
    "job-printer-uri",
    "job-impressions-completed",
]


def _keywords(value: object) -> list[str]:
    """pycups gives a one-value IPP attribute as a string and several as a list."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return []


def classify_reasons(reasons: Iterable[str]) -> tuple[frozenset[DeviceFailure], frozenset[DeviceWarning]]:
    """printer-state-reasons → what stops the printer, what staff should fix soon."""
    failures: set[DeviceFailure] = set()
    warnings: set[DeviceWarning] = set()
    for reason in reasons:
        keyword, severity = reason, "error"
        for suffix in ("-error", "-warning", "-report"):
            if reason.endswith(suffix):
                keyword, severity = reason.removesuffix(suffix), suffix[1:]
        if keyword in _IGNORED_KEYWORDS:
            continue
        if keyword in _FAILURE_KEYWORDS and (severity == "error" or keyword in _ALWAYS_FAILURES):
            failures.add(_FAILURE_KEYWORDS[keyword])
        elif keyword in _WARNING_KEYWORDS:
            warnings.add(_WARNING_KEYWORDS[keyword])
        elif severity == "error":
            failures.add(DeviceFailure.UNKNOWN)
    return frozenset(failures), frozenset(warnings)


def _main_failure(failures: frozenset[DeviceFailure]) -> DeviceFailure | None:
    """The most telling of several reasons (the order of DeviceFailure)."""
    order = list(DeviceFailure)
    return min(failures, key=order.index) if failures else None


def job_status(job_id: JobId, attributes: dict[str, Any]) -> JobStatus:
    """A CUPS job's attributes → the port's JobStatus."""
    state = int(attributes.get("job-state", 0))
    reasons = set(_keywords(attributes.get("job-state-reasons")))
    printer_failures, _ = classify_reasons(_keywords(attributes.get("job-printer-state-reasons")))
    blocking = _main_failure(printer_failures)
    pages = attributes.get("job-impressions-completed")
    pages_done = int(pages) if isinstance(pages, int) else None
    if state == cups.IPP_JOB_COMPLETED:
        if "job-completed-with-errors" in reasons:
            return JobStatus(job_id, JobState.FAILED, blocking or DeviceFailure.UNKNOWN, pages_done)
        return JobStatus(job_id, JobState.DONE, None, pages_done)
    if state == cups.IPP_JOB_CANCELED:
        return JobStatus(job_id, JobState.CANCELLED, None, pages_done)
    if state == cups.IPP_JOB_ABORTED:
        document = next((_DOCUMENT_REASONS[r] for r in sorted(reasons) if r in _DOCUMENT_REASONS), None)
        return JobStatus(job_id, JobState.FAILED, document or blocking or DeviceFailure.UNKNOWN, pages_done)
    if state == cups.IPP_JOB_HELD:
        return JobStatus(job_id, JobState.HELD, None, pages_done)
    if state == cups.IPP_JOB_STOPPED:
        if "job-completed-with-errors" in reasons:  # CUPS will retry later; the resident cannot wait
            return JobStatus(job_id, JobState.FAILED, blocking or DeviceFailure.UNKNOWN, pages_done)
        return JobStatus(job_id, JobState.PRINTING, blocking or DeviceFailure.STOPPED, pages_done)
    if "printer-stopped" in reasons:
        blocking = blocking or DeviceFailure.STOPPED
    if state == cups.IPP_JOB_PROCESSING:
        return JobStatus(job_id, JobState.PRINTING, blocking, pages_done)
    return JobStatus(job_id, JobState.QUEUED, blocking, pages_done)


def printer_status(queue: str, attributes: dict[str, Any]) -> PrinterStatus:
    """A CUPS queue's attributes → the port's PrinterStatus."""
    failures, warnings = classify_reasons(_keywords(attributes.get("printer-state-reasons")))
    state = int(attributes.get("printer-state", cups.IPP_PRINTER_IDLE))
    if state == cups.IPP_PRINTER_STOPPED and not failures:
        failures = frozenset({DeviceFailure.STOPPED})
    if attributes.get("printer-is-accepting-jobs") is False:
        failures |= {DeviceFailure.REFUSED}
    if failures:
        device_state = DeviceState.OFFLINE
    else:
        device_state = DeviceState.BUSY if state == cups.IPP_PRINTER_PROCESSING else DeviceState.READY
    names = _keywords(attributes.get("marker-names"))
    kinds = _keywords(attributes.get("marker-types"))
    levels = attributes.get("marker-levels") or []
    levels = [levels] if isinstance(levels, int) else list(levels)
    markers = tuple(
        Marker(name, kind, int(level) if isinstance(level, int) and 0 <= level <= 100 else None)
        for name, kind, level in zip(names, kinds, levels, strict=False)
    )
    message = str(attributes.get("printer-state-message") or "")
    return PrinterStatus(device_state, failures, warnings, message, queue=queue, markers=markers)


def _ipp_options(copies: int, options: PrintOptions) -> dict[str, str]:
    ipp = {"copies": str(copies)}
    if options.pages:
        ipp["page-ranges"] = ",".join(f"{a}-{b}" if a != b else str(a) for a, b in options.pages)
    if options.monochrome:
        ipp["print-color-mode"] = "monochrome"
    if options.two_sided:
        ipp["sides"] = "two-sided-long-edge"
    if options.hold:
        ipp["job-hold-until"] = "indefinite"
    return ipp


def parse_server(server: str | None) -> tuple[str | None, int | None]:
    """ "host", "host:port", "[::1]:631" or a socket path → (host, port); None → libcups' default."""
    if not server:
        return None, None
    if server.startswith("/"):
        return server, None
    host, sep, port = server.rpartition(":")
    if sep and port.isdigit() and (not host.startswith("[") or host.endswith("]")):
        return host.strip("[]"), int(port)
    return server.strip("[]"), None


class CupsPrinter:
    """One CUPS queue (or the server's default destination, looked up at each call, so that a
    printer added or plugged in later is found without a restart).

    ``detect``: an unreachable server or no destination means "no printer here" (ABSENT, what
    ``printer = "auto"`` finds) rather than a broken printer (OFFLINE, for ``printer = "cups"``).
    """

    def __init__(self, queue: str | None = None, server: str | None = None, *, detect: bool = False) -> None:
        self.queue = queue or None
        self.host, self.port = parse_server(server if server is not None else os.environ.get("CUPS_SERVER"))
        self.detect = detect

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.port else (self.host or "default server")
        return f"CupsPrinter(queue={self.queue or 'default destination'}, server={where})"

    # -- the port ----------------------------------------------------------------------------
    def submit(self, pdf: Path, *, title: str, copies: int = 1, options: PrintOptions | None = None) -> JobId:
        if not 1 <= copies <= 99:
            raise PrintRejected(f"{copies} copies", DeviceFailure.TOO_LARGE)
        if not pdf.is_file():
            raise PrintRejected(f"no such document: {pdf.name}", DeviceFailure.NO_DOCUMENT)
        with self._connection() as conn:
            queue = self._queue(conn)
            self._printer_attributes(conn, queue)  # an unknown queue is ABSENT, not an internal error
            try:
                job = conn.printFile(queue, str(pdf), title, _ipp_options(copies, options or PrintOptions()))
            except cups.IPPError as error:
                raise self._refused(error, f"submit to {queue}") from None
        log.info("printer.job_submitted", extra={"job": job, "queue": queue, "copies": copies})
        return JobId(str(job))

    def job(self, job_id: JobId) -> JobStatus:
        with self._connection() as conn:
            try:
                attributes = conn.getJobAttributes(_number(job_id), requested_attributes=_JOB_ATTRIBUTES)
            except cups.IPPError as error:
                if error.args[0] == cups.IPP_NOT_FOUND:
                    raise JobNotFound(f"no job {job_id} on CUPS", DeviceFailure.UNKNOWN) from None
                raise self._refused(error, f"job {job_id}") from None
            status = job_status(job_id, attributes)
            if status.state is JobState.QUEUED and status.reason is None:
                # CUPS says why a job waits only once it is processing: ask its printer.
                queue = str(attributes.get("job-printer-uri", "")).rpartition("/")[2]
                if queue:
                    printer = printer_status(queue, self._printer_attributes(conn, queue))
                    status = replace(status, reason=_main_failure(printer.reasons - {DeviceFailure.REFUSED}))
        return status

    def cancel(self, job_id: JobId, *, purge: bool = True) -> None:
        with self._connection() as conn:
            try:
                conn.cancelJob(_number(job_id), purge_job=purge)
            except cups.IPPError as error:
                # Gone already, or finished (and not purged): nothing left to cancel.
                if error.args[0] not in (cups.IPP_NOT_FOUND, cups.IPP_NOT_POSSIBLE):
                    raise self._refused(error, f"cancel job {job_id}") from None
        log.info("printer.job_cancelled", extra={"job": job_id, "purged": purge})

    def release(self, job_id: JobId) -> None:
        with self._connection() as conn:
            try:
                conn.setJobHoldUntil(_number(job_id), "no-hold")
            except cups.IPPError as error:
                if error.args[0] == cups.IPP_NOT_FOUND:
                    raise JobNotFound(f"no job {job_id} on CUPS", DeviceFailure.UNKNOWN) from None
                raise self._refused(error, f"release job {job_id}") from None
        log.info("printer.job_released", extra={"job": job_id})

    def status(self) -> PrinterStatus:
        try:
            with self._connection() as conn:
                queue = self._queue(conn)
                attributes = self._printer_attributes(conn, queue)
        except PrinterUnavailable as error:
            state = DeviceState.ABSENT if error.reason is DeviceFailure.ABSENT else DeviceState.OFFLINE
            return PrinterStatus(state, frozenset({error.reason}), message=str(error), queue=self.queue or "")
        return printer_status(queue, attributes)

    # -- plumbing ----------------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[Any]:
        unreachable = DeviceFailure.ABSENT if self.detect else DeviceFailure.OFFLINE
        if self.host is not None:
            cups.setServer(self.host)  # for this thread only (libcups keeps it per thread)
        if self.port is not None:
            cups.setPort(self.port)
        try:
            conn = cups.Connection(host=self.host, port=self.port) if self.host else cups.Connection()
        except RuntimeError as error:  # "failed to connect to server"
            raise PrinterUnavailable(f"CUPS server not answering: {error}", unreachable) from None
        try:
            yield conn
        except cups.HTTPError as error:
            raise PrinterUnavailable(f"CUPS HTTP error {error.args[0]}", DeviceFailure.REFUSED) from None

    def _queue(self, conn: Any) -> str:
        if self.queue:
            return self.queue
        try:
            default = conn.getDefault()
        except cups.IPPError as error:
            raise self._refused(error, "default destination") from None
        if not default:
            raise PrinterUnavailable("CUPS has no default destination", DeviceFailure.ABSENT)
        return str(default)

    def _printer_attributes(self, conn: Any, queue: str) -> dict[str, Any]:
        try:
            return dict(conn.getPrinterAttributes(queue, requested_attributes=_PRINTER_ATTRIBUTES))
        except cups.IPPError as error:
            raise self._refused(error, f"queue {queue}") from None

    @staticmethod
    def _refused(error: cups.IPPError, doing: str) -> PrinterError:
        status = int(error.args[0]) if error.args else 0
        kind, reason = _IPP_ERRORS.get(status, (PrinterUnavailable, DeviceFailure.UNKNOWN))
        message = error.args[1] if len(error.args) > 1 else ""
        log.warning("printer.cups_error", extra={"doing": doing, "ipp_status": status, "error": message})
        return kind(f"CUPS refused ({doing}): {status:#x} {message}" if status else f"CUPS: {error}", reason)


def _number(job_id: JobId) -> int:
    try:
        return int(job_id)
    except ValueError:
        raise JobNotFound(f"{job_id!r} is not a CUPS job id", DeviceFailure.UNKNOWN) from None
