"""The first-boot setup in the real shell (offscreen): the technician fills the setup page (a
problem shown and corrected, the printer checked), "Terminer" hands the answers to the
privileged side — here ``kiosk setup apply``'s own code, which the path unit runs on the
appliance — which joins the real federation server; the shell restarts, and the restarted shell
shows the welcome screen with the new centre's name, never the setup again — until staff reopen
it from their panel.

Set ``BORNE_SHOTS=<dir>`` to keep a PNG of the page at each step.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.agent.sync_jobs import load_enrolment
from kiosk.cli import main
from kiosk.core import setup
from kiosk.core.loading import load_for_process
from kiosk.core.ports import ManualClock
from kiosk.core.staff import StaffPin, write_pin
from kiosk.devices.fakes import FakePrinter
from kiosk.firstboot.apply import Applier
from kiosk.shell.assembly import Kiosk, build_kiosk
from kiosk.shell.staffmode import EXIT_RESTART
from kiosk.shell.web.scheme import page_name
from sync.server import admin
from tests.fedkit import Federation
from tests.integration.test_shell_staff import PIN, open_panel
from tests.shellkit import FakeSpeech, close_kiosk, keep_shot, run_js, write_test_config

pytestmark = [pytest.mark.shell, pytest.mark.setup]


@pytest.fixture
def appliance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration directory, with the environment the appliance's shell unit gives."""
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KIOSK_LAST_GOOD_DIR", str(tmp_path / "last-good"))
    monkeypatch.setenv("KIOSK_SETUP_REQUIRED", "1")
    directory = write_test_config(tmp_path / "config")
    with (directory / "kiosk.toml").open("a", encoding="utf-8") as kiosk_toml:
        kiosk_toml.write("\n[staff]\nhold_s = 1\n")
    write_pin(directory, StaffPin.make(PIN))
    return directory


def start(qtbot, tmp_path: Path, config_dir: Path, printer: FakePrinter) -> Kiosk:  # type: ignore[no-untyped-def]
    """``kiosk shell``'s start, as after a boot: the configuration read, then the kiosk built."""
    config = load_for_process(config_dir).config
    kiosk = build_kiosk(
        config,
        tmp_path / "sessions",
        printer=printer,
        clock=ManualClock(),
        store=None,
        speech=FakeSpeech(),
        template_cache=None,
    )
    kiosk.window.resize(1920, 1080)  # the terminal's screen
    kiosk.window.show()
    return kiosk


def lobby_text(qtbot, kiosk: Kiosk) -> str:  # type: ignore[no-untyped-def]
    return str(run_js(qtbot, kiosk.window.lobby_view.page(), "document.body.innerText"))


def wait_lobby(qtbot, kiosk: Kiosk, words: str) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: words in lobby_text(qtbot, kiosk), timeout=15_000)


def fill(qtbot, kiosk: Kiosk, **values: str) -> None:  # type: ignore[no-untyped-def]
    page = kiosk.window.lobby_view.page()
    for name, value in values.items():
        run_js(qtbot, page, f"document.getElementById({name!r}).value = {value!r}; true")


def press(qtbot, kiosk: Kiosk, step: str) -> None:  # type: ignore[no-untyped-def]
    script = f"document.querySelector('button[name=step][value={step}]').click(); true"
    run_js(qtbot, kiosk.window.lobby_view.page(), script)


