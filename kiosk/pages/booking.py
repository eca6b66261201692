"""The appointment page: a démarche, a free slot, a name and a way to be reached, confirmed.

The same template for the terminal and the website; what differs is where its links lead
(:class:`BookingLinks`: the shell's verbs, or the website's paths) and the website's form token.
The handler reads only the view the shell last kept (``services.booking.view``, made off its GUI
thread): rendering never touches the database.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time
from functools import lru_cache
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from markupsafe import Markup

from kiosk.core.mediation.desk import UNKNOWN_CATEGORY
from kiosk.core.mediation.reservation import Confirmation, ReservationView, Step, slot_value
from kiosk.core.mediation.slots import Slot
from kiosk.core.mediation.wording import date_text, hour_text
from kiosk.core.tiles import TilesConfig
from kiosk.i18n import N_, translator
from kiosk.pages.actions import Action, action_url
from kiosk.pages.library import HelpLibrary
from kiosk.pages.mediator import call_categories
from kiosk.pages.registry import PAGES, PageRequest, PageServices
from sync.vocabulary import Category

DEFAULT_BRING = (N_("Une pièce d'identité"), N_("Les courriers reçus pour cette démarche"))
"""What to bring when the démarche has no help guide that says it."""


class BookingLinks(Protocol):
    form_method: str

    def category(self, value: str) -> str: ...

    def slot(self, category: str, value: str) -> str: ...

    def form(self) -> str: ...

    def start(self) -> str: ...


class KioskBookingLinks:
    """The terminal's: each step is a verb for the shell, which asks the desk off its GUI thread."""

    form_method = "get"  # a kiosk://borne/action/book navigation the page intercepts

    def category(self, value: str) -> str:
        return action_url(Action.APPOINTMENT, category=value)

    def slot(self, category: str, value: str) -> str:
        return action_url(Action.APPOINTMENT, category=category, slot=value)

    def form(self) -> str:
        return action_url(Action.BOOK)

    def start(self) -> str:
        return action_url(Action.APPOINTMENT)


class LibraryGuides:
    """A démarche's help guide (the first of its category) and its ``prepare`` list."""

    def __init__(self, library: HelpLibrary) -> None:
        self.library = library

    def guide_for(self, category: Category) -> str | None:
        centre = self.library.centre
        if centre is None:
            return None
        groups = dict(centre.by_category())
        return groups[category][0].slug if category in groups else None

    def what_to_bring(self, guide: str | None) -> tuple[str, ...]:
        centre = self.library.centre
        article = centre.articles.get(guide) if centre is not None and guide else None
        return tuple(article.prepare) if article is not None and article.prepare else DEFAULT_BRING


def day_label(at: datetime, language: str) -> str:
    """``Mardi 1er décembre`` in French, Babel's day and month in other languages."""
    return _day_label(at.date(), language)


def time_label(at: datetime, language: str) -> str:
    return hour_text(at) if language == "fr" else _time_label(at.hour, at.minute, language)


# Babel per label took a lock and a locale lookup each time, a slots page asks for the same few
# days and times again and again, and twenty pages at once waited for one another on that lock.
@lru_cache(maxsize=1024)
def _day_label(day: date, language: str) -> str:
    if language == "fr":
        return date_text(day)
    return format_date(day, "EEEE d MMMM", locale=language).capitalize()


@lru_cache(maxsize=1024)
def _time_label(hour: int, minute: int, language: str) -> str:
    return format_time(time(hour, minute), "short", locale=language)


def slot_days(slots: Iterable[Slot], zone: ZoneInfo, language: str) -> list[dict[str, Any]]:
    """The slots grouped by the centre's day, each a time to tap (in the centre's wall time).

    One button per time: when several persons are free at the same time, the resident sees the
    time once (the page names no person before the confirmation) and books the first of them;
    should that one be taken meanwhile, the slots shown again still hold the others. (One pass:
    a slots page lists hundreds of times, and the website's pages are rendered under load.)"""
    days: list[dict[str, Any]] = []
    times: list[dict[str, str]] = []
    day: date | None = None
    previous: datetime | None = None
    for slot in sorted(slots, key=Slot.order):  # by start, then end, then person
        if slot.start == previous:
            continue
        previous = slot.start
        slot_day, value, label = _slot_time(slot, zone, language)
        if slot_day != day:
            day, times = slot_day, []
            days.append({"label": _day_label(slot_day, language), "slots": times})
        times.append({"value": value, "label": label})
    return days


