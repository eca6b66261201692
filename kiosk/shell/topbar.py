"""The permanent top bar: native Qt, outside the web view, so no page can hide or fake it."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics, QIcon, QPixmap, QResizeEvent, QTransform
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from kiosk.i18n import N_, Translator, translator
from kiosk.pages.files import STATIC

ICONS_DIR = STATIC / "actions"

# (object name, label, icon file) in the order residents read them (mirrored in Arabic).
BUTTONS: tuple[tuple[str, str, str], ...] = (
    ("home", N_("Accueil"), "home.svg"),
    ("back", N_("Retour"), "back.svg"),
    ("help", N_("Aide"), "help.svg"),
    ("zoom", N_("Agrandir le texte"), "zoom.svg"),
    ("end", N_("Terminer ma session"), "end.svg"),
    ("mediator", N_("Contacter le médiateur"), "mediator.svg"),
)

ZOOM_LABELS = (N_("Agrandir le texte"), N_("Agrandir encore"), N_("Taille normale"))


class TopBar(QWidget):
    """Emits ``triggered(name)`` with one of: home, back, help, mediator, zoom, end."""

    triggered = Signal(str)

    def __init__(self, centre_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("topBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(8)
        self._centre_name = centre_name
        self._t: Translator = translator("fr")
        self._zoom_level = 0
        self._mediator_note: tuple[str | None, int] = (None, 0)
        self.centre = QLabel(centre_name, self)
        self.centre.setObjectName("centreName")
        self.centre.setToolTip(centre_name)
        # Never wrap onto four lines on a narrow screen: shorten with "…" instead.
        self.centre.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.centre.setMinimumWidth(0)
        self.buttons: dict[str, QToolButton] = {}
        for name, label, icon in BUTTONS:
            button = QToolButton(self)
            button.setObjectName(f"topbar_{name}")
            button.setText(label)
            icon_path = ICONS_DIR / icon
            if icon_path.exists():
                button.setIcon(QIcon(str(icon_path)))
                button.setIconSize(QSize(36, 36))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the bar never steals a field's focus
            button.setMinimumSize(QSize(128, 88))
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _checked=False, n=name: self.triggered.emit(n))
            self.buttons[name] = button
        for name in ("home", "back", "help"):
            layout.addWidget(self.buttons[name])
        layout.addWidget(self.centre, 1)
        for name in ("zoom", "end", "mediator"):
            layout.addWidget(self.buttons[name])
        self.buttons["mediator"].setMinimumWidth(200)
        self.buttons["mediator"].setProperty("calling", False)  # set before the first polish

    def changeEvent(self, event: QEvent) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.LayoutDirectionChange:
            # "Retour" points the way the resident reads: to the right in Arabic.
            icon_path = ICONS_DIR / "back.svg"
            if icon_path.exists():
                pixmap = QPixmap(str(icon_path)).scaled(72, 72)
                if self.layoutDirection() == Qt.LayoutDirection.RightToLeft:
                    pixmap = pixmap.transformed(QTransform().scale(-1, 1))
                self.buttons["back"].setIcon(QIcon(pixmap))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.centre.setText(fit_in_lines(self._centre_name, QFontMetrics(self.centre.font()), self.centre.width() - 24))

    def set_zoom_level(self, level: int) -> None:
        self._zoom_level = level
        self.buttons["zoom"].setText(self._t(ZOOM_LABELS[min(level, len(ZOOM_LABELS) - 1)]))

    def set_translator(self, t: Translator) -> None:
        """Relabel the buttons in the resident's language (the layout direction comes from the window)."""
        self._t = t
        for name, label, _icon in BUTTONS:
            self.buttons[name].setText(t(label))
            self.buttons[name].setAccessibleName(t(label))
        self.set_zoom_level(self._zoom_level)
        self.set_mediator_note(*self._mediator_note)

    def set_mediator_note(self, note: str | None, number: int = 0) -> None:
        """Where the resident's call is (a message id, ``%(number)s`` their number), in place of
        the button's words and highlighted; ``None``: the usual "Contacter le médiateur"."""
        self._mediator_note = (note, number)
        button = self.buttons["mediator"]
        button.setText(self._t(note) % {"number": number} if note else self._t(BUTTONS[-1][1]))
        calling = note is not None
        if button.property("calling") != calling:
            # Only on a change: the first call to style() builds PySide's QStyle enums (~40 ms),
            # which the first screen must not wait for.
            button.setProperty("calling", calling)
            button.style().unpolish(button)
            button.style().polish(button)

    def set_in_session(self, in_session: bool) -> None:
        """Outside a session only "Aide", "Accueil" and the mediator make sense."""
        self.buttons["back"].setEnabled(in_session)
        self.buttons["end"].setEnabled(in_session)


def fit_in_lines(text: str, metrics: QFontMetrics, width: int, max_lines: int = 3) -> str:
    """``text`` wrapped at spaces into at most ``max_lines`` lines of ``width`` pixels (a word too
    long, or what the last line cannot hold, shortened with "…"): a 1280 px screen shows the
    whole centre name."""
    width = max(width, 0)
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and metrics.horizontalAdvance(candidate) <= width:
            lines[-1] = candidate
        elif len(lines) < max_lines:
            lines.append(word)
        else:
            lines[-1] = candidate  # the last line takes the rest, shortened below
    return "\n".join(metrics.elidedText(line, Qt.TextElideMode.ElideRight, width) for line in lines)
