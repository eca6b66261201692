"""The ESC/POS ticket adapter against a loopback capture printer: the bytes decoded and read."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from escpos.printer import Dummy

from kiosk.core.devices import DeviceFailure, DeviceState, DeviceWarning, Ticket, TicketPrinterError
from kiosk.core.mediation.booking import Appointment, AppointmentState, Channel
from kiosk.core.mediation.calls import Call, CallState
from kiosk.core.mediation.tickets import appointment_ticket, call_ticket, trial_ticket
from kiosk.core.mediation_config import PersonSettings
from kiosk.core.settings import DevicesSettings
from kiosk.devices.escpos import EscposTicketPrinter
from kiosk.devices.select import build_ticket_printer
from sync.vocabulary import Category
from tests.escposkit import Command, EscposCapture, decode, status_byte, text_of

pytestmark = [pytest.mark.devices, pytest.mark.escpos]

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 30, 8, 41, tzinfo=UTC)  # lundi 30 novembre, 9 h 41 à Paris
CENTRE = "Espace France Services de Saint-Exemple"
MARIE = PersonSettings(id="marie", name="Marie Dupont", place="Bureau 2, premier étage")


@pytest.fixture
def capture(tmp_path: Path) -> Iterator[EscposCapture]:
    server = EscposCapture(tmp_path / "tickets").start()
    try:
        yield server
    finally:
        server.stop()


def printer_for(capture: EscposCapture, **settings: object) -> EscposTicketPrinter:
    host, port = capture.address
    devices = DevicesSettings.model_validate(
        {"ticket_printer": "network", "ticket": {"host": host, "port": port, "timeout_s": 2, **settings}}
    )
    built = build_ticket_printer(devices)
    assert isinstance(built, EscposTicketPrinter)
    return built


def a_call(number: int = 7) -> Call:
    return Call(7, date(2026, 11, 30), number, Category.ARGENT, None, CallState.WAITING, None, NOW, None, None)


def an_appointment() -> Appointment:
    start = datetime(2026, 12, 8, 13, 30, tzinfo=UTC)  # mardi 8 décembre, 14 h 30 à Paris
    end = datetime(2026, 12, 8, 14, 0, tzinfo=UTC)
    return Appointment(
        1, "k3y-4bc", "marie", Category.ARGENT, start, end, AppointmentState.BOOKED, Channel.KIOSK, None, None
    )


def printed_text(data: bytes) -> str:
    return text_of(decode(data))


def test_a_call_ticket_arrives_with_its_number_large_french_accents_and_a_cut(capture: EscposCapture) -> None:
    printer = printer_for(capture)
    printer.print_ticket(call_ticket(a_call(42), CENTRE, NOW, PARIS))
    [data] = capture.wait_for_tickets(1)
    commands = decode(data)
    names = [c.name for c in commands]
    # the printer is asked about itself before anything is printed, then reset, then the code page
    assert names[:5] == ["status", "status", "init", "codepage", "bold"]
    assert commands[3].value == 16  # ESC t 16: WPC1252
    # the number: 4× wide and tall (GS ! 0x33), then back to normal size
    number_at = commands.index(Command("text", "42"))
    assert Command("size", 0x33) in commands[number_at - 3 : number_at]
    assert Command("size", 0x00) in commands[number_at + 1 : number_at + 4]
    text = printed_text(data)
    assert "Votre numéro" in text and "Un médiateur va vous appeler par ce numéro." in text
    assert "Lundi 30 novembre à 9 h 41" in text and CENTRE in text
    assert "é".encode("cp1252") in data  # the accent went out in the code page, not as UTF-8
    assert names[-1] == "cut" and commands[-1].value == 1  # partial cut, last
    assert (capture.directory / "ticket-0001.txt").read_text(encoding="utf-8") == text


def test_the_appointment_ticket_carries_its_icalendar_event_in_a_native_qr_code(capture: EscposCapture) -> None:
    appointment = an_appointment()
    ticket = appointment_ticket(
        appointment,
        MARIE,
        centre=CENTRE,
        what_to_bring=["Votre avis d'impôt", "Une pièce d'identité", "Vos trois derniers bulletins de salaire"],
        now=NOW,
        zone=PARIS,
    )
    printer_for(capture, width=32).print_ticket(ticket)
    [data] = capture.wait_for_tickets(1)
    commands = decode(data)
    qr = [c for c in commands if c.name == "qr"]
    assert [c.arg for c in qr] == [0x41, 0x43, 0x45, 0x50, 0x51]  # model, module size, correction, store, print
    assert qr[2].value == b"1"  # error correction M
    stored = qr[3].value
    assert isinstance(stored, bytes)
    event = icalendar.Calendar.from_ical(stored).walk("VEVENT")[0]
    assert str(event["UID"]) == "k3y-4bc@borne"
    assert event.decoded("DTSTART") == appointment.start and event.decoded("DTEND") == appointment.end
    text = printed_text(data)
    assert "Mardi 8 décembre" in text and "de 14 h 30 à 15 h" in text and "Avec Marie Dupont" in text
    assert "Lieu : Bureau 2, premier étage" in text
    body = text.split("[QR code")[0].splitlines()
    assert all(len(line) <= 32 for line in body), body  # wrapped to a 58 mm roll's 32 columns
    at = body.index("- Vos trois derniers bulletins")
    assert body[at + 1] == "  de salaire"
    assert body[:2] == ["Espace France Services de", "Saint-Exemple"]  # the title too


def test_a_printer_without_native_qr_codes_gets_an_image(capture: EscposCapture) -> None:
    ticket = Ticket(number="3", qr="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    printer_for(capture, qr="image").print_ticket(ticket)
    commands = decode(capture.wait_for_tickets(1)[0])
    assert not [c for c in commands if c.name == "qr"]
    [image] = [c for c in commands if c.name == "raster"]
    assert isinstance(image.value, bytes) and image.value.count(0) < len(image.value)  # black modules


@pytest.mark.parametrize(("code_page", "number"), [("CP1252", 16), ("CP858", 19)])
def test_the_staff_test_ticket_prints_every_french_letter(capture: EscposCapture, code_page: str, number: int) -> None:
    ticket = trial_ticket("Espace France Services – Saint-Exemple", NOW, PARIS)
    printer_for(capture, code_page=code_page, width=32).print_ticket(ticket)
    commands = decode(capture.wait_for_tickets(1)[0])
    assert Command("codepage", number) in commands
    text = text_of(commands)
    assert all(letter in text for letter in "àâäçéèêëîïôöùûüÿæÀÇÉÈÊÔÙ«»€"), text
    assert ("œ" in text) is (code_page == "CP1252")  # CP858 has no œ: written "oe"
    assert "Espace France Services -" in text or "Espace France Services –" in text
    assert [c.arg for c in commands if c.name == "qr"][-1] == 0x51


def test_cp858_prints_the_same_letters_and_spells_what_it_lacks(capture: EscposCapture) -> None:
    printer_for(capture, code_page="CP858").print_ticket(Ticket(lines=("Œuvre d’accueil : à côté de l’école",)))
    commands = decode(capture.wait_for_tickets(1)[0])
    assert Command("codepage", 19) in commands
    assert "OEuvre d'accueil : à côté de l'école" in text_of(commands)


def test_paper_status_is_read_from_the_printers_answers(capture: EscposCapture) -> None:
    printer = printer_for(capture)
    assert printer.status().state is DeviceState.READY and printer.status().usable
    capture.paper = "low"
    low = printer.status()
    assert low.usable and low.warnings == {DeviceWarning.PAPER_LOW}
    capture.paper = "out"
    out = printer.status()
    assert out.state is DeviceState.OFFLINE and out.reasons == {DeviceFailure.PAPER_OUT}
    assert out.health == ("error", DeviceFailure.PAPER_OUT)
    with pytest.raises(TicketPrinterError) as refused:
        printer.print_ticket(Ticket(number="8"))
    assert refused.value.reason is DeviceFailure.PAPER_OUT
    time.sleep(0.3)  # the capture saves a ticket when the connection closes: none must come
    assert capture.tickets == []


def test_a_printer_that_is_gone_is_offline_at_once(capture: EscposCapture) -> None:
    printer = printer_for(capture)
    capture.stop()  # nothing listens on the port any more: connection refused
    started = time.monotonic()
    with pytest.raises(TicketPrinterError) as gone:
        printer.print_ticket(Ticket(number="9"))
    assert gone.value.reason is DeviceFailure.OFFLINE
    status = printer.status()
    assert status.state is DeviceState.OFFLINE and status.reasons == {DeviceFailure.OFFLINE}
    assert time.monotonic() - started < 1.5


def test_a_printer_that_never_answers_times_out_instead_of_hanging(tmp_path: Path) -> None:
    mute = EscposCapture(tmp_path, mute=True).start()
    try:
        printer = printer_for(mute, timeout_s=0.5)
        outcome: list[BaseException | None] = []

        def attempt() -> None:
            try:
                printer.print_ticket(Ticket(number="10"))
                outcome.append(None)
            except BaseException as error:
                outcome.append(error)

        worker = threading.Thread(target=attempt)  # as the shell calls it: off the GUI thread
        started = time.monotonic()
        worker.start()
        worker.join(5)
        assert not worker.is_alive(), "print_ticket hung on a printer that never answers"
        assert time.monotonic() - started < 2
        [error] = outcome
        assert isinstance(error, TicketPrinterError) and error.reason is DeviceFailure.TIMED_OUT
        assert printer.status().reasons == {DeviceFailure.TIMED_OUT}
    finally:
        mute.stop()


def test_a_printer_that_does_not_answer_status_can_be_told_not_to_be_asked(tmp_path: Path) -> None:
    quiet = EscposCapture(tmp_path, answers=False).start()
    try:
        with pytest.raises(TicketPrinterError) as unanswered:
            printer_for(quiet, timeout_s=0.3).print_ticket(Ticket(number="11"))
        assert unanswered.value.reason is DeviceFailure.TIMED_OUT and "ask_status = false" in str(unanswered.value)
        printer = printer_for(quiet, ask_status=False)
        printer.print_ticket(Ticket(number="11"))
        [data] = quiet.wait_for_tickets(1)
        assert decode(data)[0] == Command("init")  # no status request first
        assert printer.status().state is DeviceState.READY
    finally:
        quiet.stop()


def test_a_serial_printer_on_a_real_tty_is_asked_and_printed_to(tmp_path: Path) -> None:
    """pyserial on a pseudo-terminal: the printer's end answers the status requests like a real one."""
    master, slave = os.openpty()
    received = bytearray()
    done = threading.Event()

    def printer_end() -> None:
        while not done.is_set():
            ready, _, _ = select.select([master], [], [], 0.1)
            if not ready:
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the serial side closed
                return
            start = max(0, len(received) - 2)
            received.extend(chunk)
            at = received.find(b"\x10\x04", start)
            while at != -1 and at + 2 < len(received):
                os.write(master, bytes([status_byte(received[at + 2], "low")]))
                at = received.find(b"\x10\x04", at + 3)

    worker = threading.Thread(target=printer_end, daemon=True)
    worker.start()
    try:
        devices = DevicesSettings.model_validate(
            {
                "ticket_printer": "serial",
                "ticket": {"serial_device": os.ttyname(slave), "baudrate": 19200, "timeout_s": 2},
            }
        )
        printer = build_ticket_printer(devices)
        assert printer.status().warnings == {DeviceWarning.PAPER_LOW}
        printer.print_ticket(Ticket(number="12", lines=("Été",)))
        deadline = time.monotonic() + 5
        while not received.endswith(b"\x1dV\x01") and time.monotonic() < deadline:
            time.sleep(0.05)
        commands = decode(bytes(received))
        assert Command("text", "12") in commands and "Été" in text_of(commands)
        assert commands[-1] == Command("cut", 1)
    finally:
        done.set()
        worker.join(2)
        os.close(slave)
        os.close(master)


