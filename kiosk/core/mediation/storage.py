"""Writing to the shared database from either process, waiting a little for the other.

The shell's connection never waits for a lock (``busy_timeout = 0``: a locked database must not
freeze the screen), so a write that must happen — a call, a booking — is retried here for a short,
bounded time, off the GUI thread; the agent's connection already waits by itself.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from kiosk.core.store import Store

T = TypeVar("T")

EPOCH = datetime.fromtimestamp(0, UTC)  # what a missing time reads as (never: the columns are NOT NULL)

WRITE_WAIT_S = 3.0
"""How long a mediation write may wait for the other process before giving up."""


class StoreBusy(Exception):
    """The database stayed locked by the other process for longer than allowed."""


def write(store: Store, work: Callable[[sqlite3.Connection], T], wait_s: float = WRITE_WAIT_S) -> T:
    """Run ``work`` in one ``BEGIN IMMEDIATE`` transaction, retrying while the database is locked.

    ``work`` runs again from the start after a lock, so it must read what it needs inside.
    Errors other than a lock (constraint violations included) go to the caller.
    """
    deadline = time.monotonic() + wait_s
    pause = 0.002
    while True:
        try:
            with store.transaction() as conn:
                return work(conn)
        except sqlite3.OperationalError as error:
            text = str(error)
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                if "locked" in text or "busy" in text:
                    raise StoreBusy(f"the database stayed locked for {wait_s} s") from error
                raise
        time.sleep(pause * (1 + random.random()))  # jitter, not a secret
        pause = min(pause * 2, 0.05)


def to_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def from_ms(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)


# -- what moved the free slots ----------------------------------------------------------------
# The database's triggers count every change that can move a free slot (``slot_changes``) and
# note which slot each new booking took (``slot_takes``, the last 500): a list of free slots made
# at one count stays right at a later one if only bookings came in between, once their slots
# are taken out of it.
Take = tuple[str, datetime, datetime]  # the person booked, from, to


def slot_changes(conn: sqlite3.Connection) -> int:
    """How many changes that can move a free slot the database has counted."""
    return int(conn.execute("SELECT n FROM slot_changes").fetchone()[0])


def takes_since(conn: sqlite3.Connection, seen: int, now: int) -> list[Take] | None:
    """The slots booked after change ``seen`` up to change ``now``; ``None`` when any other
    change was counted in between (a cancellation, a move, a person, a closure)."""
    if now < seen:
        return None
    rows = conn.execute(
        "SELECT person_id, start_ms, end_ms FROM slot_takes WHERE n > ? AND n <= ?", (seen, now)
    ).fetchall()
    if len(rows) != now - seen:
        return None
    return [(person, from_ms(start) or EPOCH, from_ms(end) or EPOCH) for person, start, end in rows]


def takes_overlap(takes: list[Take], person_id: str, start: datetime, end: datetime) -> bool:
    return any(person == person_id and taken_from < end and start < taken_to for person, taken_from, taken_to in takes)
