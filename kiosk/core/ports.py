"""Protocols the core needs from the outside world.

The shell and the agent hand the core objects that satisfy these protocols; the
devices package implements them for real hardware and ships fakes of the same shape.
The device ports (Printer, Scanner, TicketPrinter) and their vocabulary live in
``kiosk.core.devices``; the main ones are re-exported here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from kiosk.core.devices import Printer as Printer
from kiosk.core.devices import Scanner as Scanner
from kiosk.core.devices import TicketPrinter as TicketPrinter


class Clock(Protocol):
    """Time, injected so that every timing rule can be tested without waiting."""

    def now(self) -> datetime:
        """Wall-clock time, timezone-aware, in UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        ...


class ButtonSource(Protocol):
    """Physical buttons: each press becomes a verb of the top bar ("mediator", "end").

    ``start`` returns at once; ``deliver(verb)`` is then called from the source's own thread, once
    per press (never for a key held down or released), until ``stop``. A device that goes away is
    looked for again; it never raises into the caller.
    """

    def start(self, deliver: Callable[[str], None]) -> None: ...

    def stop(self) -> None:
        """Stop reading and let the device go (ungrabbed, closed); returns when the thread is gone."""
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
