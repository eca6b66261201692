"""The appointments section against the real HTTPS console: views of what the core booked, booking
on behalf of a resident, moving, cancelling, attended / no-show — each in the database and the
audit log."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import pytest
import requests

from kiosk.core.mediation.booking import AppointmentBook, AppointmentState
from kiosk.core.mediation.storage import to_ms
from kiosk.core.mediation_config import AppointmentSettings, OpeningSettings
from kiosk.core.ports import ManualClock
from sync.vocabulary import Category
from tests.console.conftest import PARIS, STAFF, ConsoleServer, audit_rows, book_one, form_token

pytestmark = [pytest.mark.console, pytest.mark.appointments]


def slot_values(page: str) -> list[str]:
    return re.findall(r'name="creneau" value="([^"]+)"', page)


def value_of(appointment_person: str, start: datetime, end: datetime) -> str:
    return f"{appointment_person}|{to_ms(start)}|{to_ms(end)}"


def text(page: requests.Response) -> str:
    return html.unescape(page.text)


def db_row(server: ConsoleServer, ref: str) -> tuple[str, int, str]:
    with server.console.context.db() as store:
        row = store.conn.execute("SELECT person_id, start_ms, state FROM appointments WHERE ref = ?", (ref,)).fetchone()
    return str(row[0]), int(row[1]), str(row[2])


def test_day_and_week_views_list_what_the_core_booked(
    console_server: ConsoleServer, shell_book: AppointmentBook
) -> None:
    amina = book_one(shell_book, Category.LOGEMENT, "Amina Diallo", "06 12 34 56 78", person="paul")
    jean = book_one(shell_book, Category.TRAVAIL, "Jean Petit", "07 98 76 54 32", person="marie")
    client = console_server.login(*STAFF)
    day = amina.start.astimezone(PARIS).date()
    page = text(client.get(console_server.url + f"/rendez-vous?jour={day.isoformat()}"))
    start, end = amina.start.astimezone(PARIS), amina.end.astimezone(PARIS)
    assert f"{start:%H:%M} – {end:%H:%M}" in page
    assert "Amina Diallo" in page and "06 12 34 56 78" in page and "Logement" in page and "Paul Martin" in page
    assert "Prévu" in page and "pris à la borne" in page
    assert f'action="/rendez-vous/{amina.ref}/annuler"' in page
    # Per resource person: Marie's list does not show Paul's appointment.
    marie_only = text(client.get(console_server.url + f"/rendez-vous?jour={day.isoformat()}&personne=marie"))
    assert "Amina Diallo" not in marie_only
    # The week holding that day lists it too, under its day.
    week = text(client.get(console_server.url + f"/rendez-vous/semaine?du={day.isoformat()}"))
    assert "Amina Diallo" in week and f"/rendez-vous?jour={day.isoformat()}" in week
    jean_day = jean.start.astimezone(PARIS).date().isoformat()
    jean_week = text(client.get(console_server.url + f"/rendez-vous/semaine?du={jean_day}&personne=marie"))
    assert "Jean Petit" in jean_week and "Amina Diallo" not in jean_week
    # Another day does not show it; today is the default.
    other = text(client.get(console_server.url + f"/rendez-vous?jour={(day + timedelta(days=30)).isoformat()}"))
    assert "Amina Diallo" not in other and "Aucun rendez-vous ce jour-là." in other
    assert "(aujourd'hui)" in text(client.get(console_server.url + "/rendez-vous"))
    assert client.get(console_server.url + "/rendez-vous?jour=hier").status_code == 400
    # keep_days later the core wipes the contacts: the row stays, without them.
    later = ManualClock(amina.end + timedelta(days=31))
    AppointmentBook(shell_book.store, AppointmentSettings(), OpeningSettings(), PARIS, later).purge()
    purged = text(client.get(console_server.url + f"/rendez-vous?jour={day.isoformat()}"))
    assert "Amina Diallo" not in purged and "06 12 34 56 78" not in purged
    assert "Coordonnées effacées" in purged and "Logement" in purged


def test_booking_on_behalf_of_a_resident(console_server: ConsoleServer, shell_book: AppointmentBook) -> None:
    client = console_server.login(*STAFF)
    form = client.get(console_server.url + "/rendez-vous/nouveau?demarche=logement")
    assert form.status_code == 200
    offered = slot_values(form.text)
    assert offered and all(v.split("|")[0] in {"marie", "paul"} for v in offered)
    token = form_token(form.text)
    url = console_server.url + "/rendez-vous/nouveau"
    base = {"csrf": token, "demarche": "logement", "creneau": offered[0], "nom": "Sofia Haddad"}
    # A phone number that cannot be one: said in French, the form kept, nothing booked.
    bad = client.post(url, data={**base, "telephone": "123"})
    assert bad.status_code == 400 and "Ce numéro de téléphone ne semble pas complet" in text(bad)
    assert 'value="Sofia Haddad"' in bad.text
    with console_server.console.context.db() as store:
        assert store.conn.execute("SELECT COUNT(*) FROM appointments").fetchone()[0] == 0
    done = client.post(url, data={**base, "telephone": "06 11 22 33 44"})
    assert done.status_code == 200 and "/rendez-vous?jour=" in done.url
    assert "Rendez-vous enregistré." in text(done) and "Sofia Haddad" in text(done)
    with console_server.console.context.db() as store:
        row = store.conn.execute("SELECT id, person_id, start_ms, channel, name, phone FROM appointments").fetchone()
    person, start_ms = offered[0].split("|")[:2]
    assert row[1:] == (person, int(start_ms), "staff", "Sofia Haddad", "+33611223344")
    ((who, target),) = audit_rows(console_server, "appointment_book")
    assert who == STAFF[0] and target.startswith(f"appointment {row[0]} ({person}, ") and "Sofia" not in target


def test_a_slot_taken_meanwhile_says_so_with_fresh_slots(
    console_server: ConsoleServer, shell_book: AppointmentBook
) -> None:
    client = console_server.login(*STAFF)
    form = client.get(console_server.url + "/rendez-vous/nouveau?demarche=travail&personne=marie")
    offered = slot_values(form.text)
    # A resident at the terminal takes the first slot while the staff member types.
    taken = book_one(shell_book, Category.TRAVAIL, "Inès Roche", "06 55 44 33 22", person="marie")
    assert value_of("marie", taken.start, taken.end) == offered[0]
    answer = client.post(
        console_server.url + "/rendez-vous/nouveau",
        data={
            "csrf": form_token(form.text),
            "demarche": "travail",
            "personne": "marie",
            "creneau": offered[0],
            "nom": "Sofia Haddad",
            "email": "sofia@exemple.fr",
        },
    )
    assert answer.status_code == 409 and "Ce créneau vient d'être pris." in text(answer)
    fresh = slot_values(answer.text)
    assert offered[0] not in fresh and offered[1] in fresh
    assert 'value="Sofia Haddad"' in answer.text  # what was typed is kept
    with console_server.console.context.db() as store:
        names = store.conn.execute("SELECT name FROM appointments").fetchall()
    assert names == [("Inès Roche",)]
    assert audit_rows(console_server, "appointment_book") == []


def test_moving_keeps_the_appointment_when_the_target_is_taken(
    console_server: ConsoleServer, shell_book: AppointmentBook
) -> None:
    first = book_one(shell_book, Category.TRAVAIL, "Amina Diallo", "06 12 34 56 78", person="marie")
    second = book_one(shell_book, Category.TRAVAIL, "Jean Petit", "07 98 76 54 32", person="marie")
    before = db_row(console_server, first.ref)
    client = console_server.login(*STAFF)
    form = client.get(console_server.url + f"/rendez-vous/{first.ref}/deplacer")
    assert form.status_code == 200 and "Amina Diallo" in text(form)
    target = value_of("marie", second.start, second.end)
    assert target not in slot_values(form.text)
    url = console_server.url + f"/rendez-vous/{first.ref}/deplacer"
    refused = client.post(url, data={"csrf": form_token(form.text), "creneau": target})
    assert refused.status_code == 409 and "Le rendez-vous n'a pas bougé" in text(refused)
    assert db_row(console_server, first.ref) == before and db_row(console_server, second.ref)[2] == "booked"
    # A time that is no slot (overlapping the other appointment): refused by the same check.
    half = timedelta(minutes=15)
    overlapping = value_of("marie", second.start + half, second.end + half)
    crossed = client.post(url, data={"csrf": form_token(form.text), "creneau": overlapping})
    assert crossed.status_code == 409 and db_row(console_server, first.ref) == before
    # To a free slot (here Paul's, who does not handle "travail": refused too).
    paul = shell_book.free_slots(Category.LOGEMENT)
    paul_slot = next(s for s in paul if s.person_id == "paul")
    wrong = client.post(
        url, data={"csrf": form_token(form.text), "creneau": value_of("paul", paul_slot.start, paul_slot.end)}
    )
    assert wrong.status_code == 409 and db_row(console_server, first.ref) == before
    free = slot_values(refused.text)[-1]
    moved = client.post(url, data={"csrf": form_token(form.text), "creneau": free})
    assert moved.status_code == 200 and "Rendez-vous déplacé." in text(moved)
    assert db_row(console_server, first.ref) == ("marie", int(free.split("|")[1]), "booked")
    with console_server.console.context.db() as store:
        assert store.conn.execute("SELECT COUNT(*) FROM appointments").fetchone()[0] == 2
    ((who, audit_target),) = audit_rows(console_server, "appointment_move")
    assert who == STAFF[0] and audit_target.startswith(f"appointment {first.id} (marie, ")


def test_cancel_attended_and_no_show_change_the_database_and_are_audited(
    console_server: ConsoleServer, shell_book: AppointmentBook
) -> None:
    a, b, c = (
        book_one(shell_book, Category.ARGENT, name, phone, person="marie")
        for name, phone in (("Amina Diallo", "0612345678"), ("Jean Petit", "0798765432"), ("Léa Roux", "0611111111"))
    )
    client = console_server.login(*STAFF)
    day = a.start.astimezone(PARIS).date().isoformat()
    token = form_token(client.get(console_server.url + f"/rendez-vous?jour={day}").text)
    # Without the form's token: refused, nothing changes.
    forged = client.post(console_server.url + f"/rendez-vous/{a.ref}/annuler", data={"csrf": "x"})
    assert forged.status_code == 403 and db_row(console_server, a.ref)[2] == "booked"
    for appointment, verb, state, notice in (
        (a, "annuler", AppointmentState.CANCELLED, "Rendez-vous annulé."),
        (b, "venu", AppointmentState.ATTENDED, "Noté : la personne est venue."),
        (c, "absent", AppointmentState.NO_SHOW, "Noté : la personne n'est pas venue."),
        (c, "venu", AppointmentState.ATTENDED, "Noté : la personne est venue."),  # a correction
    ):
        answer = client.post(console_server.url + f"/rendez-vous/{appointment.ref}/{verb}", data={"csrf": token})
        assert answer.status_code == 200 and notice in text(answer), verb
        assert db_row(console_server, appointment.ref)[2] == state.value
    assert [t for _, t in audit_rows(console_server, "appointment_cancel")] == [
        f"appointment {a.id} (marie, {a.start.astimezone(PARIS):%d/%m %H:%M})"
    ]
    assert len(audit_rows(console_server, "appointment_attended")) == 2
    assert len(audit_rows(console_server, "appointment_no_show")) == 1
    # A cancelled appointment is not attended afterwards; the page says it changed.
    again = client.post(console_server.url + f"/rendez-vous/{a.ref}/venu", data={"csrf": token})
    assert "a changé entre-temps" in text(again) and db_row(console_server, a.ref)[2] == "cancelled"
    assert client.post(console_server.url + "/rendez-vous/inconnu/annuler", data={"csrf": token}).status_code == 404
    # The core sees the same: the cancelled slot is free again.
    assert any(s.start == a.start and s.person_id == "marie" for s in shell_book.free_slots(Category.ARGENT))
