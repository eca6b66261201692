"""Exceptional closures the staff add in the console ("fermé le 24 décembre"), kept in the database.

The configuration's ``[opening] closures`` are the year's known ones; these are added on the day
by an administrator, without editing a file. Both count the same: :func:`opening_with_closures`
gives the centre's hours with the stored closures added, and the mediator desk and the
appointment book read it at each decision (one small query), so a closure added in the console
stops calls and slots at once, in the shell's process too.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from kiosk.core.mediation.storage import to_ms, write
from kiosk.core.mediation_config import Closure, WeeklyHours
from kiosk.core.store import Store

H = TypeVar("H", bound=WeeklyHours)

LONGEST_DAYS = 366
"""A closure longer than this is a mistake (a year typed wrong), refused."""


class ClosureError(ValueError):
    """A closure that cannot be stored; the message is French, for the staff member."""


@dataclass(frozen=True)
class StoredClosure:
    id: int
    closure: Closure


def stored_closures(conn: sqlite3.Connection) -> list[StoredClosure]:
    """Every stored closure, the earliest first."""
    rows = conn.execute("SELECT id, first_day, last_day, reason FROM centre_closures ORDER BY first_day, id")
    return [
        StoredClosure(
            int(i),
            Closure(
                start=date.fromisoformat(first),
                end=None if last == first else date.fromisoformat(last),
                reason=str(reason),
            ),
        )
        for i, first, last, reason in rows.fetchall()
    ]


def opening_with_closures(hours: H, conn: sqlite3.Connection) -> H:
    """``hours`` with the stored closures added to its own (the configuration's)."""
    extra = tuple(stored.closure for stored in stored_closures(conn))
    if not extra:
        return hours
    return hours.model_copy(update={"closures": hours.closures + extra})


def check_closure(first: date, last: date | None, reason: str, today: date) -> Closure:
    """The closure the form asks for, or :class:`ClosureError` saying what to fix."""
    reason = " ".join(reason.split())
    if len(reason) > 120:
        raise ClosureError("Le motif est trop long (120 caractères au plus).")
    if last is not None and last < first:
        raise ClosureError("La fin de la fermeture est avant son début : mettez d'abord le premier jour fermé.")
    if (last or first) < today:
        raise ClosureError("Cette fermeture est déjà passée : donnez une date à venir.")
    if last is not None and (last - first).days >= LONGEST_DAYS:
        raise ClosureError("Une fermeture dure un an au plus : vérifiez l'année des dates.")
    return Closure(start=first, end=None if last in (None, first) else last, reason=reason)


def add_closure(store: Store, closure: Closure, at: datetime) -> int:
    """Store ``closure``; its id."""

    def insert(conn: sqlite3.Connection) -> int:
        cursor = conn.execute(
            "INSERT INTO centre_closures (first_day, last_day, reason, created_ms) VALUES (?, ?, ?, ?)",
            (closure.start.isoformat(), closure.last.isoformat(), closure.reason, to_ms(at)),
        )
        return int(cursor.lastrowid or 0)

    return write(store, insert)


def remove_closure(store: Store, closure_id: int) -> Closure | None:
    """Delete a stored closure; the closure removed, or ``None`` if there was none."""

    def delete(conn: sqlite3.Connection) -> Closure | None:
        found = next((s.closure for s in stored_closures(conn) if s.id == closure_id), None)
        conn.execute("DELETE FROM centre_closures WHERE id = ?", (closure_id,))
        return found

    return write(store, delete)