@pytest.mark.parametrize("federation_db", ["sqlite"], indirect=True)
def test_the_technician_sets_up_the_terminal_on_screen(  # type: ignore[no-untyped-def]
    qtbot, kiosk_app, appliance: Path, tmp_path: Path, federation: Federation
) -> None:
    data_dir = tmp_path / "data"
    code = admin.create_terminal(federation.db, federation.centre(name="Centre social des Tilleuls"), "Borne").code
    printer = FakePrinter()
    kiosk = start(qtbot, tmp_path, appliance, printer)
    exits: list[int] = []
    try:
        assert kiosk.setup is not None
        kiosk.setup.exit_app = exits.append
        qtbot.waitUntil(lambda: page_name(kiosk.window.lobby_view.page().url()) == "setup", timeout=10_000)
        wait_lobby(qtbot, kiosk, "Mise en service de la borne")
        keep_shot(qtbot, kiosk, "setup-empty")
        # A touch of the page starts no resident's session.
        kiosk.window.activity.emit()
        assert kiosk.controller.browser is None
        # Nothing typed: the centre's name is asked for, in French, beside its field.
        press(qtbot, kiosk, "finish")
        wait_lobby(qtbot, kiosk, "Écrivez le nom du centre")
        # The printer check: the test page goes to the printer port.
        fill(qtbot, kiosk, centre="Maison des Habitants", ssid="Salle_Publique", passphrase="court")
        press(qtbot, kiosk, "print")
        wait_lobby(qtbot, kiosk, "Page d'essai envoyée à l'imprimante.")
        assert [job.title for job in printer.jobs.values()] == ["Borne - page d'essai"]
        # What was typed is kept; a passphrase iwd would refuse is said beside its field.
        fill(qtbot, kiosk, server=federation.url, code=code)
        press(qtbot, kiosk, "finish")
        wait_lobby(qtbot, kiosk, "8 à 63 caractères")
        page = kiosk.window.lobby_view.page()
        assert run_js(qtbot, page, "document.getElementById('centre').value") == "Maison des Habitants"
        assert run_js(qtbot, page, "document.getElementById('code').placeholder").startswith("Déjà saisi")
        assert run_js(qtbot, page, "document.getElementById('passphrase').placeholder") == ""  # refused: typed again
        assert code not in str(run_js(qtbot, page, "document.documentElement.outerHTML"))  # never in a page
        fill(qtbot, kiosk, passphrase="un bon mot de passe")
        keep_shot(qtbot, kiosk, "setup-filled")
        press(qtbot, kiosk, "finish")  # the code typed before stands: same server
        wait_lobby(qtbot, kiosk, "Mise en service en cours")
        keep_shot(qtbot, kiosk, "setup-applying")
        # The privileged side, as kiosk-setup-apply.path starts it on the appliance.
        qtbot.waitUntil(lambda: setup.request_path(data_dir).is_file(), timeout=5_000)
        result = Applier(data_dir, iwd_dir=tmp_path / "iwd", agent_user=None).apply_pending()
        assert result is not None and result.ok, result
        wait_lobby(qtbot, kiosk, "C'est prêt.")
        keep_shot(qtbot, kiosk, "setup-done")
        qtbot.waitUntil(lambda: exits == [EXIT_RESTART], timeout=10_000)
    finally:
        close_kiosk(qtbot, kiosk)
    enrolled = load_enrolment(data_dir)
    assert enrolled is not None and enrolled.centre_name == "Centre social des Tilleuls"
    assert (tmp_path / "iwd" / "Salle_Publique.psk").read_text().startswith("[Security]\nPassphrase=un bon mot")
    # The restart: the welcome screen, with the new name; the setup never again.
    again = start(qtbot, tmp_path, appliance, FakePrinter())
    try:
        assert again.setup is None
        qtbot.waitUntil(lambda: page_name(again.window.lobby_view.page().url()) == "attract", timeout=10_000)
        wait_lobby(qtbot, again, "Maison des Habitants")
        assert again.window.top_bar.centre.text() == "Maison des Habitants"
        again.controller.activity()  # a resident touches the screen: the home page, as always
        qtbot.waitUntil(lambda: again.controller.browser is not None, timeout=10_000)
        again.controller.end_session()
        qtbot.waitUntil(lambda: again.controller.browser is None, timeout=10_000)
        # Staff reopen it from their panel; root's unit removes the lock; the shell restarts.
        again.staff.exit_app = exits.append
        open_panel(qtbot, again)
        again.staff.panel.buttons["reopen_setup"].click()
        qtbot.waitUntil(lambda: "redémarre" in again.staff.panel.outcome.text(), timeout=5_000)
        assert main(["setup", "--config-dir", str(appliance), "reset", "--if-asked"]) == 0  # the path unit's
        qtbot.waitUntil(lambda: exits == [EXIT_RESTART, EXIT_RESTART], timeout=10_000)
    finally:
        close_kiosk(qtbot, again)
    reopened = start(qtbot, tmp_path, appliance, FakePrinter())
    try:
        assert reopened.setup is not None
        wait_lobby(qtbot, reopened, "Mise en service de la borne")
        page = reopened.window.lobby_view.page()
        assert run_js(qtbot, page, "document.getElementById('centre').value") == "Maison des Habitants"
    finally:
        close_kiosk(qtbot, reopened)


def test_a_usb_key_refused_is_shown_and_its_setup_applied_restarts(  # type: ignore[no-untyped-def]
    qtbot, kiosk_app, appliance: Path, tmp_path: Path
) -> None:
    """What ``kiosk-setup-usb@.service`` wrote reaches the page: an invalid file's problems, then a
    good key's setup (done by the unit alone) restarts the shell."""
    data_dir = tmp_path / "data"
    kiosk = start(qtbot, tmp_path, appliance, FakePrinter())
    exits: list[int] = []
    try:
        assert kiosk.setup is not None
        kiosk.setup.exit_app = exits.append
        wait_lobby(qtbot, kiosk, "Mise en service de la borne")
        with pytest.raises(setup.SetupInvalid) as refused:
            setup.answers_from_toml('[centre]\nname = "Espace"\n[federation]\nserver = "x"\ncode = "ABCD-EFGH-JKLM"\n')
        bad = setup.SetupResult(request_id="usb", source="usb", ok=False, problems=tuple(refused.value.problems))
        setup.write_result(data_dir, bad)
        wait_lobby(qtbot, kiosk, "La clé USB n'a rien changé")
        assert "federation.server" in lobby_text(qtbot, kiosk)
        keep_shot(qtbot, kiosk, "setup-usb-refused")
        good = setup.answers_from_toml('[centre]\nname = "Espace Clé USB"\n')
        assert Applier(data_dir, iwd_dir=tmp_path / "iwd", agent_user=None).apply(good, "usb", "usb").ok
        qtbot.waitUntil(lambda: exits == [EXIT_RESTART], timeout=10_000)
    finally:
        close_kiosk(qtbot, kiosk)
    assert load_for_process(appliance).config.kiosk.centre.name == "Espace Clé USB"
