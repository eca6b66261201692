"""What the agent tells the shell through the database, besides the rows of calls and bookings.

- **The agent's beat**: the agent writes the time every few seconds (``AGENT_BEAT_S``). The shell
  reads it before offering a mediator call: a beat older than ``AGENT_SILENT_S`` means nobody can
  see the call in the console, so the page sends the resident to the reception desk instead.
- **The shell's beat**: the shell writes the time every ``SHELL_BEAT_S`` (from its GUI thread, one
  try that never waits: a locked database skips a beat). The console's health page reads it: a
  beat older than ``SHELL_SILENT_S`` means the terminal's screen is not running.
- **Staff presence**: the console's "présent / absent" toggle. Absent, or never set: no call is
  offered (an appointment is). It is kept until changed; it does not expire at the end of the day
  because the opening hours already say when the centre is closed.

Each is a single row of ``agent_status``; reading them never waits for a lock.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from kiosk.core.mediation.storage import from_ms, to_ms, write
from kiosk.core.store import Store

AGENT_BEAT_S = 5
"""The agent writes its beat this often."""
AGENT_SILENT_S = 30
"""A beat older than this: the agent (and its console) is taken as down."""

SHELL_BEAT_S = 30
"""The shell writes its beat this often."""
SHELL_SILENT_S = 90
"""A shell beat older than this: the shell is taken as down."""

_BEAT = "agent_beat"
_SHELL_BEAT = "shell_beat"
_PRESENT = "staff_present"


def _set(store: Store, key: str, value: str, at: datetime) -> None:
    def upsert(conn: sqlite3.Connection) -> None:
        conn.execute(
            "INSERT INTO agent_status (key, value, updated_ms) VALUES (?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
            (key, value, to_ms(at)),
        )

    write(store, upsert)


def _get(store: Store, key: str) -> tuple[str, datetime] | None:
    row = store.conn.execute("SELECT value, updated_ms FROM agent_status WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    at = from_ms(int(row[1]))
    assert at is not None
    return str(row[0]), at


def beat(store: Store, at: datetime) -> None:
    """The agent is alive at ``at`` (UTC-aware)."""
    _set(store, _BEAT, "alive", at)


def agent_alive(store: Store, now: datetime, silent_after_s: float = AGENT_SILENT_S) -> bool:
    """Whether the agent wrote its beat within ``silent_after_s`` of ``now`` (a beat from the
    future, a clock set back, counts as alive: the clock is wrong, not the agent)."""
    seen = _get(store, _BEAT)
    return seen is not None and now - seen[1] <= timedelta(seconds=silent_after_s)


def try_set(store: Store, key: str, value: str, at: datetime) -> bool:
    """One row of ``agent_status`` written in one try, never a wait (the shell's GUI thread
    writes so); whether it was written."""
    try:
        with store.transaction() as conn:
            conn.execute(
                "INSERT INTO agent_status (key, value, updated_ms) VALUES (?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
                (key, value, to_ms(at)),
            )
    except sqlite3.Error:
        return False  # locked by the agent right now, or the store is closing: the next beat will do
    return True


def read_status(store: Store, key: str) -> tuple[str, datetime] | None:
    """A row of ``agent_status``: its value and when it was written."""
    return _get(store, key)


def shell_beat(store: Store, at: datetime) -> bool:
    """The shell is alive at ``at``: one try, no wait (the GUI thread calls it); whether it was written."""
    return try_set(store, _SHELL_BEAT, "alive", at)


def shell_seen(store: Store) -> datetime | None:
    """When the shell last wrote its beat (``None``: never on this database)."""
    seen = _get(store, _SHELL_BEAT)
    return None if seen is None else seen[1]


def set_staff_present(store: Store, present: bool, at: datetime) -> None:
    _set(store, _PRESENT, "yes" if present else "no", at)


def staff_present(store: Store) -> bool:
    seen = _get(store, _PRESENT)
    return seen is not None and seen[0] == "yes"
