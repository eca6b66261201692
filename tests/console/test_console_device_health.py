"""The devices page's "Relevé de la borne" panel: the snapshot the shell wrote into the shared
database, read by the agent and shown to staff with the printer's supplies as text and a bar."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest

from kiosk.core.device_health import DeviceHealth, DeviceReport, write_health
from kiosk.core.devices import Marker
from kiosk.core.store import Role, open_store
from tests.console.conftest import STAFF, ConsoleServer
from tests.devicekit import free_port

pytestmark = [pytest.mark.console, pytest.mark.devices]


def page(console_server: ConsoleServer) -> str:
    console_server.console.context.cups_server = f"127.0.0.1:{free_port()}"  # no cupsd: the live panels say so
    answer = console_server.login(*STAFF).get(console_server.url + "/appareils")
    assert answer.status_code == 200
    return html.unescape(answer.text)


def shell_writes(console_server: ConsoleServer, health: DeviceHealth) -> None:
    store = open_store(console_server.db_path, Role.SHELL)  # the shell's own connection
    try:
        assert write_health(store, health)
    finally:
        store.close()


def test_the_panel_shows_each_device_and_the_supplies(console_server: ConsoleServer) -> None:
    markers = (Marker("Black Toner", "toner", 9), Marker("Cyan", "toner", 72), Marker("Drum", "opc", None))
    shell_writes(
        console_server,
        DeviceHealth(
            datetime.now(UTC),
            {
                "printer": DeviceReport("warning", "toner_low", markers),
                "ticket_printer": DeviceReport("error", "paper_out"),
                "scanner": DeviceReport("absent", "absent"),
                "touchscreen": DeviceReport("ok", "ok"),
            },
        ),
    )
    text = page(console_server)
    assert 'href="#releve"' in text and "Relevé de la borne" in text
    panel = text[text.index('id="releve"') : text.index('id="imprimantes"')]
    assert 'data-device-code="toner_low"' in panel and "toner bas" in panel
    assert "Black Toner : 9 % (bas)" in panel and 'value="9"' in panel
    assert "Cyan : 72 %" in panel and "Cyan : 72 % (bas)" not in panel and 'value="72"' in panel
    assert "Drum : niveau inconnu" in panel  # no bar for an unknown level
    assert panel.count("<meter") == 2
    assert "Imprimante à tickets" in panel and "plus de papier" in panel and "En panne" in panel
    assert "Scanner" in panel and "aucun appareil trouvé" in panel
    assert "Écran tactile" in panel and "En ordre" in panel


def test_no_recent_snapshot_says_the_states_are_unknown(console_server: ConsoleServer) -> None:
    text = page(console_server)
    panel = text[text.index('id="releve"') : text.index('id="imprimantes"')]
    assert "état inconnu" in panel and "aucun relevé depuis plus de 5 minutes" in panel
    old = datetime.now(UTC) - timedelta(minutes=6)
    shell_writes(console_server, DeviceHealth(old, {"printer": DeviceReport("error", "jam")}))
    panel = page(console_server)
    assert "bourrage papier" not in panel[panel.index('id="releve"') : panel.index('id="imprimantes"')]


def test_a_usb_ticket_printer_is_read_from_the_shell_never_opened_by_the_agent(
    console_server: ConsoleServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One process at a time opens a USB (or serial) ESC/POS printer, and that is the shell: the
    agent's panel shows the shell's reading of it and never builds an adapter of its own."""
    from kiosk.core.settings import DevicesSettings, KioskSettings, TicketPrinterSettings
    from kiosk.devices import select

    def never(*_args: object) -> None:
        raise AssertionError("the agent opened the ticket printer")

    monkeypatch.setattr(select, "build_ticket_printer", never)
    ctx = console_server.console.context
    usb = TicketPrinterSettings(usb_vendor=0x0416, usb_product=0x5011)
    ctx.settings = KioskSettings(paths=ctx.settings.paths, devices=DevicesSettings(ticket_printer="usb", ticket=usb))

    def ticket_panel() -> str:
        text = page(console_server)
        return text[text.index('id="tickets"') : text.index('id="borne"')]

    unknown = ticket_panel()
    assert "État inconnu (la borne n'a rien relevé récemment)." in unknown and "USB" in unknown
    shell_writes(
        console_server, DeviceHealth(datetime.now(UTC), {"ticket_printer": DeviceReport("error", "paper_out")})
    )
    panel = ticket_panel()
    assert "Plus de papier." in panel and "En panne" in panel and "Relevé par" in panel and "la borne" in panel
