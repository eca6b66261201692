"""A printer's supplies and state as a real cupsd reports them (IPP ``marker-levels``,
``printer-state-reasons``), through the CUPS adapter into the device health snapshot's words;
a USB printer unplugged and plugged back.

The test queue's backend reports at each job what a real printer's backend does (``ATTR:
marker-levels=…``, ``STATE: +media-low-report``: tests/devicekit.py REPORTING_BACKEND); cupsd
keeps it as the queue's attributes, which pycups's getPrinterAttributes returns."""

from __future__ import annotations

import queue as queue_module
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.core.device_health import report, snapshot
from kiosk.core.devices import JobState
from kiosk.devices.cups import CupsPrinter
from kiosk.devices.fakes import FakeUdev
from kiosk.devices.fakes_udev import PRINTER_INTERFACE
from kiosk.devices.hotplug import Hotplug, UdevHotplug
from tests.devicekit import PrivateCups, make_pdf, wait_for

pytestmark = [pytest.mark.devices, pytest.mark.cups]

SUPPLIES = (
    "ATTR: marker-colors=#000000,none marker-names='Black Toner','Waste Toner Box'"
    " marker-types=toner,waste-toner marker-levels={toner},{waste}\n"
)


def print_one(printer: CupsPrinter, tmp_path: Path) -> None:
    pdf = tmp_path / "page.pdf"
    pdf.write_bytes(make_pdf(1))
    job = printer.submit(pdf, title="Borne")
    wait_for(lambda: printer.job(job).state.finished)


def test_marker_levels_and_state_reasons_from_cupsd_become_words(private_cupsd: PrivateCups, tmp_path: Path) -> None:
    queue = f"Borne-Supplies-{uuid.uuid4().hex[:6]}"
    reports = private_cupsd.add_reporting_queue(queue)
    try:
        printer = CupsPrinter(queue, private_cupsd.server)
        assert report(printer.status()).code == "ok"  # no supplies reported yet
        reports.write_text(SUPPLIES.format(toner=64, waste=95))
        print_one(printer, tmp_path)
        full = wait_for(lambda: (r := report(printer.status())).markers and r)
        assert (full.state, full.code) == ("ok", "ok")  # a nearly full waste box is not "toner bas"
        assert [(m.name, m.kind, m.level) for m in full.markers] == [
            ("Black Toner", "toner", 64),
            ("Waste Toner Box", "waste-toner", 95),
        ]

        reports.write_text(SUPPLIES.format(toner=9, waste=95))
        print_one(printer, tmp_path)
        low = wait_for(lambda: (r := report(printer.status())).code != "ok" and r)
        assert (low.state, low.code, low.words) == ("warning", "toner_low", "toner bas")
        assert low.markers[0].level == 9

        reports.write_text(SUPPLIES.format(toner=80, waste=10) + "STATE: +media-low-report\n")
        print_one(printer, tmp_path)
        paper = wait_for(lambda: (r := report(printer.status())).code == "paper_low" and r)
        assert (paper.state, paper.words) == ("warning", "papier bas")
        health = snapshot({"printer": printer.status}, datetime.now(UTC))
        assert health.get("printer").code == "paper_low"
    finally:
        private_cupsd.connection().deletePrinter(queue)


def test_a_disabled_printer_and_a_deleted_queue_in_the_snapshot(private_cupsd: PrivateCups, tmp_path: Path) -> None:
    queue = f"Borne-Supplies-{uuid.uuid4().hex[:6]}"
    private_cupsd.add_reporting_queue(queue)
    printer = CupsPrinter(queue, private_cupsd.server)
    try:
        private_cupsd.connection().disablePrinter(queue)
        stopped = report(printer.status())
        assert (stopped.state, stopped.code, stopped.words) == ("error", "stopped", "mis en pause")
    finally:
        private_cupsd.connection().deletePrinter(queue)
    gone = report(printer.status())  # the queue removed (a USB printer's queue deleted by staff)
    assert (gone.state, gone.code) == ("absent", "absent")


def test_a_usb_printer_unplugged_and_plugged_back_prints_again_without_a_restart(
    private_cupsd: PrivateCups, tmp_path: Path
) -> None:
    """The hotplug monitor (pyudev's fake: no udev here) and a real cupsd whose queue's backend
    behaves as CUPS's usb backend: the same adapter object prints before, during and after."""
    queue = f"Borne-USB-{uuid.uuid4().hex[:6]}"
    plugged = private_cupsd.add_usb_queue(queue)
    printer = CupsPrinter(queue, private_cupsd.server)
    udev, events = FakeUdev(), queue_module.Queue[str]()

    def refresh(event: Hotplug) -> None:  # what the shell's DeviceWatch does on each event
        events.put(f"{event.action}:{snapshot({'printer': printer.status}, datetime.now(UTC)).get('printer').code}")

    monitor = UdevHotplug(library=udev)
    monitor.start(refresh)
    pdf = tmp_path / "page.pdf"
    pdf.write_bytes(make_pdf(1))
    try:
        first = printer.submit(pdf, title="Borne")
        wait_for(lambda: printer.job(first).state is JobState.DONE)

        plugged.unlink()
        udev.unplug("1-1:1.0", PRINTER_INTERFACE)
        assert events.get(timeout=10) == "remove:ok"  # CUPS cannot know before it tries to print
        waiting = printer.submit(pdf, title="Borne")
        offline = wait_for(lambda: (r := report(printer.status())).code == "offline" and r)
        assert (offline.state, offline.words) == ("error", "ne répond pas (éteint, câble, réseau ?)")
        assert printer.job(waiting).state is JobState.PRINTING  # kept, waiting for the printer

        plugged.touch()
        udev.plug("1-1:1.0", PRINTER_INTERFACE)
        assert events.get(timeout=10).startswith("add:")
        wait_for(lambda: printer.job(waiting).state is JobState.DONE)
        assert report(printer.status()).code == "ok"
        again = printer.submit(pdf, title="Borne")  # the same adapter: nothing restarted
        wait_for(lambda: printer.job(again).state is JobState.DONE)
    finally:
        monitor.stop()
        plugged.touch()  # a job still waiting ends
        private_cupsd.connection().deletePrinter(queue)
