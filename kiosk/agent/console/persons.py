"""The console's resource persons (admins only): list, add, edit, deactivate; each one's calendar
import problems; their secret agenda address (:mod:`.feeds`), made or replaced here.

Persons come from ``[[appointments.persons]]`` (seeded by the agent at start) or from here. A
person saved here is the console's from then on: the configuration no longer changes it
(:meth:`~kiosk.core.mediation.booking.AppointmentBook.save_person`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from kiosk.agent.console.accounts import Login
from kiosk.agent.console.admin import Admin
from kiosk.agent.console.context import ConsoleContext, Refused
from kiosk.agent.console.feeds import FEED_PATH, FeedTokens
from kiosk.core.mediation.ics import CalendarStatus
from kiosk.core.mediation.storage import StoreBusy
from kiosk.core.mediation_config import WEEKDAYS, PersonSettings
from sync.vocabulary import Category

DAY_LABELS = dict(zip(WEEKDAYS, ("Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"), strict=True))
HINTS = {
    "id": "Identifiant : lettres minuscules, chiffres et tirets, 32 au plus (par exemple marie-d).",
    "name": "Nom : écrivez-le (80 caractères au plus).",
    "categories": "Démarches : cochez celles de la liste.",
    "slot_minutes": "Durée d'un rendez-vous : entre 10 et 240 minutes.",
    "place": "Lieu : 120 caractères au plus.",
    "ics_url": "Adresse du calendrier : l'adresse privée complète, commençant par https://, ou rien.",
    **{
        day: f"{label} : écrivez des plages comme 09:00-12:00, 14:00-17:00, qui ne se chevauchent pas."
        for day, label in DAY_LABELS.items()
    },
}
NOT_FOUND = "Cette personne n'existe pas."
Text = Annotated[str, Form(max_length=2000)]


@dataclass(frozen=True)
class Entry:
    """A person as the list shows them."""

    person: PersonSettings
    source: str  # config | console
    active: bool
    calendar: str  # "" when nothing to say
    calendar_problem: bool
    feed_since: str  # "" when the person has no agenda address yet


def when(at: datetime | None, ctx: ConsoleContext) -> str:
    return "" if at is None else at.astimezone(ctx.zone).strftime("le %d/%m/%Y à %H:%M")


def calendar_text(person: PersonSettings, status: CalendarStatus, ctx: ConsoleContext) -> tuple[str, bool]:
    """What the list says of a person's calendar import, and whether it is a problem."""
    if not person.ics_url:
        return "", False
    if status.problem is None:
        if status.fetched_at is None:
            return "Calendrier pas encore lu (l'agent le lit toutes les quelques minutes).", False
        return f"Calendrier lu {when(status.fetched_at, ctx)}.", False
    kept = (
        f"On utilise la dernière copie lue {when(status.fetched_at, ctx)}."
        if status.fetched_at
        else "Aucune copie n'a encore pu être lue : ses indisponibilités ne sont pas connues."
    )
    return f"Problème {when(status.problem_at, ctx)} : {status.problem.message} {kept}", True


def form_values(person: PersonSettings) -> dict[str, Any]:
    dumped = person.model_dump(mode="json")  # hours as the file writes them: "09:00-12:00"
    values: dict[str, Any] = {
        "id": person.id,
        "name": person.name,
        "categories": [c.value for c in person.categories],
        "slot_minutes": str(person.slot_minutes),
        "place": person.place,
        "ics_url": person.ics_url,
    }
    values.update({day: ", ".join(dumped[day]) for day in WEEKDAYS})
    return values


def french_problems(error: ValidationError) -> list[str]:
    fields = [str(problem["loc"][0]) if problem["loc"] else "" for problem in error.errors()]
    return list(dict.fromkeys(HINTS.get(field, f"{field} : valeur refusée.") for field in fields))


def person_form(
    identifiant: Text = "",
    name: Text = "",
    slot_minutes: Text = "30",
    place: Text = "",
    ics_url: Text = "",
    demarches: Annotated[list[str] | None, Form()] = None,
    monday: Text = "",
    tuesday: Text = "",
    wednesday: Text = "",
    thursday: Text = "",
    friday: Text = "",
    saturday: Text = "",
    sunday: Text = "",
) -> dict[str, Any]:
    """The add/edit form as posted, tidied (checked when turned into :class:`PersonSettings`)."""
    values: dict[str, Any] = {
        "id": identifiant.strip(),
        "name": name.strip(),
        "categories": [c for c in demarches or [] if c in set(Category)],
        "slot_minutes": slot_minutes.strip(),
        "place": place.strip(),
        "ics_url": ics_url.strip(),
    }
    days = (monday, tuesday, wednesday, thursday, friday, saturday, sunday)
    values.update(zip(WEEKDAYS, days, strict=True))
    return values


PersonForm = Annotated[dict[str, Any], Depends(person_form)]


