"""Figures for the federation: sums over a period per centre, département or the whole network.

Answer tables are suppressed again at each level: a sum below k is hidden, with one more cell of
its table when needed (the terminals' own rule, :func:`sync.vocabulary.suppress_table`). A sum that
includes cells a terminal had hidden is a lower bound and is flagged ``partial``.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import func, select

from sync.server import admin
from sync.server.db import Database
from sync.server.models import Centre, UsageCell
from sync.server.security import csv_cell
from sync.vocabulary import DEFAULT_K, suppress_table

COLUMNS = ("level", "scope", "scope_name", "day", "metric", "key", "value", "partial")


def export_rows(
    db: Database,
    level: str,
    first: date,
    last: date,
    by_day: bool = False,
    scope: str | None = None,
    departement: str | None = None,
    metric: str | None = None,
) -> list[dict[str, Any]]:
    """Rows of ``level`` over the period; ``scope`` keeps one centre or département, ``departement``
    keeps the centres of one département, ``metric`` one figure."""
    secret = admin.server_secret(db)
    columns: list[Any] = [UsageCell.scope, UsageCell.metric, UsageCell.key]
    if by_day:
        columns.insert(1, UsageCell.day)
    query = (
        select(*columns, func.sum(UsageCell.value), func.sum(UsageCell.hidden))
        .where(UsageCell.level == level, UsageCell.day >= first, UsageCell.day <= last)
        .group_by(*columns)
        .order_by(*columns)
    )
    if scope is not None:
        query = query.where(UsageCell.scope == scope)
    if metric is not None:
        query = query.where(UsageCell.metric == metric)
    with db.session() as session:
        if departement is not None and level == "centre":
            found = session.execute(select(Centre.id).where(Centre.departement == departement)).scalars()
            ids = [str(i) for i in found]
            query = query.where(UsageCell.scope.in_(ids))
        result = session.execute(query).all()
        names = {str(c.id): f"{c.name} ({c.commune})" for c in session.execute(select(Centre)).scalars()}
    grouped: dict[tuple[str, str], list[tuple[str, str, int, int]]] = defaultdict(list)
    for row in result:
        values = tuple(row)
        if by_day:
            scope, day, metric, key, value, hidden = values
        else:
            (scope, metric, key, value, hidden), day = values, None
        grouped[(str(scope), str(day) if day else "")].append((str(metric), str(key), int(value), int(hidden)))
    rows: list[dict[str, Any]] = []
    for (scope, day), cells in grouped.items():
        scope_name = names.get(scope, scope) if level == "centre" else (scope or "France")
        answers: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
        for metric, key, value, hidden in cells:
            if metric.startswith("answers."):
                answers[metric][key] = (value, hidden)
                continue
            rows.append(_row(level, scope, scope_name, day, metric, key, value, False))
        for metric, table in answers.items():
            salt = secret + f"{level}|{scope}|{day or first}..{last}|{metric}".encode()
            published = suppress_table({key: value for key, (value, _) in table.items()}, DEFAULT_K, salt)
            for key, value in published.items():
                rows.append(_row(level, scope, scope_name, day, metric, key, value, table[key][1] > 0))
    return rows


def _row(
    level: str, scope: str, name: str, day: str, metric: str, key: str, value: int | None, partial: bool
) -> dict[str, Any]:
    return {
        "level": level,
        "scope": scope,
        "scope_name": name,
        "day": day,
        "metric": metric,
        "key": key,
        "value": value,
        "partial": partial,
    }


def render_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        cells = {
            **row,
            "value": "" if row["value"] is None else row["value"],
            "partial": "true" if row["partial"] else "",
        }
        writer.writerow({name: csv_cell(value) for name, value in cells.items()})
    return out.getvalue()
