"""The devices as the core sees them: printer, scanner, ticket printer — ports and vocabulary.

Adapters in ``kiosk.devices`` implement these protocols with real libraries (pycups,
python-escpos; python-sane next). Everything here is plain data: no Qt, no device library.

One closed vocabulary, ``DeviceFailure``, says what went wrong with any device. The same values
are stored in the usage statistics (``DeviceError.error``), shown to staff, sent in the
heartbeat, and turned into plain French for residents by ``failure_message``: an adapter maps
its library's codes (CUPS ``printer-state-reasons``, SANE statuses, ESC/POS paper sensors) onto
it, and nothing else ever leaves an adapter.

Device calls may block for seconds (a network printer, a scan): the shell runs them off the GUI
thread (``kiosk.shell.operations``); adapters must be safe to call from any one thread at a time.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Literal, NewType, Protocol

from kiosk.i18n import N_

JobId = NewType("JobId", str)


class DeviceFailure(StrEnum):
    """Why a device cannot do what was asked: a closed set shared by every device.

    The values are stored in statistics (``"printer/paper_out"``): never rename one.
    """

    ABSENT = "absent"  # no such device here: not configured, unplugged, unknown queue
    OFFLINE = "offline"  # configured but not answering (switched off, cable, server down)
    STOPPED = "stopped"  # paused by staff (CUPS: printer stopped)
    REFUSED = "refused"  # answering but refusing work (CUPS: not accepting jobs, forbidden)
    BUSY = "busy"  # used by someone else right now (a scanner)
    PAPER_OUT = "paper_out"  # no paper (printer, ticket printer)
    JAM = "jam"  # paper jam (printer, feeder)
    TONER_OUT = "toner_out"  # no toner or ink, or waste toner full
    DOOR_OPEN = "door_open"  # a door, cover or lid is open
    OUTPUT_FULL = "output_full"  # the output tray is full
    NO_DOCUMENT = "no_document"  # the file to print is gone; nothing in the scanner's feeder
    BAD_DOCUMENT = "bad_document"  # the device could not read the document (format, filter error)
    TOO_LARGE = "too_large"  # the document is larger than the device or its server accepts
    TIMED_OUT = "timed_out"  # gave no result in the time we wait
    UNKNOWN = "unknown"  # anything else (the adapter logs the details in English)


class DeviceWarning(StrEnum):
    """Something staff should fix soon; the device still works."""

    PAPER_LOW = "paper_low"
    TONER_LOW = "toner_low"


class DeviceState(StrEnum):
    READY = "ready"  # can take work now
    BUSY = "busy"  # working; new work waits its turn
    OFFLINE = "offline"  # configured but cannot work now (``reasons`` say why)
    ABSENT = "absent"  # no such device


@dataclass(frozen=True)
class Marker:
    """A consumable the printer reports (IPP ``marker-*``): toner, ink, waste."""

    name: str  # as the printer names it, e.g. "Black Toner" (for staff, not residents)
    kind: str  # IPP marker-type, e.g. "toner", "ink-cartridge", "waste-toner"
    level: int | None  # percent, None when the printer does not know


@dataclass(frozen=True)
class DeviceStatus:
    """A device's health at one moment."""

    state: DeviceState
    reasons: frozenset[DeviceFailure] = frozenset()  # what stops it, when state is not READY/BUSY
    warnings: frozenset[DeviceWarning] = frozenset()
    message: str = ""  # the device's own words, for staff logs only (English, untrusted)

    @property
    def usable(self) -> bool:
        return self.state in (DeviceState.READY, DeviceState.BUSY) and not self.reasons

    @property
    def health(self) -> tuple[Literal["ok", "warning", "error", "absent"], DeviceFailure | DeviceWarning | None]:
        """The heartbeat's view: a state and one code (the most telling reason or warning)."""
        if self.state is DeviceState.ABSENT:
            return "absent", None
        if self.reasons or self.state is DeviceState.OFFLINE:
            ranked = sorted(self.reasons, key=list(DeviceFailure).index)
            return "error", ranked[0] if ranked else DeviceFailure.OFFLINE
        if self.warnings:
            return "warning", sorted(self.warnings)[0]
        return "ok", None


@dataclass(frozen=True)
class PrinterStatus(DeviceStatus):
    queue: str = ""  # the CUPS queue (or other name) the status is about
    markers: tuple[Marker, ...] = ()


# -- errors -----------------------------------------------------------------------------------


class DeviceFault(Exception):
    """A device call failed; ``reason`` is what statistics and residents see, the message is
    for staff logs (English)."""

    def __init__(self, message: str, reason: DeviceFailure = DeviceFailure.UNKNOWN) -> None:
        super().__init__(message)
        self.reason = reason


class PrinterError(DeviceFault):
    """Printing failed."""


class PrinterUnavailable(PrinterError):
    """The printer cannot take any job now (absent, offline, stopped, refusing)."""


class PrintRejected(PrinterError):
    """The printer works but refuses this document (gone, unreadable, too large)."""


