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
    ("scan", N_("Scanner un document"), "scan.svg"),
    ("zoom", N_("Agrandir le texte"), "zoom.svg"),
    ("end", N_("Terminer ma session"), "end.svg"),
    ("mediator", N_("Contacter le médiateur"), "mediator.svg"),
)

LABELS = {name: label for name, label, _icon in BUTTONS}
ZOOM_LABELS = (N_("Agrandir le texte"), N_("Agrandir encore"), N_("Taille normale"))
SCANNER_MISSING = N_("Scanner indisponible")  # the scan button while the devices' health says absent

CENTRE_MIN_PX = 120  # the centre's name keeps this much: staff hold it to open their panel
ICON_PX, COMPACT_ICON_PX = 36, 26
MIN_WIDTH_PX, COMPACT_MIN_WIDTH_PX = 128, 96
MEDIATOR_MIN_PX, COMPACT_MEDIATOR_MIN_PX = 200, 140
BUTTON_CHROME_PX = 40  # a button's padding, border and the style's margins around its words


class TopBar(QWidget):
    """Emits ``triggered(name)`` with one of: home, back, help, scan, mediator, zoom, end.

    On a narrow screen (1024 px, or 1280 px with the scan button) the words of each button go
    onto two lines under a smaller icon, so that every label shows whole and the centre's name
    keeps ``CENTRE_MIN_PX``."""

    triggered = Signal(str)

    def __init__(self, centre_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("topBar")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._layout = layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.setSpacing(8)
        self._centre_name = centre_name
        self._t: Translator = translator("fr")
        self._zoom_level = 0
        self._mediator_note: tuple[str | None, int] = (None, 0)
        self._scanner_missing = False
        self._compact = False
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
            button.setProperty("words", label)
            icon_path = ICONS_DIR / icon
            if icon_path.exists():
                button.setIcon(QIcon(str(icon_path)))
                button.setIconSize(QSize(ICON_PX, ICON_PX))
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the bar never steals a field's focus
            button.setMinimumSize(QSize(MIN_WIDTH_PX, 88))
            button.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
            button.clicked.connect(lambda _checked=False, n=name: self.triggered.emit(n))
            self.buttons[name] = button
        for name in ("home", "back", "help", "scan"):
            layout.addWidget(self.buttons[name])
        layout.addWidget(self.centre, 1)
        for name in ("zoom", "end", "mediator"):
            layout.addWidget(self.buttons[name])
        self.buttons["mediator"].setMinimumWidth(MEDIATOR_MIN_PX)
        self.buttons["mediator"].setProperty("calling", False)  # set before the first polish
        self.buttons["scan"].setProperty("unavailable", False)
        self.buttons["scan"].hide()  # until the shell has a scanner (set_scan_offered)

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
        self._fit()
        self.centre.setText(fit_in_lines(self._centre_name, QFontMetrics(self.centre.font()), self.centre.width() - 24))

    def set_zoom_level(self, level: int) -> None:
        self._zoom_level = level
        self._label("zoom", self._t(ZOOM_LABELS[min(level, len(ZOOM_LABELS) - 1)]))

    def set_translator(self, t: Translator) -> None:
        """Relabel the buttons in the resident's language (the layout direction comes from the window)."""
        self._t = t
        for name, label, _icon in BUTTONS:
            self._label(name, t(label))
            self.buttons[name].setAccessibleName(t(label))
        self.set_zoom_level(self._zoom_level)
        self.set_mediator_note(*self._mediator_note)
        self.set_scanner_missing(self._scanner_missing)
        self._fit()

    def set_scan_offered(self, offered: bool) -> None:
        """Show "Scanner un document" only where a scanner is configured."""
        self.buttons["scan"].setVisible(offered)
        self._fit()

    def set_scanner_missing(self, missing: bool) -> None:
        """The scan button says the scanner is unavailable (the devices' health found none), in
        the disabled look; a tap on it then explains instead of scanning."""
        self._scanner_missing = missing
        button = self.buttons["scan"]
        self._label("scan", self._t(SCANNER_MISSING if missing else LABELS["scan"]))
        if button.property("unavailable") != missing:  # re-polished on a change only, as the mediator's
            button.setProperty("unavailable", missing)
            button.style().unpolish(button)
            button.style().polish(button)

    def label(self, name: str) -> str:
        """A button's words on one line (its text may hold them on two: see ``compact``)."""
        return str(self.buttons[name].property("words"))

    @property
    def scanner_missing(self) -> bool:
        return self._scanner_missing

    @property
    def compact(self) -> bool:
        return self._compact

    def _label(self, name: str, text: str) -> None:
        """A button's words, kept whole in its ``words`` property and shown on two lines when compact."""
        button = self.buttons[name]
        button.setProperty("words", text)
        button.setText(two_lines(text) if self._compact else text)

    def _fit(self) -> None:
        """Compact (two-line labels, smaller icons, narrower buttons) when one-line labels and
        the centre's minimum do not fit in the bar's width."""
        shown = [b for b in self.buttons.values() if not b.isHidden()]
        layout = self._layout
        margins = layout.contentsMargins()
        needed = margins.left() + margins.right() + layout.spacing() * len(shown) + CENTRE_MIN_PX
        for button in shown:
            words = str(button.property("words") or button.text())
            floor = MEDIATOR_MIN_PX if button is self.buttons["mediator"] else MIN_WIDTH_PX
            needed += max(floor, button.fontMetrics().horizontalAdvance(words) + BUTTON_CHROME_PX)
        compact = needed > self.width()
        if compact == self._compact:
            return
        self._compact = compact
        icon = COMPACT_ICON_PX if compact else ICON_PX
        for button in self.buttons.values():
            button.setIconSize(QSize(icon, icon))
            button.setMinimumWidth(COMPACT_MIN_WIDTH_PX if compact else MIN_WIDTH_PX)
            words = str(button.property("words") or button.text())
            button.setText(two_lines(words) if compact else words)
        self.buttons["mediator"].setMinimumWidth(COMPACT_MEDIATOR_MIN_PX if compact else MEDIATOR_MIN_PX)

    def set_mediator_note(self, note: str | None, number: int = 0) -> None:
        """Where the resident's call is (a message id, ``%(number)s`` their number), in place of
        the button's words and highlighted; ``None``: the usual "Contacter le médiateur"."""
        self._mediator_note = (note, number)
        button = self.buttons["mediator"]
        self._label("mediator", self._t(note) % {"number": number} if note else self._t(LABELS["mediator"]))
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


def two_lines(text: str) -> str:
    """``text`` broken at the space that best balances its two lines (a single word stays whole,
    over an empty second line: the icons of the bar stay in one row)."""
    words = text.split()
    if len(words) < 2:
        return f"{text}\n"
    cuts = [(" ".join(words[:i]), " ".join(words[i:])) for i in range(1, len(words))]
    first, second = min(cuts, key=lambda cut: max(len(cut[0]), len(cut[1])))
    return f"{first}\n{second}"


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
