"""The local usage report: the same published figures as a terminal table, CSV or JSON.

Labels are French: the report is read by the centre's staff. Hidden cells print as
``< k`` in the table and stay empty in CSV (``null`` in JSON), with the reason in a footnote.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from zoneinfo import ZoneInfo

from kiosk.core.settings import KioskSettings
from kiosk.core.stats.aggregate import compute_day, load_aggregates, provisional_day
from kiosk.core.stats.events import AgeBracket
from kiosk.core.stats.period import PeriodFigures, combine
from kiosk.core.stats.suppression import terminal_secret
from kiosk.core.store import Store
from sync.vocabulary import Category

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


def build_report(
    store: Store, settings: KioskSettings, first: date, last: date, today: date | None = None
) -> PeriodFigures:
    """Figures for ``first``…``last``: sealed days from the store, open days computed on the fly."""
    if last < first:
        raise ValueError(f"the period ends ({last}) before it starts ({first})")
    zone = ZoneInfo(settings.centre.timezone)
    stored = load_aggregates(store, first, last)
    sealed = {aggregate.day for aggregate in stored}
    today = today or datetime.now(zone).date()
    provisional = []
    # Days after the last sealed one, up to today, are still open: count them as they stand.
    open_from = max(sealed) if sealed else None
    day = first
    while day <= min(last, today):
        if day not in sealed and (open_from is None or day > open_from):
            aggregate = provisional_day(store, day, zone)
            if day == today or aggregate != compute_day(day, zone, ()):
                stored.append(aggregate)
                provisional.append(day)
        day = date.fromordinal(day.toordinal() + 1)
    stored.sort(key=lambda a: a.day)
    return combine(
        first, last, stored, k=settings.stats.suppression_k, provisional=provisional, salt=terminal_secret(store)
    )


# -- rows shared by the three formats ----------------------------------------------------------


def rows(figures: PeriodFigures) -> Iterator[tuple[str, str, int | float | str | None]]:
    """``(section, item, value)`` for every figure, in reading order."""
    yield "Sessions", "sessions commencées", figures.sessions
    yield "Sessions", "sessions terminées", figures.sessions_ended
    average = figures.average_duration_s
    yield "Sessions", "durée moyenne (min)", round(average / 60, 1) if average is not None else None
    for key, value in figures.end_reasons.items():
        yield "Fin de session", END_REASON_LABELS.get(key, key), value
    for key, label in DURATION_LABELS.items():
        yield "Durée des sessions", label, figures.durations.get(key, 0)
    for day, value in sorted(figures.per_day.items()):
        yield "Sessions par jour", day.isoformat(), value
    for key, value in figures.categories.items():
        yield "Démarches (catégories)", _category(key), value
    for key, value in figures.tiles.items():
        yield "Tuiles ouvertes", key, value
    for key, value in figures.blocked.items():
        yield "Sites refusés", key, value
    yield "Médiateur", "appels", figures.mediator.opened
    yield "Médiateur", "pris en charge", figures.mediator.taken
    yield "Médiateur", "sans réponse", figures.mediator.missed
    share = figures.answered_share
    yield "Médiateur", "part prise en charge (%)", round(share * 100) if share is not None else None
    median = figures.mediator_median_wait
    yield "Médiateur", "attente médiane", WAIT_LABELS.get(median, median) if median else None
    for key, value in figures.appointments_booked.items():
        yield "Rendez-vous pris", _category(key), value
    for key, value in figures.appointments_cancelled.items():
        yield "Rendez-vous annulés", _category(key), value
    yield "Impressions", "pages imprimées", figures.printing.pages_printed
    yield "Impressions", "pages en attente de l'accueil", figures.printing.pages_held
    yield "Impressions", "pages annulées", figures.printing.pages_cancelled
    yield "Numérisation", "pages numérisées", figures.scan_pages
    yield "Tickets", "tickets imprimés", figures.tickets
    yield "Aide", "recherches", figures.help_searches
    yield "Aide", "recherches sans résultat", figures.help_searches_empty
    for key, value in figures.help_views.items():
        yield "Aide (articles lus)", key, value
    yield "Questions de fin de session", "sessions interrogées", figures.answers_asked
    for question, table in figures.answers.items():
        for answer, count in table.items():
            yield f"Réponses : {QUESTION_LABELS.get(question, question)}", ANSWER_LABELS.get(answer, answer), count
    for key, value in figures.device_errors.items():
        yield "Erreurs des appareils", key, value
    yield "Qualité des données", "événements perdus", figures.events_lost
    yield "Qualité des données", "événements arrivés en retard", figures.late_events
    yield "Qualité des données", "événements sans date", figures.undated_events


def _category(key: str) -> str:
    try:
        return Category(key).label
    except ValueError:
        return key


def render(figures: PeriodFigures, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(figures.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["section", "item", "value"])
        for section, item, value in rows(figures):
            writer.writerow([section, item, "" if value is None else value])
        return out.getvalue()
    if fmt == "table":
        return _table(figures)
    raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")


def _table(figures: PeriodFigures) -> str:
    lines = [f"Statistiques d'utilisation de la borne du {_fr(figures.first)} au {_fr(figures.last)}"]
    open_days = figures.provisional_days
    if open_days:
        days = ", ".join(_fr(d) for d in open_days) if len(open_days) <= 3 else f"{len(open_days)} jours"
        lines.append(f"(chiffres provisoires pour les journées pas encore closes : {days})")
    lines.append("")
    section = None
    width = max((len(item) for _, item, _ in rows(figures)), default=20) + 2
    hidden = False
    for name, item, value in rows(figures):
        if name != section:
            lines.append(("" if section is None else "\n") + name)
            lines.append("-" * len(name))
            section = name
        if value is None and name.startswith("Réponses"):
            shown = f"< {figures.k}"
            hidden = True
        else:
            shown = "–" if value is None else str(value)
        lines.append(f"  {item:<{width}}{shown:>8}")
    lines.append("")
    lines.append("Sessions par jour de la semaine et par heure")
    lines.append("-" * 44)
    lines.extend(_heatmap(figures.week_hours))
    if hidden:
        lines.append("")
        lines.append(
            f"« < {figures.k} » : case masquée pour protéger l'anonymat (moins de {figures.k} réponses, "
            "ou masquée pour qu'on ne puisse pas la recalculer)."
        )
    return "\n".join(lines) + "\n"


def _heatmap(week_hours: list[list[int]]) -> list[str]:
    active = [h for h in range(24) if any(week_hours[d][h] for d in range(7))]
    if not active:
        return ["  (aucune session)"]
    first, last = min(active), max(active)
    hours = range(first, last + 1)
    header = "       " + "".join(f"{h:>4}h" for h in hours)
    out = [header]
    for day, name in enumerate(WEEKDAYS):
        out.append(f"  {name:<5}" + "".join(f"{week_hours[day][h] or '.':>5}" for h in hours))
    return out


def _fr(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date; write it as YYYY-MM-DD, e.g. 2026-11-24") from None
