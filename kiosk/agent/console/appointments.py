"""The console's appointments section: day and week views per resource person; book on behalf
of a resident, move, cancel, mark attended or no-show.

Staff see the resident's name and contact (they call them when something changes); once the
appointment is older than ``keep_days`` the core has wiped them and the row says so. Every
action is a POST with the form's CSRF token (the app's guard) and leaves an audit row that names
the appointment, never the resident. The booking rules are the core's
(:class:`~kiosk.core.mediation.booking.AppointmentBook`): a slot taken in between answers
"Ce créneau vient d'être pris." with the free slots as they are now.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import Annotated, Literal

from babel.dates import format_date
from fastapi import FastAPI, Form, Request
from fastapi.responses import RedirectResponse, Response

from kiosk.agent.console.accounts import Login
from kiosk.agent.console.context import ConsoleContext, Refused
from kiosk.core.mediation.booking import (
    Appointment,
    AppointmentState,
    AppointmentStateError,
    Booked,
    Channel,
    SlotTaken,
)
from kiosk.core.mediation.contact import Contact, ContactError, phone_display
from kiosk.core.mediation.hours import wall_time
from kiosk.core.mediation.reservation import parse_slot, slot_value
from kiosk.core.mediation.slots import Slot
from kiosk.core.mediation.storage import StoreBusy
from kiosk.core.mediation.wording import LOCALE
from kiosk.core.mediation_config import PersonSettings
from sync.vocabulary import Category

STATE_LABELS = {
    AppointmentState.BOOKED: "Prévu",
    AppointmentState.CANCELLED: "Annulé",
    AppointmentState.ATTENDED: "Venu",
    AppointmentState.NO_SHOW: "Pas venu",
}
CHANNEL_LABELS = {Channel.KIOSK: "à la borne", Channel.WEBSITE: "sur le site", Channel.STAFF: "par l'accueil"}
NOTICES = {
    "pris": "Rendez-vous enregistré.",
    "deplace": "Rendez-vous déplacé.",
    "annuler": "Rendez-vous annulé.",
    "venu": "Noté : la personne est venue.",
    "absent": "Noté : la personne n'est pas venue.",
    "deja": "Ce rendez-vous a changé entre-temps (annulé ou déplacé par quelqu'un d'autre).",
}
Verb = Literal["annuler", "venu", "absent"]
PURGED = "Coordonnées effacées (délai de conservation passé)"
BUSY = "La base de données est occupée : réessayez dans un instant."
PICK_A_SLOT = "Choisissez un créneau dans la liste."


@dataclass(frozen=True)
class Row:
    """One appointment as the views show it."""

    ref: str
    id: int
    day: date
    hours: str  # "09:30 – 10:00"
    person: str
    category: str
    resident: str
    contact: str
    state: AppointmentState
    state_label: str
    channel: str

    @property
    def is_booked(self) -> bool:
        return self.state is AppointmentState.BOOKED

    @property
    def was_seen(self) -> bool:
        return self.state in (AppointmentState.ATTENDED, AppointmentState.NO_SHOW)


@dataclass(frozen=True)
class SlotChoice:
    value: str  # "person|start_ms|end_ms": what the form sends back
    label: str  # "09:30 · Marie Dupont"


@dataclass(frozen=True)
class SlotDay:
    label: str
    slots: list[SlotChoice]


def day_label(day: date) -> str:
    """``Lundi 30 novembre 2026``."""
    return format_date(day, "EEEE d MMMM y", locale=LOCALE).capitalize()


def contact_text(contact: Contact | None) -> tuple[str, str]:
    if contact is None:
        return "—", PURGED
    parts = [phone_display(contact.phone) if contact.phone else "", contact.email or ""]
    return contact.name, " · ".join(part for part in parts if part)


def all_persons(ctx: ConsoleContext) -> dict[str, PersonSettings]:
    """Every person ever known, inactive ones too (their past appointments still show)."""
    rows = ctx.store.conn.execute("SELECT settings FROM resource_persons ORDER BY id").fetchall()
    persons = [PersonSettings.model_validate_json(row[0]) for row in rows]
    return {person.id: person for person in persons}


def rows(ctx: ConsoleContext, appointments: Iterable[Appointment], persons: dict[str, PersonSettings]) -> list[Row]:
    shown = []
    for item in appointments:
        start, end = item.start.astimezone(ctx.zone), item.end.astimezone(ctx.zone)
        resident, contact = contact_text(item.contact)
        person = persons.get(item.person_id)
        shown.append(
            Row(
                ref=item.ref,
                id=item.id,
                day=start.date(),
                hours=f"{start:%H:%M} – {end:%H:%M}",
                person=person.name if person else item.person_id,
                category=item.category.label,
                resident=resident,
                contact=contact,
                state=item.state,
                state_label=STATE_LABELS[item.state],
                channel=CHANNEL_LABELS[item.channel],
            )
        )
    return shown


def day_bounds(ctx: ConsoleContext, first: date, days: int) -> tuple[datetime, datetime]:
    """The UTC instants of the local midnights starting ``first`` and ending ``days`` later."""
    return wall_time(first, time(0), ctx.zone), wall_time(first + timedelta(days=days), time(0), ctx.zone)


def slot_days(ctx: ConsoleContext, slots: Iterable[Slot], persons: dict[str, PersonSettings]) -> list[SlotDay]:
    """Free slots grouped by the centre's day, for radio buttons."""
    days = []
    for day, group in groupby(sorted(slots), key=lambda s: s.start.astimezone(ctx.zone).date()):
        choices = [
            SlotChoice(
                slot_value(s),
                f"{s.start.astimezone(ctx.zone):%H:%M} · {persons[s.person_id].name if s.person_id in persons else ''}",
            )
            for s in group
        ]
        days.append(SlotDay(day_label(day), choices))
    return days


