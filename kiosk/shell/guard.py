"""Application-wide input guard: swallows dangerous shortcuts and reports activity.

Installed on the QApplication, it sees every key, mouse, touch and wheel event before
any widget (web views included), so no page can re-enable a browser shortcut.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent, QWheelEvent
from PySide6.QtWidgets import QWidget

K = Qt.Key
M = Qt.KeyboardModifier

# Ctrl+<key>: new window/tab, close, location bar, open, save, print, view source, find,
# history, downloads, bookmarks, zoom, reload-bypass, devtools…
_CTRL_KEYS = frozenset(
    {
        K.Key_N,
        K.Key_T,
        K.Key_W,
        K.Key_L,
        K.Key_O,
        K.Key_S,
        K.Key_P,
        K.Key_U,
        K.Key_J,
        K.Key_H,
        K.Key_D,
        K.Key_G,
        K.Key_F,
        K.Key_E,
        K.Key_K,
        K.Key_Q,
        K.Key_R,
        K.Key_B,
        K.Key_Plus,
        K.Key_Minus,
        K.Key_Equal,
        K.Key_0,
        K.Key_Tab,
        K.Key_Backtab,
        K.Key_PageUp,
        K.Key_PageDown,
        K.Key_F4,
        K.Key_F5,
    }
)
# Keys that are dangerous alone or with any modifier.
_ALWAYS = frozenset(
    {
        K.Key_F1,
        K.Key_F3,
        K.Key_F6,
        K.Key_F7,
        K.Key_F10,
        K.Key_F11,
        K.Key_F12,
        K.Key_Print,
        K.Key_SysReq,
        K.Key_Menu,
        K.Key_Super_L,
        K.Key_Super_R,
        K.Key_Meta,
        K.Key_Back,
        K.Key_Forward,
        K.Key_HomePage,
        K.Key_Search,
        K.Key_Favorites,
        K.Key_OpenUrl,
        K.Key_LaunchMail,
        K.Key_Explorer,
        K.Key_Calculator,
        K.Key_Launch0,
    }
)
# Alt+<key>: back/forward/home, close window, menus.
_ALT_KEYS = frozenset(
    {K.Key_Left, K.Key_Right, K.Key_Home, K.Key_F4, K.Key_D, K.Key_F, K.Key_E, K.Key_Space, K.Key_Tab}
)


def is_forbidden_key(key: int, modifiers: Qt.KeyboardModifier) -> bool:
    """True if this key combination must never reach a page or Chromium."""
    k = K(key) if not isinstance(key, K) else key
    if k in _ALWAYS:
        return True
    ctrl = bool(modifiers & M.ControlModifier)
    alt = bool(modifiers & M.AltModifier)
    meta = bool(modifiers & M.MetaModifier)
    if meta:
        return True  # window-manager territory
    if ctrl and alt:
        return k not in (K.Key_Control, K.Key_Alt)  # Ctrl+Alt+F1 (VT switch), Ctrl+Alt+Del…
    if (
        ctrl
        and bool(modifiers & M.ShiftModifier)
        and k
        in (K.Key_I, K.Key_J, K.Key_C, K.Key_Delete, K.Key_N, K.Key_T, K.Key_W, K.Key_Q, K.Key_B, K.Key_O, K.Key_M)
    ):
        return True
    if ctrl and k in _CTRL_KEYS:
        return True
    return alt and k in _ALT_KEYS


class InputGuard(QObject):
    """Event filter: blocks forbidden shortcuts, Ctrl+wheel zoom, and reports activity."""

    _ACTIVITY = frozenset(
        {
            QEvent.Type.MouseButtonPress,
            QEvent.Type.TouchBegin,
            QEvent.Type.KeyPress,
            QEvent.Type.Wheel,
            QEvent.Type.TabletPress,
        }
    )

    _KEYS = frozenset(
        {QEvent.Type.KeyPress, QEvent.Type.KeyRelease, QEvent.Type.ShortcutOverride, QEvent.Type.Shortcut}
    )

    def __init__(self, on_activity: Callable[[], None], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._on_activity = on_activity
        self.blocked_count = 0

    def watch_view(self, view: QWidget) -> None:
        """Also filter keys at a web view's input widget: the last stop before Chromium."""
        view.show()
        for target in (view, view.focusProxy()):
            if target is not None:
                target.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        etype = event.type()
        if etype in self._KEYS and isinstance(event, QKeyEvent) and is_forbidden_key(event.key(), event.modifiers()):
            if etype == QEvent.Type.KeyPress:
                self.blocked_count += 1
            event.accept()
            return True
        if isinstance(event, QWheelEvent) and event.modifiers() & M.ControlModifier:
            self.blocked_count += 1
            return True  # Ctrl+wheel would zoom the page behind our zoom button's back
        if etype in self._ACTIVITY:
            self._on_activity()
        return False
