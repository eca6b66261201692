"""USB printers and scanners plugged and unplugged: the pyudev adapter driven by a fake of pyudev's
interface (no udev here), and by the real pyudev on this machine's netlink socket."""

from __future__ import annotations

import queue
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.core.device_health import read_health, snapshot, write_health
from kiosk.core.devices import DeviceFailure
from kiosk.core.store import Role, open_store
from kiosk.devices.fakes import FakePrinter, FakeScanner, FakeUdev
from kiosk.devices.fakes_udev import KEYBOARD_INTERFACE, PRINTER_INTERFACE, SCANNER_DEVICE, FakeUdevDevice
from kiosk.devices.hotplug import Hotplug, UdevHotplug, classify, event_of

pytestmark = pytest.mark.devices
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_what_counts_as_a_printer_or_a_scanner() -> None:
    assert classify(FakeUdevDevice("1-1:1.0", PRINTER_INTERFACE)) == "printer"
    assert classify(FakeUdevDevice("1-2", SCANNER_DEVICE)) == "scanner"
    assert classify(FakeUdevDevice("1-2:1.0", {"DEVTYPE": "usb_interface", "INTERFACE": "6/1/1"})) == "scanner"
    assert classify(FakeUdevDevice("1-3:1.0", KEYBOARD_INTERFACE)) is None
    assert classify(FakeUdevDevice("1-3:1.0", {"DEVTYPE": "usb_interface", "INTERFACE": "garbage"})) is None
    assert (
        classify(FakeUdevDevice("1-1", {"DEVTYPE": "usb_device"})) is None
    )  # a printer's device node: its interface counts
    assert event_of(FakeUdevDevice("1-1:1.0", PRINTER_INTERFACE, "bind")) is None
    assert event_of(FakeUdevDevice("1-1:1.0", PRINTER_INTERFACE, "remove")) == Hotplug("remove", "printer", "1-1:1.0")


class Events:
    def __init__(self) -> None:
        self.queue: queue.Queue[Hotplug] = queue.Queue()

    def __call__(self, event: Hotplug) -> None:
        self.queue.put(event)

    def next(self) -> Hotplug:
        return self.queue.get(timeout=5)


def test_a_printer_plugged_unplugged_and_plugged_again_its_status_follows(tmp_path: Path) -> None:
    """The same sequence the shell's DeviceWatch runs: each event makes the health be probed and
    written at once, on the monitor's thread here."""
    udev = FakeUdev()
    printer = FakePrinter(unavailable=DeviceFailure.ABSENT)
    store = open_store(tmp_path / "kiosk.db", Role.SHELL)
    seen: list[tuple[str, str]] = []
    done = threading.Semaphore(0)

    def refresh(event: Hotplug) -> None:
        # CUPS's usb backend finds the printer again when it is back: the fake plays that part.
        printer.unavailable = None if event.action == "add" else DeviceFailure.OFFLINE
        write_health(store, snapshot({"printer": printer.status}, NOW))
        health = read_health(store, NOW)
        assert health is not None
        seen.append((event.action, health.get("printer").code))
        done.release()

    monitor = UdevHotplug(library=udev)
    assert monitor.start(refresh)
    try:
        udev.plug("1-1:1.0", PRINTER_INTERFACE)
        udev.plug("1-3:1.0", KEYBOARD_INTERFACE)  # ignored
        udev.unplug("1-1:1.0", PRINTER_INTERFACE)
        udev.plug("1-1:1.0", PRINTER_INTERFACE)
        for _ in range(3):
            assert done.acquire(timeout=5)
    finally:
        monitor.stop()
        store.close()
    assert seen == [("add", "ok"), ("remove", "offline"), ("add", "ok")]
    assert not done.acquire(timeout=0.3)  # nothing for the keyboard


def test_a_scanner_and_a_broken_callback_do_not_stop_the_monitor() -> None:
    udev = FakeUdev()
    scanner = FakeScanner()
    events = Events()

    def callback(event: Hotplug) -> None:
        events(event)
        if event.action == "remove":
            raise RuntimeError("a bug in the callback")

    monitor = UdevHotplug(library=udev)
    monitor.start(callback)
    try:
        udev.unplug("1-2", SCANNER_DEVICE)
        scanner.present = False
        assert events.next() == Hotplug("remove", "scanner", "1-2")
        assert snapshot({"scanner": scanner.status}, NOW).get("scanner").state == "absent"
        udev.plug("1-2", SCANNER_DEVICE)
        assert events.next() == Hotplug("add", "scanner", "1-2")  # still listening
    finally:
        monitor.stop()


def test_without_netlink_the_monitor_says_so_and_does_not_start(caplog: pytest.LogCaptureFixture) -> None:
    monitor = UdevHotplug(library=FakeUdev(broken=True))
    assert monitor.start(Events()) is False
    assert "devices.hotplug_unavailable" in caplog.text
    monitor.stop()  # nothing to stop: no error


def test_the_real_pyudev_listens_and_stops() -> None:
    """pyudev on this machine's netlink socket (no udev daemon here, so no event comes)."""
    monitor = UdevHotplug()
    events = Events()
    assert monitor.start(events)
    monitor.stop()
    assert events.queue.empty()
