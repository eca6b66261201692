"""A fake of pyudev for :mod:`kiosk.devices.hotplug` (no udev on build machines or in containers).

It mimics the part of pyudev's interface the adapter uses — ``Context()``,
``Monitor.from_netlink(context)``, ``monitor.filter_by(subsystem, device_type=None)``,
``monitor.start()``, ``monitor.poll(timeout)`` returning a ``Device`` or ``None`` — and a
``Device`` with ``action``, ``subsystem``, ``device_type``, ``sys_name``, ``properties`` and
``get()``. A test plugs and unplugs devices (:meth:`FakeUdev.plug`, :meth:`FakeUdev.unplug`)
and every started monitor receives the events, with the properties the kernel sends.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

PRINTER_INTERFACE = {"INTERFACE": "7/1/2", "DEVTYPE": "usb_interface"}
SCANNER_DEVICE = {"DEVTYPE": "usb_device", "libsane_matched": "yes", "ID_VENDOR_ID": "04a9"}
KEYBOARD_INTERFACE = {"INTERFACE": "3/1/1", "DEVTYPE": "usb_interface"}


@dataclass(frozen=True)
class FakeUdevDevice(Mapping[str, str]):
    """pyudev.Device: a mapping of its udev properties, plus attributes."""

    sys_name: str
    properties: Mapping[str, str]
    action: str | None = None
    subsystem: str = "usb"

    @property
    def device_type(self) -> str | None:
        return self.properties.get("DEVTYPE")

    def __getitem__(self, key: str) -> str:
        return self.properties[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.properties)

    def __len__(self) -> int:
        return len(self.properties)


class FakeContext:
    def __init__(self, udev: FakeUdev) -> None:
        self.udev = udev


class FakeMonitor:
    def __init__(self, udev: FakeUdev) -> None:
        self._udev = udev
        self._events: queue.Queue[FakeUdevDevice] = queue.Queue()
        self._filters: list[tuple[str, str | None]] = []
        self.started = False

    def filter_by(self, subsystem: str, device_type: str | None = None) -> None:
        if self.started:
            raise RuntimeError("pyudev installs filters before the monitor starts")
        self._filters.append((subsystem, device_type))

    def start(self) -> None:
        self.started = True
        self._udev.monitors.append(self)

    def poll(self, timeout: float | None = None) -> FakeUdevDevice | None:
        if not self.started:
            self.start()  # as pyudev's poll does
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            return None

    def deliver(self, device: FakeUdevDevice) -> None:
        if not self._filters or any(
            device.subsystem == sub and (kind is None or device.device_type == kind) for sub, kind in self._filters
        ):
            self._events.put(device)


class _MonitorFactory:
    def __init__(self, udev: FakeUdev) -> None:
        self._udev = udev

    def from_netlink(self, context: FakeContext, source: str = "udev") -> FakeMonitor:
        if self._udev.broken:
            raise OSError("[Errno 93] Protocol not supported")  # no netlink in this sandbox
        return FakeMonitor(self._udev)


@dataclass
class FakeUdev:
    """The pyudev module as the adapter uses it: pass it as ``UdevHotplug(library=...)``."""

    broken: bool = False  # netlink unavailable, as in some containers
    monitors: list[FakeMonitor] = field(default_factory=list)

    def Context(self) -> FakeContext:  # noqa: N802 (pyudev's name)
        return FakeContext(self)

    @property
    def Monitor(self) -> _MonitorFactory:  # noqa: N802 (pyudev's name)
        return _MonitorFactory(self)

    def plug(self, sys_name: str, properties: Mapping[str, str], subsystem: str = "usb") -> None:
        self._send(FakeUdevDevice(sys_name, dict(properties), "add", subsystem))

    def unplug(self, sys_name: str, properties: Mapping[str, str], subsystem: str = "usb") -> None:
        self._send(FakeUdevDevice(sys_name, dict(properties), "remove", subsystem))

    def _send(self, device: FakeUdevDevice) -> None:
        for monitor in self.monitors:
            monitor.deliver(device)
