"""The console's devices, statistics and settings sections: login and roles, a real cupsd, a dead
one, a hung one, a ticket printer that is not there, hidden small cells in the page and the CSV,
and an exceptional closure honoured by the slots and the mediator desk."""

from __future__ import annotations

import csv
import io
import socket
import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.agent.console.statistics import SINGLE_FIGURES, period_for
from kiosk.core.mediation.booking import AppointmentBook
from kiosk.core.mediation.desk import DeskState, MediationDesk
from kiosk.core.mediation.presence import beat, set_staff_present, shell_beat
from kiosk.core.ports import ManualClock
from kiosk.core.settings import DevicesSettings, KioskSettings, TicketPrinterSettings
from kiosk.core.stats.events import AgeBracket
from kiosk.core.store import Role, open_store
from sync.vocabulary import Category
from tests.console.conftest import ADMIN, STAFF, ConsoleServer, audit_rows, form_token, seed_last_week
from tests.devicekit import PdfQueue, free_port, make_pdf

pytestmark = pytest.mark.console
PARIS = ZoneInfo("Europe/Paris")
NEW_PAGES = ("/appareils", "/statistiques", "/statistiques.csv", "/reglages")


def dead_server() -> str:
    return f"127.0.0.1:{free_port()}"


def test_the_new_pages_need_a_login_and_are_open_to_staff(console_server: ConsoleServer) -> None:
    anonymous = console_server.client()
    for path in NEW_PAGES:
        answer = anonymous.get(console_server.url + path, allow_redirects=False)
        assert (answer.status_code, answer.headers.get("location")) == (303, "/connexion"), path
    console_server.console.context.cups_server = dead_server()
    staff = console_server.login(*STAFF)
    for path in NEW_PAGES:
        assert staff.get(console_server.url + path).status_code == 200, path
    page = staff.get(console_server.url + "/reglages").text
    for section in ("Appareils", "Statistiques", "Réglages"):
        assert f">{section}</a>" in page
    assert 'action="/reglages/fermetures"' not in page  # staff see the closures, cannot add one


def test_a_dead_cups_and_a_missing_ticket_printer_are_shown_not_an_error(console_server: ConsoleServer) -> None:
    ctx = console_server.console.context
    ctx.cups_server = dead_server()
    ticket = TicketPrinterSettings(host="127.0.0.1", port=free_port(), timeout_s=1)
    ctx.settings = KioskSettings(
        paths=ctx.settings.paths, devices=DevicesSettings(ticket_printer="network", ticket=ticket)
    )
    answer = console_server.login(*STAFF).get(console_server.url + "/appareils")
    assert answer.status_code == 200
    page = answer.text
    assert "Serveur d&#39;impression (CUPS) injoignable." in page
    assert "Imprimante à tickets" in page and "En panne : ne répond pas" in page
    assert "Jamais démarré" in page  # no shell beat on this database
    assert "Borne non inscrite auprès de la fédération." in page
    assert 'href="#imprimantes"' in page and 'id="imprimantes"' in page  # a table of contents


def test_a_real_cupsd_shows_its_queue_and_the_jobs_waiting(console_server: ConsoleServer, pdf_queue: PdfQueue) -> None:
    ctx = console_server.console.context
    ctx.cups_server = pdf_queue.cupsd.server
    pdf = pdf_queue.output.parent / f"{pdf_queue.name}.pdf"
    pdf.write_bytes(make_pdf(1))
    try:
        conn = pdf_queue.cupsd.connection()
        conn.printFile(pdf_queue.name, str(pdf), "held", {"job-hold-until": "indefinite"})
        with ctx.db() as store:
            shell_beat(store, datetime.now(UTC))
        page = console_server.login(*STAFF).get(console_server.url + "/appareils").text
    finally:
        pdf.unlink(missing_ok=True)
    assert "Imprimante Borne test PDF printer" in page
    assert f"<dd>{pdf_queue.name}</dd>" in page
    assert "<dt>Travaux en attente</dt><dd>1</dd>" in page
    assert "celle de la borne" in page
    assert "Écran de la borne" in page and "En marche." in page


def test_a_hung_cups_does_not_hold_the_page(console_server: ConsoleServer) -> None:
    """A server that takes the connection and never answers: the page answers after the probe's
    timeout, and the next view does not start a second probe behind the hung one."""
    ctx = console_server.console.context
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    listener.settimeout(0.1)
    ctx.cups_server = f"127.0.0.1:{listener.getsockname()[1]}"
    staff = console_server.login(*STAFF)
    try:
        started = time.monotonic()
        first = staff.get(console_server.url + "/appareils", timeout=30)
        took = time.monotonic() - started
        second = staff.get(console_server.url + "/appareils", timeout=30)
        took_again = time.monotonic() - started - took
    finally:
        try:
            while True:
                accepted.append(listener.accept()[0])
        except OSError:
            pass
        for conn in accepted:
            conn.close()
        listener.close()
    assert first.status_code == 200 and "Ne répond pas (rien après 4 s)" in first.text
    assert took < 8
    assert "la vérification précédente n&#39;est pas finie" in second.text and took_again < 2


