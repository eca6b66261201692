"""The console's local statistics ("Statistiques"): this terminal's report over fixed periods.

The figures are :func:`kiosk.core.stats.report.report_from`'s: the days sealed so far of the
period asked for, small cells hidden exactly as the federation hides them (a hidden single figure
reads "—", a hidden cell of a table is left out, like a zero). Charts are bars drawn on the server
as inline SVG (no script, the CSP stays strict), each beside the table that says the same for a
screen reader. The CSV download is the report's own, the same hidden cells.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from fastapi import FastAPI, Request
from fastapi.responses import Response

from kiosk.agent.console.accounts import Login
from kiosk.agent.console.context import ConsoleContext, Refused
from kiosk.core.mediation.hours import local_day
from kiosk.core.stats.report import Report, read_so_far, render, report_from, rows
from sync.vocabulary.periods import Period, month_of, week_of

PeriodId = Literal["cette-semaine", "semaine-derniere", "ce-mois", "mois-dernier", "cette-annee"]
PERIOD_LABELS: dict[str, str] = {
    "cette-semaine": "Cette semaine",
    "semaine-derniere": "La semaine dernière",
    "ce-mois": "Ce mois-ci",
    "mois-dernier": "Le mois dernier",
    "cette-annee": "Cette année",
}
SINGLE_FIGURES = frozenset(
    {"Sessions", "Démarches", "Sites refusés", "Médiateur", "Impressions", "Numérisation", "Tickets", "Aide",
     "Questions de fin de session", "Qualité des données"}
)  # fmt: skip
"""Sections of single counts: shown as a table only (a chart of two unrelated counts says nothing)."""
BAR_AREA = 300  # SVG user units for the longest bar
LABEL_CHARS = 30


def period_for(choice: str, today: date) -> Period:
    """The fixed period a choice names, as the published statistics cut it (whole ISO weeks)."""
    this_week = week_of(today)
    this_month = month_of(today)
    if choice == "cette-semaine":
        return Period.of_week(this_week)
    if choice == "semaine-derniere":
        return Period.of_week(this_week - timedelta(days=7))
    if choice == "ce-mois":
        return this_month
    if choice == "mois-dernier":
        return month_of(this_month.first_day - timedelta(days=1))
    if choice == "cette-annee":
        return this_month.ancestors()[-1]
    raise Refused(404, "Cette période n'existe pas : choisissez-en une dans la liste.")


@dataclass(frozen=True)
class Bar:
    label: str
    short: str  # the label cut to fit beside its bar (the table has it whole)
    value: int
    y: int
    width: int


@dataclass(frozen=True)
class Section:
    name: str
    rows: list[tuple[str, int | None]]
    bars: list[Bar]

    @property
    def chart_height(self) -> int:
        return 28 * len(self.bars) + 4


def sections(report: Report) -> list[Section]:
    grouped: dict[str, list[tuple[str, int | None]]] = {}
    for name, item, value in rows(report):
        grouped.setdefault(name, []).append((item, None if value is None else int(value)))
    result = []
    for name, items in grouped.items():
        shown = [(item, value) for item, value in items if value]
        bars: list[Bar] = []
        if name not in SINGLE_FIGURES and len(shown) >= 2:
            top = max(value for _, value in shown)
            bars = [
                Bar(item, _cut(item), value, 28 * n, max(2, round(BAR_AREA * value / top)))
                for n, (item, value) in enumerate(shown)
            ]
        result.append(Section(name, items, bars))
    return result


def _cut(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"


def add_routes(app: FastAPI, ctx: ConsoleContext) -> None:
    def report_for(choice: str) -> tuple[Period, Report]:
        period = period_for(choice, local_day(ctx.clock.now(), ctx.zone))
        with ctx.db() as store:
            so_far = read_so_far(store, period)
        # The suppression's work (up to a second for a year) without the console's connection.
        return period, report_from(so_far, ctx.settings.stats.suppression_k)

    @app.get("/statistiques")
    def statistics_page(request: Request, periode: str = "semaine-derniere") -> Response:
        login: Login = request.state.login
        period, report = report_for(periode)
        return ctx.render(
            "statistics.html",
            login=login,
            choices=PERIOD_LABELS,
            chosen=periode,
            period=period,
            report=report,
            parts=sections(report),
            bar_area=BAR_AREA,
            empty=not report.figures,
        )

    @app.get("/statistiques.csv")
    def statistics_csv(periode: str = "semaine-derniere") -> Response:
        period, report = report_for(periode)
        return Response(
            render(report, "csv"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="statistiques-{period.label}.csv"'},
        )
