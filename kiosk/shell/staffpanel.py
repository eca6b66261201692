"""The staff panel's two native overlays: the PIN pad and the panel itself.

Native Qt widgets in the kiosk window, like the site's message overlays: no web page has any
way to them (no ``kiosk:`` action opens them, no script can press their keys). They only show
and report; ``kiosk.shell.staffmode`` decides. Their words are the centre's language, not the
resident's: staff read them.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.core.staff import PIN_MAX, PIN_MIN
from kiosk.i18n import N_
from kiosk.shell.overlays import Overlay

KEY_SIZE = QSize(136, 96)

PANEL_BUTTONS: tuple[tuple[str, str], ...] = (
    ("test_page", N_("Page d'essai sur l'imprimante")),
    ("test_ticket", N_("Ticket d'essai")),
    ("reprint", N_("Réimprimer le dernier ticket")),
    ("end_session", N_("Terminer la session en cours")),
    ("restart", N_("Redémarrer l'écran de la borne")),
    ("close", N_("Fermer")),
    ("reopen_setup", N_("Rouvrir la mise en service")),  # shown only where the setup exists ([setup] required)
)
"""(what the panel reports, the button's words), in the order shown."""


class PinPad(Overlay):
    """Ten digit keys, "Effacer", "Valider" and "Annuler"; reports ``submitted(pin)`` or
    ``finished(None)`` when cancelled. The digits typed show as dots only."""

    submitted = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.heading = self._title("")
        self.heading.setObjectName("overlayHeading")
        self.hint = self._title("")
        self.hint.setObjectName("staffHint")
        self.dots = QLabel("", self.card)
        self.dots.setObjectName("pinDots")
        self.dots.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.cancel = self._button("")
        self.cancel.clicked.connect(self.dismiss)
        self.keys: dict[str, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(12)
        for index, key in enumerate(("1", "2", "3", "4", "5", "6", "7", "8", "9", "erase", "0", "ok")):
            button = self._button(key if key.isdigit() else "", primary=key == "ok")
            button.setObjectName("pinKey" if key.isdigit() else button.objectName())
            button.setProperty("padKey", True)  # style.qss: no side padding, "Effacer" fits
            button.setFixedSize(KEY_SIZE)
            button.clicked.connect(lambda _c=False, k=key: self._pressed(k))
            self.keys[key] = button
            grid.addWidget(button, index // 3, index % 3)
        left = QVBoxLayout()
        left.addWidget(self.hint)
        left.addWidget(self.dots)
        left.addStretch(1)
        left.addWidget(self.cancel)
        row = QHBoxLayout()
        row.setSpacing(32)
        row.addLayout(left, 1)
        row.addLayout(grid)
        self.body.addWidget(self.heading)
        self.body.addLayout(row)
        self._typed = ""

    def ask(self, hint: str = N_("Tapez le code du personnel.")) -> None:
        self._typed = ""
        self.heading.setText(self._t(N_("Espace du personnel")))
        self.keys["erase"].setText(self._t(N_("Effacer")))
        self.keys["ok"].setText(self._t(N_("Valider")))
        self.cancel.setText(self._t(N_("Annuler")))
        self.say(hint)
        self.present()

    def say(self, hint: str, seconds: int = 0, *, locked: bool = False) -> None:
        """A message id for the line above the dots (``%(seconds)s``: how long to wait); ``locked``:
        the keys do nothing until told otherwise."""
        self.hint.setText(self._t(hint) % {"seconds": seconds} if "%(seconds)s" in hint else self._t(hint))
        for button in self.keys.values():
            button.setEnabled(not locked)
        self._typed = ""
        self._show_dots()

    @property
    def typed(self) -> int:
        """How many digits are typed (never which)."""
        return len(self._typed)

    def _pressed(self, key: str) -> None:
        if key == "erase":
            self._typed = self._typed[:-1]
        elif key == "ok":
            if len(self._typed) >= PIN_MIN:
                pin, self._typed = self._typed, ""
                self.submitted.emit(pin)
        elif len(self._typed) < PIN_MAX:
            self._typed += key
        self._show_dots()

    def _show_dots(self) -> None:
        self.dots.setText(" ".join("●" * len(self._typed)) or " ")


class StaffPanel(Overlay):
    """The devices' state and what staff can do; reports ``chosen(name)`` (a name of
    ``PANEL_BUTTONS``)."""

    chosen = Signal(str)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.heading = self._title("")
        self.heading.setObjectName("overlayHeading")
        self.printer = self._title("")
        self.ticket_printer = self._title("")
        self.outcome = self._title("")
        self.outcome.setObjectName("staffOutcome")
        self.buttons: dict[str, QPushButton] = {}
        grid = QGridLayout()
        grid.setSpacing(16)
        for index, (name, _words) in enumerate(PANEL_BUTTONS):
            button = self._button("", primary=name == "close")
            button.setMinimumHeight(88)
            button.clicked.connect(lambda _c=False, n=name: self.chosen.emit(n))
            self.buttons[name] = button
            grid.addWidget(button, index // 2, index % 2)
        self.body.addWidget(self.heading)
        self.body.addWidget(self.printer)
        self.body.addWidget(self.ticket_printer)
        self.body.addWidget(self.outcome)
        self.body.addLayout(grid)

    def open(self) -> None:
        self.heading.setText(self._t(N_("Espace du personnel")))
        for name, words in PANEL_BUTTONS:
            self.buttons[name].setText(self._t(words))
        self.show_statuses(N_("vérification…"), N_("vérification…"))
        self.tell("")
        self.present()

    def show_statuses(self, printer: str, ticket_printer: str) -> None:
        """Each device's state (message ids of ``kiosk.core.staff.status_words``)."""
        self.printer.setText(self._t(N_("Imprimante : %(state)s")) % {"state": self._t(printer)})
        self.ticket_printer.setText(
            self._t(N_("Imprimante à tickets : %(state)s")) % {"state": self._t(ticket_printer)}
        )

    def tell(self, outcome: str) -> None:
        """What the last button did (a message id; "" for nothing)."""
        self.outcome.setText(self._t(outcome) if outcome else "")
