"""Protocols the core needs from the outside world.

The shell and the agent hand the core objects that satisfy these protocols; the
devices package implements them for real hardware and ships fakes of the same shape.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    """Time, injected so that every timing rule can be tested without waiting."""

    def now(self) -> datetime:
        """Wall-clock time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        # CLOCK_BOOTTIME keeps counting while the machine is suspended: a terminal that sleeps
        # with a session open must find it expired on waking, not resume the last resident's pages.
        return time.clock_gettime(time.CLOCK_BOOTTIME)


class ManualClock:
    """A clock that only moves when told to: for tests and simulations."""

    def __init__(self, start: datetime | None = None, monotonic: float = 1000.0) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self._mono = monotonic

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def set_wall(self, when: datetime) -> None:
        """Set the wall clock alone (an NTP step, a dead RTC): monotonic time does not move."""
        self._now = when

    def advance(self, seconds: float) -> None:
        from datetime import timedelta

        self._mono += seconds
        self._now += timedelta(seconds=seconds)


class PrinterError(Exception):
    """The printer could not take the job; the message is for staff logs.

    ``code`` is a short identifier for statistics ("offline", "paper_out", "jam", "failed").
    """

    def __init__(self, message: str, code: str = "failed") -> None:
        super().__init__(message)
        self.code = code


class Printer(Protocol):
    """Something that prints PDF files."""

    def print_pdf(self, path: Path, title: str, copies: int = 1) -> str:
        """Queue a PDF; return a job id. Raises PrinterError when the printer cannot take it."""
        ...
