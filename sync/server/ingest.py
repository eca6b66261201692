"""Storing what terminals send: batches exactly once, heartbeats, and the rollups.

A batch is stored in one transaction with the increments of its figures at the centre,
département and national levels. A second copy of the same batch (a retry, a duplicated
request, another server process racing) hits the unique (terminal, batch id) constraint, the
whole transaction rolls back, and the answer is "already stored" — or 409 if its payload differs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Table, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.protocol import BATCH_VERSION, DailyBatch, DayFigures, Heartbeat, upgrade
from sync.protocol import cells as protocol_cells
from sync.server.db import Database, aware, utcnow
from sync.server.models import Batch, Centre, Terminal, UsageCell
from sync.vocabulary import periods

log = logging.getLogger(__name__)

CLOCK_SKEW_LIMIT = timedelta(minutes=5)
MAX_SKEW_S = 10 * 366 * 86_400.0  # a clock further off than ten years is counted as ten years off


class Conflict(Exception):
    """Same batch id, different payload."""


class Refused(Exception):
    """The batch breaks one of the server's rules (answered 422 with this message)."""


@dataclass(frozen=True)
class Stored:
    already: bool
    skew_flagged: bool


def cells(figures: DayFigures) -> Iterator[tuple[str, str, int, int]]:
    """``(metric, key, value, hidden)`` for every non-zero figure of a day (:func:`sync.protocol.cells`)."""
    return protocol_cells(figures)


def _kept(batch: DailyBatch) -> dict[str, object]:
    """What is kept of a batch: the current version's figures (a version 1 batch's exact
    durations and refused domains are not stored)."""
    if batch.version >= BATCH_VERSION:
        return batch.model_dump(mode="json")  # dumped once: this is on every batch's path
    return {**batch.model_dump(mode="json"), "figures": upgrade(batch.figures, batch.version).model_dump(mode="json")}


def _add_cells(session: Session, db: Database, scopes: list[tuple[str, str]], day: date, figures: DayFigures) -> None:
    rows = [
        {"level": level, "scope": scope, "day": day, "metric": metric, "key": key, "value": value, "hidden": hidden}
        for level, scope in scopes
        for metric, key, value, hidden in cells(figures)
    ]
    table = UsageCell.__table__
    assert isinstance(table, Table)
    insert = postgresql.insert(table) if db.is_postgres else sqlite.insert(table)
    statement = insert.on_conflict_do_update(
        index_elements=["level", "scope", "day", "metric", "key"],
        set_={"value": table.c.value + insert.excluded.value, "hidden": table.c.hidden + insert.excluded.hidden},
    )
    session.execute(statement, rows)  # one statement, many rows: no limit on bound parameters


def check_batch(batch: DailyBatch, enrolled_at: datetime | None, now: datetime) -> None:
    """Refuse what no terminal of ours sends: days before its enrolment or in the future, answer
    cells it should have hidden. Raises :class:`Refused`."""
    first = max((aware(enrolled_at) or now).date() - timedelta(days=1), periods.FIRST_DAY)
    last = min(now.date() + timedelta(days=1), periods.LAST_DAY)
    if not first <= batch.day <= last:
        raise Refused(
            f"day {batch.day} refused: this terminal may send days from the day before its enrolment"
            f" ({first}) to tomorrow ({last})"
        )
    k = batch.figures.suppression_k
    for question, table in batch.figures.answers.items():
        small = sorted(key for key, count in table.items() if count is not None and count < k)
        if small:
            raise Refused(
                f"answers.{question}: {', '.join(small[:5])} below the batch's k = {k}"
                " (a terminal sends such cells hidden)"
            )


def clock_skew_s(device_clock: datetime, now: datetime) -> float:
    """How far ahead the terminal's clock is, in seconds (a clock without a zone is UTC); any
    clock, even in year 1 or 9999, gives a number within ten years."""
    clock = device_clock if device_clock.tzinfo else device_clock.replace(tzinfo=UTC)
    try:
        seconds = (clock - now).total_seconds()
    except OverflowError:
        seconds = MAX_SKEW_S if clock.replace(tzinfo=None) > now.replace(tzinfo=None) else -MAX_SKEW_S
    return max(-MAX_SKEW_S, min(MAX_SKEW_S, seconds))


def store_batch(db: Database, terminal_id: int, batch: DailyBatch, device_clock: datetime | None) -> Stored:
    """Store ``batch`` for the terminal, once. Raises :class:`Conflict` or :class:`Refused`."""
    digest = batch.payload_hash()
    now = utcnow()
    skew_s = None if device_clock is None else clock_skew_s(device_clock, now)
    skew = skew_s is not None and abs(skew_s) > CLOCK_SKEW_LIMIT.total_seconds()
    try:
        with db.session() as session:
            terminal = session.get(Terminal, terminal_id)
            assert terminal is not None
            check_batch(batch, terminal.enrolled_at, now)
            existing = session.execute(
                select(Batch.payload_hash).where(Batch.terminal_id == terminal_id, Batch.batch_id == batch.batch_id)
            ).scalar_one_or_none()
            if existing is not None:
                if existing != digest:
                    raise Conflict(batch.batch_id)
                return Stored(already=True, skew_flagged=skew)
            session.add(
                Batch(
                    terminal_id=terminal_id,
                    batch_id=batch.batch_id,
                    day=batch.day,
                    version=batch.version,
                    payload_hash=digest,
                    payload=json.dumps(_kept(batch), sort_keys=True),
                    received_at=now,
                    clock_skew_flagged=skew,
                )
            )
            session.flush()  # the unique constraint speaks here if another process won the race
            centre = session.get(Centre, terminal.centre_id)
            assert centre is not None
            scopes = [("centre", str(centre.id)), ("departement", centre.departement), ("national", "")]
            _add_cells(session, db, scopes, batch.day, upgrade(batch.figures, batch.version))
            terminal.last_batch_at = now
            if skew_s is not None:
                terminal.clock_skew_s = skew_s
    except IntegrityError:
        # Another process stored the same batch between our check and our insert.
        with db.session() as session:
            existing = session.execute(
                select(Batch.payload_hash).where(Batch.terminal_id == terminal_id, Batch.batch_id == batch.batch_id)
            ).scalar_one()
        if existing != digest:
            raise Conflict(batch.batch_id) from None
        return Stored(already=True, skew_flagged=skew)
    if skew:
        log.warning("ingest.clock_skew", extra={"device": batch.device_id, "skew_s": skew_s})
    return Stored(already=False, skew_flagged=skew)


def record_heartbeat(db: Database, terminal_id: int, heartbeat: Heartbeat) -> bool:
    """Keep the terminal's last heartbeat; returns whether its clock is off by more than 5 minutes."""
    now = utcnow()
    with db.session() as session:
        terminal = session.get(Terminal, terminal_id)
        assert terminal is not None
        terminal.last_heartbeat_at = now
        terminal.last_heartbeat = heartbeat.model_dump_json()
        terminal.software_version = heartbeat.software_version
        terminal.clock_skew_s = clock_skew_s(heartbeat.device_clock, now)
        return abs(terminal.clock_skew_s) > CLOCK_SKEW_LIMIT.total_seconds()
