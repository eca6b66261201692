"""The adapters for "no such device here" (``printer = "none"`` in kiosk.toml, or nothing found).

Not fakes: they are what production uses when a centre has no printer, scanner or ticket
printer. Every call says ABSENT, so the features say so in French instead of failing.
"""

from __future__ import annotations

from pathlib import Path

from kiosk.core.devices import (
    DeviceFailure,
    DeviceState,
    DeviceStatus,
    JobId,
    JobNotFound,
    JobStatus,
    PrinterStatus,
    PrinterUnavailable,
    PrintOptions,
    ScannerInfo,
    ScannerUnavailable,
    ScanOptions,
    Ticket,
    TicketPrinterError,
)

_ABSENT = frozenset({DeviceFailure.ABSENT})


class NoPrinter:
    def __init__(self, why: str = "no printer configured") -> None:
        self.why = why  # for logs: "printer = none", "pycups is not installed"…

    def submit(self, pdf: Path, *, title: str, copies: int = 1, options: PrintOptions | None = None) -> JobId:
        raise PrinterUnavailable(self.why, DeviceFailure.ABSENT)

    def job(self, job_id: JobId) -> JobStatus:
        raise JobNotFound(f"no job {job_id}: {self.why}", DeviceFailure.ABSENT)

    def cancel(self, job_id: JobId, *, purge: bool = True) -> None:
        return None  # nothing was ever queued

    def release(self, job_id: JobId) -> None:
        raise JobNotFound(f"no job {job_id}: {self.why}", DeviceFailure.ABSENT)

    def status(self) -> PrinterStatus:
        return PrinterStatus(DeviceState.ABSENT, _ABSENT, message=self.why)


class NoScanner:
    def __init__(self, why: str = "no scanner configured") -> None:
        self.why = why

    def devices(self) -> list[ScannerInfo]:
        return []

    def scan(self, directory: Path, options: ScanOptions, device_id: str | None = None) -> list[Path]:
        raise ScannerUnavailable(self.why, DeviceFailure.ABSENT)

    def cancel(self) -> None:
        return None

    def status(self) -> DeviceStatus:
        return DeviceStatus(DeviceState.ABSENT, _ABSENT, message=self.why)


class NoTicketPrinter:
    def __init__(self, why: str = "no ticket printer configured") -> None:
        self.why = why

    def print_ticket(self, ticket: Ticket) -> None:
        raise TicketPrinterError(self.why, DeviceFailure.ABSENT)

    def status(self) -> DeviceStatus:
        return DeviceStatus(DeviceState.ABSENT, _ABSENT, message=self.why)
