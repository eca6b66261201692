"""Recording usage events: one call that never blocks the screen and never raises.

The shell calls :meth:`StatsRecorder.record`. The event is written at once when the database
takes it (autocommit, no waiting for a lock); otherwise it waits in a bounded memory buffer and
is written with the next event or :meth:`StatsRecorder.flush`. If the buffer overflows (disk full
for hours), the oldest waiting events are dropped and the number dropped is itself recorded as an
``events_lost`` event as soon as writing works again.

Each event is stamped with a wall-clock time the terminal can trust (see :class:`EventClock`):
never earlier than what it has already recorded, never in the year 2000 after a dead RTC battery.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path

from kiosk.core.ports import Clock
from kiosk.core.stats.events import Event, EventsLost
from kiosk.core.store import Store

log = logging.getLogger(__name__)

CLOCK_FLOOR = datetime(2026, 1, 1, tzinfo=UTC)
"""No event of this software can happen before this date: a wall clock showing earlier is wrong."""

BACKWARD_TOLERANCE_MS = 5 * 60 * 1000
"""A wall clock behind what was already recorded by more than this is not trusted."""

DEFAULT_BUFFER = 10_000

_INSERT = "INSERT INTO events (ts_ms, boot, mono, session, kind, data) VALUES (?, ?, ?, ?, ?, ?)"
Row = tuple[int | None, str, float, str | None, str, str]


def read_boot_id(path: Path = Path("/proc/sys/kernel/random/boot_id")) -> str:
    """The kernel's id of this boot (CLOCK_BOOTTIME readings are comparable within one boot)."""
    try:
        return path.read_text(encoding="ascii").strip() or "unknown"
    except OSError:
        return "unknown"


class EventClock:
    """Wall-clock stamps that can be trusted, derived from the system clock and CLOCK_BOOTTIME.

    * A wall clock before :data:`CLOCK_FLOOR` is wrong (a dead RTC battery says 2000).
    * Within one boot, a wall clock that falls behind the newest stamp by more than
      :data:`BACKWARD_TOLERANCE_MS` is wrong: time then continues from that stamp by the
      boot-time clock, which never jumps. Small steps back are absorbed: stamps never go
      backwards within a boot, so no event lands in a day that was already closed.
    * When the wall clock is wrong and nothing of this boot is known, the event is left undated
      (``None``) and dated later from its boot-time once the clock is right: :func:`date_undated`.
    * In a new boot a plausible wall clock is trusted even if it is behind the last boot's
      stamps: it may have been wrong then. Events that fall into a closed day that way are
      counted in the next open day by the aggregator, never lost.
    """

    def __init__(self, clock: Clock, boot: str, last: tuple[int, str, float] | None = None) -> None:
        self._clock = clock
        self._boot = boot
        self._anchor: tuple[int, float] | None = None  # (ts_ms, mono) of the newest stamp of this boot
        self._stamping = threading.Lock()  # a booking stamps its event on a thread of its own
        if last is not None and last[1] == boot:
            self._anchor = (last[0], last[2])

    def trusted_now(self) -> tuple[int, float] | None:
        """``(utc_ms, mono)`` if the wall clock itself can be trusted right now, else ``None``."""
        wall = self._clock.now()
        mono = self._clock.monotonic()
        if wall < CLOCK_FLOOR:
            return None
        ms = int(wall.timestamp() * 1000)
        if self._anchor is not None and ms < self._anchor[0] - BACKWARD_TOLERANCE_MS:
            return None
        return ms, mono

    def stamp(self) -> tuple[int | None, float]:
        """``(utc_ms or None, mono)`` for an event happening now."""
        with self._stamping:
            return self._stamp()

    def _stamp(self) -> tuple[int | None, float]:
        trusted = self.trusted_now()
        if trusted is not None:
            ms, mono = trusted
        else:
            mono = self._clock.monotonic()
            if self._anchor is None:
                return None, mono
            ms = self._anchor[0] + int(max(0.0, mono - self._anchor[1]) * 1000)
        if self._anchor is not None and ms < self._anchor[0]:
            ms = self._anchor[0]  # never backwards within a boot
        self._anchor = (ms, mono)
        return ms, mono

    @property
    def boot(self) -> str:
        return self._boot


