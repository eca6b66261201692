"""The devices' health, probed by the shell (it owns them) and kept in the database for the agent.

Every ``HEALTH_EVERY_S``, and at once when a USB printer or scanner is plugged or unplugged
(:mod:`kiosk.devices.hotplug`, on its own thread, handed over by a queued signal; once more
``SETTLE_MS`` later, when CUPS has found the printer again), the devices are probed off the GUI
thread; the snapshot is written on the GUI thread, one try that never waits
(:func:`kiosk.core.device_health.write_health`). A problem that starts (a device turning to
``error``) is counted once in the statistics as a ``DeviceError``.

The touchscreen is probed once at start (``report_touchscreen``), which hands its status here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Signal

from kiosk.core.device_health import HEALTH_EVERY_S, DeviceHealth, DeviceName, new_errors, snapshot, write_health
from kiosk.core.devices import DeviceStatus, Printer, Scanner, TicketPrinter
from kiosk.core.ports import Clock
from kiosk.core.stats.events import DeviceError
from kiosk.core.store import Store
from kiosk.devices.hotplug import Hotplug, UdevHotplug
from kiosk.shell.operations import Operation

log = logging.getLogger(__name__)

FIRST_PROBE_MS = 2000  # after start: the first screen comes first
SETTLE_MS = 5000  # after a plug, once more: CUPS's usb backend takes a few seconds to find a printer
Record = Callable[..., None]  # SessionController.record(event_type, **fields)


class DeviceWatch(QObject):
    plugged = Signal(object)  # a Hotplug, from the udev thread to the GUI thread (queued)
    updated = Signal(object)  # the DeviceHealth just written (tests, the staff panel)

    def __init__(
        self,
        store: Store,
        clock: Clock,
        probes: dict[DeviceName, Callable[[], DeviceStatus]],
        record: Record,
        *,
        hotplug: UdevHotplug | None = None,
        every_s: float = HEALTH_EVERY_S,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._store, self._clock, self._probes, self._record = store, clock, dict(probes), record
        self._touchscreen: DeviceStatus | None = None
        self.last: DeviceHealth | None = None
        self._probing = False
        self._again = False
        self._stopped = False
        self._timer = QTimer(self)
        self._timer.setInterval(int(every_s * 1000))
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        QTimer.singleShot(FIRST_PROBE_MS, self, self.refresh)
        self.plugged.connect(self._on_plugged)
        self._hotplug = hotplug
        if hotplug is not None:
            hotplug.start(self.plugged.emit)

    def set_touchscreen(self, status: DeviceStatus) -> None:
        self._touchscreen = status
        self.refresh()

    def refresh(self) -> None:
        """Probe now (a probe already running is followed by one more, not run twice at once)."""
        if self._stopped:
            return
        if self._probing:
            self._again = True
            return
        self._probing = True
        probes = dict(self._probes)
        if self._touchscreen is not None:
            status = self._touchscreen
            probes["touchscreen"] = lambda: status
        now = self._clock.now()
        Operation(self, lambda: snapshot(probes, now), name="device_health").success(self._write).failure(
            self._failed
        ).run()

    def stop(self) -> None:
        """No more probes, and an answer still on its way is dropped (the store may close next)."""
        self._stopped = True
        self._timer.stop()
        if self._hotplug is not None:
            self._hotplug.stop()

    def _on_plugged(self, event: object) -> None:
        if isinstance(event, Hotplug):
            self.refresh()
            QTimer.singleShot(SETTLE_MS, self, self.refresh)

    def _write(self, health: DeviceHealth) -> None:
        self._probing = False
        if self._stopped:
            return
        for device, code in new_errors(self.last, health):
            log.info("devices.problem", extra={"device": device, "code": code.value})
            self._record(DeviceError, device=device, error=code)
        self.last = health
        write_health(self._store, health)
        self.updated.emit(health)
        self._follow_up()

    def _failed(self, error: Exception) -> None:
        self._probing = False
        log.error("devices.health_failed", extra={"error": str(error)})
        self._follow_up()

    def _follow_up(self) -> None:
        if self._again:
            self._again = False
            self.refresh()


def watch_devices(
    store: Store,
    clock: Clock,
    printer: Printer,
    tickets: TicketPrinter | None,
    scanner: Scanner,
    record: Record,
    parent: QObject | None = None,
) -> DeviceWatch:
    """The shell's devices watched (the touchscreen comes from ``report_touchscreen``)."""
    probes: dict[DeviceName, Callable[[], DeviceStatus]] = {"printer": printer.status, "scanner": scanner.status}
    if tickets is not None:
        probes["ticket_printer"] = tickets.status
    return DeviceWatch(store, clock, probes, record, hotplug=UdevHotplug(), parent=parent)
