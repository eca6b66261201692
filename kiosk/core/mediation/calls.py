"""The mediator call queue, in the shared database: the shell opens calls, the console takes them.

A call gets the number of the day (1, 2, 3…, again from 1 each day in the centre's time zone),
a démarche category or ``None`` ("je ne sais pas"), and an optional first name that is wiped at
the end of the day. Its life: ``waiting → taken → done``, or ``cancelled`` (by the resident or
the staff), or ``missed`` (the resident's session ended, or the day did, while it waited).

Statistics get counts and waits only (:class:`~kiosk.core.stats.events.MediatorCall`), never a
name or a number. Every method commits before it records, so a statistic never counts a call
the database does not have.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from kiosk.core.mediation.contact import clean_first_name
from kiosk.core.mediation.hours import local_day
from kiosk.core.mediation.storage import from_ms, to_ms, write
from kiosk.core.mediation_config import MediatorSettings
from kiosk.core.ports import Clock
from kiosk.core.stats.events import MediatorCall
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Store
from sync.vocabulary import Category

log = logging.getLogger(__name__)

HANDLING_SAMPLE = 10
"""The wait estimate averages the handling time of this many of today's latest finished calls."""


class CallState(StrEnum):
    WAITING = "waiting"
    TAKEN = "taken"
    DONE = "done"
    CANCELLED = "cancelled"
    MISSED = "missed"


OPEN_STATES = (CallState.WAITING, CallState.TAKEN)


class CallStateError(Exception):
    """The call is not in a state that allows this (already taken, finished, unknown…)."""


@dataclass(frozen=True)
class Call:
    id: int
    day: date
    number: int
    category: Category | None  # None: "je ne sais pas"
    first_name: str | None
    state: CallState
    session: str | None
    opened: datetime
    taken: datetime | None
    closed: datetime | None


@dataclass(frozen=True)
class QueuePlace:
    """Where a call stands, for the resident's screen."""

    call: Call
    position: int | None  # 1: next to be taken; None once it is not waiting
    estimated_wait_s: float | None  # None once it is not waiting


_COLUMNS = "id, day, number, category, first_name, state, session, opened_ms, taken_ms, closed_ms"
_Row = tuple[int, str, int, str | None, str | None, str, str | None, int, int | None, int | None]


def _call(row: _Row) -> Call:
    return Call(
        id=row[0],
        day=date.fromisoformat(row[1]),
        number=row[2],
        category=Category(row[3]) if row[3] else None,
        first_name=row[4],
        state=CallState(row[5]),
        session=row[6],
        opened=from_ms(row[7]) or datetime.min,
        taken=from_ms(row[8]),
        closed=from_ms(row[9]),
    )


