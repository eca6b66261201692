"""The booking website in headless Chromium on a phone-sized screen (a screenshot of each step in
build/screenshots/: look at them), axe-core on every step of the website and of the terminal's
page, and the appointment's ticket from the terminal's desk through the real ESC/POS adapter."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import icalendar
import pytest

from kiosk.core.mediation.desk import DeskState, DeskView
from kiosk.core.mediation.reservation import ReservationDesk, ReservationView, Step, slot_value
from kiosk.core.ports import ManualClock, SystemClock
from kiosk.pages import PageRenderer
from kiosk.pages.booking import KioskBookingLinks, booking_context
from kiosk.pages.mediator import mediator_context
from sync.vocabulary import Category
from tests.axekit import CHROMIUM, ServedKioskLinks, serious_violations
from tests.bookingkit import LIFTED, REPO, booking_config, seed, served
from tests.escposkit import EscposCapture, decode
from tests.integration.test_ticket_printer_escpos import printed_text, printer_for

pytestmark = [pytest.mark.appointments]
SHOTS = REPO / "build" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    config = booking_config(tmp_path_factory.mktemp("booking") / "data")
    db = seed(config, SystemClock())
    with served(config, db_path=db, limits=LIFTED) as url:
        yield url


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.mark.browser
@pytest.mark.a11y
def test_a_resident_books_on_a_phone(site: str, chromium) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    strict = chromium.new_page(viewport=PHONE)  # the pages' own CSP in force: it refuses nothing they need
    errors: list[str] = []
    strict.on("console", lambda message: errors.append(message.text) if "Content Security" in message.text else None)
    strict.on("response", lambda r: errors.append(r.url) if r.status >= 400 and "favicon" not in r.url else None)
    for path in ("/rendez-vous", "/rendez-vous/creneaux?demarche=logement", "/rendez-vous?lang=ar"):
        strict.goto(site + path)
        assert strict.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(250, 247, 242)"
    strict.close()
    # axe-core is a script the pages' CSP (no script at all) would refuse: this context lets it in.
    context = chromium.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True, bypass_csp=True
    )
    page = context.new_page()
    found = {}

    def step(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"booking-phone-{name}.png"), full_page=name != "slots")
        # Nothing wider than the phone: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], name
        problems = serious_violations(page)
        if problems:
            found[name] = problems

    page.goto(site + "/rendez-vous")
    step("1-demarches")
    page.get_by_role("link", name="Logement").click()
    page.wait_for_url("**/rendez-vous/creneaux?**")
    step("slots")
    first = page.locator(".slot-button").first
    assert first.bounding_box()["height"] >= 44  # a finger's target
    first.click()
    page.wait_for_url("**/rendez-vous/coordonnees?**")
    page.get_by_label("Votre nom").fill("Marie Curie")
    page.get_by_label("Votre téléphone ou votre e-mail").fill("06 1")
    page.get_by_role("button", name="Confirmer le rendez-vous").click()
    page.wait_for_selector("#booking_error")
    step("3-erreur")
    page.get_by_label("Votre téléphone ou votre e-mail").fill("06 12 34 56 78")
    step("3-coordonnees")
    page.get_by_role("button", name="Confirmer le rendez-vous").click()
    page.wait_for_url("**/rendez-vous/confirmation/**")
    step("4-confirmation")
    assert "Votre rendez-vous est pris" in page.content()
    with page.expect_download() as download:
        page.get_by_role("link", name="Ajouter à mon agenda").click()
    data = Path(download.value.path()).read_bytes()
    assert icalendar.Calendar.from_ical(data).walk("VEVENT")[0]["summary"].startswith("Rendez-vous avec Marie Dupont")
    page.goto(site + "/rendez-vous?lang=ar")
    step("1-demarches-ar")
    context.close()
    assert not errors, errors
    assert not found, found


NOW = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


@pytest.mark.a11y
@pytest.mark.parametrize("lang", ["fr", "ar"])
def test_the_terminal_s_booking_pages_are_accessible(site: str, chromium, tmp_path: Path, lang: str) -> None:  # type: ignore[no-untyped-def]
    config = booking_config(tmp_path / "data")
    clock = ManualClock(NOW)
    db = seed(config, clock)
    desk = ReservationDesk(db, config.kiosk, clock, "kiosk")
    renderer = PageRenderer(
        icons_dir=REPO / "config" / "icons", centre_name=config.kiosk.centre.name, links=ServedKioskLinks()
    )
    slots = desk.choose("logement")
    views = {
        "category": desk.choose("?"),
        "slots": slots,
        "contact": desk.pick("logement", _value(slots)),
        "confirmed": desk.book(
            {"category": "logement", "slot": _value(slots), "name": "Ana Roy", "contact": "0612345678"}
        ),
        "unavailable": ReservationView(Step.UNAVAILABLE),
    }
    desk.close()
    assert views["confirmed"].step is Step.CONFIRMED and views["contact"].step is Step.CONTACT
    # The help site's CSP refuses the kiosk's inline style sheet (the shell serves its pages
    # without one): let it in, so that axe-core judges the colours residents see.
    context = chromium.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    page = context.new_page()
    found = {}
    pages = {
        name: renderer.render(
            "appointment",
            language=lang,
            **booking_context(view, config.tiles, lang, KioskBookingLinks(), zone=desk.zone, keep_days=30),
        )
        for name, view in views.items()
    }
    offer = mediator_context(
        DeskView(DeskState.UNAVAILABLE, "Mardi de 14 h à 17 h"),
        config.tiles,
        booking=True,
        preselected=Category.LOGEMENT,
    )
    pages["mediator-offer"] = renderer.render("mediator", language=lang, **offer)
    for name, rendered in pages.items():
        page.goto(site + "/aide")  # the page's origin, so that its style sheet loads
        page.set_content(rendered.body.decode(), wait_until="load")
        assert page.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(250, 247, 242)"
        page.screenshot(path=str(SHOTS / f"booking-kiosk-{name}-{lang}.png"), full_page=False)
        problems = serious_violations(page)
        if problems:
            found[name] = problems
    context.close()
    assert not found, found


def _value(view: ReservationView) -> str:
    return slot_value(view.slots[0])


@pytest.mark.escpos
@pytest.mark.devices
def test_the_terminal_prints_the_appointment_with_its_qr_code(tmp_path: Path) -> None:
    config = booking_config(tmp_path / "data")
    clock = ManualClock(NOW)
    db = seed(config, clock)
    capture = EscposCapture(tmp_path / "tickets").start()
    try:
        desk = ReservationDesk(db, config.kiosk, clock, "kiosk", ticket_printer=printer_for(capture))
        try:
            slots = desk.choose("logement")
            view = desk.book(
                {"category": "logement", "slot": _value(slots), "name": "Ana Roy", "contact": "0612345678"}
            )
        finally:
            desk.close()
        assert view.step is Step.CONFIRMED and not view.ticket_failed
        [data] = capture.wait_for_tickets(1)
    finally:
        capture.stop()
    commands = decode(data)
    text = printed_text(data)
    assert "Votre rendez-vous" in text and "Lundi 30 novembre" in text and "Marie Dupont" in text
    assert "Ana Roy" not in text and "0612" not in text
    qr = [c for c in commands if c.name == "qr"]
    assert [c.arg for c in qr] == [0x41, 0x43, 0x45, 0x50, 0x51]  # model, module size, correction, store, print
    stored = qr[3].value
    assert isinstance(stored, bytes)
    event = icalendar.Calendar.from_ical(stored).walk("VEVENT")[0]
    assert event.decoded("dtstart") == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert len(stored) <= 1200 and b"Ana" not in stored
