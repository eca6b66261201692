"""Publishing the federation's figures: fixed periods, small cells hidden once and for all.

A month (of whole ISO weeks, :mod:`sync.vocabulary.periods`) is published once it ended more
than :data:`GRACE_DAYS` ago: its figures and its weeks' figures, per centre, département and
for the nation, are computed from the batches received by then, small cells hidden by
:func:`sync.vocabulary.disclosure.suppress_month` with the server's secret, and stored in
``published_cells``. A quarter is published with its last month, a year with its last quarter
(their hidden cells: those the months' suppression needed hidden). Published figures never
change: batches that arrive later for a published month are kept but not counted, so nobody can
subtract an old answer from a new one. Every page, CSV and export reads ``published_cells`` and
nothing else, whoever asks, so no reader sees a figure another reader could not.
"""

from __future__ import annotations

import functools
import logging
import multiprocessing
import os
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Integer, Table, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sync.server import admin
from sync.server.db import Database, utcnow
from sync.server.models import Batch, Centre, ForcedCell, PublishedCell, PublishedMonth, UsageCell
from sync.vocabulary.disclosure import Cell, Family, Finest, GeoNode, Suppression, geo_tree, suppress_month
from sync.vocabulary.figures import EXEMPT, families_for, family_leaves
from sync.vocabulary.periods import Period, month_of, months_between

log = logging.getLogger(__name__)

GRACE_DAYS = 7
"""Days after a month's end before it is published: a terminal offline for a few days catches up."""


@dataclass(frozen=True)
class Figure:
    value: int | None  # None: hidden
    partial: bool = False


Figures = dict[tuple[str, str], Figure]


def publishable(today: date, grace_days: int = GRACE_DAYS) -> Period:
    """The last month that may be published on ``today``."""
    month = month_of(today)
    while not month.closed(today, grace_days):
        month = month_of(month.first_day - timedelta(days=1))
    return month


PUBLISHER_LOCK = 0x626F726E6531  # a PostgreSQL advisory lock key of this application's own


@contextmanager
def _sole_publisher(db: Database) -> Iterator[bool]:
    """``True`` when no other process is publishing (on PostgreSQL, a session advisory lock held
    meanwhile: another server worker or the timer skips instead of computing the same months)."""
    if not db.is_postgres:
        yield True  # SQLite: one writer at a time anyway; publish_month's own guard suffices
        return
    with db.engine.connect() as connection:
        held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": PUBLISHER_LOCK}).scalar())
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PUBLISHER_LOCK})
                connection.commit()


def publish_due(db: Database, today: date | None = None) -> list[Period]:
    """Publish every closed month not yet published, oldest first. Cheap when there is none;
    nothing when another process is publishing (it will publish them)."""
    with _sole_publisher(db) as sole:
        if not sole:
            log.info("publication.busy")
            return []
        return _publish_due(db, today)


def _publish_due(db: Database, today: date | None) -> list[Period]:
    last = publishable(today or utcnow().date())
    with db.session() as session:
        first_day = session.execute(select(func.min(Batch.day))).scalar()  # batches.day is indexed
        done = set(session.execute(select(PublishedMonth.month)).scalars())
    if first_day is None:
        return []
    published = []
    for month in months_between(month_of(first_day), last):
        if month.label not in done and publish_month(db, month):
            published.append(month)
    return published


