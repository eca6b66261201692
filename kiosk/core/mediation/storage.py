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
