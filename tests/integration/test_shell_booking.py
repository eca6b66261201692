"""A resident books an appointment in the real shell (offscreen): from the mediator page when no
mediator can come, in one tap for the démarche of the tile they were in, then a time, a name and
a phone number; the appointment is in the database, and what they typed is gone with the session.

Set ``BORNE_SHOTS=<dir>`` to keep a PNG of each step.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.mediation.booking import AppointmentBook
from kiosk.core.mediation.reservation import INITIAL
from kiosk.core.session import State
from kiosk.shell.web.scheme import page_name
from tests.bookingkit import PERSON
from tests.integration.test_shell import start_in_tile
from tests.integration.test_shell_mediator import open_kiosk, press_mediator, stores, text, wait_text
from tests.shellkit import keep_shot, run_js, wait_ready

__all__ = ["stores"]
pytestmark = [pytest.mark.shell, pytest.mark.appointments]

SATURDAY = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)  # the centre is closed: no mediator can come
APPOINTMENT = "kiosk://borne/appointment"


def click(qtbot, kiosk, selector: str) -> None:  # type: ignore[no-untyped-def]
    run_js(qtbot, kiosk.controller.session_page(), f"document.querySelector({selector!r}).click(); true")


def test_a_resident_books_from_the_mediator_page_in_the_real_shell(qtbot, make_kiosk, stores, loopback_web) -> None:  # type: ignore[no-untyped-def]
    kiosk, agent, clock = open_kiosk(make_kiosk, stores, SATURDAY)
    settings = kiosk.controller.config.kiosk
    AppointmentBook(
        agent, settings.appointments, settings.opening, ZoneInfo("Europe/Paris"), clock
    ).seed_persons([PERSON])  # fmt: skip
    tile = kiosk.controller.config.tiles.tile("allowed")
    start_in_tile(qtbot, kiosk, loopback_web, "<h1>Ma démarche</h1>")  # the resident is in the tile
    press_mediator(qtbot, kiosk)
    wait_text(qtbot, kiosk, "Ou prenez un rendez-vous avec une personne du centre")
    keep_shot(qtbot, kiosk, "booking-mediator")
    # One tap: the free slots of the tile's démarche.
    click(qtbot, kiosk, ".appointment-first")
    wait_text(qtbot, kiosk, "Choisissez un moment")
    assert page_name(kiosk.controller.current_url()) == "appointment"
    assert f"Démarche : {tile.category.label}." in text(qtbot, kiosk)
    assert "Lundi 12 janvier" in text(qtbot, kiosk)  # the next opening day
    keep_shot(qtbot, kiosk, "booking-slots")
    click(qtbot, kiosk, ".slot-button")
    wait_text(qtbot, kiosk, "Vos coordonnées")
    assert "Lundi 12 janvier, 9 h" in text(qtbot, kiosk)
    page = kiosk.controller.session_page()
    run_js(qtbot, page, "document.getElementById('name').value = 'Zoé Martin'; true")
    run_js(qtbot, page, "document.getElementById('contact').value = '06 1'; true")
    click(qtbot, kiosk, ".booking-form button[type=submit]")
    wait_text(qtbot, kiosk, "ne semble pas complet")
    assert run_js(qtbot, page, "document.getElementById('name').value") == "Zoé Martin"  # kept to correct
    run_js(qtbot, page, "document.getElementById('contact').value = '06 12 34 56 78'; true")
    keep_shot(qtbot, kiosk, "booking-contact")
    click(qtbot, kiosk, ".booking-form button[type=submit]")
    wait_text(qtbot, kiosk, "Votre rendez-vous est pris")
    wait_ready(qtbot, kiosk, APPOINTMENT)
    assert "Marie Dupont" in text(qtbot, kiosk) and "Lundi 12 janvier" in text(qtbot, kiosk)
    keep_shot(qtbot, kiosk, "booking-confirmed")
    rows = agent.conn.execute("SELECT name, phone, channel, category FROM appointments").fetchall()
    assert rows == [("Zoé Martin", "+33612345678", "kiosk", tile.category.value)]

    # The resident leaves: nothing they typed stays in the shell.
    desk = kiosk.booking.desk
    assert "Zoé" in repr(desk.view)
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is not State.ACTIVE, timeout=5_000)
    assert desk.view == INITIAL and desk.preselected is None
