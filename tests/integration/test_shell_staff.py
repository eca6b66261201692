"""The staff panel in the real shell (offscreen): a long press on the centre's name, the PIN
pad, wrong PINs held back, the panel's statuses, a test page through a real cupsd, the last
ticket again on the ESC/POS capture, the session's end, the panel closing itself, and no way
in for a web page.

Set ``BORNE_SHOTS=<dir>`` to keep PNGs of the PIN pad and of the panel.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from kiosk.core.loading import load_config
from kiosk.core.mediation.presence import beat, set_staff_present
from kiosk.core.ports import ManualClock
from kiosk.core.session import State
from kiosk.core.staff import FIRST_LOCKOUT_S, StaffPin, write_pin
from kiosk.core.store import Role, open_store
from kiosk.shell.staffmode import EXIT_RESTART
from tests.devicekit import PdfQueue, page_count, wait_for
from tests.escposkit import EscposCapture
from tests.integration.test_shell import start_in_tile
from tests.integration.test_shell_mediator import confirm_call, press_mediator, wait_text
from tests.integration.test_ticket_printer_escpos import printed_text
from tests.shellkit import FakeSpeech, close_kiosk, keep_shot, write_test_config
from tests.webserver import LoopbackWeb

pytestmark = [pytest.mark.shell, pytest.mark.staff]

PIN = "2468"
NO_DEVICES = 'printer = "none"\nticket_printer = "none"'


def build(qtbot, tmp_path: Path, *, devices: str = NO_DEVICES, staff: str = "hold_s = 1", pin: str | None = PIN):  # type: ignore[no-untyped-def]
    """The shell as `kiosk shell` builds it, with ``devices`` and ``staff`` as its tables and
    ``pin`` set with the PIN's own code (``kiosk staff-pin``)."""
    from kiosk.shell.assembly import build_kiosk
    from kiosk.shell.web.scheme import page_name

    directory = write_test_config(tmp_path / "config")
    with (directory / "kiosk.toml").open("a", encoding="utf-8") as kiosk_toml:
        kiosk_toml.write(f'\n[paths]\ndata_dir = "{tmp_path / "data"}"\n\n[devices]\n{devices}\n\n[staff]\n{staff}\n')
    if pin is not None:
        write_pin(directory, StaffPin.make(pin))
    config = load_config(directory / "kiosk.toml", directory / "tiles.toml")
    kiosk = build_kiosk(
        config, tmp_path / "sessions", clock=ManualClock(), speech=FakeSpeech(), template_cache=tmp_path / "templates"
    )
    kiosk.window.resize(1280, 800)
    kiosk.window.show()
    qtbot.waitUntil(lambda: page_name(kiosk.window.lobby_view.page().url()) == "attract", timeout=10_000)
    return kiosk


@pytest.fixture
def made(kiosk_app, qtbot) -> Iterator[list]:  # type: ignore[no-untyped-def,type-arg]
    shells: list = []  # type: ignore[type-arg]
    yield shells
    for kiosk in shells:
        close_kiosk(qtbot, kiosk, close_store=True)


def press_name(kiosk, press: bool = True) -> None:  # type: ignore[no-untyped-def]
    """Press (or let go of) the centre's name with the mouse."""
    name = kiosk.window.top_bar.centre
    act = QTest.mousePress if press else QTest.mouseRelease
    act(name, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, name.rect().center())


def hold_name(qtbot, kiosk, ms: int) -> None:  # type: ignore[no-untyped-def]
    """Press the centre's name with the mouse for ``ms`` milliseconds."""
    press_name(kiosk)
    qtbot.wait(ms)
    press_name(kiosk, press=False)


def open_pad(qtbot, kiosk, hold_s: float = 1) -> None:  # type: ignore[no-untyped-def]
    """Hold the centre's name until the PIN pad shows (the gesture's ``hold_s``)."""
    press_name(kiosk)
    started = time.monotonic()
    qtbot.waitUntil(kiosk.staff.pad.isVisible, timeout=round(hold_s * 1000) + 5_000)
    assert time.monotonic() - started >= hold_s - 0.05
    press_name(kiosk, press=False)


def type_pin(kiosk, pin: str) -> None:  # type: ignore[no-untyped-def]
    for digit in pin:
        kiosk.staff.pad.keys[digit].click()
    kiosk.staff.pad.keys["ok"].click()


def open_panel(qtbot, kiosk) -> None:  # type: ignore[no-untyped-def]
    open_pad(qtbot, kiosk)
    type_pin(kiosk, PIN)
    qtbot.waitUntil(kiosk.staff.panel.isVisible, timeout=5_000)
    assert not kiosk.staff.pad.isVisible()


