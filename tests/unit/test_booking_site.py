"""The booking pages of the website and of the terminal: steps, refusals, the form token, the
rate limit, the calendar file, and the slots of a week when the clocks change."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest
from fastapi.testclient import TestClient

from kiosk.agent.booking_site import RateLimits
from kiosk.agent.web import create_help_site
from kiosk.core.mediation.contact import ContactError
from kiosk.core.mediation.desk import DeskState, DeskView
from kiosk.core.mediation.reservation import ReservationDesk, Step, parse_contact, slot_value
from kiosk.core.ports import ManualClock
from kiosk.pages import PageRenderer
from kiosk.pages.booking import KioskBookingLinks, booking_context
from kiosk.pages.mediator import mediator_context
from sync.vocabulary import Category
from tests.bookingkit import LIFTED, REPO, booking_config, seed, slot_links, token_of

pytestmark = [pytest.mark.unit, pytest.mark.appointments]

MONDAY_8H = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # 8:00 in Paris, Monday 30 November 2026
DST_FRIDAY = datetime(2027, 3, 26, 6, 0, tzinfo=UTC)  # the clocks go forward on Sunday 28 March 2027


def site(tmp_path: Path, now: datetime = MONDAY_8H, limits: RateLimits = LIFTED) -> TestClient:
    config = booking_config(tmp_path / "data")
    clock = ManualClock(now)
    db = seed(config, clock)
    return TestClient(create_help_site(config, db_path=db, clock=clock, limits=limits))


def book_first(web: TestClient, name: str = "Marie Curie", contact: str = "06 12 34 56 78"):  # type: ignore[no-untyped-def]
    slots = web.get("/rendez-vous/creneaux?demarche=logement")
    assert slots.status_code == 200
    form = web.get(slot_links(slots.text)[0])
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.text))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    return web.post(
        "/rendez-vous/coordonnees", data={**fields, "name": name, "contact": contact}, follow_redirects=False
    )


def test_a_resident_books_on_the_website_and_downloads_the_event(tmp_path: Path) -> None:
    web = site(tmp_path)
    start = web.get("/rendez-vous")
    assert start.status_code == 200 and "Prendre un rendez-vous" in start.text
    assert "script-src" not in start.headers["content-security-policy"]
    assert "default-src 'none'" in start.headers["content-security-policy"]
    assert "/rendez-vous/creneaux?demarche=logement" in start.text
    slots = web.get("/rendez-vous/creneaux?demarche=logement")
    # min_notice 60 min from 8:00, the centre opens at 9:00: the first day is today, Monday 30.
    assert "Lundi 30 novembre" in slots.text and "Mardi 1er décembre" in slots.text
    assert ">9 h<" in slots.text and ">14 h 30<" in slots.text
    answer = book_first(web)
    assert answer.status_code == 303, answer.text[:2000]
    confirmation = web.get(answer.headers["location"])
    text = confirmation.text
    assert "Votre rendez-vous est pris" in text and "Marie Dupont" in text and "Bureau 2" in text
    assert "Lundi 30 novembre" in text and "de 9 h à 9 h 30" in text
    assert "Marie Curie" not in text and "06 12" not in text  # nothing of the resident on a page by link
    assert "Pensez à apporter" in text
    ics_link = re.search(r'href="([^"]+\.ics)"', text)
    assert ics_link is not None
    event_file = web.get(html.unescape(ics_link.group(1)))
    assert event_file.status_code == 200 and event_file.headers["content-type"].startswith("text/calendar")
    event = icalendar.Calendar.from_ical(event_file.content).walk("VEVENT")[0]
    assert event.decoded("dtstart") == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert b"Curie" not in event_file.content


def test_a_slot_taken_meanwhile_gives_the_message_and_the_slots_now(tmp_path: Path) -> None:
    web = site(tmp_path)
    slots = web.get("/rendez-vous/creneaux?demarche=logement")
    first = slot_links(slots.text)[0]
    form = web.get(first)
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.text))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    assert book_first(web, "Paul Martin").status_code == 303  # someone else, faster
    late = web.post("/rendez-vous/coordonnees", data={**fields, "name": "Anne Roy", "contact": "anne@exemple.fr"})
    assert late.status_code == 409
    assert "Ce créneau vient d'être pris. Voici les moments encore libres." in late.text
    assert html.unescape(first) not in [html.unescape(x) for x in slot_links(late.text)]
    assert slot_links(late.text)  # the free ones now


def test_bad_contact_is_said_plainly_and_what_was_typed_stays(tmp_path: Path) -> None:
    web = site(tmp_path)
    answer = book_first(web, "Marie Curie", "0612")
    assert answer.status_code == 400
    assert "ne semble pas complet" in answer.text and 'value="Marie Curie"' in answer.text
    assert 'aria-invalid="true"' in answer.text
    nothing = book_first(web, "Marie Curie", "")
    assert nothing.status_code == 400 and "Donnez un numéro de téléphone ou une adresse e-mail" in nothing.text


def test_a_post_without_the_form_token_is_refused(tmp_path: Path) -> None:
    web = site(tmp_path)
    slots = web.get("/rendez-vous/creneaux?demarche=logement")
    form = web.get(slot_links(slots.text)[0])
    token = token_of(form.text)
    fields = dict(re.findall(r'<input type="hidden" name="(category|slot)" value="([^"]*)">', form.text))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    stranger = TestClient(web.app)  # another site's page: the browser sends no SameSite=Strict cookie
    forged = stranger.post(
        "/rendez-vous/coordonnees", data={**fields, "token": token, "name": "Jean Dupont", "contact": "0612345678"}
    )
    assert forged.status_code == 403 and "Cette page a expiré" in forged.text
    wrong = web.post(
        "/rendez-vous/coordonnees", data={**fields, "token": "0" * 64, "name": "Jean Dupont", "contact": "0612345678"}
    )
    assert wrong.status_code == 403
    cookie = form.cookies.get("rdv_jeton") or web.cookies.get("rdv_jeton")
    assert cookie and cookie not in form.text  # the page holds a token derived from it, not the cookie
    assert "samesite=strict" in form.headers["set-cookie"].lower() and "httponly" in form.headers["set-cookie"].lower()


def test_an_address_that_floods_gets_429_with_a_french_reason(tmp_path: Path) -> None:
    web = site(tmp_path, limits=RateLimits(requests=5, bookings=1))
    answers = [web.get("/rendez-vous").status_code for _ in range(6)]
    assert answers == [200] * 5 + [429]
    refused = web.get("/rendez-vous/creneaux?demarche=logement")
    assert refused.status_code == 429 and "Trop de demandes" in refused.text and int(refused.headers["retry-after"]) > 0
    bookings = site(tmp_path / "b", limits=RateLimits(requests=100, bookings=1))
    assert book_first(bookings, "Paul Martin").status_code == 303
    second = book_first(bookings, "Anne Roy")
    assert second.status_code == 429 and "Trop de demandes" in second.text


def test_a_week_when_the_clocks_change_shows_the_wall_times(tmp_path: Path) -> None:
    web = site(tmp_path, now=DST_FRIDAY)
    page = web.get("/rendez-vous/creneaux?demarche=logement").text
    days = re.findall(r'<h2 id="day-\d+">([^<]+)</h2>', page)
    assert days[:2] == ["Vendredi 26 mars", "Lundi 29 mars"]  # the centre is closed at the weekend
    for day in days[:2]:
        shown = page.split(f">{day}<", 1)[1].split("<h2", 1)[0]
        times = re.findall(r">(\d+ h(?: \d\d)?)</a>", shown)
        assert times[0] == "9 h" and "14 h" in times  # wall time, both sides of the change
    links = slot_links(page)
    friday = next(link for link in links if "creneau=marie%7C" in link)
    assert any("%7C1806303600000%7C" in link for link in links)  # Monday 9:00 CEST = 7:00 UTC
    assert "%7C1806048000000%7C" in friday  # 9:00 CET on Friday = 8:00 UTC


def test_contact_parsing_knows_a_phone_from_an_e_mail() -> None:
    assert parse_contact({"name": "Anne Roy", "contact": "06 12 34 56 78"}).phone == "+33612345678"
    assert parse_contact({"name": "Anne Roy", "contact": " anne@exemple.fr "}).email == "anne@exemple.fr"
    with pytest.raises(ContactError) as error:
        parse_contact({"name": "Anne Roy", "contact": "anne@"})
    assert error.value.field == "contact"
    with pytest.raises(ContactError) as error:
        parse_contact({"name": "4nne", "contact": "0612345678"})
    assert error.value.field == "name"


def test_the_terminal_page_steps_are_verbs_for_the_shell(tmp_path: Path) -> None:
    config = booking_config(tmp_path / "data")
    clock = ManualClock(MONDAY_8H)
    db = seed(config, clock)
    desk = ReservationDesk(db, config.kiosk, clock, "kiosk")
    try:
        view = desk.choose("logement")
        assert view.step is Step.SLOTS and view.slots
        renderer = PageRenderer(icons_dir=REPO / "config" / "icons", centre_name="Centre")
        context = booking_context(view, config.tiles, "fr", KioskBookingLinks(), zone=desk.zone, keep_days=30)
        page = renderer.render("appointment", **context).body.decode()
        assert "kiosk://borne/action/appointment?category=logement&amp;slot=marie" in page
        contact = desk.pick(
            "logement",
            f"marie|{int(view.slots[0].start.timestamp() * 1000)}|{int(view.slots[0].end.timestamp() * 1000)}",
        )
        assert contact.step is Step.CONTACT
        context = booking_context(contact, config.tiles, "fr", KioskBookingLinks(), zone=desk.zone, keep_days=30)
        form = renderer.render("appointment", **context).body.decode()
        assert 'action="kiosk://borne/action/book"' in form and 'method="get"' in form
        assert "puis nous les effaçons 30 jours après" in form
    finally:
        desk.close()


def test_the_mediator_page_offers_an_appointment_in_one_tap_when_nobody_can_come() -> None:
    from tests.help.test_a11y import CONFIG

    renderer = PageRenderer(icons_dir=REPO / "config" / "icons", centre_name="Centre")
    view = DeskView(DeskState.UNAVAILABLE, "Mardi de 14 h à 17 h")
    context = mediator_context(view, CONFIG.tiles, booking=True, preselected=Category.LOGEMENT)
    page = renderer.render("mediator", **context).body.decode()
    assert 'class="button primary appointment-first" href="kiosk://borne/action/appointment?category=logement"' in page
    assert "Prendre un rendez-vous : Logement" in page
    offer = mediator_context(DeskView(DeskState.OFFER), CONFIG.tiles, booking=True)
    assert offer["appointment"] is None  # a mediator can come: the call first


def test_the_listed_slots_follow_a_booking_made_by_another_process(tmp_path: Path) -> None:
    from datetime import timedelta

    from kiosk.core.mediation.booking import AppointmentBook, Booked, Channel
    from kiosk.core.mediation.contact import Contact
    from kiosk.core.store import Role, open_store

    config = booking_config(tmp_path / "data")
    clock = ManualClock(MONDAY_8H)
    db = seed(config, clock)
    desk = ReservationDesk(db, config.kiosk, clock, "website")
    other = open_store(db, Role.AGENT)  # the console, or a terminal
    try:
        first = desk.choose("logement").slots[0]
        assert desk.choose("logement").slots[0] == first  # kept while nothing changed
        settings = config.kiosk
        book = AppointmentBook(other, settings.appointments, settings.opening, desk.zone, clock)
        assert isinstance(
            book.book(first, Category.LOGEMENT, Contact("Paul Roy", "+33612345678"), Channel.STAFF), Booked
        )
        assert first not in desk.choose("logement").slots
        assert desk.pick("logement", slot_value(first)).taken
        clock.advance(3600)  # 9:00 in Paris: 9:30 is now too soon (min_notice), the next minute says so
        assert desk.choose("logement").slots[0].start == MONDAY_8H + timedelta(hours=2)  # 10:00
    finally:
        other.close()
        desk.close()


def test_a_time_several_persons_have_free_is_one_button() -> None:
    """Six persons free at nine: the resident sees "9 h 00" once, not six times."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from kiosk.core.mediation.slots import Slot
    from kiosk.pages.booking import slot_days

    paris = ZoneInfo("Europe/Paris")
    nine, half = datetime(2026, 12, 1, 9, tzinfo=paris), datetime(2026, 12, 1, 9, 30, tzinfo=paris)
    slots = [Slot(nine, half, f"p{i}") for i in range(6)] + [Slot(half, half.replace(hour=10), "p2")]
    (day,) = slot_days(reversed(slots), paris, "fr")
    assert [s["label"] for s in day["slots"]] == ["9 h", "9 h 30"]
    assert day["slots"][0]["value"].startswith("p0|")  # the first person free at that time


def test_a_slots_link_is_the_path_the_website_answers_in_every_language() -> None:
    from urllib.parse import urlencode

    from kiosk.agent.booking_site import PREFIX, WebsiteBookingLinks

    for lang in ("fr", "ar"):
        links = WebsiteBookingLinks(lang, "fr")
        query = {"demarche": "logement", "creneau": "p0|1796043600000|1796044500000", **links.query}
        assert links.slot("logement", "p0|1796043600000|1796044500000") == f"{PREFIX}/coordonnees?{urlencode(query)}"
