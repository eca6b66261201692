"""The mediator desk prints the resident's number on the ticket printer (the real ESC/POS adapter
against the loopback capture printer), and says so on the page when the ticket does not come."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.devices import TicketPrinter
from kiosk.core.mediation.desk import DeskState, MediationDesk
from kiosk.core.store import Role, Store, open_store
from kiosk.pages.mediator import mediator_context
from kiosk.pages.renderer import PageRenderer
from tests.escposkit import EscposCapture
from tests.integration.test_ticket_printer_escpos import printed_text, printer_for
from tests.unit.test_mediator_page import SETTINGS, desk_up

pytestmark = [pytest.mark.devices, pytest.mark.escpos, pytest.mark.mediator]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def agent(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "kiosk.db", Role.AGENT)
    try:
        yield store
    finally:
        store.close()


def desk_with(agent: Store, printer: TicketPrinter) -> MediationDesk:
    plain, clock = desk_up(agent)
    plain.close()  # only its clock, the agent beating and staff present
    assert agent.path is not None
    return MediationDesk(agent.path, SETTINGS, clock, ticket_printer=printer)


def waiting_page(desk: MediationDesk) -> str:
    from tests.help.test_a11y import CONFIG

    renderer = PageRenderer(icons_dir=REPO / "config" / "icons", centre_name="Centre")
    return renderer.render("mediator", **mediator_context(desk.view, CONFIG.tiles)).body.decode()


def test_the_call_s_number_comes_out_on_the_ticket_printer(agent: Store, tmp_path: Path) -> None:
    capture = EscposCapture(tmp_path / "tickets").start()
    try:
        desk = desk_with(agent, printer_for(capture))
        try:
            view = desk.open_call({"category": "logement"}, "s1")
            assert view.state is DeskState.WAITING and view.number == 1 and not view.ticket_failed
            [data] = capture.wait_for_tickets(1)
            assert "Votre numéro" in printed_text(data) and "1" in printed_text(data)
            assert "Retenez votre numéro" not in waiting_page(desk)
            printed = agent.conn.execute("SELECT count(*) FROM events WHERE kind = 'ticket_printed'").fetchone()[0]
            assert printed == 1
        finally:
            desk.close()
    finally:
        capture.stop()


def test_a_ticket_that_does_not_come_leaves_the_number_on_screen_to_remember(agent: Store, tmp_path: Path) -> None:
    capture = EscposCapture(tmp_path / "tickets").start()
    printer = printer_for(capture)
    capture.stop()  # the printer is gone: connection refused
    desk = desk_with(agent, printer)
    try:
        view = desk.open_call({"category": "logement"}, "s1")
        assert view.state is DeskState.WAITING and view.number == 1  # the call is made all the same
        assert view.ticket_failed
        assert desk.refresh("s1").ticket_failed  # still said after the next look
        assert "Retenez votre numéro\u00a0: 1." in waiting_page(desk)
    finally:
        desk.close()
