"""The resident's print screen: a panel beside the document, never the system's print dialog.

"Imprimer" in the PDF viewer opens it; the document stays visible on its left. One column of big
buttons, no keyboard: which pages (all, the one on screen, from … to … with − and + steppers),
how many copies (− and +, 1 to ``max_copies``), black and white or colour, and, before the
resident confirms, what it will cost ("Cette impression fait 4 pages. Il vous en reste 10
gratuites aujourd'hui."). The rules are ``kiosk.core.print_choice``; this is their view.
``confirmed(choice)`` or ``cancelled()`` closes it.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QButtonGroup, QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.core.print_choice import PageSelection, PrintChoice
from kiosk.i18n import N_, Translator, translator

TARGET_PX = 64  # "Lancer l'impression", "Annuler": primary actions, 64 px and more
CHOICE_PX = 56  # the choices: above the 48 px minimum, so that the screen fits 1280 × 800
STEP_PX = 64  # the − and + of a stepper: square

Consequence = Callable[[PrintChoice], str]


class PrintSheet(QFrame):
    confirmed = Signal(object)  # the PrintChoice
    cancelled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("printSheet")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setFixedWidth(560)
        self._t: Translator = translator("fr")
        self._choice = PrintChoice.for_document(1)
        self._consequence: Consequence = lambda choice: ""

        self.count = self._label("printSheetHeading")  # "Ce document a 5 pages.": what there is to print
        self.all_pages = self._choice_button()
        self.current_page = self._choice_button()
        self.page_range = self._choice_button()
        self._group = QButtonGroup(self)
        for button, selection in (
            (self.all_pages, PageSelection.ALL),
            (self.current_page, PageSelection.CURRENT),
            (self.page_range, PageSelection.RANGE),
        ):
            self._group.addButton(button)
            button.clicked.connect(lambda _c=False, s=selection: self._update(self._choice.select(s)))
        self.from_label, self.first_less, self.first_value, self.first_more = self._stepper("first")
        self.to_label, self.last_less, self.last_value, self.last_more = self._stepper("last")
        self.copies_label, self.copies_less, self.copies_value, self.copies_more = self._stepper("copies")
        self.monochrome_button = self._choice_button()
        self.monochrome_button.clicked.connect(
            lambda: self._update(self._choice.with_monochrome(not self._choice.monochrome))
        )
        self.consequence = self._label("printSheetConsequence")
        self.start_button = self._button(primary=True)
        self.start_button.clicked.connect(self._confirm)
        self.cancel_button = self._button(primary=False)
        self.cancel_button.clicked.connect(self._cancel)

        self.range_row = QWidget(self)  # "De la page − 2 + à la page − 3 +": shown for "Choisir les pages"
        pages = QHBoxLayout(self.range_row)
        pages.setContentsMargins(0, 0, 0, 0)
        self.range_row.setMinimumHeight(STEP_PX)
        pages.setSpacing(8)
        for widget in (self.from_label, self.first_less, self.first_value, self.first_more,
                       self.to_label, self.last_less, self.last_value, self.last_more):  # fmt: skip
            pages.addWidget(widget)
        copies = QHBoxLayout()
        copies.setSpacing(8)
        copies.addWidget(self.copies_label, 1)
        for widget in (self.copies_less, self.copies_value, self.copies_more):
            copies.addWidget(widget)
        actions = QHBoxLayout()
        actions.setSpacing(16)
        actions.addWidget(self.cancel_button)
        actions.addWidget(self.start_button, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 20, 24, 20)
        layout.setSpacing(8)
        for widget in (self.count, self.all_pages, self.current_page, self.page_range):
            layout.addWidget(widget)
        layout.addWidget(self.range_row)
        layout.addLayout(copies)
        layout.addWidget(self.monochrome_button)
        layout.addStretch(1)
        layout.addWidget(self.consequence)
        layout.addLayout(actions)
        self.hide()

    # -- building ------------------------------------------------------------------------------
    def _label(self, name: str) -> QLabel:
        label = QLabel("", self)
        label.setObjectName(name)
        label.setWordWrap(True)
        return label

    def _button(self, *, primary: bool) -> QPushButton:
        button = QPushButton("", self)
        button.setObjectName("primaryButton" if primary else "secondaryButton")
        button.setMinimumHeight(TARGET_PX)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    def _choice_button(self) -> QPushButton:
        button = self._button(primary=False)
        button.setMinimumHeight(CHOICE_PX)
        button.setObjectName("printChoice")
        button.setCheckable(True)
        return button

    def _stepper(self, what: str) -> tuple[QLabel, QPushButton, QLabel, QPushButton]:
        label = self._label("printSheetStepLabel")
        value = self._label("printSheetValue")
        value.setAlignment(Qt.AlignmentFlag.AlignCenter)
        value.setMinimumWidth(48)
        less, more = self._button(primary=False), self._button(primary=False)
        for button, text, delta in ((less, "−", -1), (more, "+", 1)):
            button.setObjectName("printStep")
            button.setText(text)
            button.setFixedSize(STEP_PX, STEP_PX)
            button.clicked.connect(lambda _c=False, d=delta: self._step(what, d))
        return label, less, value, more

    # -- using ---------------------------------------------------------------------------------
    @property
    def choice(self) -> PrintChoice:
        return self._choice

    def set_translator(self, t: Translator) -> None:
        self._t = t
        self._show()

    def open(self, choice: PrintChoice, consequence: Consequence) -> None:
        """Show the screen for ``choice``; ``consequence(choice)`` gives the words before confirming."""
        self._consequence = consequence
        self._update(choice)
        self.show()

    def close_sheet(self) -> None:
        self.hide()

    def _step(self, what: str, delta: int) -> None:
        steps = {"first": self._choice.step_first, "last": self._choice.step_last, "copies": self._choice.step_copies}
        self._update(steps[what](delta))

    def _update(self, choice: PrintChoice) -> None:
        self._choice = choice
        self._show()

    def _confirm(self) -> None:
        self.hide()
        self.confirmed.emit(self._choice)

    def _cancel(self) -> None:
        self.hide()
        self.cancelled.emit()

    def _show(self) -> None:
        t, choice = self._t, self._choice
        count = choice.page_count
        self.count.setText(
            t.ngettext("Ce document a %(pages)d page.", "Ce document a %(pages)d pages.", count) % {"pages": count}
        )
        for button, selection, text in (
            (self.all_pages, PageSelection.ALL, t(N_("Toutes les pages"))),
            (
                self.current_page,
                PageSelection.CURRENT,
                t(N_("Seulement la page affichée (page %(page)d)"), page=choice.current),
            ),
            (self.page_range, PageSelection.RANGE, t(N_("Choisir les pages"))),
        ):
            button.setChecked(choice.selection is selection)
            button.setText(_marked(text, choice.selection is selection))
        many = count > 1
        self.current_page.setVisible(many)
        self.page_range.setVisible(many)
        self.range_row.setVisible(many and choice.selection is PageSelection.RANGE)
        self.from_label.setText(t(N_("De la page")))
        self.to_label.setText(t(N_("à la page")))
        self.copies_label.setText(t(N_("Nombre de copies")))
        self.first_value.setText(str(choice.first))
        self.last_value.setText(str(choice.last))
        self.copies_value.setText(str(choice.copies))
        for button, what, delta in (
            (self.first_less, "first", -1),
            (self.first_more, "first", 1),
            (self.last_less, "last", -1),
            (self.last_more, "last", 1),
            (self.copies_less, "copies", -1),
            (self.copies_more, "copies", 1),
        ):
            button.setEnabled(choice.can_step(what, delta))
        self.monochrome_button.setChecked(choice.monochrome)
        mono = t(N_("Noir et blanc")) if choice.monochrome else t(N_("Noir et blanc (non : en couleur)"))
        self.monochrome_button.setText(_marked(mono, choice.monochrome))
        self.consequence.setText(self._consequence(choice))
        self.start_button.setText(t(N_("Lancer l'impression")))
        self.cancel_button.setText(t(N_("Annuler")))


def _marked(text: str, checked: bool) -> str:
    """A chosen button says so in its words too, not by its colour alone."""
    return f"✓  {text}" if checked else f"○  {text}"
