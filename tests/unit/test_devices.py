"""Device ports without devices: CUPS keyword mapping, the adapters the config chooses, fakes."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.core.devices import (
    DeviceFailure,
    DeviceState,
    DeviceStatus,
    DeviceWarning,
    JobId,
    JobState,
    PrinterUnavailable,
    PrintOptions,
    ScannerError,
    ScanOptions,
    ScanSource,
    Ticket,
    TicketPrinterError,
    printer_message,
)
from kiosk.core.settings import DevicesSettings
from kiosk.devices.absent import NoPrinter, NoScanner, NoTicketPrinter
from kiosk.devices.cups import CupsPrinter, classify_reasons, job_status, parse_server, printer_status
from kiosk.devices.escpos import EscposTicketPrinter
from kiosk.devices.fakes import FakePrinter, FakeScanner, FakeTicketPrinter
from kiosk.devices.select import build_devices, build_printer, build_ticket_printer

pytestmark = [pytest.mark.unit, pytest.mark.devices]


@pytest.mark.parametrize(
    ("reasons", "failures", "warnings"),
    [
        (["none"], set(), set()),
        (["media-empty-error"], {DeviceFailure.PAPER_OUT}, set()),
        (["media-needed"], {DeviceFailure.PAPER_OUT}, set()),  # no suffix: an error (RFC 8011)
        (["media-empty-report"], set(), set()),  # a report is not a problem
        (["offline-report"], {DeviceFailure.OFFLINE}, set()),  # what CUPS backends send
        (["paused"], {DeviceFailure.STOPPED}, set()),
        (["media-jam-error", "door-open-error"], {DeviceFailure.JAM, DeviceFailure.DOOR_OPEN}, set()),
        (["toner-empty-error", "media-low-warning"], {DeviceFailure.TONER_OUT}, {DeviceWarning.PAPER_LOW}),
        (["marker-supply-low-warning", "toner-low-report"], set(), {DeviceWarning.TONER_LOW}),
        (["connecting-to-device"], set(), set()),  # a network printer waking up
        (["cups-missing-filter-warning"], set(), set()),
        (["fuser-over-temp-error"], {DeviceFailure.UNKNOWN}, set()),
    ],
)
def test_printer_state_reasons_map_onto_the_closed_set(reasons, failures, warnings) -> None:  # type: ignore[no-untyped-def]
    assert classify_reasons(reasons) == (failures, warnings)


def test_cups_job_states_map_onto_the_port() -> None:
    job = JobId("7")
    assert job_status(job, {"job-state": 3, "job-state-reasons": "none"}).state is JobState.QUEUED
    assert job_status(job, {"job-state": 4, "job-state-reasons": "job-hold-until-specified"}).state is JobState.HELD
    paper = job_status(job, {"job-state": 5, "job-printer-state-reasons": ["media-empty-error"]})
    assert (paper.state, paper.reason) == (JobState.PRINTING, DeviceFailure.PAPER_OUT)
    done = job_status(
        job, {"job-state": 9, "job-state-reasons": "job-completed-successfully", "job-impressions-completed": 2}
    )
    assert (done.state, done.reason, done.pages_done) == (JobState.DONE, None, 2)
    bad = job_status(job, {"job-state": 8, "job-state-reasons": "document-format-error"})
    assert (bad.state, bad.reason) == (JobState.FAILED, DeviceFailure.BAD_DOCUMENT)
    retried = job_status(job, {"job-state": 6, "job-state-reasons": "job-completed-with-errors"})
    assert (retried.state, retried.reason) == (JobState.FAILED, DeviceFailure.UNKNOWN)
    stopped = job_status(job, {"job-state": 3, "job-state-reasons": "printer-stopped"})
    assert (stopped.state, stopped.reason) == (JobState.QUEUED, DeviceFailure.STOPPED)
    assert job_status(job, {"job-state": 7}).state is JobState.CANCELLED


def test_printer_status_reads_state_acceptance_and_markers() -> None:
    status = printer_status(
        "Accueil",
        {
            "printer-state": 3,
            "printer-state-reasons": ["toner-low-warning"],
            "printer-is-accepting-jobs": True,
            "marker-names": ["Black Toner", "Waste"],
            "marker-types": ["toner", "waste-toner"],
            "marker-levels": [8, -1],
        },
    )
    assert status.state is DeviceState.READY and status.usable
    assert status.warnings == {DeviceWarning.TONER_LOW}
    assert [(m.kind, m.level) for m in status.markers] == [("toner", 8), ("waste-toner", None)]
    assert status.health == ("warning", DeviceWarning.TONER_LOW)
    refusing = printer_status("Accueil", {"printer-state": 4, "printer-is-accepting-jobs": False})
    assert refusing.state is DeviceState.OFFLINE and refusing.reasons == {DeviceFailure.REFUSED}
    assert not refusing.usable
    assert printer_status("Accueil", {"printer-state": 4}).state is DeviceState.BUSY


@pytest.mark.parametrize(
    ("server", "parsed"),
    [
        (None, (None, None)),
        ("", (None, None)),
        ("127.0.0.1:6310", ("127.0.0.1", 6310)),
        ("print.local", ("print.local", None)),
        ("[::1]:631", ("::1", 631)),
        ("/run/cups/cups.sock", ("/run/cups/cups.sock", None)),
    ],
)
def test_cups_server_spellings(server, parsed) -> None:  # type: ignore[no-untyped-def]
    assert parse_server(server) == parsed


def test_config_chooses_real_adapters_never_a_fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CUPS_SERVER", "127.0.0.1:6399")
    auto = build_printer(DevicesSettings())
    assert isinstance(auto, CupsPrinter) and auto.detect and auto.queue is None
    assert (auto.host, auto.port) == ("127.0.0.1", 6399)
    named = build_printer(DevicesSettings(printer="cups", printer_queue="Accueil"))
    assert isinstance(named, CupsPrinter) and not named.detect and named.queue == "Accueil"
    none = build_printer(DevicesSettings(printer="none"))
    assert isinstance(none, NoPrinter) and none.status().state is DeviceState.ABSENT
    devices = build_devices(DevicesSettings(scanner="none"))
    assert isinstance(devices.scanner, NoScanner) and isinstance(devices.ticket_printer, NoTicketPrinter)
    for device in (devices.printer, devices.scanner, devices.ticket_printer):
        assert "Fake" not in type(device).__name__
    for kind, where in (("network", "10.0.0.9:9100"), ("usb", "04b8:0202"), ("serial", "/dev/ttyS0")):
        ticket = {"host": "10.0.0.9", "usb_vendor": 0x04B8, "usb_product": 0x0202, "serial_device": "/dev/ttyS0"}
        escpos = build_ticket_printer(DevicesSettings.model_validate({"ticket_printer": kind, "ticket": ticket}))
        assert isinstance(escpos, EscposTicketPrinter) and where in escpos.where  # built without a device


def test_absent_devices_say_absent(tmp_path: Path) -> None:
    with pytest.raises(PrinterUnavailable) as absent:
        NoPrinter().submit(tmp_path / "x.pdf", title="Borne")
    assert absent.value.reason is DeviceFailure.ABSENT
    NoPrinter().cancel(JobId("1"))  # nothing to cancel, never an error at session end
    assert NoScanner().devices() == [] and NoScanner().status().health == ("absent", None)
    with pytest.raises(TicketPrinterError):
        NoTicketPrinter().print_ticket(Ticket("A1"))


def test_every_failure_has_french_words_for_residents() -> None:
    for reason in DeviceFailure:
        message = printer_message(reason)
        assert message and "accueil" in message, reason
    assert "papier" in printer_message(DeviceFailure.PAPER_OUT)
    assert "pas d'imprimante" in printer_message(DeviceFailure.ABSENT)


def test_fake_printer_keeps_no_copy_and_follows_the_port(tmp_path: Path) -> None:
    document = tmp_path / "attestation.pdf"
    document.write_bytes(b"%PDF-1.4 resident's document")
    printer = FakePrinter(finish_at_once=False)
    job = printer.submit(document, title="Borne", copies=2)
    held = printer.submit(document, title="Borne", options=PrintOptions(hold=True))
    assert printer.job(job).state is JobState.QUEUED and printer.job(held).state is JobState.HELD
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["attestation.pdf"]  # no copy anywhere
    printer.wait_on(job, DeviceFailure.PAPER_OUT)
    assert printer.job(job).reason is DeviceFailure.PAPER_OUT
    printer.finish(job)
    printer.release(held)
    assert printer.job(job).state is JobState.DONE and printer.job(held).state is JobState.QUEUED
    printer.cancel(job)
    assert printer.purged == [job]
    printer.unavailable = DeviceFailure.OFFLINE
    assert printer.status().reasons == {DeviceFailure.OFFLINE}
    with pytest.raises(PrinterUnavailable):
        printer.submit(document, title="Borne")


def test_fake_scanner_writes_pages_and_fails_like_a_scanner(tmp_path: Path) -> None:
    scanner = FakeScanner(feeder_pages=2)
    pages = scanner.scan(tmp_path, ScanOptions(source=ScanSource.FEEDER, max_pages=5))
    assert [p.name for p in pages] == ["scan-1-1.png", "scan-1-2.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pages)
    with pytest.raises(ScannerError) as empty:
        scanner.scan(tmp_path, ScanOptions(source=ScanSource.FEEDER))
    assert empty.value.reason is DeviceFailure.NO_DOCUMENT
    scanner.failure = DeviceFailure.JAM
    assert scanner.status().reasons == {DeviceFailure.JAM}
    with pytest.raises(ValueError):
        ScanOptions(resolution_dpi=5000)


def test_fake_ticket_printer_runs_out_of_paper() -> None:
    printer = FakeTicketPrinter(paper=5)
    printer.print_ticket(Ticket("A12", ("Espace France Services", "09:41")))
    assert printer.status().warnings == {DeviceWarning.PAPER_LOW}
    for _ in range(4):
        printer.print_ticket(Ticket("A13"))
    assert printer.status().reasons == {DeviceFailure.PAPER_OUT}
    with pytest.raises(TicketPrinterError) as out:
        printer.print_ticket(Ticket("A14"))
    assert out.value.reason is DeviceFailure.PAPER_OUT
    with pytest.raises(ValueError):
        Ticket("A" * 9)


def test_device_status_health_is_what_the_heartbeat_sends() -> None:
    assert DeviceStatus(DeviceState.READY).health == ("ok", None)
    assert DeviceStatus(DeviceState.ABSENT).health == ("absent", None)
    jammed = DeviceStatus(DeviceState.OFFLINE, frozenset({DeviceFailure.UNKNOWN, DeviceFailure.JAM}))
    assert jammed.health == ("error", DeviceFailure.JAM)  # the most telling reason
    assert DeviceStatus(DeviceState.OFFLINE).health == ("error", DeviceFailure.OFFLINE)
