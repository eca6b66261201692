"""The first-boot setup on the shell's side: the setup page in the lobby instead of the welcome
screen, its form read, the printer checked, and the answers handed to the privileged oneshot.

While the panel is there no resident's session starts (the assembly connects neither the
window's touches nor its verbs to the session): the page's verbs come here. The shell cannot
write the Wi-Fi's file nor hold the agent's token, so "Terminer" writes a request in the setup's
inbox and waits for ``kiosk-setup-apply.service``'s result (``kiosk.firstboot``); a USB key's
file is applied by ``kiosk-setup-usb@.service`` alone, and its result shows here too. Once the
setup is done the shell restarts (``EXIT_RESTART``) on the new settings.

The passphrase and the code stay in this object's memory (to keep them when the form comes back
with a problem elsewhere) and in the request until it is applied; never in a page.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from PySide6.QtCore import QCoreApplication, QObject, QTimer

from kiosk.core import setup
from kiosk.core.devices import Printer
from kiosk.core.ports import Clock
from kiosk.core.setup import NO_ANSWER_WORDS, SetupBoard, SetupInvalid, SetupProblem, SetupRequest, SetupView
from kiosk.core.trialpage import print_trial_page
from kiosk.i18n import N_
from kiosk.pages.actions import Action
from kiosk.shell.operations import Operation
from kiosk.shell.staffmode import EXIT_RESTART
from kiosk.shell.window import KioskWindow

log = logging.getLogger(__name__)

PAGE = "setup"
POLL_MS = 1000  # the result and the lock, looked for this often
APPLY_TIMEOUT_S = 180  # the oneshot's enrolment tries for a minute; past this it is not coming
RESTART_DELAY_MS = 3000  # "C'est prêt" stays this long before the shell restarts
SECRETS = ("passphrase", "code")


class SetupPanel(QObject):
    def __init__(
        self,
        window: KioskWindow,
        board: SetupBoard,
        data_dir: Path,
        *,
        printer: Printer | None,
        centre_name: str,
        clock: Clock,
        zone: ZoneInfo,
        exit_app: Callable[[int], None] = QCoreApplication.exit,
    ) -> None:
        super().__init__(window)
        self.window, self.board, self.data_dir = window, board, data_dir
        self.printer, self.centre_name, self.clock, self.zone = printer, centre_name, clock, zone
        self.exit_app = exit_app
        self._secrets: dict[str, str] = {}
        self._typed: dict[str, str] = {}  # the non-secret fields when the secrets were typed
        self._waiting: str | None = None  # the request's id
        self._waited = 0.0
        self._printing = False
        self._usb_seen: setup.SetupResult | None = None
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self._look)
        self._poll.start()
        if setup.local_settings_path(data_dir).is_file():  # reopened: start from the name it had
            board.view = SetupView(values={"centre": centre_name})
        self.window.top_bar.hide()  # the residents' verbs mean nothing here (back with the restart)
        self.window.show_lobby(PAGE)
        log.info("setup.shown")
        self._look()

    def stop(self) -> None:
        self._poll.stop()

    # -- the page's verbs ------------------------------------------------------------------------
    def dispatch(self, verb: str, params: Mapping[str, str] | None = None) -> None:
        """The window's verbs while the setup is shown: only the setup's own is answered."""
        if verb != Action.SETUP.value:
            log.info("setup.verb_ignored", extra={"action": verb[:40]})
            return
        params = params or {}
        if self.board.view.stage != "form":
            return
        values = {key: params.get(key, "").strip() for key in ("centre", "ssid", "server")}
        self._remember(params, values)
        if params.get("step") == "print":
            self._check_printer(values)
        else:
            self._finish(values)

    def _remember(self, params: Mapping[str, str], values: dict[str, str]) -> None:
        """A secret typed is kept; left empty, the one typed before stands while the network
        (for the passphrase) or the server (for the code) is the same."""
        owner = {"passphrase": "ssid", "code": "server"}
        for key in SECRETS:
            typed = params.get(key, "")
            if typed:
                self._secrets[key] = typed
                self._typed[key] = values[owner[key]]
            elif self._typed.get(key) != values[owner[key]]:
                self._secrets.pop(key, None)

    def _check_printer(self, values: dict[str, str]) -> None:
        self._show(replace(self.board.view, values=values, printer=N_("Impression de la page d'essai…")))
        if self._printing:
            return
        self._printing = True
        name = values["centre"] or self.centre_name

        def told(words: str) -> None:
            self._printing = False
            self._show(replace(self.board.view, printer=words))

        def failed(error: Exception) -> None:
            log.error("setup.printer_check_failed", exc_info=error)
            told(N_("Rien n'est sorti : vérifiez l'appareil (papier, câble, capot)."))

        call = lambda: print_trial_page(self.printer, name, self.clock.now(), self.zone)  # noqa: E731
        Operation(self, call, name="setup.printer_check").success(told).failure(failed).run()

    def _finish(self, values: dict[str, str]) -> None:
        try:
            answers = setup.answers_from_form({**values, **self._secrets})
        except SetupInvalid as error:
            log.info("setup.form_refused", extra={"keys": [p.key for p in error.problems]})
            self._show(replace(self.board.view, values=values, problems=tuple(error.problems)))
            return
        request_id = uuid.uuid4().hex
        try:
            setup.write_request(self.data_dir, SetupRequest(request_id=request_id, answers=answers))
        except OSError as error:
            log.error("setup.request_not_written", extra={"error": str(error)})
            self._show(
                replace(
                    self.board.view, values=values, problems=(SetupProblem(key="(borne)", message=NO_ANSWER_WORDS),)
                )
            )
            return
        log.info("setup.requested", extra={"wifi": answers.wifi is not None, "enrol": answers.federation is not None})
        self._waiting, self._waited = request_id, 0.0
        self._show(replace(self.board.view, stage="applying", values=values, problems=()))

    # -- the oneshot's answers ---------------------------------------------------------------------
    def _look(self) -> None:
        result = setup.read_result(self.data_dir)
        if setup.is_done(self.data_dir):  # this request's, or a USB key's applied by its own unit
            self._waiting = None
            self._done()
            return
        if self._waiting is not None:
            self._waited += POLL_MS / 1000
            if result is not None and result.request_id == self._waiting:
                self._answered(result)
            elif self._waited >= APPLY_TIMEOUT_S:
                log.error("setup.no_answer", extra={"waited_s": self._waited})
                self._waiting = None
                setup.request_path(self.data_dir).unlink(missing_ok=True)
                self._back_to_form((SetupProblem(key="(borne)", message=NO_ANSWER_WORDS),))
            return
        if result is not None and result.source == "usb" and not result.ok and result != self._usb_seen:
            self._usb_seen = result
            log.info("setup.usb_refused_shown", extra={"problems": len(result.problems)})
            self._show(replace(self.board.view, usb=result.problems))

    def _answered(self, result: setup.SetupResult) -> None:
        self._waiting = None
        if result.ok:
            self._done()
        else:
            log.info("setup.refused", extra={"keys": [p.key for p in result.problems]})
            self._back_to_form(result.problems)

    def _back_to_form(self, problems: tuple[SetupProblem, ...]) -> None:
        view = self.board.view
        self._show(replace(view, stage="form", problems=problems, remembered=frozenset(self._secrets)))

    def _done(self) -> None:
        if self.board.view.stage == "done":
            return
        self._poll.stop()
        self._secrets.clear()
        log.warning("setup.finished_restarting", extra={"exit_status": EXIT_RESTART})
        self._show(SetupView(stage="done"))
        self.window.allow_close()
        QTimer.singleShot(RESTART_DELAY_MS, lambda: self.exit_app(EXIT_RESTART))

    def _show(self, view: SetupView) -> None:
        if view.stage == "form":
            for problem in view.problems:  # a secret refused is typed again, not kept
                self._secrets.pop(setup.FIELDS.get(problem.key, ""), None)
            view = replace(view, remembered=frozenset(self._secrets))
        self.board.view = view
        self.window.show_lobby(PAGE)
