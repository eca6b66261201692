"""The permanent top bar: native Qt, outside the web view, so no page can hide or fake it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFontMetrics, QIcon, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

ICONS_DIR = Path(__file__).parent / "pages" / "static" / "actions"

# (object name, label, icon file) in the order residents read them.
BUTTONS: tuple[tuple[str, str, str], ...] = (
    ("home", "Accueil", "home.svg"),
    ("back", "Retour", "back.svg"),
    ("help", "Aide", "help.svg"),
    ("zoom", "Agrandir le texte", "zoom.svg"),
    ("end", "Terminer ma session", "end.svg"),
    ("mediator", "Contacter le médiateur", "mediator.svg"),
)

ZOOM_LABELS = ("Agrandir le texte", "Agrandir encore", "Taille normale")


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

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        metrics = QFontMetrics(self.centre.font())
        self.centre.setText(
            metrics.elidedText(self._centre_name, Qt.TextElideMode.ElideRight, max(self.centre.width() - 24, 0))
        )

    def set_zoom_level(self, level: int) -> None:
        self.buttons["zoom"].setText(ZOOM_LABELS[min(level, len(ZOOM_LABELS) - 1)])

    def set_in_session(self, in_session: bool) -> None:
        """Outside a session only "Aide", "Accueil" and the mediator make sense."""
        self.buttons["back"].setEnabled(in_session)
        self.buttons["end"].setEnabled(in_session)