def parse_day(value: str, today: date) -> date:
    try:
        return date.fromisoformat(value) if value else today
    except ValueError:
        raise Refused(400, "Cette date n'est pas lisible : choisissez un jour avec les boutons.") from None


def add_routes(app: FastAPI, ctx: ConsoleContext) -> None:
    def today() -> date:
        return ctx.clock.now().astimezone(ctx.zone).date()

    def listing(first: date, days: int, person_id: str) -> list[Row]:
        start, end = day_bounds(ctx, first, days)
        with ctx.db():
            persons = all_persons(ctx)
            found = ctx.book.between(start, end)
        if person_id:
            found = [a for a in found if a.person_id == person_id]
        return rows(ctx, found, persons)

    def active() -> list[PersonSettings]:
        with ctx.db():
            return ctx.book.persons()

    @app.get("/rendez-vous")
    def day_view(request: Request, jour: str = "", personne: str = "", avis: str = "") -> Response:
        login: Login = request.state.login
        day = parse_day(jour, today())
        shown = listing(day, 1, personne)
        by_person = [
            (name, list(group)) for name, group in groupby(sorted(shown, key=lambda r: r.person), lambda r: r.person)
        ]
        return ctx.render(
            "appointments_day.html",
            login=login,
            day=day,
            title=day_label(day),
            is_today=day == today(),
            previous=day - timedelta(days=1),
            next=day + timedelta(days=1),
            by_person=by_person,
            persons=active(),
            person_id=personne,
            notice=NOTICES.get(avis, ""),
        )

    @app.get("/rendez-vous/semaine")
    def week_view(request: Request, du: str = "", personne: str = "") -> Response:
        login: Login = request.state.login
        day = parse_day(du, today())
        monday = day - timedelta(days=day.weekday())
        shown = listing(monday, 7, personne)
        days = [
            (d, day_label(d), [r for r in shown if r.day == d]) for d in (monday + timedelta(days=i) for i in range(7))
        ]
        return ctx.render(
            "appointments_week.html",
            login=login,
            monday=monday,
            title=f"Semaine du {format_date(monday, 'EEEE d MMMM y', locale=LOCALE)}",
            previous=monday - timedelta(days=7),
            next=monday + timedelta(days=7),
            days=days,
            persons=active(),
            person_id=personne,
        )

    def choose_page(
        login: Login,
        *,
        category: Category | None,
        person_id: str,
        moving: Row | None = None,
        status: int = 200,
        error: str = "",
        values: dict[str, str] | None = None,
        slots: list[Slot] | None = None,
    ) -> Response:
        with ctx.db():
            persons = all_persons(ctx)
            current = ctx.book.persons()
            if slots is None and category is not None:
                slots = ctx.book.free_slots(category)
        if person_id:
            slots = [s for s in slots or [] if s.person_id == person_id]
        return ctx.render(
            "appointments_book.html",
            status=status,
            login=login,
            categories=list(Category),
            category=category,
            persons=current,
            person_id=person_id,
            days=slot_days(ctx, slots or [], persons),
            moving=moving,
            keep_days=ctx.book.settings.keep_days,
            error=error,
            values=values or {},
        )

    @app.get("/rendez-vous/nouveau")
    def book_form(request: Request, demarche: Category | None = None, personne: str = "") -> Response:
        return choose_page(request.state.login, category=demarche, person_id=personne)

    @app.post("/rendez-vous/nouveau")
    def book(
        request: Request,
        demarche: Annotated[Category, Form()],
        creneau: Annotated[str, Form(max_length=200)] = "",
        nom: Annotated[str, Form(max_length=200)] = "",
        telephone: Annotated[str, Form(max_length=60)] = "",
        email: Annotated[str, Form(max_length=320)] = "",
        personne: Annotated[str, Form(max_length=40)] = "",
    ) -> Response:
        login: Login = request.state.login
        values = {"nom": nom, "telephone": telephone, "email": email, "creneau": creneau}

        def again(status: int, error: str, slots: list[Slot] | None = None) -> Response:
            return choose_page(
                login, category=demarche, person_id=personne, status=status, error=error, values=values, slots=slots
            )

        slot = parse_slot(creneau)
        if slot is None:
            return again(400, PICK_A_SLOT)
        try:
            contact = Contact.checked(nom, telephone, email)
        except ContactError as problem:
            return again(400, problem.resident_message)
        try:
            with ctx.db():
                outcome = ctx.book.book(slot, demarche, contact, Channel.STAFF)
        except StoreBusy as error:
            raise Refused(503, BUSY) from error
        if isinstance(outcome, SlotTaken):
            values["creneau"] = ""
            return again(409, f"{outcome.message} Voici les créneaux libres maintenant.", outcome.slots)
        assert isinstance(outcome, Booked)
        ctx.audit(login.account, "appointment_book", target(outcome.appointment, ctx))
        day = outcome.appointment.start.astimezone(ctx.zone).date()
        return RedirectResponse(f"/rendez-vous?jour={day.isoformat()}&avis=pris", status_code=303)

    def one(ref: str) -> tuple[Appointment, Row]:
        with ctx.db():
            found = ctx.book.get(ref)
            persons = all_persons(ctx)
        if found is None:
            raise Refused(404, "Ce rendez-vous n'existe pas (ou plus).")
        return found, rows(ctx, [found], persons)[0]

    @app.get("/rendez-vous/{ref}/deplacer")
    def move_form(request: Request, ref: str, personne: str = "") -> Response:
        found, row = one(ref)
        return choose_page(request.state.login, category=found.category, person_id=personne, moving=row)

    @app.post("/rendez-vous/{ref}/deplacer")
    def move(
        request: Request,
        ref: str,
        creneau: Annotated[str, Form(max_length=200)] = "",
        personne: Annotated[str, Form(max_length=40)] = "",
    ) -> Response:
        login: Login = request.state.login
        found, row = one(ref)
        slot = parse_slot(creneau)
        if slot is None:
            return choose_page(
                login, category=found.category, person_id=personne, moving=row, status=400, error=PICK_A_SLOT
            )
        try:
            with ctx.db():
                outcome = ctx.book.move(ref, slot)
        except AppointmentStateError:
            return RedirectResponse("/rendez-vous?avis=deja", status_code=303)
        except StoreBusy as error:
            raise Refused(503, BUSY) from error
        if isinstance(outcome, SlotTaken):
            kept = f"{outcome.message} Le rendez-vous n'a pas bougé. Voici les créneaux libres maintenant."
            return choose_page(
                login,
                category=found.category,
                person_id=personne,
                moving=row,
                status=409,
                error=kept,
                slots=outcome.slots,
            )
        before = found.start.astimezone(ctx.zone).strftime("%d/%m %H:%M")
        ctx.audit(login.account, "appointment_move", f"{target(outcome.appointment, ctx)}, avant {before}")
        day = outcome.appointment.start.astimezone(ctx.zone).date()
        return RedirectResponse(f"/rendez-vous?jour={day.isoformat()}&avis=deplace", status_code=303)

    @app.post("/rendez-vous/{ref}/{verb}")
    def act(request: Request, ref: str, verb: Verb) -> Response:
        login: Login = request.state.login
        found, _row = one(ref)
        day = found.start.astimezone(ctx.zone).date().isoformat()
        try:
            with ctx.db():
                if verb == "venu":
                    changed = ctx.book.mark(ref, AppointmentState.ATTENDED)
                elif verb == "absent":
                    changed = ctx.book.mark(ref, AppointmentState.NO_SHOW)
                else:
                    changed = ctx.book.cancel(ref)
        except AppointmentStateError:
            return RedirectResponse(f"/rendez-vous?jour={day}&avis=deja", status_code=303)
        except StoreBusy as error:
            raise Refused(503, BUSY) from error
        action = {"annuler": "appointment_cancel", "venu": "appointment_attended", "absent": "appointment_no_show"}
        ctx.audit(login.account, action[verb], target(changed, ctx))
        return RedirectResponse(f"/rendez-vous?jour={day}&avis={verb}", status_code=303)


def target(appointment: Appointment, ctx: ConsoleContext) -> str:
    """What the audit log says of an appointment: no resident data."""
    start = appointment.start.astimezone(ctx.zone).strftime("%d/%m %H:%M")
    return f"appointment {appointment.id} ({appointment.person_id}, {start})"
