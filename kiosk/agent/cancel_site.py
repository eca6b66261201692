"""The website's cancel link: ``/rendez-vous/annuler/<ref>``, the link of every reminder.

GET shows the appointment — date, time, démarche, place; never the resident's name or contact —
and a button; POST cancels it (:meth:`AppointmentBook.cancel`: the slot is free again) and says
so in French. The ref is the key (random, 96 bits); a ref unknown or malformed is a 404 page.
The form carries a token that must match a cookie set with it (``SameSite=Strict``, no path:
the browser's own, so it works behind the centre's reverse proxy), so that another site cannot
make a visitor's browser cancel. Pages from the website's templates, under its headers (CSP).

The database is opened on the first visit, on its own connection (the help pages never need it).
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse

from kiosk.agent.site_workers import site_workers
from kiosk.core.mediation.booking import Appointment, AppointmentBook, AppointmentState, AppointmentStateError
from kiosk.core.mediation.reminders import CANCEL_PATH
from kiosk.core.mediation.wording import date_text, hour_text
from kiosk.core.ports import Clock, SystemClock
from kiosk.core.settings import Config
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import DB_NAME, Role, Store, open_store
from kiosk.pages import PageRenderer

COOKIE = "borne_cancel_form"
PAGE = "appointment_cancel"
REF = re.compile(r"[A-Za-z0-9_-]{8,64}")
T = TypeVar("T")
Lang = Annotated[
    str, Query(max_length=5, pattern=r"^[a-z]{2}$")
]  # as the help pages' (module level: FastAPI resolves it)


class CancelDesk:
    """The appointments as the cancel page needs them: one connection, one request at a time."""

    def __init__(self, config: Config, clock: Clock) -> None:
        self.config, self.clock = config, clock
        self.zone = ZoneInfo(config.kiosk.centre.timezone)
        self._book: AppointmentBook | None = None
        self._store: Store | None = None
        self._lock = threading.Lock()

    def locked(self, work: Callable[[AppointmentBook], T]) -> T:
        with self._lock:
            if self._book is None:
                settings = self.config.kiosk
                self._store = open_store(settings.paths.data_dir / DB_NAME, Role.AGENT, settings.stats.durability)
                recorder = StatsRecorder(self._store, self.clock)  # a cancellation is counted, as at the desk
                self._book = AppointmentBook(
                    self._store, settings.appointments, settings.opening, self.zone, self.clock, recorder=recorder
                )
            return work(self._book)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
            self._store = self._book = None


def _facts(book: AppointmentBook, appointment: Appointment, centre: str, lang: str) -> dict[str, str]:
    start = appointment.start.astimezone(book.zone)
    if lang == "fr":
        when, hour = date_text(start.date()), hour_text(start)
    else:
        when, hour = format_date(start.date(), "EEEE d MMMM y", locale=lang), format_time(start, "HH:mm", locale=lang)
    person = book.person(appointment.person_id)
    place = ", ".join(part for part in (centre, person.place if person else "") if part)
    return {"when": when, "hour": hour, "category": appointment.category.label, "place": place}


def add_cancel_routes(
    app: FastAPI,
    config: Config,
    renderer: PageRenderer,
    headers: Mapping[str, str],
    *,
    clock: Clock | None = None,
) -> CancelDesk:
    """Add the cancel page to the website ``app`` (``headers``: the website's, its CSP)."""
    desk = CancelDesk(config, clock or SystemClock())
    centre = config.kiosk.centre.name
    secure = config.kiosk.notifications.public_url.startswith("https://")
    workers = site_workers(app)

    def page(lang: str, state: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        code = renderer.offered_or_default(lang)
        body = renderer.render(PAGE, language=code, cancel_state=state, **context).body
        return HTMLResponse(body, status_code=status, headers={**headers, "Cache-Control": "no-store"})

    def look(ref: str) -> Appointment | None:
        return desk.locked(lambda book: book.get(ref)) if REF.fullmatch(ref) else None

    def state_of(appointment: Appointment) -> str:
        if appointment.state is AppointmentState.CANCELLED:
            return "already"
        if appointment.state is not AppointmentState.BOOKED or appointment.start <= desk.clock.now():
            return "past"
        return "confirm"

    @app.get(CANCEL_PATH + "{ref}")
    @workers
    def show(ref: str, lang: Lang = "") -> HTMLResponse:
        appointment = look(ref)
        if appointment is None:
            return page(lang, "missing", status=404)
        state = state_of(appointment)
        if state != "confirm":
            return page(lang, state)
        token = secrets.token_urlsafe(24)
        code = renderer.offered_or_default(lang)
        facts: dict[str, Any] = desk.locked(lambda book: _facts(book, appointment, centre, code))
        response = page(lang, "confirm", form_token=token, **facts)
        response.set_cookie(COOKIE, token, max_age=3600, path=None, secure=secure, httponly=True, samesite="strict")
        return response

    @app.post(CANCEL_PATH + "{ref}")
    @workers
    def cancel(
        request: Request, ref: str, csrf: Annotated[str, Form(max_length=200)] = "", lang: Lang = ""
    ) -> HTMLResponse:
        appointment = look(ref)
        if appointment is None:
            return page(lang, "missing", status=404)
        if state_of(appointment) != "confirm":  # a second press, or cancelled meanwhile: say so
            return page(lang, state_of(appointment))
        expected = request.cookies.get(COOKIE, "")
        if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
            return page(lang, "expired", status=403)
        try:
            desk.locked(lambda book: book.cancel(ref))
        except AppointmentStateError:  # cancelled (or marked) meanwhile by someone else
            current = look(ref)
            return page(lang, state_of(current) if current else "missing")
        response = page(lang, "cancelled")
        response.set_cookie(COOKIE, "", max_age=0, path=None, secure=secure, httponly=True, samesite="strict")
        return response

    return desk
