"""On-screen keyboard inside the kiosk window (cage offers no virtual-keyboard protocol).

A ``QQuickWidget`` hosts QtVirtualKeyboard's ``InputPanel`` (keyboard.qml). The panel
becomes active when an editable field — in a web page too — gets focus; this widget then
takes the bottom of the window and the web view above it shrinks, so the focused field
stays visible. ``QT_IM_MODULE=qtvirtualkeyboard`` must be set before the QApplication
(see environment.py).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtQuick import QQuickItem
from PySide6.QtQuickWidgets import QQuickWidget
from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)

QML_PATH = Path(__file__).with_name("keyboard.qml")


class OnScreenKeyboard(QQuickWidget):
    """The keyboard panel; emits ``shownChanged(bool)`` when it appears or goes away."""

    shownChanged = Signal(bool)

    def __init__(self, parent: QWidget | None = None, locale: str = "fr_FR") -> None:
        super().__init__(parent)
        self.setResizeMode(QQuickWidget.ResizeMode.SizeRootObjectToView)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing must not steal the field's focus
        self.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents, True)
        self.setClearColor(Qt.GlobalColor.transparent)
        self._shown = False
        self._locale = locale
        self._root: QObject | None = None
        self.setFixedHeight(0)
        # Loading the keyboard's QML takes a while: do it once the first screen is up.
        QTimer.singleShot(0, self.load)

    def load(self) -> None:
        if self._root is not None or not self.source().isEmpty():
            return
        self.setSource(QUrl.fromLocalFile(str(QML_PATH)))
        root: QQuickItem | None = self.rootObject()  # None when the QML failed (the stubs say never)
        self._root = root
        if root is None:
            for error in self.errors():
                log.error("keyboard.unavailable", extra={"error": error.toString()})
            return
        root.setProperty("locale", self._locale)
        root.activeChanged.connect(self._sync)  # type: ignore[attr-defined]  # a QML signal
        root.panelHeightChanged.connect(self._sync)  # type: ignore[attr-defined]  # a QML signal

    @property
    def available(self) -> bool:
        self.load()
        return self._root is not None

    @property
    def shown(self) -> bool:
        return self._shown

    def set_locale(self, locale: str) -> None:
        self._locale = locale
        if self._root is not None:
            self._root.setProperty("locale", locale)

    def hide_panel(self) -> None:
        """Close the keyboard (e.g. at the end of a session)."""
        from PySide6.QtGui import QGuiApplication

        QGuiApplication.inputMethod().hide()
        self._sync()

    def _sync(self) -> None:
        root = self._root
        active = bool(root.property("active")) if root is not None else False
        height = int(root.property("panelHeight") or 0) if (root is not None and active) else 0
        self.setFixedHeight(height)
        if active != self._shown:
            self._shown = active
            self.shownChanged.emit(active)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self._shown:
            self._sync()  # the panel's height follows the window's width
