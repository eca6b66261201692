"""The local usage report (``kiosk stats report``): this terminal's figures over one fixed period
(an ISO week, or a month, quarter or year of whole weeks), hidden exactly as the federation
hides them (:mod:`kiosk.core.stats.published`), as a table, CSV or JSON.

Labels are French: the report is read by the centre's staff. A hidden single figure prints as
"—" (empty in CSV); hidden cells of a table are left out, like zeros (JSON lists shown figures).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

from kiosk.core.settings import KioskSettings
from kiosk.core.stats.aggregate import DayAggregate, last_sealed_day, load_aggregates
from kiosk.core.stats.events import AgeBracket
from kiosk.core.stats.published import Figure, publish, publish_so_far
from kiosk.core.stats.suppression import terminal_secret
from kiosk.core.store import Store
from sync.vocabulary import Category
from sync.vocabulary.periods import Period, month_of, snap

FORMATS = ("table", "csv", "json")

WEEKDAYS = ("lun", "mar", "mer", "jeu", "ven", "sam", "dim")
END_REASON_LABELS = {
    "button": "Terminée par le bouton",
    "idle": "Terminée par inactivité",
    "crash": "Page plantée",
    "staff": "Terminée par l'accueil",
}
DURATION_LABELS = {
    "moins_5_min": "moins de 5 min",
    "5_15_min": "5 à 15 min",
    "15_30_min": "15 à 30 min",
    "30_60_min": "30 min à 1 h",
    "plus_60_min": "plus d'1 h",
}
WAIT_LABELS = {
    "moins_1_min": "moins d'1 min",
    "1_3_min": "1 à 3 min",
    "3_5_min": "3 à 5 min",
    "5_10_min": "5 à 10 min",
    "10_20_min": "10 à 20 min",
    "plus_20_min": "plus de 20 min",
}
QUESTION_LABELS = {
    "age": "Âge",
    "outcome": "Démarche faite ?",
    "satisfaction": "Satisfaction",
    "first_visit": "Première visite ?",
}
ANSWER_LABELS: dict[str, str] = {
    **{a.value: a.label for a in AgeBracket},
    "oui": "oui",
    "en_partie": "en partie",
    "non": "non",
    "content": "content",
    "moyen": "moyen",
    "mecontent": "mécontent",
    "sans_reponse": "sans réponse",
}


@dataclass(frozen=True)
class Report:
    """The published figures of one fixed period of this terminal."""

    period: Period
    k: int
    figures: dict[tuple[str, str], Figure]
    through: date | None = None  # a period not over: its figures up to this day (included)

    def value(self, metric: str, key: str = "") -> int | None:
        figure = self.figures.get((metric, key))
        return 0 if figure is None else figure.value

    def table(self, metric: str) -> list[tuple[str, int]]:
        """The shown cells of a table, biggest first (hidden ones are left out). A cell hidden on
        every one of its days sums to a "partial" 0: it is hidden too, not a count of nobody."""
        shown = [
            (key, f.value)
            for (m, key), f in self.figures.items()
            if m == metric and f.value is not None and not (f.partial and f.value == 0)
        ]
        return sorted(shown, key=lambda item: (-item[1], item[0]))

    @property
    def hidden(self) -> int:
        return sum(1 for figure in self.figures.values() if figure.hidden)


def last_closed_month(store: Store) -> Period | None:
    sealed = last_sealed_day(store)
    if sealed is None:
        return None
    month = month_of(sealed)
    return month if month.last_day <= sealed else month_of(month.first_day - timedelta(days=1))


def build_report(store: Store, settings: KioskSettings, period: Period) -> Report:
    """The figures of ``period``, which must be over: all its days sealed."""
    sealed = last_sealed_day(store)
    if sealed is None or period.last_day > sealed:
        raise ValueError(
            f"{period.label} is not over yet (last closed day: {sealed or 'none'}): only whole periods"
            " whose every day is closed are reported"
        )
    year = period.ancestors()[-1]
    aggregates = load_aggregates(store, year.first_day, period.last_day)
    k = settings.stats.suppression_k
    published = publish(aggregates, period.months()[-1], k, terminal_secret(store))
    return Report(period, k, dict(published.periods.get(period.label, {})))


@dataclass(frozen=True)
class SoFar:
    """What :func:`report_from` needs, read from the database (so that the console holds its
    connection for the reads only, not for the suppression's work)."""

    period: Period
    last: date | None  # the period's last sealed day; None: none yet
    aggregates: list[DayAggregate]
    secret: bytes


def read_so_far(store: Store, period: Period) -> SoFar:
    sealed = last_sealed_day(store)
    if sealed is None or sealed < period.first_day:
        return SoFar(period, None, [], b"")
    last = min(sealed, period.last_day)
    # From the start of its year: the months before decide which cells later months must hide.
    aggregates = load_aggregates(store, period.ancestors()[-1].first_day, last)
    return SoFar(period, last, aggregates, terminal_secret(store))


def report_from(so_far: SoFar, k: int) -> Report:
    """The period's figures over its days sealed so far (all of them once it is over, as
    :func:`build_report` gives them), hidden the same way; none before its first sealed day."""
    period, last = so_far.period, so_far.last
    if last is None:
        return Report(period, k, {}, through=period.first_day - timedelta(days=1))
    figures = publish_so_far(so_far.aggregates, period, last, k, so_far.secret)
    return Report(period, k, figures, through=last if last < period.last_day else None)


# -- rows shared by the three formats ----------------------------------------------------------


def rows(report: Report) -> Iterator[tuple[str, str, int | str | None]]:
    """``(section, item, value)`` for every figure shown, in reading order (``None``: hidden)."""
    value = report.value
    yield "Sessions", "sessions commencées", value("sessions")
    yield "Sessions", "sessions terminées", value("sessions_ended")
    for key, count in report.table("durations"):
        yield "Durée des sessions", DURATION_LABELS.get(key, key), count
    for key, count in sorted(report.table("hours"), key=lambda item: _hour(item[0])):
        yield "Sessions par heure d'arrivée", f"{key} h" if key.isdigit() else key, count
    yield "Démarches", "tuiles ouvertes", value("tiles_opened")
    for key, count in report.table("categories"):
        yield "Démarches (catégories)", _category(key), count
    for key, count in report.table("tiles"):
        yield "Tuiles ouvertes", key.split("/", 1)[-1], count
    yield "Sites refusés", "refus", value("blocked_total")
    for key, count in report.table("blocked"):
        yield "Sites refusés (par tuile)", key, count
    yield "Médiateur", "appels", value("mediator", "opened")
    yield "Médiateur", "pris en charge", value("mediator", "taken")
    yield "Médiateur", "sans réponse", value("mediator", "missed")
    for key, count in report.table("mediator_waits"):
        yield "Médiateur (attente)", WAIT_LABELS.get(key, key), count
    for key, count in report.table("appointments_booked"):
        yield "Rendez-vous pris", _category(key), count
    for key, count in report.table("appointments_cancelled"):
        yield "Rendez-vous annulés", _category(key), count
    yield "Impressions", "pages imprimées", value("printing", "pages_printed")
    yield "Impressions", "pages en attente de l'accueil", value("printing", "pages_held")
    yield "Impressions", "pages annulées", value("printing", "pages_cancelled")
    yield "Impressions", "pages imprimées par l'accueil", value("printing", "pages_staff")
    yield "Numérisation", "pages numérisées", value("scan_pages")
    yield "Tickets", "tickets imprimés", value("tickets")
    yield "Aide", "recherches", value("help_searches")
    yield "Aide", "recherches sans résultat", value("help_searches_empty")
    for key, count in report.table("help_views"):
        yield "Aide (articles lus)", key, count
    yield "Questions de fin de session", "sessions interrogées", value("answers_asked")
    for question, label in QUESTION_LABELS.items():
        for key, count in report.table(f"answers.{question}"):
            yield f"Réponses : {label}", ANSWER_LABELS.get(key, key), count
    for key, count in report.table("device_errors"):
        yield "Erreurs des appareils", key, count
    yield "Qualité des données", "jours comptés", value("terminal_days")
    yield "Qualité des données", "événements perdus", value("events_lost")
    yield "Qualité des données", "événements arrivés en retard", value("late_events")
    yield "Qualité des données", "événements sans date", value("undated_events")


def _hour(key: str) -> int:
    return int(key) if key.isdigit() else 99


def _category(key: str) -> str:
    try:
        return Category(key).label
    except ValueError:
        return key


def render(report: Report, fmt: str) -> str:
    if fmt == "json":
        data = {
            "period": report.period.label,
            "first": report.period.first_day.isoformat(),
            "last": report.period.last_day.isoformat(),
            "k": report.k,
            "figures": [
                {"metric": metric, "key": key, "value": figure.value, "partial": figure.partial}
                for (metric, key), figure in sorted(report.figures.items())
                if not figure.hidden
            ],
        }
        return json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["section", "item", "value"])
        for section, item, value in rows(report):
            writer.writerow([section, item, "" if value is None else value])
        return out.getvalue()
    if fmt == "table":
        return _table(report)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _table(report: Report) -> str:
    lines = [f"Statistiques d'utilisation de la borne : {report.period.french()}", ""]
    section = None
    width = max((len(item) for _, item, _ in rows(report)), default=20) + 2
    for name, item, value in rows(report):
        if name != section:
            lines.append(("" if section is None else "\n") + name)
            lines.append("-" * len(name))
            section = name
        shown = "—" if value is None else str(value)
        lines.append(f"  {item:<{width}}{shown:>8}")
    lines.append("")
    lines.append(
        f"« — » : chiffre masqué pour protéger l'anonymat (moins de {report.k}, ou il permettrait de recalculer"
        " un petit chiffre). Une ligne absente d'un tableau vaut zéro ou est masquée."
    )
    return "\n".join(lines) + "\n"


def _fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-24") from None


def parse_period(label: str | None, first: str | None, last: str | None) -> Period | None:
    """``--period``, or ``--from``/``--to`` that are exactly one period; ``None``: the last closed month."""
    if label is not None:
        return Period.parse(label)
    if first is None and last is None:
        return None
    if first is None or last is None:
        raise ValueError("give both --from and --to, or --period")
    start, end = parse_day(first), parse_day(last)
    if end < start:
        raise ValueError(f"--to ({end}) is before --from ({start})")
    return snap(start, end)