class CallQueue:
    """The queue of one terminal's centre. One per process, each on its own :class:`Store`."""

    def __init__(
        self,
        store: Store,
        settings: MediatorSettings,
        zone: ZoneInfo,
        clock: Clock,
        recorder: StatsRecorder | None = None,
    ) -> None:
        self.store, self.settings, self.zone, self.clock, self.recorder = store, settings, zone, clock, recorder

    # -- the resident ---------------------------------------------------------------------------
    def open(self, category: Category | None, first_name: str | None = None, session: str | None = None) -> Call:
        """Queue a new call; raises ContactError for a first name that is not one."""
        name = clean_first_name(first_name)
        now = self.clock.now()
        day = local_day(now, self.zone).isoformat()

        def insert(conn: sqlite3.Connection) -> int:
            number = conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM mediator_calls WHERE day = ?", (day,))
            cursor = conn.execute(
                "INSERT INTO mediator_calls (day, number, category, first_name, state, session, opened_ms) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (day, number.fetchone()[0], category, name, CallState.WAITING, session, to_ms(now)),
            )
            return int(cursor.lastrowid or 0)

        call = self._get(write(self.store, insert))
        self._record("opened", call, None)
        log.info("mediator.call_opened", extra={"call": call.id, "number": call.number})
        return call

    def place(self, call_id: int) -> QueuePlace:
        call = self._get(call_id)
        if call.state is not CallState.WAITING:
            return QueuePlace(call, None, None)
        ahead = self.store.conn.execute(
            "SELECT COUNT(*) FROM mediator_calls WHERE day = ? AND state = ? AND id < ?",
            (call.day.isoformat(), CallState.WAITING, call.id),
        ).fetchone()[0]
        return QueuePlace(call, ahead + 1, self.estimated_wait_s(ahead))

    def session_ended(self, session: str) -> list[Call]:
        """The resident left: their waiting calls are missed (a call already taken goes on)."""
        return self._close_where("session = ? AND state = ?", (session, CallState.WAITING), CallState.MISSED)

    # -- the staff ----------------------------------------------------------------------------
    def take(self, call_id: int) -> Call:
        return self._move(call_id, (CallState.WAITING,), CallState.TAKEN)

    def finish(self, call_id: int) -> Call:
        return self._move(call_id, (CallState.TAKEN,), CallState.DONE)

    def cancel(self, call_id: int) -> Call:
        return self._move(call_id, OPEN_STATES, CallState.CANCELLED)

    def today(self) -> list[Call]:
        """Today's calls, oldest first (the console's list)."""
        day = local_day(self.clock.now(), self.zone).isoformat()
        rows = self.store.conn.execute(f"SELECT {_COLUMNS} FROM mediator_calls WHERE day = ? ORDER BY id", (day,))
        return [_call(row) for row in rows.fetchall()]

    def get(self, call_id: int) -> Call | None:
        row = self.store.conn.execute(f"SELECT {_COLUMNS} FROM mediator_calls WHERE id = ?", (call_id,)).fetchone()
        return None if row is None else _call(row)

    # -- estimates ----------------------------------------------------------------------------
    def handling_s(self) -> float:
        """Average length of today's latest finished calls, or the configured default."""
        day = local_day(self.clock.now(), self.zone).isoformat()
        rows = self.store.conn.execute(
            "SELECT closed_ms - taken_ms FROM mediator_calls WHERE day = ? AND state = ? AND taken_ms IS NOT NULL "
            "ORDER BY closed_ms DESC LIMIT ?",
            (day, CallState.DONE, HANDLING_SAMPLE),
        ).fetchall()
        if not rows:
            return self.settings.default_handling_min * 60.0
        return max(60.0, sum(max(0, int(r[0])) for r in rows) / len(rows) / 1000)

    def estimated_wait_s(self, ahead: int) -> float:
        """The wait of a call with ``ahead`` calls waiting before it: theirs, plus what is left
        of the call being handled now (a mediator busy with someone)."""
        now_ms = to_ms(self.clock.now())
        handling = self.handling_s()
        day = local_day(self.clock.now(), self.zone).isoformat()
        oldest_taken = self.store.conn.execute(
            "SELECT MIN(taken_ms) FROM mediator_calls WHERE day = ? AND state = ?", (day, CallState.TAKEN)
        ).fetchone()[0]
        remaining = 0.0 if oldest_taken is None else max(0.0, handling - (now_ms - oldest_taken) / 1000)
        return ahead * handling + remaining

    def waiting_count(self) -> int:
        day = local_day(self.clock.now(), self.zone).isoformat()
        row = self.store.conn.execute(
            "SELECT COUNT(*) FROM mediator_calls WHERE day = ? AND state = ?", (day, CallState.WAITING)
        ).fetchone()
        return int(row[0])

    def is_long(self) -> bool:
        """Too many waiting, or a new caller would wait too long: offer an appointment instead."""
        waiting = self.waiting_count()
        if waiting >= self.settings.long_queue:
            return True
        return self.estimated_wait_s(waiting) >= self.settings.long_wait_min * 60

    # -- the end of the day ---------------------------------------------------------------------
    def end_of_day(self) -> int:
        """Close what earlier days left open, wipe their first names, delete calls older than
        ``keep_days``. Returns the calls changed or deleted. The agent runs it on its schedule."""
        today = local_day(self.clock.now(), self.zone)
        missed = self._close_where("day < ? AND state = ?", (today.isoformat(), CallState.WAITING), CallState.MISSED)
        ended = self._close_where("day < ? AND state = ?", (today.isoformat(), CallState.TAKEN), CallState.DONE)
        oldest = (today - timedelta(days=self.settings.keep_days)).isoformat()

        def wipe(conn: sqlite3.Connection) -> int:
            wiped = conn.execute(
                "UPDATE mediator_calls SET first_name = NULL WHERE day < ? AND first_name IS NOT NULL",
                (today.isoformat(),),
            ).rowcount
            return int(wiped) + int(conn.execute("DELETE FROM mediator_calls WHERE day < ?", (oldest,)).rowcount)

        changed = write(self.store, wipe) + len(missed) + len(ended)
        if changed:
            log.info("mediator.day_closed", extra={"missed": len(missed), "changed": changed})
        return changed

    # -- internals ----------------------------------------------------------------------------
    def _get(self, call_id: int) -> Call:
        call = self.get(call_id)
        if call is None:
            raise CallStateError(f"no call {call_id}")
        return call

    def _move(self, call_id: int, sources: tuple[CallState, ...], target: CallState) -> Call:
        now_ms = to_ms(self.clock.now())
        column = "taken_ms" if target is CallState.TAKEN else "closed_ms"
        marks = ", ".join("?" for _ in sources)

        def update(conn: sqlite3.Connection) -> int:
            return int(
                conn.execute(
                    f"UPDATE mediator_calls SET state = ?, {column} = ? WHERE id = ? AND state IN ({marks})",
                    (target, now_ms, call_id, *sources),
                ).rowcount
            )

        if not write(self.store, update):
            current = self.get(call_id)
            raise CallStateError(
                f"call {call_id} is {current.state if current else 'unknown'}, not {'/'.join(sources)}"
            )
        call = self._get(call_id)
        if target is CallState.TAKEN:
            self._record("taken", call, call.opened)
        elif target is CallState.DONE:
            self._record("done", call, None)
        log.info("mediator.call_" + target.value, extra={"call": call.id})
        return call

    def _close_where(self, where: str, params: tuple[object, ...], target: CallState) -> list[Call]:
        now_ms = to_ms(self.clock.now())

        def update(conn: sqlite3.Connection) -> list[Call]:
            rows = conn.execute(f"SELECT {_COLUMNS} FROM mediator_calls WHERE {where}", params).fetchall()
            ids = [row[0] for row in rows]
            conn.executemany(
                "UPDATE mediator_calls SET state = ?, closed_ms = ? WHERE id = ?", [(target, now_ms, i) for i in ids]
            )
            return [_call(row) for row in rows]

        closed = write(self.store, update)
        stage: Literal["missed", "done"] = "missed" if target is CallState.MISSED else "done"
        for call in closed:
            self._record(stage, call, call.opened if stage == "missed" else None)
        return closed

    def _record(self, stage: Literal["opened", "taken", "done", "missed"], call: Call, since: datetime | None) -> None:
        if self.recorder is None:
            return
        wait = None if since is None else min(24 * 3600.0, max(0.0, (self.clock.now() - since).total_seconds()))
        self.recorder.record(MediatorCall(stage=stage, wait_s=wait), session=call.session)
