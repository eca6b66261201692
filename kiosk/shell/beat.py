"""The shell's beat in the database, for the staff console's health page (see
:mod:`kiosk.core.mediation.presence`): written at start, then every ``SHELL_BEAT_S``."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from kiosk.core.mediation.presence import SHELL_BEAT_S, shell_beat
from kiosk.core.ports import Clock
from kiosk.core.store import Store


class ShellBeat(QObject):
    """One row written on the GUI thread: one try, never a wait (a busy database skips a beat)."""

    def __init__(self, store: Store, clock: Clock, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._store, self._clock = store, clock
        self._timer = QTimer(self)
        self._timer.setInterval(SHELL_BEAT_S * 1000)
        self._timer.timeout.connect(self.beat)
        self._timer.start()
        self.beat()

    def beat(self) -> None:
        shell_beat(self._store, self._clock.now())

    def stop(self) -> None:
        self._timer.stop()
