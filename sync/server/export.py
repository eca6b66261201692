"""Figures for the federation's tools: the published figures of a period, per centre, département
or the whole network (:mod:`sync.server.publication`: fixed periods, small cells hidden).

A reader's scope (national, one département, one centre) limits the places it may ask for; what
it gets for those places is what any other reader gets. Hidden figures are left out, like
zeros: listing them would tell that something was counted there (a tile used at that centre
that month). ``partial`` marks an answer count that includes cells terminals hid.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from sync.server.db import Database
from sync.server.models import Centre, PublishedCell
from sync.server.security import csv_cell
from sync.vocabulary.periods import Period

COLUMNS = ("level", "scope", "scope_name", "period", "metric", "key", "value", "partial")
LEVELS = ("centre", "departement", "national")


@dataclass(frozen=True)
class Scope:
    """What a reader may see: ``national``, or one département or centre and what lies below."""

    level: str = "national"
    value: str = ""

    def allows(self, level: str, scope: str, departement_of: dict[str, str]) -> bool:
        if self.level == "national":
            return True
        if self.level == "departement":
            return (level == "departement" and scope == self.value) or (
                level == "centre" and departement_of.get(scope) == self.value
            )
        return level == "centre" and scope == self.value

    def allows_level(self, level: str, scope: str | None, departement: str | None) -> bool:
        """Whether a request for ``level`` (narrowed by ``scope`` / ``departement``) stays inside."""
        if self.level == "national":
            return True
        if level == "national":
            return False
        if self.level == "departement":
            if level == "departement":
                return scope == self.value
            return departement in (None, self.value)  # its centres (the rows are filtered)
        return level == "centre" and scope == self.value

    @property
    def description(self) -> str:
        if self.level == "national":
            return "tout le réseau"
        return f"le département {self.value}" if self.level == "departement" else f"le centre {self.value}"


def departements(db: Database) -> dict[str, str]:
    """Centre id → its département."""
    with db.session() as session:
        return {str(c.id): c.departement for c in session.execute(select(Centre)).scalars()}


def export_rows(
    db: Database,
    level: str,
    periods: list[Period],
    reader: Scope,
    scope: str | None = None,
    departement: str | None = None,
    metric: str | None = None,
) -> list[dict[str, Any]]:
    """Rows of ``level`` for each of ``periods``, limited to what ``reader`` may see; ``scope``
    keeps one centre or département, ``departement`` the centres of one département."""
    query = select(
        PublishedCell.scope,
        PublishedCell.period,
        PublishedCell.metric,
        PublishedCell.key,
        PublishedCell.value,
        PublishedCell.partial,
    ).where(
        PublishedCell.level == level,
        PublishedCell.period.in_([p.label for p in periods]),
        PublishedCell.hidden.is_(False),
    )
    if scope is not None:
        query = query.where(PublishedCell.scope == scope)
    if metric is not None:
        query = query.where(PublishedCell.metric == metric)
    with db.session() as session:
        cells = session.execute(query).all()  # columns, not objects: a year of centres is 50,000 rows
        centres = session.execute(select(Centre.id, Centre.name, Centre.commune, Centre.departement)).all()
    departement_of = {str(cid): dep for cid, _, _, dep in centres}
    names = {str(cid): f"{name} ({commune})" for cid, name, commune, _ in centres}
    order = {p.label: n for n, p in enumerate(periods)}
    allowed: dict[str, bool] = {}
    rows = []
    for cell_scope, period, cell_metric, key, value, partial in sorted(
        cells, key=lambda c: (c.scope, order[c.period], c.metric, c.key)
    ):
        if cell_scope not in allowed:
            allowed[cell_scope] = reader.allows(level, cell_scope, departement_of) and (
                departement is None or level != "centre" or departement_of.get(cell_scope) == departement
            )
        if not allowed[cell_scope]:
            continue
        name = names.get(cell_scope, cell_scope) if level == "centre" else cell_scope or "France"
        rows.append(
            {
                "level": level,
                "scope": cell_scope,
                "scope_name": name,
                "period": period,
                "metric": cell_metric,
                "key": key,
                "value": value,
                "partial": partial,
            }
        )
    return rows


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