class StatsRecorder:
    """Appends events to the store; see the module's docstring for the guarantees."""

    def __init__(
        self,
        store: Store | None,
        clock: Clock,
        *,
        boot: str | None = None,
        buffer_limit: int = DEFAULT_BUFFER,
    ) -> None:
        self._store = store
        self._buffer: deque[Row] = deque()
        self._limit = max(1, buffer_limit)
        self._lost = 0  # dropped, not yet recorded as an EventsLost event
        self.lost_total = 0
        self.written = 0
        self._needs_dating = False
        self._failures = 0  # consecutive write failures, for quiet logging
        boot = boot or read_boot_id()
        last = last_stamp(store) if store is not None else None
        self.clock = EventClock(clock, boot, last)
        if store is not None:
            self._needs_dating = self._count_undated() > 0

    # -- the one call -------------------------------------------------------------------------
    def record(self, event: Event, session: str | None = None) -> bool:
        """Record ``event``; ``True`` once it is committed to the database (acknowledged)."""
        try:
            ts, mono = self.clock.stamp()
            row: Row = (ts, self.clock.boot, mono, session, event.kind, event.model_dump_json())
            if self._store is None:
                self._keep(row)
                return False
            if ts is None:
                self._needs_dating = True
            elif self._needs_dating:
                self._date_undated()
            if self._buffer or self._lost:
                self._buffer.append(row)
                self._trim()
                return self.flush() and not self._buffer
            self._store.conn.execute(_INSERT, row)
            self.written += 1
            return True
        except sqlite3.Error as error:
            self._keep(row)
            self._warn("stats.write_deferred", error)
            return False
        except Exception:  # never let statistics break the resident's screen
            log.exception("stats.record_failed", extra={"kind": getattr(event, "kind", "?")})
            return False

    def record_in(self, conn: sqlite3.Connection, event: Event, session: str | None = None) -> None:
        """Add ``event`` to the transaction the caller holds open on ``conn``: committed with
        what it counts (a booking and its usage event), or not at all. Errors go to the caller."""
        ts, mono = self.clock.stamp()
        if ts is None:
            self._needs_dating = True
        conn.execute(_INSERT, (ts, self.clock.boot, mono, session, event.kind, event.model_dump_json()))

    def flush(self) -> bool:
        """Write what waits in memory; ``True`` if nothing is left waiting."""
        if self._store is None or not (self._buffer or self._lost):
            return not self._buffer
        rows = list(self._buffer)
        if self._lost:
            ts, mono = self.clock.stamp()
            lost = EventsLost(count=self._lost).model_dump_json()
            rows.append((ts, self.clock.boot, mono, None, EventsLost.kind, lost))
        try:
            with self._store.transaction() as conn:
                conn.executemany(_INSERT, rows)
        except sqlite3.Error as error:
            self._warn("stats.flush_failed", error)
            return False
        except Exception:
            log.exception("stats.flush_failed")
            return False
        self.written += len(self._buffer)
        if self._failures:
            log.info("stats.writing_again", extra={"written": len(self._buffer), "failures": self._failures})
            self._failures = 0
        self._buffer.clear()
        if self._lost:
            log.error("stats.events_lost_recorded", extra={"count": self._lost})
            self._lost = 0
        return True

    @property
    def waiting(self) -> int:
        return len(self._buffer)

    # -- internals ----------------------------------------------------------------------------
    def _warn(self, event: str, error: sqlite3.Error) -> None:
        """Log the first failure of a run of them, then one in a thousand: a locked database
        must not flood the journal with a line per event."""
        if self._failures % 1000 == 0:
            log.warning(event, extra={"error": str(error), "waiting": len(self._buffer), "failures": self._failures})
        self._failures += 1

    def _keep(self, row: Row) -> None:
        self._buffer.append(row)
        self._trim()

    def _trim(self) -> None:
        while len(self._buffer) > self._limit:
            self._buffer.popleft()
            self._lost += 1
            self.lost_total += 1

    def _count_undated(self) -> int:
        assert self._store is not None
        try:
            row = self._store.conn.execute(
                "SELECT COUNT(*) FROM events WHERE ts_ms IS NULL AND boot = ?", (self.clock.boot,)
            ).fetchone()
            return int(row[0])
        except sqlite3.Error:
            return 0

    def _date_undated(self) -> None:
        """The clock is right again: date this boot's undated events by their boot-time."""
        assert self._store is not None
        trusted = self.clock.trusted_now()
        if trusted is None:
            return
        date_undated(self._store, self.clock.boot, *trusted)
        self._needs_dating = False


def last_stamp(store: Store) -> tuple[int, str, float] | None:
    """``(ts_ms, boot, mono)`` of the newest dated event, or ``None`` (none yet, or unreadable)."""
    try:
        row = store.conn.execute(
            "SELECT ts_ms, boot, mono FROM events WHERE ts_ms IS NOT NULL ORDER BY ts_ms DESC, id DESC LIMIT 1"
        ).fetchone()
    except sqlite3.Error as error:
        log.warning("stats.last_stamp_unknown", extra={"error": str(error)})
        return None
    return None if row is None else (int(row[0]), str(row[1]), float(row[2]))


def date_undated(store: Store, boot: str, now_ms: int, now_mono: float) -> int:
    """Give undated events of ``boot`` the time they happened, from a trusted reading now.

    Returns how many were dated. Used by the recorder and by the agent before aggregating.
    """
    with store.transaction() as conn:
        cursor = conn.execute(
            "UPDATE events SET ts_ms = ? - CAST(ROUND((? - mono) * 1000) AS INTEGER) "
            "WHERE ts_ms IS NULL AND boot = ? AND mono <= ?",
            (now_ms, now_mono, boot, now_mono),
        )
        dated = cursor.rowcount
    if dated:
        log.info("stats.events_dated", extra={"count": dated})
    return int(dated)