def states(qtbot, panel, printer: str, tickets: str) -> None:  # type: ignore[no-untyped-def]
    """Wait for the panel to show both devices' state."""
    qtbot.waitUntil(lambda: panel.printer.text() == f"Imprimante : {printer}", timeout=10_000)
    assert panel.ticket_printer.text() == f"Imprimante à tickets : {tickets}"


def press(qtbot, panel, button: str, outcome: str) -> None:  # type: ignore[no-untyped-def]
    """Press one of the panel's buttons and wait for what it says it did."""
    panel.buttons[button].click()
    qtbot.waitUntil(lambda: panel.outcome.text() == outcome, timeout=10_000)


def test_a_long_press_opens_the_pin_pad_and_a_short_one_does_not(qtbot, made, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A hold of 3 s, as shipped, against a 300 ms tap: a loaded machine stretching the tap's
    # wait must not make it a hold.
    made.append(kiosk := build(qtbot, tmp_path, staff="hold_s = 3"))
    hold_name(qtbot, kiosk, 300)
    qtbot.wait(900)
    assert not kiosk.staff.pad.isVisible()  # let go long before the 3 s: a resident's tap
    open_pad(qtbot, kiosk, hold_s=3)
    pad = kiosk.staff.pad
    assert pad.hint.text() == "Tapez le code du personnel."
    keep_shot(qtbot, kiosk, "staff-pin-pad")
    for key in ("2", "4", "6", "erase", "8"):
        pad.keys[key].click()
    assert pad.typed == 3 and pad.dots.text() == "● ● ●"  # dots, never the digits
    keep_shot(qtbot, kiosk, "staff-pin-typing")
    kiosk.staff.pad.cancel.click()
    assert not kiosk.staff.pad.isVisible()


def test_a_finger_held_on_the_centre_s_name_opens_the_pin_pad(qtbot, made, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    made.append(kiosk := build(qtbot, tmp_path))
    window, name = kiosk.window, kiosk.window.top_bar.centre
    screen = QTest.createTouchDevice()
    at = name.mapTo(window, name.rect().center())
    QTest.touchEvent(window, screen).press(0, at, window).commit()
    qtbot.wait(500)
    QTest.touchEvent(window, screen).move(0, at + QPoint(60, 0), window).commit()  # slid away: not a hold
    qtbot.wait(800)
    QTest.touchEvent(window, screen).release(0, at + QPoint(60, 0), window).commit()
    assert not kiosk.staff.pad.isVisible()
    QTest.touchEvent(window, screen).press(0, at, window).commit()
    qtbot.waitUntil(kiosk.staff.pad.isVisible, timeout=2_500)
    QTest.touchEvent(window, screen).release(0, at, window).commit()


def test_wrong_pins_are_refused_then_held_back_and_never_logged(qtbot, made, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO)
    made.append(kiosk := build(qtbot, tmp_path))
    clock, pad = kiosk.staff.clock, kiosk.staff.pad
    open_pad(qtbot, kiosk)
    for attempt in range(3):
        type_pin(kiosk, "1357")
        expected = "Code incorrect. Réessayez." if attempt < 2 else "Trop d'essais. Réessayez dans 30 secondes."
        qtbot.waitUntil(lambda n=attempt + 1: kiosk.staff.gate.failures == n, timeout=5_000)
        assert pad.hint.text() == expected
    assert not pad.keys["ok"].isEnabled() and not pad.keys["2"].isEnabled()
    keep_shot(qtbot, kiosk, "staff-pin-locked")
    kiosk.staff._submitted(PIN)  # even the right PIN is not looked at while locked
    qtbot.wait(300)
    assert not kiosk.staff.panel.isVisible()
    clock.advance(FIRST_LOCKOUT_S - 10)
    qtbot.waitUntil(lambda: pad.hint.text() == "Trop d'essais. Réessayez dans 10 secondes.", timeout=2_500)
    clock.advance(10)
    qtbot.waitUntil(lambda: pad.hint.text() == "Tapez le code du personnel.", timeout=2_500)
    assert pad.keys["ok"].isEnabled()
    type_pin(kiosk, "1357")  # a fourth wrong PIN: locked at once, for twice as long
    qtbot.waitUntil(lambda: pad.hint.text() == "Trop d'essais. Réessayez dans 60 secondes.", timeout=5_000)
    clock.advance(60)
    qtbot.waitUntil(lambda: pad.keys["ok"].isEnabled(), timeout=2_500)
    type_pin(kiosk, PIN)
    qtbot.waitUntil(kiosk.staff.panel.isVisible, timeout=5_000)
    refused = [r for r in caplog.records if r.getMessage() == "staff.pin_refused"]
    assert [(r.failures, r.lockout_s) for r in refused] == [(1, 0), (2, 0), (3, 30), (4, 60)]  # type: ignore[attr-defined]
    standard = set(logging.makeLogRecord({}).__dict__)  # times, thread ids: digits that are not ours
    logged = " ".join(
        f"{r.getMessage()} {[v for k, v in r.__dict__.items() if k not in standard]}" for r in caplog.records
    )
    assert "1357" not in logged and PIN not in logged


def test_a_wrong_pin_cancelled_before_its_answer_still_counts(qtbot, made, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    made.append(kiosk := build(qtbot, tmp_path))
    for tries in (1, 2, 3):
        open_pad(qtbot, kiosk)
        type_pin(kiosk, "1357")
        kiosk.staff.pad.cancel.click()  # at once, before the check's answer
        qtbot.waitUntil(lambda n=tries: kiosk.staff.gate.failures == n, timeout=10_000)
    open_pad(qtbot, kiosk)
    assert kiosk.staff.pad.hint.text() == "Trop d'essais. Réessayez dans 30 secondes."
    assert not kiosk.staff.pad.keys["ok"].isEnabled()


def test_the_panel_shows_the_devices_and_closes_itself_when_left_alone(qtbot, made, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    made.append(kiosk := build(qtbot, tmp_path, staff="hold_s = 1\npanel_timeout_s = 2"))
    open_panel(qtbot, kiosk)
    panel = kiosk.staff.panel
    states(qtbot, panel, "aucune sur cette borne", "aucune sur cette borne")
    press(qtbot, panel, "reprint", "Pas d'imprimante à tickets sur cette borne.")
    qtbot.wait(1200)
    panel.buttons["test_ticket"].click()  # a touch: the minute starts again
    qtbot.wait(1200)
    assert panel.isVisible()
    qtbot.waitUntil(lambda: not panel.isVisible(), timeout=3_000)


def test_without_a_pin_the_press_does_nothing_and_says_so_once_in_the_log(qtbot, made, tmp_path: Path, caplog) -> None:  # type: ignore[no-untyped-def]
    made.append(kiosk := build(qtbot, tmp_path, pin=None))
    hold_name(qtbot, kiosk, 1300)
    hold_name(qtbot, kiosk, 1300)
    assert not kiosk.staff.pad.isVisible()
    assert [r.getMessage() for r in caplog.records].count("staff.no_pin") == 1


def test_end_session_wipes_the_resident_s_session_and_closes_the_panel(  # type: ignore[no-untyped-def]
    qtbot, made, tmp_path: Path, loopback_web: LoopbackWeb
) -> None:
    made.append(kiosk := build(qtbot, tmp_path))
    start_in_tile(qtbot, kiosk, loopback_web, "<p>La démarche d'un résident</p>")
    session_dir = kiosk.controller.browser.dir
    kiosk.controller.set_language("ar")  # the resident reads Arabic; staff read the centre's French
    qtbot.waitUntil(lambda: kiosk.window.layoutDirection() == Qt.LayoutDirection.RightToLeft, timeout=5_000)
    open_panel(qtbot, kiosk)
    panel = kiosk.staff.panel
    assert panel.heading.text() == "Espace du personnel" and panel.buttons["close"].text() == "Fermer"
    assert panel.layoutDirection() == Qt.LayoutDirection.LeftToRight
    keep_shot(qtbot, kiosk, "staff-panel")
    kiosk.staff.panel.buttons["end_session"].click()
    qtbot.waitUntil(lambda: kiosk.controller.browser is None, timeout=10_000)
    assert not session_dir.exists()
    assert not kiosk.staff.panel.isVisible()
    assert kiosk.controller.state in (State.ENDING, State.WIPED, State.ATTRACT)


def test_restart_ends_the_session_and_leaves_with_the_status_the_supervisor_restarts_on(  # type: ignore[no-untyped-def]
    qtbot, made, tmp_path: Path, loopback_web: LoopbackWeb
) -> None:
    made.append(kiosk := build(qtbot, tmp_path))
    exits: list[int] = []
    kiosk.staff.exit_app = exits.append
    start_in_tile(qtbot, kiosk, loopback_web, "<p>Une démarche</p>")
    session_dir = kiosk.controller.browser.dir
    open_panel(qtbot, kiosk)
    kiosk.staff.panel.buttons["restart"].click()
    qtbot.waitUntil(lambda: exits == [EXIT_RESTART], timeout=5_000)
    qtbot.waitUntil(lambda: not session_dir.exists(), timeout=10_000)


HOSTILE = """<p>Un site hostile</p>
<script>
  const targets = ['kiosk://borne/action/staff', 'kiosk://borne/staff', 'kiosk://borne/action/staff-pin?pin=2468'];
  for (const target of targets) {
    try { window.open(target); } catch (e) {}
    const a = document.createElement('a'); a.href = target; document.body.appendChild(a);
    try { a.click(); } catch (e) {}
  }
  for (const type of ['pointerdown', 'mousedown', 'touchstart']) {
    document.dispatchEvent(new Event(type, {bubbles: true}));
  }
</script>"""


def test_a_web_page_cannot_open_the_panel(qtbot, made, tmp_path: Path, loopback_web: LoopbackWeb, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO)
    made.append(kiosk := build(qtbot, tmp_path, staff="hold_s = 1"))
    start_in_tile(qtbot, kiosk, loopback_web, HOSTILE)
    # A press held on the page itself, far longer than the gesture: the page is not the top bar.
    view = kiosk.controller.session_view()
    target = view.focusProxy() or view
    QTest.mousePress(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 200))
    qtbot.wait(1800)
    QTest.mouseRelease(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(200, 200))
    assert not kiosk.staff.pad.isVisible() and not kiosk.staff.panel.isVisible()
    assert "staff.pin_asked" not in [r.getMessage() for r in caplog.records]
    # Nothing of it reached the action table either (a kiosk: link from a site is refused before).
    assert not [r for r in caplog.records if r.getMessage() == "action.unknown"]


@pytest.mark.devices
@pytest.mark.cups
@pytest.mark.escpos
@pytest.mark.mediator
def test_test_page_in_the_cups_pdf_queue_and_the_last_ticket_again_on_the_ticket_printer(  # type: ignore[no-untyped-def]
    qtbot, made, tmp_path: Path, pdf_queue: PdfQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUPS_SERVER", pdf_queue.cupsd.server)
    capture = EscposCapture(tmp_path / "tickets").start()
    try:
        host, port = capture.address
        devices = (
            f'printer = "cups"\nprinter_queue = "{pdf_queue.name}"\nticket_printer = "network"\n'
            f'[devices.ticket]\nhost = "{host}"\nport = {port}\ntimeout_s = 2'
        )
        made.append(kiosk := build(qtbot, tmp_path, devices=devices))
        agent = open_store(tmp_path / "data" / "kiosk.db", Role.AGENT)
        try:
            beat(agent, kiosk.staff.clock.now())
            set_staff_present(agent, True, kiosk.staff.clock.now())
            kiosk.controller.start_session()
            press_mediator(qtbot, kiosk)
            confirm_call(qtbot, kiosk, "logement", "Zoé")
            wait_text(qtbot, kiosk, "Vous êtes le 1er dans la file.")
            [call] = capture.wait_for_tickets(1)
        finally:
            agent.close()
        assert "Votre numéro" in printed_text(call)

        open_panel(qtbot, kiosk)
        panel = kiosk.staff.panel
        states(qtbot, panel, "prête", "prête")
        press(qtbot, panel, "reprint", "Dernier ticket réimprimé.")
        again = capture.wait_for_tickets(2)[1]
        assert printed_text(again) == printed_text(call)  # the same number, the same words

        press(qtbot, panel, "test_ticket", "Ticket d'essai imprimé.")
        trial = capture.wait_for_tickets(3)[2]
        assert "Ticket d'essai" in printed_text(trial) and "à â ä ç é è" in printed_text(trial)
        panel.buttons["reprint"].click()  # the trial is not "the last ticket": the resident's is
        qtbot.waitUntil(lambda: len(capture.wait_for_tickets(4, timeout=0.1)) == 4, timeout=10_000)
        assert printed_text(capture.tickets[3]) == printed_text(call)

        press(qtbot, panel, "test_page", "Page d'essai envoyée à l'imprimante.")
        wait_for(lambda: pdf_queue.cupsd.jobs("completed"), timeout=30)  # the file whole, not on its way
        [page] = wait_for(pdf_queue.outputs)
        assert page_count(page) == 1
        words = subprocess.run(["pdftotext", str(page), "-"], capture_output=True, check=True, text=True).stdout
        assert "page d'essai de l'imprimante" in words and "Centre de test" in words
    finally:
        capture.stop()