class JobNotFound(PrinterError):
    """No such job (already purged, or another printer's)."""


class ScannerError(DeviceFault):
    """Scanning failed."""


class ScannerUnavailable(ScannerError):
    """No scanner, or it cannot scan now."""


class TicketPrinterError(DeviceFault):
    """The ticket could not be printed."""


# -- printing ---------------------------------------------------------------------------------


class JobState(StrEnum):
    QUEUED = "queued"  # accepted, waiting its turn (``reason`` may say what it waits for)
    PRINTING = "printing"
    HELD = "held"  # kept until staff release it (quota, or held at the printer)
    DONE = "done"  # paper came out
    FAILED = "failed"  # ``reason`` says why
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


@dataclass(frozen=True)
class JobStatus:
    job_id: JobId
    state: JobState
    reason: DeviceFailure | None = None  # why it failed, or what it is waiting for
    pages_done: int | None = None  # impressions the printer reports as printed, if it does


@dataclass(frozen=True)
class PrintOptions:
    """What the resident (or staff) chose; adapters turn it into their own options."""

    pages: tuple[tuple[int, int], ...] = ()  # inclusive page ranges, 1-based; () = all
    monochrome: bool = False
    two_sided: bool = False
    hold: bool = False  # keep the job until staff release it (over quota)

    def __post_init__(self) -> None:
        for first, last in self.pages:
            if not 1 <= first <= last:
                raise ValueError(f"bad page range {first}-{last}")


class PrintOutcome(StrEnum):
    """What the statistics record about a job (``PrintJob.status``); values are stored."""

    PRINTED = "printed"  # done at once
    HELD = "held"  # held for staff
    RELEASED = "released"  # released by staff, then printed
    CANCELLED = "cancelled"  # held, then cancelled by staff


class Printer(Protocol):
    """A printer that takes PDF files and reports on its jobs."""

    def submit(self, pdf: Path, *, title: str, copies: int = 1, options: PrintOptions | None = None) -> JobId:
        """Queue a PDF and return its job id at once (printing goes on in the device).

        Raises ``PrinterUnavailable`` or ``PrintRejected``. The file is read while submitting
        and never copied anywhere but the device's own spool.
        """
        ...

    def job(self, job_id: JobId) -> JobStatus:
        """The job's state now. Raises ``JobNotFound`` or ``PrinterUnavailable``."""
        ...

    def cancel(self, job_id: JobId, *, purge: bool = True) -> None:
        """Cancel the job if it is not finished; with ``purge`` also erase it and its document
        from the device's history (a finished job too). Raises ``PrinterUnavailable``."""
        ...

    def release(self, job_id: JobId) -> None:
        """Let a held job print (staff). Raises ``JobNotFound`` or ``PrinterUnavailable``."""
        ...

    def status(self) -> PrinterStatus:
        """The printer's state; never raises (an unreachable printer is OFFLINE or ABSENT)."""
        ...


# -- scanning ---------------------------------------------------------------------------------


class ScanSource(StrEnum):
    FLATBED = "flatbed"
    FEEDER = "feeder"  # automatic document feeder: several pages in one scan


class ColourMode(StrEnum):
    COLOUR = "colour"
    GREY = "grey"
    BLACK_AND_WHITE = "black_and_white"


@dataclass(frozen=True)
class ScannerInfo:
    device_id: str  # the library's name for it, e.g. SANE "test:0"
    label: str  # vendor and model, for staff
    sources: tuple[ScanSource, ...] = (ScanSource.FLATBED,)


@dataclass(frozen=True)
class ScanOptions:
    resolution_dpi: int = 200
    mode: ColourMode = ColourMode.COLOUR
    source: ScanSource = ScanSource.FLATBED
    max_pages: int = 1  # the feeder stops after this many pages (the flatbed gives one)

    def __post_init__(self) -> None:
        if not 50 <= self.resolution_dpi <= 1200:
            raise ValueError("resolution must be between 50 and 1200 dpi")
        if not 1 <= self.max_pages <= 100:
            raise ValueError("max_pages must be between 1 and 100")


class Scanner(Protocol):
    def devices(self) -> list[ScannerInfo]:
        """The scanners present now (may take seconds: run it off the GUI thread)."""
        ...

    def scan(self, directory: Path, options: ScanOptions, device_id: str | None = None) -> list[Path]:
        """Scan into ``directory`` (the session's): one PNG per page, in order.

        Raises ``ScannerUnavailable`` (absent, busy, offline) or ``ScannerError`` (jam, empty
        feeder, cover open…). Files of a failed scan are removed before raising.
        """
        ...

    def cancel(self) -> None:
        """Stop a scan in progress (from another thread); it then raises ScannerError."""
        ...

    def status(self) -> DeviceStatus: ...


# -- ticket printer ---------------------------------------------------------------------------


