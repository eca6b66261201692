"""The adapters ``[devices]`` in kiosk.toml chooses. Never a fake: a device that is not there is
the matching ``absent`` adapter, whose calls say ABSENT so that features say so in French.

Nothing here talks to a device: building is instant (the shell starts without waiting for
cupsd); "auto" adapters find their device at each call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kiosk.core.devices import DeviceFailure, DeviceState, DeviceStatus, Printer, Scanner, TicketPrinter
from kiosk.core.ports import ButtonSource
from kiosk.core.settings import DevicesSettings
from kiosk.devices.absent import NoPrinter, NoScanner, NoTicketPrinter

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Devices:
    printer: Printer
    scanner: Scanner
    ticket_printer: TicketPrinter


def build_printer(settings: DevicesSettings) -> Printer:
    if settings.printer == "none":
        return NoPrinter("printer = none in kiosk.toml")
    try:
        from kiosk.devices.cups import CupsPrinter
    except ImportError as error:  # pycups or libcups missing: a broken install, said loudly
        log.error("devices.cups_unavailable", extra={"error": str(error)})
        return NoPrinter(f"pycups cannot be imported: {error}")
    printer = CupsPrinter(settings.printer_queue or None, detect=settings.printer == "auto")
    log.info("devices.printer", extra={"adapter": repr(printer)})
    return printer


def build_scanner(settings: DevicesSettings) -> Scanner:
    if settings.scanner == "none":
        return NoScanner("scanner = none in kiosk.toml")
    try:
        from kiosk.devices.sane import SaneScanner
    except ImportError as error:  # python-sane or libsane missing: a broken install, said loudly
        log.error("devices.sane_unavailable", extra={"error": str(error)})
        return NoScanner(f"python-sane cannot be imported: {error}")
    scanner = SaneScanner(settings.scanner_device or None)
    log.info("devices.scanner", extra={"adapter": repr(scanner)})
    return scanner


def build_ticket_printer(settings: DevicesSettings) -> TicketPrinter:
    if settings.ticket_printer == "none":
        return NoTicketPrinter("ticket_printer = none in kiosk.toml")
    try:
        from kiosk.devices.escpos import EscposTicketPrinter
    except ImportError as error:  # python-escpos missing: a broken install, said loudly
        log.error("devices.escpos_unavailable", extra={"error": str(error)})
        return NoTicketPrinter(f"python-escpos cannot be imported: {error}")
    ticket_printer = EscposTicketPrinter.from_settings(settings.ticket_printer, settings.ticket)
    log.info("devices.ticket_printer", extra={"adapter": repr(ticket_printer)})
    return ticket_printer


def build_buttons(settings: DevicesSettings) -> ButtonSource | None:
    """The physical buttons ``[devices.buttons]`` names, or ``None`` (none configured, or a key
    name Linux does not know: said in the log, and the kiosk runs without them)."""
    if not settings.buttons.device:
        return None
    try:
        from kiosk.devices.evdev import ButtonConfigError, EvdevButtons
    except ImportError as error:  # python-evdev missing: a broken install, said loudly
        log.error("devices.evdev_unavailable", extra={"error": str(error)})
        return None
    try:
        buttons = EvdevButtons.from_settings(settings.buttons)
    except ButtonConfigError as error:
        log.error("devices.buttons_invalid", extra={"error": str(error)})
        return None
    log.info("devices.buttons", extra={"adapter": repr(buttons)})
    return buttons


def check_touchscreen() -> DeviceStatus:
    """Is there a touchscreen? (At start, off the GUI thread: it opens every input device.)"""
    try:
        from kiosk.devices.evdev import touchscreen_status
    except ImportError as error:
        log.error("devices.evdev_unavailable", extra={"error": str(error)})
        return DeviceStatus(DeviceState.ABSENT, frozenset({DeviceFailure.ABSENT}), message=str(error))
    return touchscreen_status()


def build_devices(settings: DevicesSettings) -> Devices:
    return Devices(build_printer(settings), build_scanner(settings), build_ticket_printer(settings))