def publish_month(db: Database, month: Period) -> bool:
    """Publish ``month`` and its weeks (and its quarter and year when it ends them). ``False`` if
    another server process published it first."""
    started = time.perf_counter()
    k = admin.suppression_k(db)
    secret = admin.server_secret(db)
    with db.session() as session:
        centres = {str(c.id): c.departement for c in session.execute(select(Centre)).scalars()}
        # Summed to weeks by the database (one query per week): a national month is about a
        # million daily rows, a fifth as many weekly ones.
        rows = [
            (week.label, *row)
            for week in month.children()
            for row in session.execute(
                select(
                    UsageCell.scope,
                    UsageCell.metric,
                    UsageCell.key,
                    func.sum(UsageCell.value),
                    func.max(UsageCell.hidden),
                )
                .where(UsageCell.level == "centre", UsageCell.day >= week.first_day, UsageCell.day <= week.last_day)
                .group_by(UsageCell.scope, UsageCell.metric, UsageCell.key)
            )
        ]
        forced_rows = session.execute(
            select(ForcedCell).where(ForcedCell.period.in_([p.label for p in month.ancestors()[1:]]))
        ).scalars()
        already: dict[str, set[Cell]] = defaultdict(set)
        for row in forced_rows:
            already[row.family].add(((row.level, row.scope), row.period, row.key))
    tables: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: defaultdict(int))
    )
    partial_keys: set[tuple[str, str, str, str]] = set()  # centre, week, metric, key
    for week, scope, metric, key, value, hidden in rows:
        tables[(str(scope), week)][metric][key] += int(value)
        if hidden:
            partial_keys.add((str(scope), week, metric, key))
    read = time.perf_counter()
    tree = geo_tree(centres)
    cells: list[dict[str, Any]] = []
    forced: list[dict[str, Any]] = []
    metrics = {metric for per in tables.values() for metric in per}
    jobs: list[Job] = []
    for family in families_for(metrics):
        values: dict[Finest, int] = {}
        for (centre, week), per in tables.items():
            for leaf, value in family_leaves(family, per).items():
                values[(centre, week, leaf)] = value
        if values or family.root is None:
            jobs.append((family, month, tree, values, k, secret, already[family.name]))
    for (family, *_), result in zip(jobs, _suppress_all(jobs), strict=True):
        partial = _partial_cells(family, partial_keys, tree)
        for cell, value in result.values.items():
            published = family.published(cell[2])
            assert published is not None
            (level, scope), period, _ = cell
            cells.append(_row(level, scope, period, *published, value, cell in result.hidden, cell in partial))
        if family.root is None:  # answers a terminal hid, where no known count remains: 0, partial
            for cell in partial - set(result.values):
                (level, scope), period, key = cell
                cells.append(_row(level, scope, period, family.table or "", key, 0, False, True))
        for (level, scope), period, key in result.forced - already[family.name]:
            forced.append({"family": family.name, "level": level, "scope": scope, "period": period, "key": key})
    cells.extend(_exempt_rows(tables, tree, month))
    chosen = time.perf_counter()
    try:
        with db.session() as session:
            session.add(PublishedMonth(month=month.label, published_at=utcnow(), k=k))
            session.flush()
            _insert(session, PublishedCell, cells)
            _insert(session, ForcedCell, forced)
            for longer in month.ancestors()[1:]:
                if longer.months()[-1] == month:
                    _publish_longer(session, longer)
    except IntegrityError:
        return False
    done = time.perf_counter()
    log.info(
        "publication.month",
        extra={
            "month": month.label,
            "cells": len(cells),
            "k": k,
            "read_s": round(read - started, 1),
            "suppress_s": round(chosen - read, 1),
            "write_s": round(done - chosen, 1),
        },
    )
    return True


Job = tuple[Family, Period, dict[GeoNode, GeoNode | None], dict[Finest, int], int, bytes, set[Cell]]
PARALLEL_FROM = 20_000
"""Finest counts in a month from which its families are suppressed in several processes (below,
starting them costs more than it saves)."""


def _suppress_all(jobs: list[Job]) -> list[Suppression]:
    """Each family's suppression (they are independent: the same choices in any process), the
    largest first on as many processes as there are cores when the month is large."""
    workers = min(os.cpu_count() or 1, len(jobs))
    if workers < 2 or sum(len(job[3]) for job in jobs) < PARALLEL_FROM:
        return [suppress_month(*job) for job in jobs]
    largest_first = sorted(range(len(jobs)), key=lambda n: -len(jobs[n][3]))
    # "spawn": the server process has threads (uvicorn's, the scheduler's), which fork does not copy.
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        running = {n: pool.submit(suppress_month, *jobs[n]) for n in largest_first}
        return [running[n].result() for n in range(len(jobs))]


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert ``rows`` in the session's transaction: with COPY on PostgreSQL (a national month is
    hundreds of thousands of rows: many times faster than INSERTs), else one executemany."""
    if not rows:
        return
    table = model.__table__
    assert isinstance(table, Table)
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        connection.execute(table.insert(), rows)
        return
    columns = list(rows[0])
    driver = connection.connection.driver_connection
    assert driver is not None
    quoted = ", ".join(f'"{column}"' for column in columns)
    with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[column] for column in columns])


def _row(
    level: str, scope: str, period: str, metric: str, key: str, value: int, hidden: bool, partial: bool
) -> dict[str, Any]:
    return {
        "level": level,
        "scope": scope,
        "period": period,
        "metric": metric,
        "key": key,
        "value": value,
        "hidden": hidden,
        "partial": partial,
    }


def _partial_cells(family: Family, partial_keys: set[tuple[str, str, str, str]], tree: Any) -> set[Cell]:
    """Answer cells (of the month and its weeks, at every level) that include cells a terminal hid."""
    if family.root is not None or not partial_keys:
        return set()
    out = set()
    for centre, week, metric, key in partial_keys:
        if metric != family.table:
            continue
        node: Any = ("centre", centre)
        while node is not None:
            for period in Period.parse(week).ancestors()[:2]:
                out.add((node, period.label, key))
            node = tree.get(node)
    return out


def _exempt_rows(tables: Any, tree: Any, month: Period) -> list[dict[str, Any]]:
    """Counts of terminals' reports, per place and week/month, never hidden."""
    sums: dict[tuple[Any, str, str], int] = defaultdict(int)
    for (centre, week), per in tables.items():
        for metric in EXEMPT:
            value = per.get(metric, {}).get("", 0)
            node: Any = ("centre", centre)
            while node is not None and value:
                for period in (week, month.label):
                    sums[(node, period, metric)] += value
                node = tree.get(node)
    return [
        _row(node[0], node[1], period, metric, "", value, False, False)
        for (node, period, metric), value in sums.items()
    ]


