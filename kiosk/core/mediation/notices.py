"""What the agent sends people — reminders, alerts — each sent once, in the shared database.

Every message the terminal means to send is a row of ``notifications`` under a key that says
what it is (``reminder:<ref>:<start ms>:email``, ``alert:<call id>:webhook``), made once
(``INSERT OR IGNORE``). A sender *claims* the row (``sending``, one more attempt) in a committed
transaction before it hands the message over, and records the answer after: ``sent`` is final,
so no later run, retry or restart sends it again. A failure that may pass (a server down, a 5xx,
a timeout) puts the row back to ``pending`` for later, with a growing pause, until
``max_attempts``; one that cannot (an address refused) is ``failed`` at once. A row left
``sending`` by an agent that died in the middle is tried again once it is :data:`STALE` (it may
have gone: the message keeps the same id — e-mail Message-ID, gateway ``{id}`` — so that a
server that checks ids drops the second).

No address and no text is stored: they are read from the appointment or the call when sent,
so wiping a resident's contact leaves nothing here. Pure: no network (the agent's adapters send).
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from kiosk.core.mediation.storage import WRITE_WAIT_S, from_ms, to_ms, write
from kiosk.core.ports import Clock
from kiosk.core.store import Store

log = logging.getLogger(__name__)

STALE = timedelta(minutes=10)
"""A claim older than this, never answered, was cut short (the agent stopped): tried again."""
ERROR_MAX = 300
SENT_WAIT_S = 30.0
"""How long recording a message as sent may wait for the database: not recorded, it would be
sent again once its claim is stale."""


class NoticeKind(StrEnum):
    REMINDER = "reminder"
    ALERT = "alert"


class NoticeChannel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WEBHOOK = "webhook"


class NoticeState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # given up: staff read why in the log
    DROPPED = "dropped"  # no longer needed (appointment cancelled or moved, call taken)


FINAL = (NoticeState.SENT, NoticeState.FAILED, NoticeState.DROPPED)


class DeliveryError(Exception):
    """A message that did not go through, in words for staff's logs (no address, no text).

    ``permanent``: trying again cannot help (an address refused). ``unreachable``: the server
    did not answer (down, hanging): the run's other messages on that channel wait for the next.
    """

    def __init__(self, reason: str, *, permanent: bool = False, unreachable: bool = False) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.unreachable = unreachable


@dataclass(frozen=True)
class Backoff:
    """The pause before attempt n+1: ``first_s`` doubled each time, at most ``cap_s``."""

    first_s: float
    cap_s: float

    def after(self, attempts: int) -> timedelta:
        return timedelta(seconds=min(self.cap_s, self.first_s * 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Notice:
    key: str
    kind: NoticeKind
    channel: NoticeChannel
    subject: str  # the appointment's ref, or the call's id
    state: NoticeState
    attempts: int
    next_attempt: datetime
    last_error: str | None


_COLUMNS = "key, kind, channel, subject, state, attempts, next_attempt_ms, last_error"


def _notice(row: tuple[object, ...]) -> Notice:
    key, kind, channel, subject, state, attempts, next_ms, error = row
    return Notice(
        key=str(key),
        kind=NoticeKind(str(kind)),
        channel=NoticeChannel(str(channel)),
        subject=str(subject),
        state=NoticeState(str(state)),
        attempts=int(str(attempts)),
        next_attempt=from_ms(int(str(next_ms))) or datetime.min,
        last_error=None if error is None else str(error),
    )


class Ledger:
    """The ``notifications`` table: one row per message meant, its attempts and its end."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def ensure(self, key: str, kind: NoticeKind, channel: NoticeChannel, subject: str) -> bool:
        """Mean to send ``key`` (due now); ``False`` when it was already meant (whatever its state)."""
        now_ms = to_ms(self.clock.now())
        made = self._run(
            "INSERT OR IGNORE INTO notifications (key, kind, channel, subject, state, next_attempt_ms, "
            "created_ms, updated_ms) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?)",
            (key, kind, channel, subject, now_ms, now_ms, now_ms),
        )
        return made == 1

    def get(self, key: str) -> Notice | None:
        row = self.store.conn.execute(f"SELECT {_COLUMNS} FROM notifications WHERE key = ?", (key,)).fetchone()
        return None if row is None else _notice(row)

    def due(self, kind: NoticeKind) -> list[Notice]:
        """Pending notices whose time has come, and claims cut short (oldest first)."""
        now = self.clock.now()
        rows = self.store.conn.execute(
            f"SELECT {_COLUMNS} FROM notifications WHERE kind = ? AND ((state = 'pending' AND next_attempt_ms <= ?) "
            "OR (state = 'sending' AND updated_ms <= ?)) ORDER BY next_attempt_ms, key",
            (kind, to_ms(now), to_ms(now - STALE)),
        ).fetchall()
        return [_notice(row) for row in rows]

    def claim(self, notice: Notice) -> bool:
        """Take ``notice`` for one attempt, committed before anything is sent. ``False``: someone
        else changed it since it was read (nothing to do)."""
        if notice.state is NoticeState.SENDING:
            log.warning("notify.interrupted_retry", extra={"notice": notice.key, "attempts": notice.attempts})
        changed = self._run(
            "UPDATE notifications SET state = 'sending', attempts = attempts + 1, updated_ms = ? "
            "WHERE key = ? AND state = ? AND attempts = ?",
            (to_ms(self.clock.now()), notice.key, notice.state, notice.attempts),
        )
        return changed == 1

    def sent(self, key: str) -> None:
        now_ms = to_ms(self.clock.now())
        sql = "UPDATE notifications SET state = 'sent', sent_ms = ?, last_error = NULL, updated_ms = ? WHERE key = ?"
        self._run(sql, (now_ms, now_ms, key), wait_s=SENT_WAIT_S)
        log.info("notify.sent", extra={"notice": key})

    def failed(
        self, key: str, error: DeliveryError, *, max_attempts: int, backoff: Backoff, give_up_at: datetime | None = None
    ) -> NoticeState:
        """Record a failed attempt: later again (``pending``), or given up (``failed``) when it
        cannot pass, after ``max_attempts``, or when the next try would come after ``give_up_at``."""
        now = self.clock.now()
        attempts = int(
            self.store.conn.execute("SELECT attempts FROM notifications WHERE key = ?", (key,)).fetchone()[0]
        )
        later = now + backoff.after(attempts)
        final = error.permanent or attempts >= max_attempts or (give_up_at is not None and later >= give_up_at)
        state = NoticeState.FAILED if final else NoticeState.PENDING
        self._set(
            key,
            "state = ?, next_attempt_ms = ?, last_error = ?, updated_ms = ?",
            (state, to_ms(later), str(error)[:ERROR_MAX], to_ms(now)),
        )
        extra = {"notice": key, "attempts": attempts, "error": str(error)[:ERROR_MAX]}
        if final:
            log.error("notify.given_up", extra=extra)
        else:
            log.warning("notify.retry_later", extra={**extra, "next_attempt": later.isoformat()})
        return state

    def drop(self, key: str, why: str) -> None:
        """No longer to be sent (its appointment was cancelled or moved, its call taken)."""
        self._set(key, "state = 'dropped', last_error = ?, updated_ms = ?", (why, to_ms(self.clock.now())))
        log.info("notify.dropped", extra={"notice": key, "why": why})

    def forget(self, older_than: timedelta) -> int:
        """Delete finished rows not touched for ``older_than`` (they hold no personal data)."""
        limit = to_ms(self.clock.now() - older_than)
        marks = ", ".join("?" for _ in FINAL)
        return self._run(f"DELETE FROM notifications WHERE state IN ({marks}) AND updated_ms < ?", (*FINAL, limit))

    def _set(self, key: str, assignments: str, params: tuple[object, ...]) -> None:
        self._run(f"UPDATE notifications SET {assignments} WHERE key = ?", (*params, key))

    def _run(self, sql: str, params: tuple[object, ...], wait_s: float = WRITE_WAIT_S) -> int:
        """One statement in a write transaction of its own; the rows it changed."""

        def run(conn: sqlite3.Connection) -> int:
            return int(conn.execute(sql, params).rowcount)

        return write(self.store, run, wait_s)
