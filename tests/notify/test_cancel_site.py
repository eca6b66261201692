"""The cancel link end to end: a reminder captured by aiosmtpd carries the link; followed over
HTTP on the agent's website served by a real uvicorn on 127.0.0.1, it shows the appointment (no
name, no contact) and cancels it with the form's token — after which the slot is free again."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kiosk.agent.cancel_site import add_cancel_routes
from kiosk.agent.console.serve import http_server
from kiosk.agent.notify_jobs import NotifyJobs
from kiosk.agent.web import SECURITY_HEADERS, create_help_site
from kiosk.core.loading import load_config
from kiosk.core.mediation.booking import AppointmentBook, AppointmentState, Booked, Channel
from kiosk.core.mediation.reminders import due_at
from kiosk.core.ports import ManualClock, SystemClock
from kiosk.core.settings import Config
from kiosk.core.store import DB_NAME, Role, open_store
from kiosk.pages import PageRenderer, WebsiteLinks
from sync.vocabulary import Category
from tests.notify.conftest import AWA, MARIE, PARIS
from tests.notifykit import SmtpCapture, free_port

pytestmark = pytest.mark.appointments
REPO = Path(__file__).resolve().parents[2]


def site_config(tmp_path: Path, url: str, smtp_port: int) -> Config:
    config = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml")
    kiosk = config.kiosk.model_validate(
        {
            **config.kiosk.model_dump(),
            "paths": {"data_dir": tmp_path / "data", "session_root": tmp_path / "s", "last_good_dir": tmp_path / "lg"},
            "appointments": {"persons": [MARIE.model_dump()]},
            "notifications": {
                "public_url": url,
                "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "from_address": "rdv@x.fr"},
            },
        }
    )
    return Config(kiosk, config.tiles, config.kiosk_path, config.tiles_path)


@dataclass
class Site:
    url: str
    config: Config
    book: AppointmentBook


@pytest.fixture
def site(tmp_path: Path, smtp_capture: SmtpCapture) -> Iterator[Site]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    config = site_config(tmp_path, url, smtp_capture.port)
    settings = config.kiosk
    store = open_store(settings.paths.data_dir / DB_NAME, Role.SHELL)
    book = AppointmentBook(store, settings.appointments, settings.opening, PARIS, SystemClock())
    book.seed_persons([MARIE])
    server = http_server(create_help_site(config), "127.0.0.1", port)
    thread = threading.Thread(target=server.run, name="website", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                pytest.fail("the website did not start")
            time.sleep(0.02)
        yield Site(url, config, book)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        store.close()
        assert not thread.is_alive(), "the website did not stop"


def client() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment: loopback only
    return session


def token(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def test_the_reminders_link_cancels_the_appointment_and_frees_the_slot(site: Site, smtp_capture: SmtpCapture) -> None:
    book = site.book
    today = SystemClock().now().astimezone(PARIS).date()
    slot = next(
        s for s in book.free_slots(Category.PAPIERS) if s.start.astimezone(PARIS).date() >= today + timedelta(2)
    )
    outcome = book.book(slot, Category.PAPIERS, AWA, Channel.WEBSITE)
    assert isinstance(outcome, Booked)
    ref = outcome.appointment.ref

    # The agent's reminder, the day before: its link is the website's public address.
    notify_store = open_store(site.config.kiosk.paths.data_dir / DB_NAME, Role.AGENT)
    try:
        clock = ManualClock(due_at(slot.start, PARIS, site.config.kiosk.notifications.reminders.send_at))
        assert NotifyJobs(notify_store, site.config.kiosk, clock).reminders().sent == 1
    finally:
        notify_store.close()
    links = re.findall(r"http://127\.0\.0\.1:\d+/rendez-vous/annuler/\S+", smtp_capture.bodies()[0])
    assert links == [f"{site.url}/rendez-vous/annuler/{ref}"]

    resident = client()
    page = resident.get(links[0])
    assert page.status_code == 200 and "Annuler votre rendez-vous ?" in page.text
    start = slot.start.astimezone(PARIS)
    assert f"{start.hour} h" in page.text and "Papiers" in page.text and "Bureau 2" in page.text
    for private in ("Awa", "Diallo", "exemple.fr", "06 12", "+33"):
        assert private not in page.text
    assert page.headers["content-security-policy"] == SECURITY_HEADERS["Content-Security-Policy"]
    assert page.headers["cache-control"] == "no-store"
    cookie = next(c for c in resident.cookies if c.name == "borne_cancel_form")
    assert cookie.path == "/rendez-vous/annuler" and cookie.has_nonstandard_attr("HttpOnly")
    form = token(page.text)
    english = client().get(links[0], params={"lang": "en"})
    assert (
        english.status_code == 200 and "Cancel your appointment?" in english.text and '<html lang="en"' in english.text
    )

    # Another site's form: no token, or the token without the cookie (another browser).
    assert resident.post(links[0], data={}).status_code == 403
    forged = client().post(links[0], data={"csrf": form})
    assert forged.status_code == 403 and "Cette page a expiré" in forged.text
    assert book.get(ref) is not None and book.get(ref).state is AppointmentState.BOOKED  # type: ignore[union-attr]

    done = resident.post(links[0], data={"csrf": form})
    assert done.status_code == 200 and "Votre rendez-vous est annulé" in done.text
    assert book.get(ref).state is AppointmentState.CANCELLED  # type: ignore[union-attr]
    assert slot in book.free_slots(Category.PAPIERS)  # free again for someone else

    again = resident.get(links[0])
    assert again.status_code == 200 and "Ce rendez-vous est déjà annulé" in again.text
    assert "Ce rendez-vous est déjà annulé" in resident.post(links[0], data={"csrf": form}).text


def test_unknown_or_malformed_refs_are_a_french_404(site: Site) -> None:
    for path in (
        "/rendez-vous/annuler/AAAAAAAAAAAAAAAA",
        "/rendez-vous/annuler/x",
        "/rendez-vous/annuler/%3Cscript%3E",
    ):
        page = client().get(site.url + path)
        assert page.status_code == 404 and "Nous ne trouvons pas ce rendez-vous" in page.text, path
        assert client().post(site.url + path, data={"csrf": "x"}).status_code == 404


def test_an_appointment_begun_or_past_cannot_be_cancelled(tmp_path: Path, smtp_capture: SmtpCapture) -> None:
    config = site_config(tmp_path, "https://rdv.exemple.fr", smtp_capture.port)
    clock = ManualClock()
    store = open_store(config.kiosk.paths.data_dir / DB_NAME, Role.SHELL)
    try:
        s = config.kiosk
        book = AppointmentBook(store, s.appointments, s.opening, PARIS, clock)
        book.seed_persons([MARIE])
        slot = book.free_slots(Category.PAPIERS)[0]
        outcome = book.book(slot, Category.PAPIERS, AWA, Channel.KIOSK)
        assert isinstance(outcome, Booked)
        app = FastAPI()
        renderer = PageRenderer(
            icons_dir=REPO / "config" / "icons", centre_name="Centre", links=WebsiteLinks("/aide", "fr")
        )
        desk = add_cancel_routes(app, config, renderer, SECURITY_HEADERS, clock=clock)
        web = TestClient(app, base_url="https://rdv.exemple.fr")
        path = f"/rendez-vous/annuler/{outcome.appointment.ref}"
        page = web.get(path)
        assert "Annuler votre rendez-vous ?" in page.text
        assert next(c for c in web.cookies.jar if c.name == "borne_cancel_form").secure  # https: a Secure cookie
        form = token(page.text)
        clock.set_wall(slot.start + timedelta(minutes=1))
        assert "ne peut plus être annulé" in web.get(path).text
        assert "ne peut plus être annulé" in web.post(path, data={"csrf": form}).text
        assert book.get(outcome.appointment.ref).state is AppointmentState.BOOKED  # type: ignore[union-attr]
        desk.close()
    finally:
        store.close()
