"""The tickets of a mediator call and an appointment (pure), and the ticket printer's settings."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from pydantic import ValidationError

from kiosk.core.devices import TICKET_QR_MAX_BYTES, DeviceFailure, Ticket
from kiosk.core.mediation.booking import Appointment, AppointmentState, Channel
from kiosk.core.mediation.calls import Call, CallState
from kiosk.core.mediation.tickets import appointment_ticket, call_ticket, print_ticket
from kiosk.core.mediation_config import PersonSettings
from kiosk.core.ports import ManualClock
from kiosk.core.settings import DevicesSettings
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import open_store
from kiosk.devices.absent import NoTicketPrinter
from kiosk.devices.fakes import FakeTicketPrinter
from sync.vocabulary import Category

pytestmark = [pytest.mark.unit, pytest.mark.mediator, pytest.mark.appointments]

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 29, 0, 41, tzinfo=UTC)  # dimanche 29 mars 2026, 1 h 41 — the night of the change
CENTRE = "Espace France Services"


def test_a_call_ticket_says_the_number_the_day_and_what_happens_next() -> None:
    call = Call(3, date(2026, 3, 29), 12, None, "Awa", CallState.WAITING, "s1", NOW, None, None)
    ticket = call_ticket(call, CENTRE, datetime(2026, 4, 1, 7, 5, tzinfo=UTC), PARIS)
    assert ticket.number == "12" and ticket.heading == "Votre numéro" and ticket.title == CENTRE
    assert ticket.lines[0] == "Mercredi 1er avril à 9 h 05"  # summer time: UTC+2
    assert "Un médiateur va vous appeler par ce numéro." in ticket.lines
    assert not any("Awa" in line for line in ticket.lines)  # the first name is said, not printed
    assert not any(line.startswith("Démarche") for line in ticket.lines)  # "je ne sais pas"
    with_category = call_ticket(
        Call(4, date(2026, 3, 29), 13, Category.LOGEMENT, None, CallState.WAITING, None, NOW, None, None),
        CENTRE,
        NOW,
        PARIS,
    )
    assert "Démarche : Logement" in with_category.lines
    assert with_category.lines[0] == "Dimanche 29 mars à 1 h 41"  # winter time still: UTC+1


def appointment(ref: str = "r3f") -> Appointment:
    start, end = datetime(2026, 1, 6, 8, 0, tzinfo=UTC), datetime(2026, 1, 6, 8, 45, tzinfo=UTC)
    return Appointment(
        1, ref, "karim", Category.TRAVAIL, start, end, AppointmentState.BOOKED, Channel.KIOSK, None, None
    )


def test_an_appointment_ticket_in_plain_french_with_its_event_in_the_qr_code() -> None:
    karim = PersonSettings(id="karim", name="Karim Benali")
    ticket = appointment_ticket(
        appointment(),
        karim,
        centre=CENTRE,
        place="12 rue de la Gare",
        what_to_bring=["Votre CV", "  "],
        now=NOW,
        zone=PARIS,
    )
    assert ticket.number == "" and ticket.heading == "Votre rendez-vous"
    assert ticket.lines[:2] == ("Mardi 6 janvier", "de 9 h à 9 h 45")
    assert "Avec Karim Benali" in ticket.lines and "Lieu : 12 rue de la Gare" in ticket.lines
    assert ticket.lines[ticket.lines.index("À apporter :") + 1 :][0] == "- Votre CV"
    assert "- " not in ticket.lines  # the blank item is dropped
    assert ticket.qr is not None
    event = icalendar.Calendar.from_ical(ticket.qr).walk("VEVENT")[0]
    assert str(event["UID"]) == "r3f@borne" and "Votre CV" in str(event["DESCRIPTION"])
    assert event.decoded("DTSTART") == appointment().start


def test_a_long_list_to_bring_stays_on_paper_and_leaves_the_qr_code_readable() -> None:
    items = [f"Justificatif numéro {n} : une pièce que le service demande toujours" for n in range(20)]
    marie = PersonSettings(id="marie", name="Marie", place="Bureau 2")
    ticket = appointment_ticket(appointment(), marie, centre=CENTRE, what_to_bring=items, now=NOW, zone=PARIS)
    assert ticket.qr is not None and len(ticket.qr.encode()) <= TICKET_QR_MAX_BYTES
    assert "DESCRIPTION" not in ticket.qr and "Lieu : Bureau 2" in ticket.lines
    listed = [line for line in ticket.lines if line.startswith("- ")]
    assert len(listed) == 12 and listed[10] == f"- {items[10]}"
    assert listed[11].startswith(f"- {items[11]} ; {items[12]} ; ") and listed[11].endswith("…")


def test_a_ticket_wraps_long_paragraphs_and_refuses_what_cannot_be_printed() -> None:
    ticket = Ticket(
        number="A12",
        lines=("Un médiateur va vous appeler par ce numéro dans un instant.", "", "- un long élément de liste"),
    )
    assert ticket.wrapped(24) == [
        "Un médiateur va vous",
        "appeler par ce numéro",
        "dans un instant.",
        "",
        "- un long élément de",
        "  liste",
    ]
    for bad in (
        {"number": "A" * 9},
        {"number": " 7"},
        {"lines": ("ligne\nsuivante",)},
        {"lines": ("x" * 401,)},
        {"qr": "x" * (TICKET_QR_MAX_BYTES + 1)},
        {"qr": ""},
        {"number": "1", "title": "x" * 121},
        {},
    ):
        with pytest.raises(ValueError):
            Ticket(**bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("devices", "says"),
    [
        ({"ticket_printer": "network"}, "needs the printer's address"),
        ({"ticket_printer": "usb", "ticket": {"usb_vendor": 0x04B8}}, "usb_vendor and usb_product"),
        ({"ticket_printer": "serial"}, "serial_device"),
        ({"ticket_printer": "network", "ticket": {"host": "printer one"}}, "not a host name"),
        ({"ticket_printer": "bluetooth"}, "'none', 'network', 'usb' or 'serial'"),
        ({"ticket_printer": "none", "ticket": {"code_page": "CP437"}}, "'CP1252' or 'CP858'"),
    ],
)
def test_ticket_printer_settings_say_what_is_missing(devices: dict[str, object], says: str) -> None:
    with pytest.raises(ValidationError) as error:
        DevicesSettings.model_validate(devices)
    assert says in str(error.value)


def test_ticket_printer_settings_accept_each_kind() -> None:
    network = DevicesSettings.model_validate({"ticket_printer": "network", "ticket": {"host": "192.168.1.50"}})
    assert network.ticket.port == 9100 and network.ticket.code_page == "CP1252"
    usb = DevicesSettings.model_validate(
        {"ticket_printer": "usb", "ticket": {"usb_vendor": 0x04B8, "usb_product": 0x0202}}
    )
    assert usb.ticket.usb_product == 0x0202
    assert DevicesSettings().ticket_printer == "none"  # a real centre's default: no ticket printer


def test_printing_a_ticket_counts_it_or_the_printers_failure(tmp_path: Path) -> None:
    store = open_store(tmp_path / "kiosk.db")
    recorder = StatsRecorder(store, ManualClock(NOW), boot="b1")
    printer = FakeTicketPrinter(paper=1)
    ticket = Ticket(number="5")
    assert print_ticket(printer, ticket, recorder, session="s1") is None
    assert print_ticket(printer, ticket, recorder, session="s1") is DeviceFailure.PAPER_OUT
    assert print_ticket(NoTicketPrinter(), ticket) is DeviceFailure.ABSENT  # no recorder: nothing counted
    rows = store.conn.execute("SELECT kind, data FROM events ORDER BY id").fetchall()
    store.close()
    assert [(kind, json.loads(data).get("error")) for kind, data in rows] == [
        ("ticket_printed", None),
        ("device_error", "paper_out"),
    ]
    assert printer.printed == [ticket]