def test_statistics_hide_small_cells_in_the_page_and_the_csv(console_server: ConsoleServer) -> None:
    today = datetime.now(PARIS).date()
    seed_last_week(console_server.db_path, today)
    staff = console_server.login(*STAFF)
    page = staff.get(console_server.url + "/statistiques?periode=semaine-derniere").text
    week = period_for("semaine-derniere", today)
    assert week.french().capitalize() in page
    assert '<td>sessions commencées</td><td class="num">43</td>' in page
    assert '<svg class="bars"' in page and "<script" not in page.split("<main", 1)[1]
    answer = staff.get(console_server.url + "/statistiques.csv?periode=semaine-derniere")
    assert answer.headers["content-type"].startswith("text/csv")
    assert f'filename="statistiques-{week.label}.csv"' in answer.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["section", "item", "value"] and ["Sessions", "sessions commencées", "43"] in rows
    # The rare tile (1) and its category are hidden, in the page as in the file; the 12–17
    # year-olds (one a day) never show a count; no cell of a table shows a figure under k.
    for shown in (page, answer.text):
        assert "ants" not in shown and Category.PAPIERS.label not in shown
    # (A cell hidden on each of its days is hidden over the week too, not shown as a count of 0.)
    assert not [row for row in rows if row[1] == AgeBracket.FROM_12_TO_17.label]
    assert AgeBracket.FROM_12_TO_17.label not in page
    tables = [int(row[2]) for row in rows[1:] if row[2] and row[0] not in SINGLE_FIGURES]
    assert tables and all(value == 0 or value >= 5 for value in tables)
    # A period not over is shown up to its last closed day; an unknown one is refused.
    year = staff.get(console_server.url + "/statistiques?periode=cette-annee").text
    assert '<td>sessions commencées</td><td class="num">43</td>' in year or "jusqu&#39;au" in year
    assert staff.get(console_server.url + "/statistiques?periode=demain").status_code == 404


def next_open_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())  # next Monday: within the booking horizon


def test_an_admin_adds_a_closure_the_slots_and_the_desk_honour_it(
    console_server: ConsoleServer, shell_book: AppointmentBook
) -> None:
    day = next_open_monday(datetime.now(PARIS).date())
    on_day = [s for s in shell_book.free_slots(Category.FAMILLE) if s.start.astimezone(PARIS).date() == day]
    assert on_day, "next Monday has slots before the closure"
    clock = ManualClock(datetime(day.year, day.month, day.day, 10, 0, tzinfo=PARIS).astimezone(UTC))
    agent = open_store(console_server.db_path, Role.AGENT)
    beat(agent, clock.now())
    set_staff_present(agent, True, clock.now())
    desk = MediationDesk(console_server.db_path, KioskSettings(), clock)
    try:
        assert desk.refresh(None).state is DeskState.OFFER
        staff = console_server.login(*STAFF)
        token = form_token(staff.get(console_server.url + "/reglages").text)
        refused = staff.post(
            console_server.url + "/reglages/fermetures", data={"csrf": token, "first": day.isoformat()}
        )
        assert refused.status_code == 403
        admin = console_server.login(*ADMIN)
        token = form_token(admin.get(console_server.url + "/reglages").text)
        bad = admin.post(
            console_server.url + "/reglages/fermetures",
            data={"csrf": token, "first": day.isoformat(), "last": (day - timedelta(days=2)).isoformat()},
        )
        assert bad.status_code == 400 and "La fin de la fermeture est avant son début" in bad.text
        added = admin.post(
            console_server.url + "/reglages/fermetures",
            data={"csrf": token, "first": day.isoformat(), "reason": "Fermé pour travaux"},
        )
        assert added.status_code == 200 and "Fermeture ajoutée" in added.text
        assert f"Le lundi {day.strftime('%d/%m/%Y')}</strong> : Fermé pour travaux" in added.text
        assert not [s for s in shell_book.free_slots(Category.FAMILLE) if s.start.astimezone(PARIS).date() == day]
        view = desk.refresh(None)
        assert view.state is DeskState.UNAVAILABLE
        assert "L'espace est fermé aujourd'hui : Fermé pour travaux." in view.message
        (closure_id, target), *_ = [(t.split()[1], t) for _, t in audit_rows(console_server, "closure_add")]
        assert audit_rows(console_server, "closure_add") == [(ADMIN[0], target)]
        staff_page = staff.get(console_server.url + "/reglages").text
        assert "Fermé pour travaux" in staff_page and "/supprimer" not in staff_page
        staff_token = form_token(staff_page)
        remove = f"/reglages/fermetures/{closure_id}/supprimer"
        assert staff.post(console_server.url + remove, data={"csrf": staff_token}).status_code == 403
        removed = admin.post(console_server.url + remove, data={"csrf": token})
        assert "Fermeture supprimée." in removed.text
        assert desk.refresh(None).state is DeskState.OFFER
        assert [a for a, _ in audit_rows(console_server, "closure_remove")] == [ADMIN[0]]
    finally:
        desk.close()
        agent.close()
