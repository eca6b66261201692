"""Twenty residents and staff take one slot at the same moment, each from a process of their own,
through the three real paths: the terminal's reservation desk (the code the shell's booking panel
calls off its GUI thread), the website over HTTP (real uvicorn on loopback, form token and all)
and the staff console over HTTPS (logged in, its CSRF token). Exactly one wins; every other
one hears "Ce créneau vient d'être pris." and is shown free slots without that one."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.mediation.booking import AppointmentBook
from kiosk.core.mediation.reservation import ReservationDesk, Step, slot_value
from kiosk.core.mediation.slots import Slot
from kiosk.core.ports import SystemClock
from kiosk.core.store import Role, open_store
from sync.vocabulary import Category
from tests.bookingkit import LIFTED, booking_config, client, open_form, race, seed, served
from tests.console.conftest import ADMIN, ConsoleServer, console_server, form_token

__all__ = ["console_server"]  # the console's fixture, served here too
pytestmark = [pytest.mark.appointments, pytest.mark.console]

CLIENTS = 20
PATHS = ("kiosk", "website", "console")
TAKEN = "Ce créneau vient d'être pris."
PARIS = ZoneInfo("Europe/Paris")


def _contender(
    index: int, data_dir: Path, site: str, console: tuple[str, str], slot: Slot, start: Any, out: Any
) -> None:
    path = PATHS[index % len(PATHS)]
    value = slot_value(slot)
    name, phone = f"Personne {chr(65 + index)}", f"06 12 34 56 {index:02d}"
    try:
        if path == "kiosk":
            config = booking_config(data_dir)
            desk = ReservationDesk(data_dir / "kiosk.db", config.kiosk, SystemClock(), "kiosk")
            start.wait()
            view = desk.book({"category": "logement", "slot": value, "name": name, "contact": phone}, f"s{index}")
            desk.close()
            if view.step is Step.CONFIRMED:
                out.put(("booked", path, view.confirmation.ref if view.confirmation else ""))
            else:
                offered = [slot_value(s) for s in view.slots]
                out.put(("taken", path, (view.taken and view.step is Step.SLOTS, value in offered, bool(offered))))
        elif path == "website":
            session = client()
            fields, _page = open_form(session, site, f"/rendez-vous/coordonnees?demarche=logement&creneau={value}")
            start.wait()
            answer = session.post(
                site + "/rendez-vous/coordonnees",
                data={**fields, "name": name, "contact": phone},
                allow_redirects=False,
                timeout=60,
            )
            if answer.status_code == 303:
                out.put(("booked", path, answer.headers["location"].rsplit("/", 1)[-1]))
            else:
                offered = [html.unescape(v) for v in re.findall(r"creneau=([^\"&]+)", answer.text)]
                offered = [v.replace("%7C", "|") for v in offered]
                fine = answer.status_code == 409 and TAKEN in answer.text.replace("&#39;", "'")
                out.put(("taken", path, (fine, value in offered, bool(offered))))
        else:
            url, cert = console
            session = client()
            session.verify = cert
            login = session.get(url + "/connexion", timeout=30)
            session.post(
                url + "/connexion", data={"name": ADMIN[0], "password": ADMIN[1], "csrf": form_token(login.text)}
            )
            form = session.get(url + "/rendez-vous/nouveau?demarche=logement", timeout=30)
            data = {"demarche": "logement", "creneau": value, "nom": name, "telephone": phone,
                    "csrf": form_token(form.text)}  # fmt: skip
            start.wait()
            answer = session.post(url + "/rendez-vous/nouveau", data=data, allow_redirects=False, timeout=60)
            if answer.status_code == 303:
                out.put(("booked", path, ""))
            else:
                offered = [html.unescape(v) for v in re.findall(r'name="creneau" value="([^"]+)"', answer.text)]
                fine = answer.status_code == 409 and TAKEN in html.unescape(answer.text)
                out.put(("taken", path, (fine, value in offered, bool(offered))))
    except BaseException as error:  # reported to the test, not lost in a child
        out.put(("error", path, repr(error)))


def test_twenty_bookings_of_one_slot_through_terminal_website_and_console(
    tmp_path: Path, console_server: ConsoleServer
) -> None:
    data_dir = tmp_path / "data"  # the console's database is the terminal's and the website's
    config = booking_config(data_dir)
    seed(config, SystemClock())
    store = open_store(data_dir / "kiosk.db", Role.AGENT)
    book = AppointmentBook(
        store, config.kiosk.appointments, config.kiosk.opening, PARIS, SystemClock()
    )  # fmt: skip
    # A morning slot (the console's default hours and the centre's agree on mornings), days ahead.
    soon = datetime.now(UTC) + timedelta(days=2)
    slot = next(
        s for s in book.free_slots(Category.LOGEMENT) if s.start > soon and s.start.astimezone(PARIS).hour == 10
    )
    with served(config, db_path=data_dir / "kiosk.db", limits=LIFTED) as site:
        console = (console_server.url, console_server.cert)
        # forkserver: the children are not forks of this process and its servers' threads.
        answers = race("forkserver", CLIENTS, _contender, lambda i: (i, data_dir, site, console, slot))
    assert [a for a in answers if a[0] == "error"] == []
    winners = [a for a in answers if a[0] == "booked"]
    losers = [a for a in answers if a[0] == "taken"]
    assert len(winners) == 1 and len(losers) == CLIENTS - 1, answers
    assert {a[1] for a in losers} == set(PATHS)  # every path lost at least once
    assert {a[2] for a in losers} == {(True, False, True)}, losers  # the message, fresh slots without it
    rows = store.conn.execute("SELECT person_id, start_ms, state, channel FROM appointments").fetchall()
    assert len(rows) == 1 and rows[0][2] == "booked"
    assert rows[0][1] == int(slot.start.timestamp() * 1000)
    store.close()
