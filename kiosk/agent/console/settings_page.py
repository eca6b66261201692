"""The console's settings ("Réglages"): opening hours and lunch break as kiosk.toml gives them,
the exceptional closures (the file's, and those added here), links to the persons and accounts.

Everyone logged in sees the page; only an administrator adds or removes a closure. A closure added
here is stored in the database (:mod:`kiosk.core.mediation.closures`): the mediator desk and the
free slots honour it at once, in the shell too. Each change is audit-logged.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time
from itertools import pairwise
from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from kiosk.agent.console.accounts import Login
from kiosk.agent.console.admin import Admin
from kiosk.agent.console.context import ConsoleContext
from kiosk.core.mediation.closures import ClosureError, add_closure, check_closure, remove_closure, stored_closures
from kiosk.core.mediation.hours import local_day
from kiosk.core.mediation_config import Closure

DAY_NAMES = ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche")
NOTICES = {
    "ajoutee": "Fermeture ajoutée : la borne ne propose plus d'appel ni de rendez-vous ces jours-là.",
    "supprimee": "Fermeture supprimée.",
    "introuvable": "Cette fermeture n'existe plus (supprimée entre-temps ?).",
}


@dataclass(frozen=True)
class DayHours:
    name: str
    hours: str  # "9 h – 12 h, 14 h – 17 h" or "Fermé"
    lunch: str  # "12 h – 14 h" or ""


@dataclass(frozen=True)
class ClosureRow:
    id: int | None  # None: from kiosk.toml (not removable here)
    when: str
    reason: str
    past: bool


def _hour(at: time) -> str:
    if at == time.max:
        return "24 h"
    return f"{at.hour} h" if at.minute == 0 else f"{at.hour} h {at.minute:02d}"


def week_rows(ranges_of: list[tuple[tuple[time, time], ...]]) -> list[DayHours]:
    rows = []
    for name, ranges in zip(DAY_NAMES, ranges_of, strict=True):
        shown = ", ".join(f"{_hour(a)} – {_hour(b)}" for a, b in ranges) or "Fermé"
        breaks = [f"{_hour(end)} – {_hour(start)}" for (_, end), (start, _) in pairwise(ranges)]
        rows.append(DayHours(name, shown, ", ".join(breaks)))
    return rows


def _fr(day: date) -> str:
    return f"{DAY_NAMES[day.weekday()].lower()} {day.strftime('%d/%m/%Y')}"


def closure_row(closure: Closure, closure_id: int | None, today: date) -> ClosureRow:
    when = f"le {_fr(closure.start)}" if closure.end is None else f"du {_fr(closure.start)} au {_fr(closure.last)}"
    return ClosureRow(closure_id, when, closure.reason, closure.last < today)


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip()) if text.strip() else None
    except ValueError:
        raise ClosureError(f"« {text} » n'est pas une date : choisissez-la dans le calendrier (JJ/MM/AAAA).") from None


def add_routes(app: FastAPI, ctx: ConsoleContext) -> None:
    opening = ctx.settings.opening

    def page(
        login: Login, status: int = 200, error: str = "", notice: str = "", form: dict[str, str] | None = None
    ) -> Response:
        today = local_day(ctx.clock.now(), ctx.zone)
        with ctx.db() as store:
            stored = stored_closures(store.conn)
        closures = [closure_row(c, None, today) for c in opening.closures]
        closures += [closure_row(s.closure, s.id, today) for s in stored]
        return ctx.render(
            "settings.html",
            status=status,
            login=login,
            week=week_rows([opening.day_ranges(day) for day in range(7)]),
            closures=[c for c in closures if not c.past],
            past=sum(1 for c in closures if c.past),
            today=today.isoformat(),
            error=error,
            notice=notice,
            form=form or {},
        )

    @app.get("/reglages")
    def settings(request: Request, avis: str = "") -> Response:
        return page(request.state.login, notice=NOTICES.get(avis, ""))

    @app.post("/reglages/fermetures")
    def add(
        login: Admin,
        first: Annotated[str, Form(max_length=20)],
        last: Annotated[str, Form(max_length=20)] = "",
        reason: Annotated[str, Form(max_length=500)] = "",
    ) -> Response:
        today = local_day(ctx.clock.now(), ctx.zone)
        try:
            start = _parse_day(first)
            if start is None:
                raise ClosureError("Donnez le premier jour de la fermeture.")
            closure = check_closure(start, _parse_day(last), reason, today)
        except ClosureError as error:
            return page(login, status=400, error=str(error), form={"first": first, "last": last, "reason": reason})
        with ctx.db() as store:
            closure_id = add_closure(store, closure, ctx.clock.now())
        ctx.audit(login.account, "closure_add", f"closure {closure_id} ({closure.start} – {closure.last})")
        return RedirectResponse("/reglages?avis=ajoutee", status_code=303)

    @app.post("/reglages/fermetures/{closure_id}/supprimer")
    def remove(login: Admin, closure_id: int) -> Response:
        with ctx.db() as store:
            removed = remove_closure(store, closure_id)
        if removed is None:
            return RedirectResponse("/reglages?avis=introuvable", status_code=303)
        ctx.audit(login.account, "closure_remove", f"closure {closure_id} ({removed.start} – {removed.last})")
        return RedirectResponse("/reglages?avis=supprimee", status_code=303)
