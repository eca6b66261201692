"""The booking pages of the centre's website, at ``/rendez-vous``: the terminal's appointment page,
from the same template and the same rules (:class:`ReservationDesk`, ``Channel.WEBSITE``).

A resident at home picks a démarche, a free slot, gives a name and a phone number or an
e-mail, and gets a confirmation page with the appointment as an iCalendar file to add to their
own calendar. Against floods, each address has a budget of requests and of bookings
(:class:`RateLimits`; 429 with a French reason). Against cross-site posts, the form carries a
token derived from a ``SameSite=Strict`` cookie that a page of another site cannot send. Pages run
no script at all (the content security policy says so).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote_plus, urlencode

from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kiosk.agent.site_workers import site_workers
from kiosk.core.mediation.reservation import ReservationDesk, ReservationView, Step
from kiosk.core.ports import Clock, SystemClock
from kiosk.core.settings import Config
from kiosk.core.store import DB_NAME, Role
from kiosk.i18n import N_, languages
from kiosk.pages import PageRenderer, PageServices
from kiosk.pages.booking import LibraryGuides, booking_context
from sync.vocabulary import Category

PREFIX = "/rendez-vous"
COOKIE = "rdv_jeton"
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",  # a page may hold what a resident typed
}
TOO_MANY = N_("Trop de demandes depuis votre connexion. Attendez quelques minutes, puis réessayez.")
EXPIRED = "Cette page a expiré. Vérifiez ce que vous avez écrit, puis touchez encore « Confirmer le rendez-vous »."
Lang = Annotated[str, Query(max_length=5, pattern=r"^[a-z]{2}$")]
Short = Annotated[str, Query(max_length=100)]


@dataclass(frozen=True)
class RateLimits:
    """Per client address: ``requests`` pages a minute, ``bookings`` confirmations an hour."""

    requests: int = 60
    bookings: int = 6
    request_window_s: float = 60.0
    booking_window_s: float = 3600.0
    addresses_max: int = 10_000  # addresses remembered at most (the oldest windows go first)


class RateLimiter:
    """Fixed windows per (address, kind), in memory: one agent serves the site."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        self._windows: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def spend(self, address: str, kind: str) -> float | None:
        """None when allowed; otherwise the seconds until the address may try again."""
        limit, window = (
            (self.limits.bookings, self.limits.booking_window_s)
            if kind == "booking"
            else (self.limits.requests, self.limits.request_window_s)
        )
        now = time.monotonic()
        with self._lock:
            start, count = self._windows.get((address, kind), (now, 0))
            if now - start >= window:
                start, count = now, 0
            if count >= limit:
                return max(1.0, window - (now - start))
            self._windows[(address, kind)] = (start, count + 1)
            if len(self._windows) > self.limits.addresses_max:
                self._prune(now)
        return None

    def _prune(self, now: float) -> None:
        oldest = sorted(self._windows.items(), key=lambda item: item[1][0])
        for key, _window in oldest[: len(oldest) - self.limits.addresses_max // 2]:
            del self._windows[key]


@lru_cache(maxsize=4096)
def _quoted(text: str) -> str:
    """A query value quoted (the same slots are on page after page)."""
    return quote_plus(text)


def form_token(secret: bytes, cookie: str) -> str:
    return hmac.new(secret, cookie.encode(), hashlib.sha256).hexdigest()


class WebsiteBookingLinks:
    """The website's paths, the language kept in the query."""

    form_method = "post"

    def __init__(self, lang: str, default_language: str) -> None:
        self.query = {"lang": lang} if lang and lang != default_language else {}
        self._tail = f"&{urlencode(self.query)}" if self.query else ""

    def _path(self, path: str, **query: str) -> str:
        query = {**query, **self.query}
        return PREFIX + path + (f"?{urlencode(query)}" if query else "")

    def category(self, value: str) -> str:
        return self._path("/creneaux", demarche=value)

    def slot(self, category: str, value: str) -> str:
        # As _path writes it, without urlencode's per-call work: a page has a link per slot.
        return f"{PREFIX}/coordonnees?demarche={_quoted(category)}&creneau={_quoted(value)}{self._tail}"

    def form(self) -> str:
        return self._path("/coordonnees")

    def start(self) -> str:
        return self._path("")

    def confirmation(self, ref: str) -> str:
        return self._path(f"/confirmation/{ref}")

    def calendar(self, ref: str) -> str:
        return self._path(f"/confirmation/{ref}/rendez-vous.ics")


def add_booking_routes(
    app: FastAPI,
    config: Config,
    renderer: PageRenderer,
    services: PageServices,
    *,
    db_path: Path | None = None,
    clock: Clock | None = None,
    limits: RateLimits | None = None,
) -> ReservationDesk:
    """The booking pages on ``app`` (the help site), on a connection of their own to the shared
    database (``db_path``, default the data directory's), opened at the first booking page."""
    settings = config.kiosk
    desk = ReservationDesk(
        db_path or settings.paths.data_dir / DB_NAME,
        settings,
        clock or SystemClock(),
        "website",
        role=Role.AGENT,
        guides=LibraryGuides(services.help),
    )
    limiter = RateLimiter(limits or RateLimits())
    workers = site_workers(app)
    secret = secrets.token_bytes(32)

    def address(request: Request) -> str:
        return request.client.host if request.client is not None else "?"

    def refused(request: Request, lang: str, wait_s: float) -> HTMLResponse:
        response = page(request, lang, ReservationView(Step.UNAVAILABLE, error=TOO_MANY), status=429)
        response.headers["Retry-After"] = str(int(wait_s))
        return response

    def page(request: Request, lang: str, view: ReservationView, status: int = 200) -> HTMLResponse:
        code = renderer.offered_or_default(lang)
        links = WebsiteBookingLinks(code, renderer.default_language)
        cookie = request.cookies.get(COOKIE, "")
        fresh = view.step is Step.CONTACT and len(cookie) != 43
        if fresh:
            cookie = secrets.token_urlsafe(32)

        def extra() -> Mapping[str, Any]:
            path = request.url.path
            kept = {k: v for k, v in request.query_params.items() if k != "lang"}
            return {
                "lang_links": [
                    {
                        "code": lg.code,
                        "name": lg.name,
                        "direction": lg.direction,
                        "url": path + "?" + urlencode({**kept, "lang": lg.code}),
                    }
                    for lg in languages(renderer.offered)
                ]
                if len(renderer.offered) > 1
                else [],
                "calendar_url": links.calendar(view.confirmation.ref) if view.confirmation is not None else "",
            }

        context = booking_context(
            view,
            services.tiles,
            code,
            links,
            zone=desk.zone,
            keep_days=desk.keep_days,
            centre_place=settings.centre.commune,
            token=form_token(secret, cookie) if view.step is Step.CONTACT else "",
            extra=extra,
        )
        rendered = renderer.render("appointment", language=code, **context)
        response = HTMLResponse(rendered.body, status_code=status, headers=HEADERS)
        if fresh:
            response.set_cookie(COOKIE, cookie, path=PREFIX, httponly=True, samesite="strict")
        return response

    def budget(request: Request, lang: str, kind: str = "request") -> HTMLResponse | None:
        wait = limiter.spend(address(request), kind)
        return None if wait is None else refused(request, lang, wait)

    def unavailable_or(view: ReservationView) -> ReservationView:
        return view if desk.enabled else ReservationView(Step.UNAVAILABLE)

    @app.get(PREFIX)
    @workers
    def start(request: Request, lang: Lang = "") -> Response:
        return budget(request, lang) or page(request, lang, unavailable_or(ReservationView(Step.CATEGORY)))

    @app.get(PREFIX + "/creneaux")
    @workers
    def slots(request: Request, demarche: Short = "", lang: Lang = "") -> Response:
        return budget(request, lang) or page(request, lang, desk.choose(demarche))

    @app.get(PREFIX + "/coordonnees")
    @workers
    def contact(request: Request, demarche: Short = "", creneau: Short = "", lang: Lang = "") -> Response:
        return budget(request, lang) or page(request, lang, desk.pick(demarche, creneau))

    @app.post(PREFIX + "/coordonnees")
    @workers
    def book(
        request: Request,
        category: Annotated[str, Form(max_length=100)] = "",
        slot: Annotated[str, Form(max_length=100)] = "",
        name: Annotated[str, Form(max_length=400)] = "",
        contact: Annotated[str, Form(max_length=400)] = "",
        token: Annotated[str, Form(max_length=100)] = "",
        lang: Lang = "",
    ) -> Response:
        over = budget(request, lang) or budget(request, lang, "booking")
        if over is not None:
            return over
        asked = {"category": category, "slot": slot, "name": name, "contact": contact}
        cookie = request.cookies.get(COOKIE, "")
        if not cookie or not hmac.compare_digest(form_token(secret, cookie), token):
            view = desk.pick(category, slot)
            if view.step is Step.CONTACT:
                view = ReservationView(Step.CONTACT, view.category, slot=view.slot, error=EXPIRED, values=asked)
            return page(request, lang, view, status=403)
        view = desk.book(asked)
        if view.step is Step.CONFIRMED and view.confirmation is not None:
            code = renderer.offered_or_default(lang)
            target = WebsiteBookingLinks(code, renderer.default_language).confirmation(view.confirmation.ref)
            return RedirectResponse(target, status_code=303, headers=HEADERS)
        status = {Step.CONTACT: 400, Step.SLOTS: 409, Step.CATEGORY: 400}.get(view.step, 503)
        return page(request, lang, view, status=status)

    @app.get(PREFIX + "/confirmation/{ref}")
    @workers
    def confirmation(request: Request, ref: str, lang: Lang = "") -> Response:
        over = budget(request, lang)
        if over is not None:
            return over
        found = desk.confirmation(ref)
        if found is None:
            return page(request, lang, unavailable_or(ReservationView(Step.CATEGORY)), status=404)
        return page(request, lang, ReservationView(Step.CONFIRMED, found.appointment.category, confirmation=found))

    @app.get(PREFIX + "/confirmation/{ref}/rendez-vous.ics")
    @workers
    def calendar(request: Request, ref: str) -> Response:
        if limiter.spend(address(request), "request") is not None:
            return Response(TOO_MANY, status_code=429, media_type="text/plain; charset=utf-8")
        found = desk.confirmation(ref)
        if found is None:
            return Response(status_code=404)
        headers = {**HEADERS, "Content-Disposition": 'attachment; filename="rendez-vous.ics"'}
        return Response(desk.calendar(found), media_type="text/calendar; charset=utf-8", headers=headers)

    return desk


def warm_booking(desk: ReservationDesk, renderer: PageRenderer, services: PageServices) -> None:
    """What the first visitors of the booking pages would otherwise wait for, done as the site
    starts: the desk's (:meth:`ReservationDesk.warm`), the template compiled and the day names
    loaded, by rendering a slots page for nobody. (Twenty phones at the first minute each waited
    for all of it: about half a second.)"""
    desk.warm()
    code = renderer.default_language
    view = desk.choose(next(iter(Category)).value)
    links = WebsiteBookingLinks(code, code)
    context = booking_context(view, services.tiles, code, links, zone=desk.zone, keep_days=desk.keep_days)
    renderer.render("appointment", language=code, **context)