TICKET_NUMBER_MAX = 8
TICKET_LINES_MAX = 24  # paragraphs, before wrapping
TICKET_LINE_MAX = 400  # characters of one paragraph (wrapped to the printer's width)
TICKET_TITLE_MAX = 120  # the centre's name, the heading (wrapped too)
TICKET_QR_MAX_BYTES = 1200
"""A QR code's payload, UTF-8: about a version-25 code at error correction M, which a phone
still reads when printed on a 58 mm roll. An appointment as an iCalendar event takes ~500."""


@dataclass(frozen=True)
class Ticket:
    """A ticket: a title (the centre), a heading, a big number, short paragraphs, a QR code.

    Paragraphs longer than the printer's line are wrapped (:meth:`wrapped`), not refused; a
    ticket that could not be printed (too many paragraphs, a QR payload too large for a phone
    to read) is a programming error: ``ValueError``.
    """

    number: str = ""  # printed very large, e.g. "A12"; "" for a ticket without a number
    lines: tuple[str, ...] = ()  # paragraphs; "" is an empty line
    title: str = ""  # first, centred and bold (the centre's name)
    heading: str = ""  # above the number, centred and tall ("Votre numéro")
    qr: str | None = None  # printed as a QR code at the end (at most TICKET_QR_MAX_BYTES in UTF-8)

    def __post_init__(self) -> None:
        if len(self.number) > TICKET_NUMBER_MAX or self.number != self.number.strip():
            raise ValueError(f"a ticket number has at most {TICKET_NUMBER_MAX} characters, no spaces around")
        if len(self.lines) > TICKET_LINES_MAX or any(len(line) > TICKET_LINE_MAX for line in self.lines):
            raise ValueError(f"a ticket has at most {TICKET_LINES_MAX} paragraphs of {TICKET_LINE_MAX} characters")
        if len(self.title) > TICKET_TITLE_MAX or len(self.heading) > TICKET_TITLE_MAX:
            raise ValueError(f"a ticket's title and heading have at most {TICKET_TITLE_MAX} characters")
        if any(not line.isprintable() for line in (self.number, self.title, self.heading, *self.lines)):
            raise ValueError("ticket text must be printable (no control characters or line breaks)")
        if self.qr is not None and not 0 < len(self.qr.encode()) <= TICKET_QR_MAX_BYTES:
            raise ValueError(f"a ticket's QR code holds 1 to {TICKET_QR_MAX_BYTES} bytes")
        if not (self.number or self.title or self.heading or self.lines or self.qr):
            raise ValueError("an empty ticket")

    def wrapped(self, width: int) -> list[str]:
        """The paragraphs as printed lines of at most ``width`` characters (words kept whole
        unless one is longer than a line; a list item's "- " hangs)."""
        return [part for line in self.lines for part in wrap_paragraph(line, width)]


def wrap_paragraph(text: str, width: int) -> list[str]:
    """One paragraph as lines of at most ``width`` characters ("" stays one empty line)."""
    indent = "  " if text.startswith("- ") else ""
    return textwrap.wrap(text, width, break_on_hyphens=False, subsequent_indent=indent) or [""]


class TicketPrinter(Protocol):
    def print_ticket(self, ticket: Ticket) -> None:
        """Print and cut. Raises ``TicketPrinterError`` (paper out, offline…)."""
        ...

    def status(self) -> DeviceStatus:
        """Includes PAPER_OUT / PAPER_LOW where the printer has paper sensors."""
        ...


# -- words for residents ----------------------------------------------------------------------

_ASK = N_("L'imprimante ne répond pas. Un membre de l'accueil peut vous aider.")
_PRINTER_MESSAGES: dict[DeviceFailure, str] = {
    DeviceFailure.ABSENT: N_(
        "Il n'y a pas d'imprimante sur cette borne. Demandez à l'accueil : on peut imprimer pour vous."
    ),
    DeviceFailure.PAPER_OUT: N_("L'imprimante n'a plus de papier. Un membre de l'accueil peut vous aider."),
    DeviceFailure.JAM: N_("Une feuille est coincée dans l'imprimante. Un membre de l'accueil peut vous aider."),
    DeviceFailure.TONER_OUT: N_("L'imprimante n'a plus d'encre. Un membre de l'accueil peut vous aider."),
    DeviceFailure.DOOR_OPEN: N_("Une porte de l'imprimante est ouverte. Un membre de l'accueil peut vous aider."),
    DeviceFailure.OUTPUT_FULL: N_("Le bac de l'imprimante est plein. Un membre de l'accueil peut vous aider."),
    DeviceFailure.NO_DOCUMENT: N_(
        "Ce document ne peut pas être imprimé sur la borne. Un membre de l'accueil peut vous aider."
    ),
}
_PRINTER_MESSAGES[DeviceFailure.BAD_DOCUMENT] = _PRINTER_MESSAGES[DeviceFailure.NO_DOCUMENT]
_PRINTER_MESSAGES[DeviceFailure.TOO_LARGE] = _PRINTER_MESSAGES[DeviceFailure.NO_DOCUMENT]


def printer_message(reason: DeviceFailure) -> str:
    """What to tell a resident whose print met ``reason`` (a French message id: translate it)."""
    return _PRINTER_MESSAGES.get(reason, _ASK)