def add_routes(app: FastAPI, ctx: ConsoleContext) -> None:
    tokens = FeedTokens(ctx.store)

    def entries() -> list[Entry]:
        with ctx.db() as store:
            rows = store.conn.execute("SELECT settings, source, active FROM resource_persons ORDER BY id").fetchall()
            feeds = tokens.created(store.conn)
        listed = []
        for settings, source, active in rows:
            person = PersonSettings.model_validate_json(settings)
            text, problem = calendar_text(person, ctx.calendars.status(person.id), ctx)
            listed.append(Entry(person, str(source), bool(active), text, problem, when(feeds.get(person.id), ctx)))
        return listed

    def stored(person_id: str) -> tuple[PersonSettings, bool]:
        with ctx.db() as store:
            row = store.conn.execute(
                "SELECT settings, active FROM resource_persons WHERE id = ?", (person_id,)
            ).fetchone()
        if row is None:
            raise Refused(404, NOT_FOUND)
        return PersonSettings.model_validate_json(row[0]), bool(row[1])

    def list_page(login: Login, notice: str = "", address: str = "", status: int = 200) -> Response:
        return ctx.render("persons.html", status=status, login=login, entries=entries(), notice=notice, address=address)

    def form_page(login: Login, values: dict[str, Any], *, new: bool, errors: list[str] | None = None) -> Response:
        return ctx.render(
            "person_form.html",
            status=400 if errors else 200,
            login=login,
            values=values,
            new=new,
            errors=errors or [],
            categories=list(Category),
            days=DAY_LABELS,
        )

    def save(login: Login, values: dict[str, Any], *, new: bool, keep: PersonSettings | None, active: bool) -> Response:
        data = {key: value for key, value in values.items() if key not in WEEKDAYS}
        data["categories"] = tuple(values["categories"])
        for day in WEEKDAYS:
            data[day] = tuple(part.strip() for part in values[day].split(",") if part.strip())
        if keep is not None:
            data["closures"] = keep.closures
        try:
            person = PersonSettings.model_validate(data)
        except ValidationError as error:
            return form_page(login, values, new=new, errors=french_problems(error))
        try:
            with ctx.db() as store:
                if new and store.conn.execute("SELECT 1 FROM resource_persons WHERE id = ?", (person.id,)).fetchone():
                    return form_page(login, values, new=new, errors=[f"L'identifiant {person.id} est déjà pris."])
                ctx.book.save_person(person, active=active)
        except StoreBusy as error:
            raise Refused(503, "La base de données est occupée : réessayez dans un instant.") from error
        ctx.audit(login.account, "person_add" if new else "person_edit", person.id)
        return list_page(login, notice=f"{person.name} : enregistré.")

    @app.get("/personnes")
    def persons(login: Admin) -> Response:
        return list_page(login)

    @app.get("/personnes/nouvelle")
    def new_form(login: Admin) -> Response:
        blank = form_values(PersonSettings(id="nouvelle", name="?"))
        blank.update(id="", name="")
        return form_page(login, blank, new=True)

    @app.post("/personnes/nouvelle")
    def add(login: Admin, values: PersonForm) -> Response:
        return save(login, values, new=True, keep=None, active=True)

    @app.get("/personnes/{person_id}")
    def edit_form(login: Admin, person_id: str) -> Response:
        person, _active = stored(person_id)
        return form_page(login, form_values(person), new=False)

    @app.post("/personnes/{person_id}")
    def edit(login: Admin, person_id: str, values: PersonForm) -> Response:
        person, active = stored(person_id)
        return save(login, {**values, "id": person_id}, new=False, keep=person, active=active)

    @app.post("/personnes/{person_id}/desactiver")
    def deactivate(login: Admin, person_id: str) -> Response:
        return set_active(login, person_id, False)

    @app.post("/personnes/{person_id}/activer")
    def activate(login: Admin, person_id: str) -> Response:
        return set_active(login, person_id, True)

    def set_active(login: Login, person_id: str, active: bool) -> Response:
        person, _was = stored(person_id)
        with ctx.db():
            ctx.book.save_person(person, active=active)
        ctx.audit(login.account, "person_activate" if active else "person_deactivate", person.id)
        verb = "proposé de nouveau aux rendez-vous" if active else "n'est plus proposé (ses rendez-vous restent)"
        return list_page(login, notice=f"{person.name} : {verb}.")

    @app.post("/personnes/{person_id}/agenda")
    def new_feed(request: Request, login: Admin, person_id: str) -> Response:
        person, _active = stored(person_id)
        with ctx.db() as store:
            replaced = person.id in tokens.created(store.conn)
            token = tokens.rotate(person.id, ctx.clock.now())
        ctx.audit(login.account, "feed_rotate", person.id)
        address = str(request.base_url).rstrip("/") + FEED_PATH.replace("{token}", token)
        notice = f"Nouvelle adresse d'agenda pour {person.name}" + (
            " : l'ancienne ne marche plus." if replaced else "."
        )
        return list_page(login, notice=notice, address=address)