def _publish_longer(session: Any, period: Period) -> None:
    """A quarter or a year: the sums of its months, hidden where a month's suppression said so."""
    months = [m.label for m in period.months()]
    sums = session.execute(
        select(
            PublishedCell.level,
            PublishedCell.scope,
            PublishedCell.metric,
            PublishedCell.key,
            func.sum(PublishedCell.value),
            func.max(PublishedCell.partial.cast(Integer)),
        )
        .where(PublishedCell.period.in_(months))
        .group_by(PublishedCell.level, PublishedCell.scope, PublishedCell.metric, PublishedCell.key)
    ).all()
    forced = session.execute(select(ForcedCell).where(ForcedCell.period == period.label)).scalars()
    hidden = set()
    for row in forced:
        family = _family(row.family)
        published = family.published(row.key) if family else None
        if published is not None:
            hidden.add((row.level, row.scope, *published))
    rows = [
        _row(level, scope, period.label, metric, key, int(value), (level, scope, metric, key) in hidden, bool(partial))
        for level, scope, metric, key, value, partial in sums
    ]
    _insert(session, PublishedCell, rows)


def _family(name: str) -> Family | None:
    for family in families_for([name] if name.startswith("answers.") else []):
        if family.name == name:
            return family
    return None


# -- reading -------------------------------------------------------------------------------------


def is_published(db: Database, period: Period) -> bool:
    with db.session() as session:
        return session.get(PublishedMonth, period.months()[-1].label) is not None


def figures(db: Database, level: str, scope: str, period: Period) -> Figures:
    """Every published figure of one place and period: ``(metric, key) → Figure``."""
    with db.session() as session:
        rows = session.execute(
            select(
                PublishedCell.metric,
                PublishedCell.key,
                PublishedCell.value,
                PublishedCell.hidden,
                PublishedCell.partial,
            ).where(PublishedCell.level == level, PublishedCell.scope == scope, PublishedCell.period == period.label)
        ).all()
    return {(m, k): Figure(None if hidden else int(v), bool(partial)) for m, k, v, hidden, partial in rows}


def figure_by_scope(db: Database, level: str, period: Period, metric: str, key: str = "") -> dict[str, Figure]:
    """One figure for every place of a level (the départements, the centres)."""
    with db.session() as session:
        rows = session.execute(
            select(PublishedCell.scope, PublishedCell.value, PublishedCell.hidden, PublishedCell.partial).where(
                PublishedCell.level == level,
                PublishedCell.period == period.label,
                PublishedCell.metric == metric,
                PublishedCell.key == key,
            )
        ).all()
    return {str(s): Figure(None if hidden else int(v), bool(partial)) for s, v, hidden, partial in rows}


def published_periods(db: Database) -> list[Period]:
    """Every published period, newest first."""
    with db.session() as session:
        months = session.execute(select(PublishedMonth.month)).scalars()
        return list(_periods_of(frozenset(months)))


@functools.lru_cache(maxsize=4)
def _periods_of(labels: frozenset[str]) -> tuple[Period, ...]:
    """The periods that published months make (every page asks: computed once per set)."""
    months = {Period.parse(m) for m in labels}
    seen: set[Period] = set()
    for month in months:
        for period in [*month.children(), *month.ancestors()]:
            if period.months()[-1] in months:
                seen.add(period)
    order = {"year": 0, "quarter": 1, "month": 2, "week": 3}
    return tuple(sorted(seen, key=lambda p: (p.first_day, -order[p.kind]), reverse=True))
