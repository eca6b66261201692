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
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.protocol import DailyBatch, DayFigures, Heartbeat, upgrade
from sync.protocol import cells as protocol_cells
from sync.server.db import Database, aware, utcnow
from sync.server.models import Batch, Centre, Terminal, UsageCell

log = logging.getLogger(__name__)

CLOCK_SKEW_LIMIT = timedelta(minutes=5)
RATE_PER_MINUTE = 120.0  # batches and heartbeats per terminal; a catching-up terminal sends 1 per request
RATE_BURST = 240.0


class Conflict(Exception):
    """Same batch id, different payload."""


class RateLimited(Exception):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many requests; retry after {retry_after_s} s")
        self.retry_after_s = retry_after_s


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
    return {**batch.model_dump(mode="json"), "figures": upgrade(batch.figures, batch.version).model_dump(mode="json")}


def _add_cells(session: Session, db: Database, scopes: list[tuple[str, str]], day: date, figures: DayFigures) -> None:
    rows = [
        {"level": level, "scope": scope, "day": day, "metric": metric, "key": key, "value": value, "hidden": hidden}
        for level, scope in scopes
        for metric, key, value, hidden in cells(figures)
    ]
    if not rows:
        return
    insert = postgresql.insert if db.is_postgres else sqlite.insert
    statement = insert(UsageCell).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["level", "scope", "day", "metric", "key"],
        set_={
            "value": UsageCell.value + statement.excluded.value,
            "hidden": UsageCell.hidden + statement.excluded.hidden,
        },
    )
    session.execute(statement)


def _take_rate_token(terminal: Terminal, now: datetime) -> None:
    updated = aware(terminal.rate_updated_at)
    tokens = RATE_BURST if updated is None else terminal.rate_tokens
    if updated is not None:
        tokens = min(RATE_BURST, tokens + (now - updated).total_seconds() * RATE_PER_MINUTE / 60)
    if tokens < 1:
        raise RateLimited(max(1, int((1 - tokens) * 60 / RATE_PER_MINUTE) + 1))
    terminal.rate_tokens = tokens - 1
    terminal.rate_updated_at = now


def _locked_terminal(session: Session, db: Database, terminal_id: int) -> Terminal:
    query = select(Terminal).where(Terminal.id == terminal_id)
    if db.is_postgres:
        query = query.with_for_update()
    return session.execute(query).scalar_one()


def store_batch(db: Database, terminal_id: int, batch: DailyBatch, device_clock: datetime | None) -> Stored:
    """Store ``batch`` for the terminal, once. Raises :class:`Conflict` or :class:`RateLimited`."""
    digest = batch.payload_hash()
    now = utcnow()
    skew = device_clock is not None and abs(device_clock - now) > CLOCK_SKEW_LIMIT
    try:
        with db.session() as session:
            terminal = _locked_terminal(session, db, terminal_id)
            _take_rate_token(terminal, now)
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
            if device_clock is not None:
                terminal.clock_skew_s = (device_clock - now).total_seconds()
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
        log.warning("ingest.clock_skew", extra={"device": batch.device_id, "skew_s": terminal.clock_skew_s})
    return Stored(already=False, skew_flagged=skew)


def record_heartbeat(db: Database, terminal_id: int, heartbeat: Heartbeat) -> bool:
    """Keep the terminal's last heartbeat; returns whether its clock is off by more than 5 minutes."""
    now = utcnow()
    with db.session() as session:
        terminal = _locked_terminal(session, db, terminal_id)
        _take_rate_token(terminal, now)
        terminal.last_heartbeat_at = now
        terminal.last_heartbeat = heartbeat.model_dump_json()
        terminal.software_version = heartbeat.software_version
        clock = (
            heartbeat.device_clock
            if heartbeat.device_clock.tzinfo
            else heartbeat.device_clock.replace(tzinfo=now.tzinfo)
        )
        terminal.clock_skew_s = (clock - now).total_seconds()
        return abs(terminal.clock_skew_s) > CLOCK_SKEW_LIMIT.total_seconds()
