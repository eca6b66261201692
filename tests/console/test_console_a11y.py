"""axe-core over every page of the console, logged in as an administrator, on a database with
something in every list (persons, an appointment, a call, a week of statistics, a closure): no
serious or critical violation. The new sections are photographed at a tablet's size in
build/screenshots (look at them after changing a page)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.device_health import DeviceHealth, DeviceReport, write_health
from kiosk.core.devices import Marker
from kiosk.core.mediation.booking import AppointmentBook
from kiosk.core.mediation.calls import CallQueue
from kiosk.core.mediation.closures import add_closure
from kiosk.core.mediation_config import Closure, MediatorSettings
from kiosk.core.ports import SystemClock
from sync.vocabulary import Category
from tests.axekit import serious_violations
from tests.console.conftest import ADMIN, ConsoleServer, book_one, seed_last_week
from tests.devicekit import free_port

pytestmark = [pytest.mark.console, pytest.mark.a11y, pytest.mark.browser]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"
TABLET = {"width": 820, "height": 1180}
PARIS = ZoneInfo("Europe/Paris")
PAGES = {
    "calls": "/appels",
    "appointments-day": "/rendez-vous",
    "appointments-week": "/rendez-vous/semaine",
    "appointments-book": "/rendez-vous/nouveau",
    "persons": "/personnes",
    "accounts": "/comptes",
    "journal": "/journal",
    "devices": "/appareils",
    "statistics": "/statistiques?periode=semaine-derniere",
    "settings": "/reglages",
    "printing": "/impressions",
}
SHOT = ("devices", "statistics", "settings")


def furnish(server: ConsoleServer, book: AppointmentBook) -> None:
    """Something in every list, as on a working day."""
    ctx = server.console.context
    ctx.cups_server = f"127.0.0.1:{free_port()}"  # a dead CUPS: the page must still read well
    book_one(book, Category.FAMILLE, "Awa Diallo", "06 12 34 56 78")
    queue = CallQueue(book.store, MediatorSettings(), PARIS, SystemClock())
    queue.open(Category.TRAVAIL, "Inès")
    seed_last_week(server.db_path, datetime.now(PARIS).date())
    with ctx.db() as store:
        soon = datetime.now(PARIS).date() + timedelta(days=20)
        add_closure(store, Closure(start=soon, end=soon + timedelta(days=2), reason="Inventaire"), datetime.now(UTC))
        toner = (Marker("Black Toner", "toner", 9), Marker("Drum", "opc", 64))
        write_health(store, DeviceHealth(datetime.now(UTC), {"printer": DeviceReport("warning", "toner_low", toner)}))


def test_every_console_page_has_no_serious_accessibility_violation(
    console_server: ConsoleServer, shell_book: AppointmentBook, browser
) -> None:  # type: ignore[no-untyped-def]
    furnish(console_server, shell_book)
    context = browser.new_context(ignore_https_errors=True, viewport=TABLET, locale="fr-FR")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    found: dict[str, list[str]] = {}
    page.goto(console_server.url + "/connexion")
    found["login"] = serious_violations(page)
    page.fill("#name", ADMIN[0])
    page.fill("#password", ADMIN[1])
    page.click("button[type=submit]")
    page.wait_for_url("**/appels")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for name, path in PAGES.items():
        answer = page.goto(console_server.url + path)
        assert answer is not None and answer.status == 200, (name, answer and answer.status)
        found[name] = serious_violations(page)
        if name in SHOT:
            page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)
    context.close()
    assert {name: v for name, v in found.items() if v} == {}
    assert errors == []  # a CSP refusal or a missing file would be reported here
