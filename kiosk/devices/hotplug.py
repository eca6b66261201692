"""USB printers and scanners plugged in and out, with pyudev.

The monitor listens to udev's netlink events for the ``usb`` subsystem in a thread of its own and
calls back with a :class:`Hotplug` for each printer or scanner added or removed; the callback runs
on that thread (the shell hands it to its GUI thread with a queued signal). Nothing restarts on a
plug: the next print goes through CUPS, whose queue state says whether the printer is back; the
callback only makes the device health be probed at once instead of at the next period.

What counts as what, kept simple:

- **printer**: a USB interface (``DEVTYPE=usb_interface``) of class 7 (``INTERFACE=7/…``, the USB
  printer class every USB printer and multifunction device exposes);
- **scanner**: a USB interface of class 6 (still image: PTP scanners), or a USB device that
  libsane's udev rules tagged (``libsane_matched=yes``; most scanners are class 0xff, vendor
  specific, and only that list knows them).

The kernel's own ``INTERFACE`` value comes with removals too, so an unplug is recognised without
udev's database. Everything else on the bus (keyboards, the touchscreen, sticks) is ignored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

log = logging.getLogger(__name__)

Kind = Literal["printer", "scanner"]
Action = Literal["add", "remove"]

POLL_S = 0.25  # how long one wait for an event lasts: the most ``stop()`` waits


@dataclass(frozen=True)
class Hotplug:
    action: Action
    kind: Kind
    sys_name: str  # the kernel's name for it ("1-1.2:1.0"), for logs


def _interface_class(device: Any) -> int | None:
    value = device.get("INTERFACE")  # "7/1/2": class/subclass/protocol, in decimal
    try:
        return int(str(value).split("/")[0]) if value else None
    except ValueError:
        return None


def classify(device: Any) -> Kind | None:
    """What a udev USB device is, as far as the terminal cares (see the module's docstring)."""
    if device.get("DEVTYPE") == "usb_interface":
        return {7: "printer", 6: "scanner"}.get(_interface_class(device) or -1)  # type: ignore[return-value]
    if device.get("DEVTYPE") == "usb_device" and device.get("libsane_matched") == "yes":
        return "scanner"
    return None


def event_of(device: Any) -> Hotplug | None:
    action = device.action
    if action not in ("add", "remove"):
        return None  # "bind", "change"…: the device was already counted
    kind = classify(device)
    return None if kind is None else Hotplug(action, kind, str(device.sys_name))


class UdevHotplug:
    """Watches udev for printers and scanners; ``library`` is pyudev (a fake in tests)."""

    def __init__(self, library: Any = None) -> None:
        self._library = library
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    def start(self, callback: Callable[[Hotplug], None]) -> bool:
        """Listen from now on; ``False`` when udev cannot be listened to (logged: the health is
        then only probed every period)."""
        try:
            if self._library is None:
                import pyudev  # libudev is loaded here: a machine without it runs without hotplug

                self._library = pyudev
            monitor = self._library.Monitor.from_netlink(self._library.Context())
            monitor.filter_by("usb")
            monitor.start()
        except (OSError, ImportError) as error:
            log.warning("devices.hotplug_unavailable", extra={"error": str(error)})
            return False
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, args=(monitor, callback), name="hotplug", daemon=True)
        self._thread.start()
        log.info("devices.hotplug_started")
        return True

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _run(self, monitor: Any, callback: Callable[[Hotplug], None]) -> None:
        while not self._stopping.is_set():
            try:
                device = monitor.poll(timeout=POLL_S)
            except OSError as error:  # the netlink socket broke: said once, then stop listening
                log.error("devices.hotplug_failed", extra={"error": str(error)})
                return
            event = event_of(device) if device is not None else None
            if event is None:
                continue
            log.info("devices.hotplug", extra={"action": event.action, "kind": event.kind, "device": event.sys_name})
            try:
                callback(event)
            except Exception:
                log.exception("devices.hotplug_callback_failed")
