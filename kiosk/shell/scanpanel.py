"""The top bar's "Scanner un document": the scan overlay with no site asking, then where the
document is and what the resident can do with it.

Scans live in the session's directory and go with it (ARCHITECTURE: nothing a resident scanned
survives the session), so a tap on the welcome screen or the goodbye starts a session first, as a
tile or "Aide" does: the resident lands on the home page with the scanner's overlay over it, the
document is theirs until "Terminer ma session" (or the idle timeout) wipes it, and the file
chooser of any site they open meanwhile offers it. Scanning outside a session would leave a
file nobody wipes.

The button shows only where ``[devices]`` configures a scanner (not ``scanner = "none"``), and
says "Scanner indisponible" while the devices' health finds none: a tap then explains, in the
disabled look, instead of failing in the overlay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QWidget

from kiosk.core.device_health import DeviceHealth
from kiosk.core.devices import DeviceFailure
from kiosk.core.scans import scanner_message
from kiosk.core.session import State, Transition
from kiosk.i18n import N_, translator
from kiosk.shell.controller import SessionController
from kiosk.shell.overlays import Overlay
from kiosk.shell.scanner import ScanDesk
from kiosk.shell.topbar import SCANNER_MISSING
from kiosk.shell.window import KioskWindow

log = logging.getLogger(__name__)

READY = N_("Votre document est prêt.")
WHERE = N_(
    "Il est gardé sur la borne sous le nom « {name} » jusqu'à la fin de votre session, puis effacé. "
    "Quand un site vous demande un fichier, choisissez-le dans la liste."
)
SCANNED_TITLE = N_("Document scanné")
PRINT = "print"  # ScanNote's answer for "Imprimer"


class ScanNote(Overlay):
    """A word about the top bar's scan: the document ready (with "Imprimer" for a PDF), or the
    scanner unavailable. Our own words, never a site's: not the "Message du site" notice."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("scanNote")
        self.heading = self._title("")
        self.heading.setObjectName("overlayHeading")
        self.message = self._title("")
        self.print_button = self._button("", primary=True)
        self.ok = self._button("")
        self.print_button.clicked.connect(lambda: self.done(PRINT))
        self.ok.clicked.connect(lambda: self.done(True))
        for widget in (self.heading, self.message, self.print_button, self.ok):
            self.body.addWidget(widget)

    def show_note(self, heading: str, message: str, *, can_print: bool = False) -> None:
        """``heading`` a message id; ``message`` already in the resident's words."""
        self.heading.setText(self._t(heading))
        self.message.setText(message)
        self.print_button.setText(self._t(N_("Imprimer")))
        self.print_button.setVisible(can_print)
        self.ok.setText(self._t(N_("J'ai compris")))
        self.present()


class ScanPanel(QObject):
    """Carries out ``Action.SCAN``; keeps the top bar's scan button in step with the scanner."""

    def __init__(
        self,
        desk: ScanDesk,
        controller: SessionController,
        window: KioskWindow,
        refresh_devices: Callable[[], None] | None = None,
    ) -> None:
        """``refresh_devices``: look at the devices again (``DeviceWatch.refresh``), when a tap
        finds the scanner missing."""
        super().__init__(controller)
        self.desk, self.controller, self.window = desk, controller, window
        self.overlay = desk.overlay
        parent = self.overlay.parentWidget()
        assert parent is not None
        self.note = ScanNote(parent)
        self.files: list[Path] = []  # the last document saved from the top bar
        self._mine = False  # the overlay is open for the top bar (not for a site's chooser)
        self.overlay.finished.connect(self._finished)
        self.note.finished.connect(self._answered)
        controller.session.subscribe(self._on_transition)
        window.top_bar.set_scan_offered(desk.can_scan)
        self.refresh_devices = refresh_devices

    def scan(self) -> None:
        """The top bar's tap: the scan overlay over the resident's page (a session started if
        none is open), or why not."""
        if not self.desk.can_scan or self.overlay.isVisible() or self.note.isVisible():
            return
        chooser = self.window.chooser
        if chooser.waiting:  # a site asked for a file: scan for it, from its own chooser
            if chooser.scan_button.isVisible():
                chooser.scan_button.click()
            return
        t = translator(self.controller.language)
        if self.window.top_bar.scanner_missing:
            if self.refresh_devices is not None:
                self.refresh_devices()  # plugged back since the last look? The next tap knows.
            self.note.set_translator(t)
            self.note.show_note(SCANNER_MISSING, t(scanner_message(DeviceFailure.OFFLINE)))
            return
        self.controller.start_session()  # from the welcome screen or the goodbye: a session, as a tile
        browser = self.controller.browser
        if browser is None:  # the session is being wiped
            return
        log.info("scan.from_top_bar")
        self._mine = True
        self.overlay.set_translator(t)
        self.overlay.begin(browser.dir, None)

    def show_health(self, health: DeviceHealth) -> None:
        """The devices' last snapshot (``DeviceWatch.updated``): the button says when the scanner is missing."""
        missing = health.get("scanner").state == "absent"
        if missing != self.window.top_bar.scanner_missing:
            log.info("scan.button", extra={"scanner_missing": missing})
            self.window.top_bar.set_scanner_missing(missing)

    def _finished(self, result: object) -> None:
        if not self._mine:
            return
        self._mine = False
        if not isinstance(result, list) or not result:
            return
        self.files = list(result)
        t = translator(self.controller.language)
        names = ", ".join(path.name for path in self.files)
        self.note.set_translator(t)
        self.note.show_note(READY, t(WHERE).format(name=names), can_print=self.files[0].suffix == ".pdf")

    def _answered(self, answer: object) -> None:
        if answer == PRINT and self.files and self.controller.browser is not None and self.files[0].exists():
            self.window.open_pdf(str(self.files[0]), self.controller.translate(SCANNED_TITLE))

    def _on_transition(self, t: Transition) -> None:
        if t.new is State.ENDING:  # before the wipe: nothing of the resident's left on screen
            if self._mine:
                self.overlay.dismiss()
            self.note.dismiss()
            self.files = []
