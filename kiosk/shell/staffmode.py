"""Staff mode on the terminal: a long press on the centre's name, the PIN, the staff panel.

The gesture is read on the native top bar and the panel is a native overlay (``staffpanel``),
so that nothing inside a web view — a resident's site, or even one of our ``kiosk:`` pages —
can open it or type a PIN: there is no ``kiosk:`` action for it, and a page's script never
reaches a Qt widget. Rules come from the core (:class:`~kiosk.core.staff.PinGate`); the PIN's
check (argon2) and every device call run off the GUI thread (:class:`Operation`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar
from zoneinfo import ZoneInfo

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QPointF, Qt, QTimer, Signal
from PySide6.QtGui import QMouseEvent, QTouchEvent
from PySide6.QtWidgets import QWidget

from kiosk.core.devices import DeviceFault, DeviceStatus, Printer
from kiosk.core.ports import Clock
from kiosk.core.session import EndReason, State, Transition
from kiosk.core.settings import Config
from kiosk.core.setup import ask_reopen, is_done
from kiosk.core.staff import PinGate, RememberingTicketPrinter, StaffPin, read_pin, status_words
from kiosk.core.trialpage import not_printed, print_trial_page
from kiosk.i18n import N_, translator
from kiosk.shell.controller import SessionController
from kiosk.shell.operations import Operation
from kiosk.shell.staffpanel import PinPad, StaffPanel
from kiosk.shell.window import KioskWindow

log = logging.getLogger(__name__)
T = TypeVar("T")

EXIT_RESTART = 75
"""The shell's exit status when staff restart it (EX_TEMPFAIL): ``make run`` and the systemd
unit start the shell again on it (see HACKING, "Staff mode")."""

MOVE_TOLERANCE_PX = 24  # a finger slides a little while it is held
RESTART_DELAY_MS = 300  # the session's wipe on its way before the loop ends
REOPEN_WAIT_S = 30  # kiosk-setup-reopen.service removes the setup's lock within this

PIN_HINT = N_("Tapez le code du personnel.")
PIN_WRONG = N_("Code incorrect. Réessayez.")
PIN_LOCKED = N_("Trop d'essais. Réessayez dans %(seconds)s secondes.")
NOT_CHECKED = N_("vérification impossible")
NONE_HERE = N_("aucune sur cette borne")
REOPEN_FAILED = N_("La mise en service ne s'est pas rouverte. Redémarrez la borne.")


class HoldGesture(QObject):
    """``held`` once ``target`` is pressed ``hold_ms`` without letting go or moving away: a
    mouse, or a finger (its touches are taken here, so Qt makes no mouse press of them)."""

    held = Signal()

    def __init__(self, target: QWidget, hold_ms: int) -> None:
        super().__init__(target)
        self._origin = QPointF()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(hold_ms)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)  # a coarse timer may fire 5 % early
        self._timer.timeout.connect(self.held)
        target.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents, True)
        target.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin):
            self._origin = self._position(event)
            self._timer.start()
            if kind == QEvent.Type.TouchBegin:
                event.accept()
                return True  # the rest of this touch comes here too
        elif kind in (QEvent.Type.MouseMove, QEvent.Type.TouchUpdate):
            moved = self._position(event) - self._origin
            if abs(moved.x()) + abs(moved.y()) > MOVE_TOLERANCE_PX:
                self._timer.stop()
        elif kind in (
            QEvent.Type.MouseButtonRelease,
            QEvent.Type.TouchEnd,
            QEvent.Type.TouchCancel,
            QEvent.Type.Leave,
            QEvent.Type.Hide,
        ):
            self._timer.stop()
        return False

    @staticmethod
    def _position(event: QEvent) -> QPointF:
        if isinstance(event, QTouchEvent) and event.points():
            return event.points()[0].position()
        if isinstance(event, QMouseEvent):
            return event.position()
        return QPointF()


class StaffMode(QObject):
    """The gesture, the PIN pad and the panel, and what the panel's buttons do."""

    def __init__(
        self,
        window: KioskWindow,
        controller: SessionController,
        config: Config,
        clock: Clock,
        *,
        printer: Printer | None,
        tickets: RememberingTicketPrinter | None,
        exit_app: Callable[[int], None] = QCoreApplication.exit,
    ) -> None:
        super().__init__(controller)
        settings = config.kiosk
        self.window = window
        self.controller = controller
        self.printer = printer
        self.tickets = tickets
        self.config_dir = config.kiosk_path.parent
        self.centre_name = settings.centre.name
        self.zone = ZoneInfo(settings.centre.timezone)
        self.clock = clock
        self.gate = PinGate(clock)
        self.exit_app = exit_app
        self.data_dir = settings.paths.data_dir
        self._reopen = QTimer(self)
        self._reopen.setInterval(500)
        self._reopen.timeout.connect(self._reopen_looked)
        self._reopen_waited = 0.0
        self._pin: StaffPin | None = None
        self._checking = False
        self._no_pin_logged = False
        words = translator(settings.shell.language)  # staff's language, whatever the resident chose
        self.pad = PinPad(window.content)
        self.panel = StaffPanel(window.content)
        direction = Qt.LayoutDirection.RightToLeft if words.language.rtl else Qt.LayoutDirection.LeftToRight
        for overlay in (self.pad, self.panel):
            overlay.set_translator(words)
            overlay.setLayoutDirection(direction)  # kept when a resident turns the window to Arabic
        self.panel.buttons["reopen_setup"].setVisible(settings.setup.required)
        self.pad.submitted.connect(self._submitted)
        for key in self.pad.keys.values():
            key.clicked.connect(self._touched)
        self.panel.chosen.connect(self._chosen)
        self.gesture = HoldGesture(window.top_bar.centre, round(settings.staff.hold_s * 1000))
        self.gesture.held.connect(self.open_pad)
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(settings.staff.panel_timeout_s * 1000)
        self._idle.timeout.connect(lambda: self.close("idle"))
        self._lockout = QTimer(self)  # the countdown, read from the gate's clock each second
        self._lockout.setInterval(1000)
        self._lockout.timeout.connect(self._show_lockout)
        controller.session.subscribe(self._on_transition)

    # -- opening --------------------------------------------------------------------------------
    def open_pad(self) -> None:
        """The gesture was made: the PIN pad, when a PIN is set (else nothing, logged once)."""
        self._pin = read_pin(self.config_dir)
        if self._pin is None:
            if not self._no_pin_logged:
                log.warning("staff.no_pin", extra={"hint": "set one with `kiosk staff-pin`"})
                self._no_pin_logged = True
            return
        if self.panel.isVisible():
            return
        log.info("staff.pin_asked")
        self.pad.ask(PIN_HINT)
        self._show_lockout()
        self._touched()

    def close(self, why: str) -> None:
        if self.pad.isVisible() or self.panel.isVisible():
            log.info("staff.closed", extra={"why": why})
        self._idle.stop()
        self._lockout.stop()
        self.pad.dismiss()
        self.panel.dismiss()

    def stop(self) -> None:
        self._reopen.stop()
        self.close("shell_closing")

    @property
    def is_open(self) -> bool:
        return self.panel.isVisible()

    # -- the PIN --------------------------------------------------------------------------------
    def _show_lockout(self) -> bool:
        """While wrong PINs hold the pad back: the keys off and the seconds left; True then."""
        wait = self.gate.wait_s()
        if wait > 0:
            self.pad.say(PIN_LOCKED, int(wait + 0.999), locked=True)
            self._lockout.start()
        elif self._lockout.isActive():
            self._lockout.stop()
            self.pad.say(PIN_HINT)
        return wait > 0

    def _submitted(self, pin: str) -> None:
        staff_pin = self._pin
        if self._checking or staff_pin is None or self._show_lockout():
            return
        self._checking = True
        self._idle.stop()

        def checked(right: bool) -> None:
            self._checking = False
            shown = self.pad.isVisible()  # not when closed meanwhile (cancelled, idle, the session's end)
            if right:
                self.gate.succeeded()
                if shown:
                    log.info("staff.panel_opened")
                    self.pad.done(None)
                    self._open_panel()
                return
            # Counted even when the pad was closed meanwhile: "Annuler" after each try buys none.
            lockout = self.gate.failed()
            log.warning("staff.pin_refused", extra={"failures": self.gate.failures, "lockout_s": lockout})
            if shown:
                self._touched()
                if not self._show_lockout():
                    self.pad.say(PIN_WRONG)

        def failed(error: Exception) -> None:
            self._checking = False
            self._touched()
            log.error("staff.pin_check_failed", extra={"error": type(error).__name__})

        Operation(self.pad, lambda: staff_pin.matches(pin), name="staff.pin").success(checked).failure(failed).run()

    # -- the panel ------------------------------------------------------------------------------
    def _open_panel(self) -> None:
        self.panel.open()
        self._touched()
        self._refresh_statuses()

    def _refresh_statuses(self) -> None:
        printer, tickets = self.printer, self.tickets

        def look() -> tuple[DeviceStatus | None, DeviceStatus | None]:
            return (
                printer.status() if printer is not None else None,
                tickets.status() if tickets is not None else None,
            )

        def shown(statuses: tuple[DeviceStatus | None, DeviceStatus | None]) -> None:
            words = [NONE_HERE if status is None else status_words(status) for status in statuses]
            self.panel.show_statuses(words[0], words[1])

        self._run(look, shown, lambda: self.panel.show_statuses(NOT_CHECKED, NOT_CHECKED), "staff.statuses")

    def _chosen(self, name: str) -> None:
        self._touched()
        if name == "close":
            self.close("staff")
        elif name == "test_page":
            self.panel.tell(N_("Envoi de la page d'essai…"))
            self._run(self._print_trial_page, self._told, None, "staff.test_page")
        elif name == "test_ticket":
            self.panel.tell(N_("Impression du ticket d'essai…"))
            self._run(self._print_trial_ticket, self._told, None, "staff.test_ticket")
        elif name == "reprint":
            self.panel.tell(N_("Impression du dernier ticket…"))
            self._run(self._reprint, self._told, None, "staff.reprint")
        elif name == "end_session":
            self._end_session()
        elif name == "restart":
            self._restart()
        elif name == "reopen_setup":
            self._reopen_setup()

    def _told(self, outcome: str) -> None:
        """A print's outcome, and the devices' state again (a failure's cause shows there)."""
        self.panel.tell(outcome)
        self._refresh_statuses()

    def _end_session(self) -> None:
        if self.controller.state not in (State.ACTIVE, State.WARNING):
            self.panel.tell(N_("Aucune session en cours."))
            return
        log.info("staff.session_ended")
        self.controller.end_session(EndReason.STAFF)  # the wipe of "Terminer ma session"; the panel closes

    def _reopen_setup(self) -> None:
        """The setup page again (a terminal moved, a new Wi-Fi): the lock is root's, so ask its
        unit, then restart once it is gone."""
        if not is_done(self.data_dir) or self._reopen.isActive():
            return
        try:
            ask_reopen(self.data_dir)
        except OSError as error:
            log.error("staff.setup_reopen_failed", extra={"error": str(error)})
            self.panel.tell(REOPEN_FAILED)
            return
        log.warning("staff.setup_reopen_asked")
        self.panel.tell(N_("La mise en service va s'ouvrir : la borne redémarre."))
        self._reopen_waited = 0.0
        self._reopen.start()

    def _reopen_looked(self) -> None:
        if not is_done(self.data_dir):
            self._reopen.stop()
            self._restart()
            return
        self._reopen_waited += self._reopen.interval() / 1000
        if self._reopen_waited >= REOPEN_WAIT_S:
            self._reopen.stop()
            log.error("staff.setup_not_reopened")
            self.panel.tell(REOPEN_FAILED)

    def _restart(self) -> None:
        log.warning("staff.restart", extra={"exit_status": EXIT_RESTART})
        self.close("restart")
        if self.controller.state in (State.ACTIVE, State.WARNING):
            self.controller.end_session(EndReason.STAFF)
        self.window.allow_close()
        QTimer.singleShot(RESTART_DELAY_MS, lambda: self.exit_app(EXIT_RESTART))

    # -- device calls, on a worker thread: plain values in, a message id out ---------------------
    def _print_trial_page(self) -> str:
        return print_trial_page(self.printer, self.centre_name, self.clock.now(), self.zone)

    def _print_trial_ticket(self) -> str:
        from kiosk.core.mediation.tickets import trial_ticket

        if self.tickets is None:
            return N_("Pas d'imprimante à tickets sur cette borne.")
        try:
            # To the printer itself: the resident's last ticket stays the one to reprint.
            self.tickets.printer.print_ticket(trial_ticket(self.centre_name, self.clock.now(), self.zone))
        except DeviceFault as error:
            return not_printed(error)
        return N_("Ticket d'essai imprimé.")

    def _reprint(self) -> str:
        if self.tickets is None:
            return N_("Pas d'imprimante à tickets sur cette borne.")
        try:
            if not self.tickets.reprint():
                return N_("Aucun ticket imprimé depuis le démarrage de la borne.")
        except DeviceFault as error:
            return not_printed(error)
        return N_("Dernier ticket réimprimé.")

    # -- internals ------------------------------------------------------------------------------
    def _run(
        self, call: Callable[[], T], then: Callable[[T], None], failed: Callable[[], None] | None, name: str
    ) -> None:
        def failure(error: Exception) -> None:
            log.error("staff.operation_failed", extra={"operation": name}, exc_info=error)
            if failed is not None:
                failed()
            else:
                self.panel.tell(N_("Cela n'a pas marché. Réessayez ou redémarrez l'écran."))

        Operation(self.panel, call, name=name).success(then).failure(failure).run()

    def _touched(self) -> None:
        if not self._checking:  # while the PIN is checked, staff wait for us: no countdown
            self._idle.start()

    def _on_transition(self, t: Transition) -> None:
        if t.new is State.ENDING:
            self.close("session_end")
