"""ESC/POS ticket printers with python-escpos: network (raw TCP, port 9100), USB and serial.

Each ticket is composed first, into python-escpos's ``Dummy`` printer (so that nothing half
made ever reaches the paper), then sent in one write over a connection opened for that ticket
and closed after it: a printer switched off and on again, or a cable replugged, works at the
next ticket. Before sending, the printer is asked for its real-time status (DLE EOT: online,
offline cause, paper sensors); a printer that says "no paper" or "cover open" gets nothing.

What is sent, in this order: ESC @ (reset), ESC t n (the code page, CP1252 or CP858: both have
every French letter, CP858 lacks œ and the curly apostrophe, which are written oe and '), the
title centred in bold, the heading in double height, the number in 4× size (GS !), the
paragraphs wrapped to the paper's width, the QR code, ESC d (feed) and GS V 1 (partial cut:
the ticket stays in the mouth of the printer until taken).

The QR code is printed by the printer itself (GS ( k, ``qr = "native"``): Epson TM-T20/T70/T88
and the common clones (Xprinter, Rongta, Bixolon, Star in ESC/POS mode) support it and print
crisp codes from a few hundred bytes. ``qr = "image"`` sends it as a raster image (GS v 0), which
every printer with graphics prints, at ten times the bytes (slow over a 9600-baud serial line).

Every failure is a :class:`~kiosk.core.devices.TicketPrinterError` with a reason; every wait is
bounded by ``timeout_s``. One call at a time (a lock): safe from the shell's worker threads.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from kiosk.core.devices import (
    DeviceFailure,
    DeviceState,
    DeviceStatus,
    DeviceWarning,
    Ticket,
    TicketPrinterError,
    wrap_paragraph,
)
from kiosk.core.settings import TicketPrinterSettings

if TYPE_CHECKING:
    from escpos.escpos import Escpos

# python-escpos is imported where it is used, never when this module is: it reads its printer
# profiles at import (about 0.4 s here), which the shell would pay on its GUI thread at start;
# tickets are composed and sent on a worker thread, where that first import belongs.

log = logging.getLogger(__name__)

DLE_EOT = b"\x10\x04"
ONLINE, OFFLINE_CAUSE, PAPER = 1, 2, 4  # DLE EOT n: which status byte to send back
NUMBER_SIZE = 4  # the number is 4× wide and tall: 8 characters still fit a 58 mm roll

CODECS = {"CP1252": "cp1252", "CP858": "cp858"}
_SPELLED = {"œ": "oe", "Œ": "OE", "’": "'", "‘": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "..."}
_SPACES = "\u00a0\u202f\u2009"  # Babel's French formats put narrow no-break spaces before ":" and "h"


def printable(text: str, code_page: str) -> str:
    """``text`` with every character the code page lacks spelled another way (or ``?``)."""
    codec = CODECS[code_page]
    out = []
    for char in text:
        char = " " if char in _SPACES else char
        try:
            char.encode(codec)
        except UnicodeEncodeError:
            char = _SPELLED.get(char, "?")
        out.append(char)
    return "".join(out)


def qr_module_size(payload: str, dots: int) -> int:
    """Dots per QR module so that the code and its quiet zone fit the paper (1 to 8)."""
    import qrcode

    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    code.add_data(payload)
    code.make(fit=True)
    modules = 17 + 4 * int(code.version) + 8
    return max(1, min(8, dots // modules))


def render(ticket: Ticket, settings: TicketPrinterSettings) -> bytes:
    """The ESC/POS bytes of one ticket (pure: no device touched)."""
    from escpos.constants import QR_ECLEVEL_M
    from escpos.printer import Dummy

    out = Dummy()
    out.hw("INIT")
    out.charcode(settings.code_page)

    def lines(texts: list[str]) -> None:
        for text in texts:
            out.textln(printable(text, settings.code_page))

    if ticket.title:
        out.set(align="center", bold=True)
        lines(wrap_paragraph(ticket.title, settings.width))
        out.set(bold=False)
    if ticket.heading:
        out.set(align="center", double_height=True)  # taller, not wider: the same width
        lines(wrap_paragraph(ticket.heading, settings.width))
        out.set(normal_textsize=True)
    if ticket.number:
        out.set(align="center", custom_size=True, width=NUMBER_SIZE, height=NUMBER_SIZE)
        lines([ticket.number])
        out.set(custom_size=True, width=1, height=1)
    out.set(align="left")
    lines(ticket.wrapped(settings.width))
    if ticket.qr:
        out.set(align="center")
        out.ln()
        size = qr_module_size(ticket.qr, settings.dots)
        if settings.qr == "native":
            out.qr(ticket.qr, native=True, size=size, ec=QR_ECLEVEL_M)
        else:
            out.qr(ticket.qr, native=False, size=size, ec=QR_ECLEVEL_M, image_arguments={"center": False})
        out.set(align="left")
    out.cut(mode="PART")
    return bytes(out.output)


def _status(online: int, cause: int | None, paper: int) -> DeviceStatus:
    """Epson's real-time status bytes (DLE EOT 1, 2, 4) as a DeviceStatus."""
    reasons: set[DeviceFailure] = set()
    warnings: set[DeviceWarning] = set()
    if paper & 0x60:  # paper end sensor
        reasons.add(DeviceFailure.PAPER_OUT)
    elif paper & 0x0C:  # near-end sensor
        warnings.add(DeviceWarning.PAPER_LOW)
    if cause is not None:  # the printer said it is offline: why
        if cause & 0x04:
            reasons.add(DeviceFailure.DOOR_OPEN)
        if cause & 0x20:
            reasons.add(DeviceFailure.PAPER_OUT)
        if not reasons:
            reasons.add(DeviceFailure.UNKNOWN)
    state = DeviceState.OFFLINE if reasons else DeviceState.READY
    message = f"status bytes online={online:#04x} cause={cause if cause is None else hex(cause)} paper={paper:#04x}"
    return DeviceStatus(state, frozenset(reasons), frozenset(warnings), message=message)


