"""On-screen keyboard inside the kiosk window (cage offers no virtual-keyboard protocol).

A ``QQuickWidget`` hosts QtVirtualKeyboard's ``InputPanel`` (keyboard.qml). The panel
becomes active when an editable field — in a web page too — gets focus; this widget then
takes the bottom of the window and the web view above it shrinks, so the focused field
stays visible. ``QT_IM_MODULE=qtvirtualkeyboard`` must be set before the QApplication
(see environment.py).

Qt Quick and the keyboard's QML cost the start a tenth of a second of the GUI thread, and no
one types before the first screen is up: this widget is an empty strip until ``load()``, which
runs once the welcome screen is painted (``load_after``). It must run before any editable field
takes focus: QtVirtualKeyboard's input context crashes the process (a null pointer in
``PlatformInputContext::updateInputPanelVisible``) when a field asks for the keyboard before its
QML exists. The window therefore also loads it when a resident's browser arrives.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, QUrl, Signal, SignalInstance
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

log = logging.getLogger(__name__)

QML_PATH = Path(__file__).with_name("keyboard.qml")


class OnScreenKeyboard(QWidget):
    """The keyboard panel; emits ``shownChanged(bool)`` when it appears or goes away."""

    shownChanged = Signal(bool)

    def __init__(
        self, parent: QWidget | None = None, locale: str = "fr_FR", load_after: SignalInstance | None = None
    ) -> None:
        """``load_after``: the first page's ``loadFinished``; the panel is built just after it."""
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing must not steal the field's focus
        self._shown = False
        self._locale = locale
        self._root: QObject | None = None
        self._view: QWidget | None = None
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self.setFixedHeight(0)
        if load_after is not None:
            self.load_after(load_after)

    def load_after(self, painted: SignalInstance) -> None:
        """Load the keyboard just after ``painted`` (the first page's ``loadFinished``) fires."""

        def soon(*_args: object) -> None:
            QTimer.singleShot(0, self, self.load)  # never after the window is gone

        painted.connect(soon, Qt.ConnectionType.SingleShotConnection)

    def load(self) -> None:
        if self._view is not None:
            return
        from PySide6.QtQuick import QQuickItem
        from PySide6.QtQuickWidgets import QQuickWidget

        view = QQuickWidget(self)
        self._view = view
        view.setResizeMode(QQuickWidget.ResizeMode.SizeRootObjectToView)
        view.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        view.setAttribute(Qt.WidgetAttribute.WA_AcceptTouchEvents, True)
        view.setClearColor(Qt.GlobalColor.transparent)
        self._layout.addWidget(view)
        view.setSource(QUrl.fromLocalFile(str(QML_PATH)))
        root: QQuickItem | None = view.rootObject()  # None when the QML failed (the stubs say never)
        self._root = root
        if root is None:
            for error in view.errors():
                log.error("keyboard.unavailable", extra={"error": error.toString()})
            return
        root.setProperty("locale", self._locale)
        root.activeChanged.connect(self._sync)  # type: ignore[attr-defined]  # a QML signal
        root.panelHeightChanged.connect(self._sync)  # type: ignore[attr-defined]  # a QML signal

    @property
    def loaded(self) -> bool:
        """Whether the panel has been built (without building it)."""
        return self._view is not None

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
