"""Staff mode's pure rules: wrong PINs held back, the PIN kept as an argon2 hash only, the last
ticket remembered for a reprint, the devices' state in French, the test page."""

from __future__ import annotations

import io
import stat
import sys
from pathlib import Path

import pytest

from kiosk.core.devices import (
    DeviceFailure,
    DeviceState,
    DeviceStatus,
    DeviceWarning,
    Ticket,
    TicketPrinterError,
)
from kiosk.core.ports import ManualClock
from kiosk.core.staff import (
    FIRST_LOCKOUT_S,
    MAX_LOCKOUT_S,
    PinError,
    PinGate,
    RememberingTicketPrinter,
    StaffPin,
    check_pin,
    pin_path,
    read_pin,
    status_words,
    write_pin,
)
from kiosk.core.trialpage import text_pdf, trial_page_lines

pytestmark = [pytest.mark.unit, pytest.mark.staff]

REPO = Path(__file__).resolve().parents[2]


# -- the rate limit -----------------------------------------------------------------------------
def test_three_wrong_pins_are_free_then_the_pad_locks_for_thirty_seconds() -> None:
    clock = ManualClock()
    gate = PinGate(clock)
    assert [gate.failed(), gate.failed()] == [0.0, 0.0]
    assert gate.wait_s() == 0.0
    assert gate.failed() == FIRST_LOCKOUT_S
    assert gate.wait_s() == FIRST_LOCKOUT_S
    clock.advance(FIRST_LOCKOUT_S - 1)
    assert gate.wait_s() == pytest.approx(1.0)
    clock.advance(1)
    assert gate.wait_s() == 0.0


def test_each_further_wrong_pin_doubles_the_lockout_up_to_a_ceiling() -> None:
    clock = ManualClock()
    gate = PinGate(clock)
    lockouts = []
    for _ in range(12):
        lockouts.append(gate.failed())
        clock.advance(gate.wait_s())
    assert lockouts[:6] == [0.0, 0.0, 30.0, 60.0, 120.0, 240.0]
    assert lockouts[-1] == MAX_LOCKOUT_S and max(lockouts) == MAX_LOCKOUT_S


def test_a_right_pin_starts_again_from_nothing() -> None:
    clock = ManualClock()
    gate = PinGate(clock)
    for _ in range(4):
        gate.failed()
    gate.succeeded()
    assert gate.wait_s() == 0.0 and gate.failures == 0
    assert gate.failed() == 0.0  # three free tries again


def test_the_lockout_follows_monotonic_time_not_the_wall_clock() -> None:
    from datetime import UTC, datetime

    clock = ManualClock()
    gate = PinGate(clock)
    for _ in range(3):
        gate.failed()
    clock.set_wall(datetime(2030, 1, 1, tzinfo=UTC))  # an NTP step forwards lifts nothing
    assert gate.wait_s() == FIRST_LOCKOUT_S


# -- the PIN ------------------------------------------------------------------------------------
@pytest.mark.parametrize("pin", ["123", "123456789", "12a4", "", "١٢٣٤", " 1234"])
def test_a_pin_is_four_to_eight_ascii_digits(pin: str) -> None:
    with pytest.raises(PinError, match="4 to 8 digits"):
        check_pin(pin)


def test_the_pin_is_kept_as_an_argon2_hash_readable_by_owner_and_group_only(tmp_path: Path) -> None:
    path = write_pin(tmp_path, StaffPin.make("246810"))
    text = path.read_text(encoding="ascii")
    assert text.startswith("$argon2id$") and "246810" not in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    pin = read_pin(tmp_path)
    assert pin is not None and pin.matches("246810")
    assert not pin.matches("246811") and not pin.matches("")
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left behind


def test_no_pin_file_means_no_pin_and_a_file_without_a_hash_is_refused(tmp_path: Path) -> None:
    assert read_pin(tmp_path) is None
    pin_path(tmp_path).write_text("1234\n", encoding="ascii")  # someone wrote the PIN itself
    assert read_pin(tmp_path) is None


def test_kiosk_staff_pin_sets_the_hash_and_refuses_a_bad_pin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kiosk.cli import main

    monkeypatch.setattr(sys, "stdin", io.StringIO("12\n"))
    assert main(["staff-pin", "--pin-stdin", "--config-dir", str(tmp_path)]) == 2
    assert read_pin(tmp_path) is None  # nothing changed
    monkeypatch.setattr(sys, "stdin", io.StringIO("97531\n"))
    assert main(["staff-pin", "--pin-stdin", "--config-dir", str(tmp_path)]) == 0
    pin = read_pin(tmp_path)
    assert pin is not None and pin.matches("97531")
    assert "97531" not in pin_path(tmp_path).read_text(encoding="ascii")


# -- the last ticket ----------------------------------------------------------------------------
class Paper:
    def __init__(self) -> None:
        self.printed: list[Ticket] = []
        self.jammed = False

    def print_ticket(self, ticket: Ticket) -> None:
        if self.jammed:
            raise TicketPrinterError("jam", DeviceFailure.JAM)
        self.printed.append(ticket)

    def status(self) -> DeviceStatus:
        return DeviceStatus(DeviceState.READY)


def test_the_last_ticket_is_remembered_even_when_it_did_not_come_out() -> None:
    paper = Paper()
    printer = RememberingTicketPrinter(paper)
    assert printer.reprint() is False  # nothing yet
    first, second = Ticket(number="1", heading="Votre numéro"), Ticket(number="2", heading="Votre numéro")
    printer.print_ticket(first)
    paper.jammed = True
    with pytest.raises(TicketPrinterError):
        printer.print_ticket(second)
    paper.jammed = False
    assert printer.reprint() is True
    assert paper.printed == [first, second]
    assert printer.status().state is DeviceState.READY


# -- words and the test page ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "words"),
    [
        (DeviceStatus(DeviceState.READY), "prête"),
        (DeviceStatus(DeviceState.ABSENT, frozenset({DeviceFailure.ABSENT})), "aucune sur cette borne"),
        (DeviceStatus(DeviceState.OFFLINE, frozenset({DeviceFailure.PAPER_OUT})), "plus de papier"),
        (DeviceStatus(DeviceState.OFFLINE), "ne répond pas (allumée ? câble ?)"),
        (
            DeviceStatus(DeviceState.READY, warnings=frozenset({DeviceWarning.PAPER_LOW})),
            "prête, bientôt plus de papier",
        ),
        (DeviceStatus(DeviceState.OFFLINE, frozenset({DeviceFailure.UNKNOWN})), "en panne"),
    ],
)
def test_device_states_in_a_few_french_words(status: DeviceStatus, words: str) -> None:
    assert status_words(status) == words


def test_the_test_page_is_a_pdf_with_the_centre_s_name_in_french_letters() -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    lines = trial_page_lines(
        "Espace Numérique (Tours)", datetime(2026, 1, 6, 13, 30, tzinfo=UTC), ZoneInfo("Europe/Paris")
    )
    pdf = text_pdf(lines)
    assert pdf.startswith(b"%PDF-1.4") and pdf.rstrip().endswith(b"%%EOF")
    assert "Espace Numérique \\(Tours\\)".encode("cp1252") in pdf
    assert b"14 h 30" in pdf
    xref = int(pdf.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert pdf[xref:].startswith(b"xref")
