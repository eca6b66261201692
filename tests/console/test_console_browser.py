"""The console in headless Chromium: its own script runs under the strict CSP, the list follows
a new call without a reload, and the tab's title says how many wait."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.mediation.booking import AppointmentState
from kiosk.core.mediation.calls import CallQueue
from kiosk.core.mediation_config import MediatorSettings
from kiosk.core.ports import SystemClock
from kiosk.core.store import Role, open_store
from sync.vocabulary import Category
from tests.agentkit import staff_browser
from tests.console.conftest import STAFF, ConsoleServer

pytestmark = [pytest.mark.console, pytest.mark.browser]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"


@pytest.fixture
def page(console_server: ConsoleServer) -> Iterator[object]:
    with staff_browser() as page:
        yield page


def wait_until(check, timeout_s: float) -> bool:  # type: ignore[no-untyped-def]
    """Polled from here: the console's CSP (rightly) forbids the eval Playwright's waits use."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return False


def test_a_new_call_shows_without_reload_and_changes_the_title(console_server: ConsoleServer, page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(console_server.url + "/appels")
    assert page.url.endswith("/connexion")
    page.fill("#name", STAFF[0])
    page.fill("#password", STAFF[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/appels")
    assert wait_until(lambda: page.inner_text("#etat-direct") == "Mise à jour en direct.", 5)
    assert page.title().startswith("Appels")
    page.evaluate("window.__sameDocument = true")
    store = open_store(console_server.db_path, Role.SHELL)
    try:
        queue = CallQueue(store, MediatorSettings(), ZoneInfo("Europe/Paris"), SystemClock())
        queue.open(Category.TRAVAIL, "Inès")
        opened = time.monotonic()
        assert wait_until(lambda: page.title().startswith("(1) Appel en attente"), 2.0), page.title()
        shown_s = time.monotonic() - opened
    finally:
        store.close()
    assert page.evaluate("window.__sameDocument") is True  # no reload
    assert page.locator("li.call.waiting").count() == 1 and "Inès" in page.inner_text("#appels")
    assert shown_s < 2.0
    page.screenshot(path=str(tmp_path / "console-calls.png"), full_page=True)
    assert problems == []  # a CSP refusal or a missing file would be reported here


def test_the_day_of_appointments_in_chromium(console_server: ConsoleServer, shell_book, page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The day view at a desk tablet's size: no script or style refused, every button a finger's
    size; the screenshot is saved for a person to look at."""
    from tests.console.conftest import PARIS, book_one

    first = book_one(shell_book, Category.LOGEMENT, "Amina Diallo", "06 12 34 56 78", person="paul")
    second = book_one(shell_book, Category.TRAVAIL, "Jean Petit", "07 98 76 54 32", person="marie")
    third = book_one(shell_book, Category.ARGENT, "Léa Roux-Bernard", "06 11 11 11 11", person="marie", skip=1)
    shell_book.mark(second.ref, AppointmentState.ATTENDED)
    shell_book.cancel(third.ref)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(console_server.url + "/connexion")
    page.fill("#name", STAFF[0])
    page.fill("#password", STAFF[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/appels")
    day = first.start.astimezone(PARIS).date().isoformat()
    page.goto(console_server.url + f"/rendez-vous?jour={day}")
    shown = page.inner_text("main")
    assert "Amina Diallo" in shown and "06 12 34 56 78" in shown
    small = page.evaluate(
        "[...document.querySelectorAll('main button, main a.button')]"
        ".filter(b => b.getBoundingClientRect().height < 44).map(b => b.textContent)"
    )
    assert small == []
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-rendez-vous-jour.png"), full_page=True)
    page.goto(console_server.url + "/rendez-vous/nouveau?demarche=logement")
    page.screenshot(path=str(SCREENSHOTS / "console-rendez-vous-nouveau.png"), full_page=False)
    page.goto(console_server.url + f"/rendez-vous/semaine?du={day}")
    assert "Amina Diallo" in page.inner_text("main")
    page.screenshot(path=str(SCREENSHOTS / "console-rendez-vous-semaine.png"), full_page=False)
    assert problems == []


def test_the_resource_persons_in_chromium(console_server: ConsoleServer, shell_book, page) -> None:  # type: ignore[no-untyped-def]
    from kiosk.core.mediation.ics import Problem
    from kiosk.core.mediation_config import PersonSettings
    from tests.console.conftest import ADMIN

    ctx = console_server.console.context
    ctx.book.save_person(PersonSettings(id="lina", name="Lina Morel", ics_url="https://agenda.example/l.ics"))
    now = datetime.now(UTC)
    ctx.calendars.save_good("lina", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n", now - timedelta(days=2))
    ctx.calendars.save_problem("lina", Problem.UNREACHABLE, now)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(console_server.url + "/connexion")
    page.fill("#name", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/appels")
    page.click("text=Personnes ressources")
    page.click("[data-person=marie] button:has-text('Créer l')")
    assert "/agenda/" in page.input_value("input.address")
    assert "L'adresse du calendrier ne répond pas." in page.inner_text("[data-person=lina]")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-personnes.png"), full_page=True)
    page.goto(console_server.url + "/personnes/marie")
    page.screenshot(path=str(SCREENSHOTS / "console-personne-modifier.png"), full_page=True)
    assert problems == []