def with_links(days: list[dict[str, Any]], links: BookingLinks, category: str) -> list[dict[str, Any]]:
    """``days`` (fresh from :func:`slot_days`), each time given its link, and each day its buttons."""
    for day in days:
        times = day["slots"]
        for at in times:
            at["url"] = links.slot(category, at["value"])
        day["buttons"] = _slot_buttons(day["label"], tuple((at["url"], at["label"]) for at in times))
    return days


# A slots page lists hundreds of times, and the next page the same but for the slot just booked:
# each slot's words, and each day's buttons, are made once (a day's buttons were half of the
# website's work under load, escaped one value at a time by the template).
@lru_cache(maxsize=4096)
def _slot_time(slot: Slot, zone: ZoneInfo, language: str) -> tuple[date, str, str]:
    """A slot's day in the centre, the value a page sends back for it, its time to show."""
    local = slot.start.astimezone(zone)
    return local.date(), slot_value(slot), time_label(local, language)


_SLOT_BUTTON = Markup('<li><a class="button slot-button" href="{}" aria-label="{}, {}">{}</a></li>')


@lru_cache(maxsize=512)
def _slot_buttons(day: str, times: tuple[tuple[str, str], ...]) -> Markup:
    """A day's buttons, ``times`` its (link, time) pairs: the values escaped by ``format``."""
    return Markup("").join(_SLOT_BUTTON.format(url, day, label, label) for url, label in times)


def confirmation_context(
    confirmation: Confirmation, zone: ZoneInfo, language: str, centre_place: str = ""
) -> dict[str, Any]:
    start = confirmation.appointment.start.astimezone(zone)
    end = confirmation.appointment.end.astimezone(zone)
    translate = translator(language)
    bring = [translate(item) if item in DEFAULT_BRING else item for item in confirmation.what_to_bring]
    return {
        "day": day_label(start, language),
        "start": time_label(start, language),
        "end": time_label(end, language),
        "person": confirmation.person.name,
        "place": confirmation.person.place or centre_place,
        "category": confirmation.appointment.category.label,
        "bring": bring,
        "bring_translated": language == "fr" or all(item in DEFAULT_BRING for item in confirmation.what_to_bring),
        "ref": confirmation.ref,
    }


def booking_context(
    view: ReservationView,
    tiles: TilesConfig,
    language: str,
    links: BookingLinks,
    *,
    zone: ZoneInfo,
    keep_days: int,
    centre_place: str = "",
    token: str = "",
    extra: Callable[[], Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The template's context for ``view``, its links made by ``links``."""
    category = view.category.value if view.category is not None else ""
    slot = view.slot
    return {
        "step": view.step.value,
        "categories": [
            {**c, "url": links.category(c["value"])} for c in call_categories(tiles) if c["value"] != UNKNOWN_CATEGORY
        ],
        "category": category,
        "category_label": view.category.label if view.category is not None else "",
        "days": with_links(slot_days(view.slots, zone, language), links, category),
        "chosen": (
            None
            if slot is None
            else {
                "value": slot_value(slot),
                "day": day_label(slot.start.astimezone(zone), language),
                "start": time_label(slot.start.astimezone(zone), language),
            }
        ),
        "error": view.error,
        "error_field": view.error_field,
        "taken": view.taken,
        "values": dict(view.values),
        "confirmed": (
            None if view.confirmation is None else confirmation_context(view.confirmation, zone, language, centre_place)
        ),
        "ticket_failed": view.ticket_failed,
        "keep_days": keep_days,
        "form_url": links.form(),
        "form_method": links.form_method,
        "start_url": links.start(),
        "choose_url": links.category(category) if category else links.start(),
        "token": token,
        "lang_links": [],
        "calendar_url": "",
        **(extra() if extra is not None else {}),
    }


@PAGES.page("appointment")
def appointment_page(request: PageRequest, services: PageServices) -> Mapping[str, Any]:
    desk = services.booking
    view = desk.view if desk is not None and desk.enabled else ReservationView(Step.UNAVAILABLE)
    zone = desk.zone if desk is not None else ZoneInfo("Europe/Paris")
    keep_days = desk.keep_days if desk is not None else 30
    place = desk.settings.centre.commune if desk is not None else ""
    return booking_context(
        view, services.tiles, request.language, KioskBookingLinks(), zone=zone, keep_days=keep_days, centre_place=place
    )