@pytest.mark.parametrize(
    "ticket",
    [
        {"usb_vendor": 0xFFFF, "usb_product": 0xFFFE},  # no such USB device (nor a backend, for that matter)
        {"serial_device": "/dev/ttyBORNE-unplugged"},
    ],
)
def test_a_usb_or_serial_printer_that_is_not_plugged_in_is_absent(ticket: dict[str, object]) -> None:
    kind = "usb" if "usb_vendor" in ticket else "serial"
    printer = build_ticket_printer(DevicesSettings.model_validate({"ticket_printer": kind, "ticket": ticket}))
    with pytest.raises(TicketPrinterError) as absent:
        printer.print_ticket(Ticket(number="1"))
    assert absent.value.reason is DeviceFailure.ABSENT
    assert printer.status().health == ("absent", None)


def test_a_ticket_the_library_cannot_compose_is_a_ticket_printer_error(
    capture: EscposCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise ValueError("Invalid block size (must be 1-16)")  # what python-escpos raises

    monkeypatch.setattr(Dummy, "qr", refuse)
    with pytest.raises(TicketPrinterError) as refused:
        printer_for(capture).print_ticket(Ticket(number="1", qr="BEGIN:VCALENDAR"))
    assert refused.value.reason is DeviceFailure.BAD_DOCUMENT and "Invalid block size" in str(refused.value)
    assert capture.connections == 0  # nothing half made reached the printer