class EscposTicketPrinter:
    """The TicketPrinter port on a python-escpos printer that ``connect`` builds (unopened)."""

    def __init__(
        self,
        connect: Callable[[], Escpos],
        settings: TicketPrinterSettings,
        *,
        where: str,
        missing: DeviceFailure = DeviceFailure.OFFLINE,
    ) -> None:
        self._connect = connect
        self.settings = settings
        self.where = where  # for logs: "network 192.168.1.50:9100"
        self._missing = missing  # what a device that cannot be opened is (a gone USB device: ABSENT)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"EscposTicketPrinter({self.where})"

    @classmethod
    def from_settings(cls, kind: str, settings: TicketPrinterSettings) -> EscposTicketPrinter:
        timeout = settings.timeout_s

        def network() -> Escpos:
            from escpos.printer import Network

            return Network(settings.host, settings.port, timeout=timeout)

        def usb() -> Escpos:
            from escpos.printer import Usb

            return Usb(
                settings.usb_vendor,
                settings.usb_product,
                timeout=int(timeout * 1000),
                in_ep=settings.usb_in_endpoint,
                out_ep=settings.usb_out_endpoint,
            )

        def serial() -> Escpos:
            from escpos.printer import Serial

            return Serial(settings.serial_device, settings.baudrate, timeout=timeout)

        if kind == "network":
            return cls(
                network,
                settings,
                where=f"network {settings.host}:{settings.port}",
            )
        if kind == "usb":
            return cls(
                usb,
                settings,
                where=f"usb {settings.usb_vendor:04x}:{settings.usb_product:04x}",
                missing=DeviceFailure.ABSENT,
            )
        if kind == "serial":
            return cls(
                serial,
                settings,
                where=f"serial {settings.serial_device} at {settings.baudrate} baud",
                missing=DeviceFailure.ABSENT,
            )
        raise ValueError(f"no ESC/POS connection of kind {kind!r}")

    # -- the port ---------------------------------------------------------------------------

    def print_ticket(self, ticket: Ticket) -> None:
        try:
            data = render(ticket, self.settings)
        except Exception as error:  # python-escpos or qrcode refusing the ticket: never a bare error
            log.error("ticket_printer.render_failed", extra={"where": self.where, "error": repr(error)})
            raise TicketPrinterError(
                f"{self.where}: cannot compose the ticket: {error!r}", DeviceFailure.BAD_DOCUMENT
            ) from error
        with self._lock, self._open() as printer:
            if self.settings.ask_status:
                status = self._ask(printer)
                if not status.usable:
                    reason = sorted(status.reasons, key=list(DeviceFailure).index)[0]
                    log.warning("ticket_printer.refused", extra={"where": self.where, "reason": reason.value})
                    raise TicketPrinterError(f"{self.where}: {status.message}", reason)
            printer._raw(data)  # one write: python-escpos has no public raw call
        log.info("ticket_printer.printed", extra={"where": self.where, "bytes": len(data)})

    def status(self) -> DeviceStatus:
        try:
            with self._lock, self._open() as printer:
                if not self.settings.ask_status:
                    return DeviceStatus(DeviceState.READY, message="reachable; status not asked (ask_status = false)")
                return self._ask(printer)
        except TicketPrinterError as error:
            state = DeviceState.ABSENT if error.reason is DeviceFailure.ABSENT else DeviceState.OFFLINE
            return DeviceStatus(state, frozenset({error.reason}), message=str(error))

    # -- inside ------------------------------------------------------------------------------

    @contextmanager
    def _open(self) -> Iterator[Escpos]:
        """A connection for one call, closed after it; every failure a TicketPrinterError."""
        printer: Escpos | None = None
        try:
            from escpos.printer import Serial

            printer = self._connect()
            printer.open()
            if isinstance(printer, Serial):  # pyserial writes wait forever unless told
                printer.device.write_timeout = self.settings.timeout_s
            yield printer
        except TicketPrinterError:
            raise
        except Exception as error:  # the library's, the socket's, pyusb's, pyserial's
            raise self._fault(error) from error
        finally:
            if printer is not None:
                _close(printer)

    def _fault(self, error: BaseException) -> TicketPrinterError:
        from escpos.exceptions import DeviceNotFoundError

        detail = f"{self.where}: {type(error).__name__}: {error}".strip()
        if isinstance(error, DeviceNotFoundError):  # could not connect (refused, no route, unplugged)
            reason = self._missing
        elif type(error).__name__ == "NoBackendError":  # pyusb without libusb (Debian: libusb-1.0-0)
            reason = DeviceFailure.ABSENT
        elif isinstance(error, TimeoutError) or "timed out" in str(error).lower():
            reason = DeviceFailure.TIMED_OUT
        elif isinstance(error, OSError):
            reason = DeviceFailure.OFFLINE
        else:
            reason = DeviceFailure.UNKNOWN
        log.warning("ticket_printer.failed", extra={"where": self.where, "reason": reason.value, "error": detail})
        return TicketPrinterError(detail, reason)

    def _query(self, printer: Escpos, which: int) -> int:
        try:
            answer: Any = printer.query_status(DLE_EOT + bytes([which]))
        except TimeoutError:  # the socket's read (socket.timeout is TimeoutError since 3.10)
            answer = b""
        if not answer:  # pyserial's read gives b"" at its timeout
            raise TicketPrinterError(
                f"{self.where}: no answer to the status request (DLE EOT {which}) in {self.settings.timeout_s} s;"
                " set ask_status = false in [devices.ticket] if this printer never answers",
                DeviceFailure.TIMED_OUT,
            )
        byte = int(answer[0])
        if byte & 0x93 != 0x12:  # bits 1 and 4 set, 0 and 7 clear in every status byte
            raise TicketPrinterError(f"{self.where}: unexpected status byte {byte:#04x}", DeviceFailure.UNKNOWN)
        return byte

    def _ask(self, printer: Escpos) -> DeviceStatus:
        online = self._query(printer, ONLINE)
        cause = self._query(printer, OFFLINE_CAUSE) if online & 0x08 else None
        return _status(online, cause, self._query(printer, PAPER))


def _close(printer: Escpos) -> None:
    try:
        printer.close()
    except Exception as error:  # closing a broken connection: nothing left to do
        log.debug("ticket_printer.close_failed", extra={"error": str(error)})
