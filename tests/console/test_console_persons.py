"""Resource persons in the console (admins only) and each one's secret agenda feed."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import requests

from kiosk.core.mediation.booking import AppointmentBook, AppointmentState
from kiosk.core.mediation.ics import Problem
from kiosk.core.mediation_config import PersonSettings
from sync.vocabulary import Category
from tests.console.conftest import ADMIN, PARIS, STAFF, ConsoleServer, audit_rows, book_one, form_token

pytestmark = [pytest.mark.console, pytest.mark.appointments]

PERSON_ROUTES = (
    ("GET", "/personnes"),
    ("GET", "/personnes/nouvelle"),
    ("POST", "/personnes/nouvelle"),
    ("GET", "/personnes/marie"),
    ("POST", "/personnes/marie"),
    ("POST", "/personnes/marie/desactiver"),
    ("POST", "/personnes/marie/activer"),
    ("POST", "/personnes/marie/agenda"),
)


def text(page: requests.Response) -> str:
    return html.unescape(page.text)


def stored(server: ConsoleServer, person_id: str) -> tuple[PersonSettings, str, bool] | None:
    with server.console.context.db() as store:
        row = store.conn.execute(
            "SELECT settings, source, active FROM resource_persons WHERE id = ?", (person_id,)
        ).fetchone()
    return None if row is None else (PersonSettings.model_validate_json(row[0]), str(row[1]), bool(row[2]))


def test_staff_are_refused_every_person_page_and_action(
    console_server: ConsoleServer, shell_book: AppointmentBook
) -> None:
    staff = console_server.login(*STAFF)
    page = staff.get(console_server.url + "/rendez-vous")
    assert 'href="/personnes"' not in page.text and 'href="/rendez-vous"' in page.text
    token = form_token(page.text)
    data = {"csrf": token, "name": "Mallory", "identifiant": "mallory", "slot_minutes": "30"}
    for method, path in PERSON_ROUTES:
        answer = staff.request(method, console_server.url + path, data=data if method == "POST" else None)
        assert answer.status_code == 403 and "réservée aux administrateurs" in text(answer), (method, path)
    assert stored(console_server, "mallory") is None
    person = stored(console_server, "marie")
    assert person is not None and person[1:] == ("config", True) and person[0].name == "Marie Dupont"
    with console_server.console.context.db() as store:
        assert store.conn.execute("SELECT COUNT(*) FROM person_feeds").fetchone()[0] == 0


def test_an_admin_adds_edits_and_deactivates_a_person(
    console_server: ConsoleServer, shell_book: AppointmentBook
) -> None:
    admin = console_server.login(*ADMIN)
    listing = admin.get(console_server.url + "/personnes")
    assert (
        listing.status_code == 200
        and "Marie Dupont" in text(listing)
        and "venant du fichier de configuration" in text(listing)
    )
    token = form_token(listing.text)
    url = console_server.url + "/personnes/nouvelle"
    form = {
        "csrf": token,
        "identifiant": "sofia-h",
        "name": "Sofia Haddad",
        "demarches": ["logement", "argent"],
        "monday": "09:00-12:00, 14:00-16:30",
        "thursday": "9h00-12h00",
        "slot_minutes": "20",
        "place": "Bureau 3",
        "ics_url": "",
    }
    # Hours that overlap and a bad calendar address: said in French, nothing saved, the form kept.
    bad = admin.post(url, data={**form, "tuesday": "09:00-12:00, 11:00-13:00", "ics_url": "ftp://x"})
    assert bad.status_code == 400
    assert "Mardi : écrivez des plages comme 09:00-12:00" in text(bad) and "commençant par https://" in text(bad)
    assert 'value="Sofia Haddad"' in bad.text and stored(console_server, "sofia-h") is None
    made = admin.post(url, data=form)
    assert made.status_code == 200 and "Sofia Haddad : enregistré." in text(made)
    person, source, active = stored(console_server, "sofia-h") or pytest.fail("not saved")
    assert (source, active) == ("console", True)
    assert person.categories == (Category.LOGEMENT, Category.ARGENT) and person.slot_minutes == 20
    assert [(s.hour, e.hour, e.minute) for s, e in person.monday] == [(9, 12, 0), (14, 16, 30)]
    assert len(person.thursday) == 1 and person.place == "Bureau 3"
    # The new person is offered at once: Thursday morning slots of 20 minutes.
    slots = [s for s in shell_book.free_slots(Category.ARGENT) if s.person_id == "sofia-h"]
    assert slots and all(s.end - s.start == timedelta(minutes=20) for s in slots)
    assert {s.start.astimezone(PARIS).weekday() for s in slots} <= {0, 3}
    # The same id twice is refused.
    twice = admin.post(url, data=form)
    assert twice.status_code == 400 and "L'identifiant sofia-h est déjà pris." in text(twice)
    # Editing a person from the configuration makes it the console's.
    edit = admin.get(console_server.url + "/personnes/marie")
    assert edit.status_code == 200 and 'value="Bureau 2"' in edit.text
    changed = admin.post(
        console_server.url + "/personnes/marie",
        data={"csrf": token, "name": "Marie Dupont-Leroy", "slot_minutes": "60", "place": "Bureau 5"},
    )
    assert changed.status_code == 200
    marie = stored(console_server, "marie") or pytest.fail("gone")
    assert (marie[0].name, marie[0].slot_minutes, marie[0].place, marie[1]) == (
        "Marie Dupont-Leroy",
        60,
        "Bureau 5",
        "console",
    )
    # Deactivated: no longer offered, still listed; reactivated: offered again.
    off = admin.post(console_server.url + "/personnes/sofia-h/desactiver", data={"csrf": token})
    assert off.status_code == 200 and "Sofia Haddad (désactivée)" in text(off)
    assert not any(s.person_id == "sofia-h" for s in shell_book.free_slots(Category.ARGENT))
    admin.post(console_server.url + "/personnes/sofia-h/activer", data={"csrf": token})
    assert any(s.person_id == "sofia-h" for s in shell_book.free_slots(Category.ARGENT))
    assert [t for _, t in audit_rows(console_server, "person_add")] == ["sofia-h"]
    assert [t for _, t in audit_rows(console_server, "person_edit")] == ["marie"]
    assert [t for _, t in audit_rows(console_server, "person_deactivate")] == ["sofia-h"]
    assert admin.get(console_server.url + "/personnes/inconnue").status_code == 404


def test_a_calendar_that_does_not_answer_is_shown_with_the_copy_in_use(
    console_server: ConsoleServer, shell_book: AppointmentBook
) -> None:
    ctx = console_server.console.context
    ctx.book.save_person(PersonSettings(id="lina", name="Lina Morel", ics_url="https://agenda.example/lina.ics"))
    admin = console_server.login(*ADMIN)
    assert "Calendrier pas encore lu" in text(admin.get(console_server.url + "/personnes"))
    good = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)
    ctx.calendars.save_good("lina", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", good)
    assert "Calendrier lu le 27/11/2026 à 18:00." in text(admin.get(console_server.url + "/personnes"))
    ctx.calendars.save_problem("lina", Problem.UNREACHABLE, good + timedelta(days=2, hours=1))
    page = text(admin.get(console_server.url + "/personnes"))
    assert re.search(
        r"Problème le 29/11/2026 à 19:00 : L'adresse du calendrier ne répond pas\..*"
        r"On utilise la dernière copie lue le 27/11/2026 à 18:00\.",
        page,
    ), page


def feed_address(page: str) -> str:
    match = re.search(r'class="address" readonly value="([^"]+)"', page)
    assert match, page[:2000]
    return match.group(1)


def test_the_agenda_feed_has_the_appointments_without_contacts_and_rotates(
    console_server: ConsoleServer, shell_book: AppointmentBook
) -> None:
    amina = book_one(shell_book, Category.LOGEMENT, "Amina Diallo", "06 12 34 56 78", person="marie")
    jean = book_one(shell_book, Category.TRAVAIL, "Jean Petit", "07 98 76 54 32", person="marie")
    gone = book_one(shell_book, Category.ARGENT, "Léa Roux", "06 11 11 11 11", person="marie")
    shell_book.cancel(gone.ref)
    book_one(shell_book, Category.LOGEMENT, "Paul Client", "06 22 22 22 22", person="paul")
    admin = console_server.login(*ADMIN)
    token = form_token(admin.get(console_server.url + "/personnes").text)
    made = admin.post(console_server.url + "/personnes/marie/agenda", data={"csrf": token})
    assert made.status_code == 200 and "elle n'est montrée qu'une fois" in text(made)
    assert "Nouvelle adresse d'agenda pour Marie Dupont." in text(made)
    address = feed_address(made.text)
    assert re.fullmatch(re.escape(console_server.url) + r"/agenda/[A-Za-z0-9_-]{40,}\.ics", address), address
    secret = address.rsplit("/", 1)[1][: -len(".ics")]
    with console_server.console.context.db() as store:
        kept = store.conn.execute("SELECT token_hash FROM person_feeds WHERE person_id = 'marie'").fetchone()[0]
    assert secret not in kept and len(kept) == 64  # only its hash is stored
    # A calendar application fetches it without any login.
    subscriber = console_server.client()
    feed = subscriber.get(address)
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(feed.content)
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    assert set(events) == {f"{amina.ref}@borne", f"{jean.ref}@borne"}  # not the cancelled one, not Paul's
    event = events[f"{amina.ref}@borne"]
    assert event.decoded("DTSTART") == amina.start and event.decoded("DTEND") == amina.end
    assert (
        str(event["SUMMARY"]) == "Rendez-vous – Logement"
        and str(event["LOCATION"]) == "Espace France Services, Bureau 2"
    )
    raw = feed.content.decode()
    for private in ("Amina", "Diallo", "Jean Petit", "612345678", "0612", "+33"):
        assert private not in raw, private
    assert str(calendar["X-WR-CALNAME"]) == "Rendez-vous – Marie Dupont"
    # A cancelled appointment leaves the feed.
    shell_book.cancel(jean.ref)
    assert f"{jean.ref}@borne" not in subscriber.get(address).text
    # A new address: the old one answers 404 at once, the new one works.
    again = admin.post(console_server.url + "/personnes/marie/agenda", data={"csrf": token})
    new_address = feed_address(again.text)
    assert "Nouvelle adresse d'agenda pour Marie Dupont : l'ancienne ne marche plus." in text(again)
    assert new_address != address
    assert subscriber.get(address).status_code == 404
    assert subscriber.get(new_address).status_code == 200 and amina.ref in subscriber.get(new_address).text
    assert [t for _, t in audit_rows(console_server, "feed_rotate")] == ["marie", "marie"]
    # Nothing else answers there: no token, a guessed one, another person's id.
    for path in ("/agenda/.ics", "/agenda/marie.ics", "/agenda/" + "A" * 43 + ".ics"):
        assert subscriber.get(console_server.url + path).status_code == 404, path
    # A deactivated person's feed is closed too.
    admin.post(console_server.url + "/personnes/marie/desactiver", data={"csrf": token})
    assert subscriber.get(new_address).status_code == 404
    assert shell_book.get(amina.ref) is not None and shell_book.get(amina.ref).state is AppointmentState.BOOKED  # type: ignore[union-attr]
