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
    query = select(PublishedCell).where(
        PublishedCell.level == level, PublishedCell.period.in_([p.label for p in periods])
    )
    if scope is not None:
        query = query.where(PublishedCell.scope == scope)
    if metric is not None:
        query = query.where(PublishedCell.metric == metric)
    with db.session() as session:
        cells = list(session.execute(query.order_by(PublishedCell.scope, PublishedCell.period)).scalars())
        centres = {str(c.id): c for c in session.execute(select(Centre)).scalars()}
    departement_of = {cid: c.departement for cid, c in centres.items()}
    order = {p.label: n for n, p in enumerate(periods)}
    rows = []
    for cell in sorted(cells, key=lambda c: (c.scope, order[c.period], c.metric, c.key)):
        if cell.hidden or not reader.allows(level, cell.scope, departement_of):
            continue
        if departement is not None and level == "centre" and departement_of.get(cell.scope) != departement:
            continue
        if level == "centre":
            centre = centres.get(cell.scope)
            name = f"{centre.name} ({centre.commune})" if centre else cell.scope
        else:
            name = cell.scope or "France"
        rows.append(
            {
                "level": level,
                "scope": cell.scope,
                "scope_name": name,
                "period": cell.period,
                "metric": cell.metric,
                "key": cell.key,
                "value": cell.value,
                "partial": cell.partial,
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
