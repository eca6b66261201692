"""The shell's device watch (kiosk/shell/devicewatch.py): USB plug events from the fake of pyudev
make the health be probed at once, off the GUI thread; the snapshot lands in the database for
the agent, and a problem that starts is counted once in the statistics."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QObject

from kiosk.core.device_health import read_health
from kiosk.core.devices import DeviceFailure, DeviceState, DeviceStatus
from kiosk.core.ports import ManualClock
from kiosk.core.stats.events import DeviceError
from kiosk.core.store import Role, Store, open_store
from kiosk.devices.fakes import FakePrinter, FakeUdev
from kiosk.devices.fakes_udev import PRINTER_INTERFACE
from kiosk.devices.hotplug import UdevHotplug
from kiosk.shell import devicewatch
from kiosk.shell.devicewatch import DeviceWatch

pytestmark = [pytest.mark.shell, pytest.mark.devices]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    store = open_store(tmp_path / "kiosk.db", Role.SHELL)
    yield store
    store.close()


def test_plug_unplug_plug_the_snapshot_and_the_statistics_follow(qtbot, store: Store) -> None:  # type: ignore[no-untyped-def]
    udev, printer = FakeUdev(), FakePrinter()
    recorded: list[tuple[type[Any], dict[str, Any]]] = []
    owner = QObject()
    watch = DeviceWatch(
        store,
        ManualClock(NOW),
        {"printer": printer.status},
        lambda kind, **fields: recorded.append((kind, fields)),
        hotplug=UdevHotplug(library=udev),
        every_s=3600,  # only the plugs (and the first probe) refresh in this test
        parent=owner,
    )
    try:
        with qtbot.waitSignal(watch.updated, timeout=5000):  # the first probe, soon after start
            pass
        assert watch.last is not None and watch.last.get("printer").code == "ok"

        printer.unavailable = DeviceFailure.OFFLINE  # CUPS's usb backend: the device went away
        with qtbot.waitSignal(watch.updated, timeout=5000) as unplugged:
            udev.unplug("1-1:1.0", PRINTER_INTERFACE)
        assert unplugged.args[0].get("printer").code == "offline"
        health = read_health(store, NOW)
        assert health is not None and health.get("printer").state == "error"
        assert recorded == [(DeviceError, {"device": "printer", "error": DeviceFailure.OFFLINE})]

        printer.unavailable = None
        with qtbot.waitSignal(watch.updated, timeout=5000) as plugged:
            udev.plug("1-1:1.0", PRINTER_INTERFACE)
        assert plugged.args[0].get("printer").code == "ok"
        health = read_health(store, NOW)
        assert health is not None and health.get("printer").code == "ok"
        assert len(recorded) == 1  # back: nothing more counted
    finally:
        watch.stop()
        owner.deleteLater()


def test_a_plug_is_probed_again_once_the_device_has_settled(qtbot, store: Store, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """CUPS's usb backend finds a replugged printer a few seconds later: a second probe follows."""
    monkeypatch.setattr(devicewatch, "SETTLE_MS", 300)
    udev, printer = FakeUdev(), FakePrinter(unavailable=DeviceFailure.OFFLINE)
    owner = QObject()
    watch = DeviceWatch(
        store, ManualClock(NOW), {"printer": printer.status}, lambda *a, **k: None,
        hotplug=UdevHotplug(library=udev), every_s=3600, parent=owner,
    )  # fmt: skip
    try:
        qtbot.waitUntil(lambda: watch.last is not None, timeout=5000)
        with qtbot.waitSignal(watch.updated, timeout=5000) as first:
            udev.plug("1-1:1.0", PRINTER_INTERFACE)
        assert first.args[0].get("printer").code == "offline"  # CUPS has not found it yet
        printer.unavailable = None
        with qtbot.waitSignal(watch.updated, timeout=5000) as settled:
            pass  # no other event: the settle probe
        assert settled.args[0].get("printer").code == "ok"
    finally:
        watch.stop()
        owner.deleteLater()


def test_the_touchscreen_status_from_start_is_kept_in_the_snapshot(qtbot, store: Store) -> None:  # type: ignore[no-untyped-def]
    owner = QObject()
    watch = DeviceWatch(store, ManualClock(NOW), {}, lambda *a, **k: None, every_s=3600, parent=owner)
    try:
        with qtbot.waitSignal(watch.updated, timeout=5000):
            watch.set_touchscreen(DeviceStatus(DeviceState.ABSENT, frozenset({DeviceFailure.ABSENT})))
        health = read_health(store, NOW)
        assert health is not None and health.get("touchscreen").state == "absent"
        assert health.devices.keys() == {"touchscreen"}
        watch.stop()  # the shell closing: nothing probed or written any more (the store closes next)
        with qtbot.assertNotEmitted(watch.updated, wait=300):
            watch.refresh()
    finally:
        watch.stop()
        owner.deleteLater()


def test_the_assembled_shell_watches_its_devices(store: Store, make_kiosk, qtbot) -> None:  # type: ignore[no-untyped-def]
    """build_kiosk wires the watch (with the real pyudev) when the shell has its database."""
    clock = ManualClock(NOW)
    kiosk = make_kiosk(store=store, clock=clock)
    assert kiosk.devices is not None
    qtbot.waitUntil(lambda: kiosk.devices.last is not None, timeout=10_000)  # the first probe, after start
    health = read_health(store, NOW)
    assert health is not None and health.get("printer").code == "ok"  # the shellkit's fake printer
    # The scanner is SANE's test backend, in force for the whole test run (tests/sanekit.py).
    assert health.get("scanner").state == "ok" and "ticket_printer" not in health.devices
