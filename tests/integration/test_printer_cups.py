"""The CUPS adapter against a real cupsd (tests/devicekit.py) printing through cups-pdf."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.core.devices import (
    DeviceFailure,
    DeviceState,
    JobId,
    JobNotFound,
    JobState,
    PrinterUnavailable,
    PrintOptions,
    PrintRejected,
)
from kiosk.devices.cups import CupsPrinter
from tests.devicekit import PdfQueue, PrivateCups, free_port, make_pdf, page_count, wait_for

pytestmark = [pytest.mark.devices, pytest.mark.cups]


@pytest.fixture
def document(tmp_path: Path) -> Path:
    path = tmp_path / "attestation.pdf"
    path.write_bytes(make_pdf(3))
    return path


def settled(printer: CupsPrinter, job: JobId, *states: JobState):  # type: ignore[no-untyped-def]
    """The job's status once it reaches one of ``states``."""

    def reached():  # type: ignore[no-untyped-def]
        status = printer.job(job)
        return status if status.state in states else None

    return wait_for(reached)


def test_a_job_is_printed_and_the_pdf_comes_out_of_cups_pdf(pdf_queue: PdfQueue, document: Path) -> None:
    printer = CupsPrinter(pdf_queue.name, pdf_queue.cupsd.server)
    job = printer.submit(document, title="Borne", copies=1)
    status = settled(printer, job, JobState.DONE, JobState.FAILED)
    assert status.state is JobState.DONE and status.reason is None
    assert status.pages_done == 3
    [printed] = wait_for(pdf_queue.outputs)
    assert page_count(printed) == 3
    assert printer.status().state is DeviceState.READY


def test_the_default_destination_is_followed_and_options_reach_cups(pdf_queue: PdfQueue, document: Path) -> None:
    printer = CupsPrinter(None, pdf_queue.cupsd.server)  # the default destination: the fixture's queue
    assert printer.status().queue == pdf_queue.name
    job = printer.submit(document, title="Borne", copies=2, options=PrintOptions(pages=((2, 3),), monochrome=True))
    assert settled(printer, job, JobState.DONE).pages_done == 4  # two pages, twice
    attributes = pdf_queue.cupsd.connection().getJobAttributes(int(job))
    assert attributes["page-ranges"] == (2, 3)
    assert attributes["print-color-mode"] == "monochrome"


def test_a_stopped_printer_queues_the_job_until_staff_start_it(pdf_queue: PdfQueue, document: Path) -> None:
    printer = CupsPrinter(pdf_queue.name, pdf_queue.cupsd.server)
    conn = pdf_queue.cupsd.connection()
    conn.disablePrinter(pdf_queue.name)
    status = printer.status()
    assert status.state is DeviceState.OFFLINE and status.reasons == {DeviceFailure.STOPPED}
    assert status.health == ("error", DeviceFailure.STOPPED)
    job = printer.submit(document, title="Borne")
    waiting = printer.job(job)
    assert waiting.state is JobState.QUEUED and waiting.reason is DeviceFailure.STOPPED
    conn.enablePrinter(pdf_queue.name)
    assert settled(printer, job, JobState.DONE).state is JobState.DONE


def test_a_printer_refusing_jobs_is_offline_and_says_refused(pdf_queue: PdfQueue, document: Path) -> None:
    printer = CupsPrinter(pdf_queue.name, pdf_queue.cupsd.server)
    pdf_queue.cupsd.connection().rejectJobs(pdf_queue.name)
    status = printer.status()
    assert status.state is DeviceState.OFFLINE and DeviceFailure.REFUSED in status.reasons
    with pytest.raises(PrinterUnavailable) as refused:
        printer.submit(document, title="Borne")
    assert refused.value.reason is DeviceFailure.REFUSED


def test_a_held_job_waits_for_staff_then_prints(pdf_queue: PdfQueue, document: Path) -> None:
    printer = CupsPrinter(pdf_queue.name, pdf_queue.cupsd.server)
    by_staff = printer.submit(document, title="Borne", options=PrintOptions(hold=True))
    by_port = printer.submit(document, title="Borne", options=PrintOptions(hold=True))
    assert printer.job(by_staff).state is JobState.HELD and printer.job(by_port).state is JobState.HELD
    assert pdf_queue.outputs() == []
    pdf_queue.cupsd.connection().setJobHoldUntil(int(by_staff), "no-hold")  # staff, with lp tools
    assert settled(printer, by_staff, JobState.DONE).state is JobState.DONE
    printer.release(by_port)
    assert settled(printer, by_port, JobState.DONE).state is JobState.DONE
    assert len(wait_for(lambda: len(pdf_queue.outputs()) == 2 and pdf_queue.outputs())) == 2


def test_cancel_and_purge_leave_nothing_in_the_spool_or_the_history(pdf_queue: PdfQueue, document: Path) -> None:
    cupsd = pdf_queue.cupsd
    printer = CupsPrinter(pdf_queue.name, cupsd.server)
    done = printer.submit(document, title="Borne")
    settled(printer, done, JobState.DONE)
    cupsd.connection().disablePrinter(pdf_queue.name)
    waiting = printer.submit(document, title="Borne")
    kept = printer.submit(document, title="Borne")
    spool = cupsd.spool_files()
    assert any(p.name.startswith(f"d{int(waiting):05d}") for p in spool)  # the document is in cupsd's spool
    printer.cancel(kept, purge=False)
    assert printer.job(kept).state is JobState.CANCELLED
    for job in (done, waiting, kept):
        printer.cancel(job, purge=True)
        with pytest.raises(JobNotFound):
            printer.job(job)
    assert not [p for p in cupsd.spool_files() if p.name.split("-")[0] in {f"d{int(j):05d}" for j in (waiting, kept)}]
    assert not {int(done), int(waiting), int(kept)} & set(cupsd.jobs("all"))
    printer.cancel(done, purge=True)  # already gone: nothing to do, no error


def test_an_unknown_queue_is_absent(private_cupsd: PrivateCups, document: Path) -> None:
    printer = CupsPrinter("No-Such-Queue", private_cupsd.server)
    with pytest.raises(PrinterUnavailable) as absent:
        printer.submit(document, title="Borne")
    assert absent.value.reason is DeviceFailure.ABSENT
    assert printer.status().state is DeviceState.ABSENT
    with pytest.raises(JobNotFound):
        printer.job(JobId("999999"))


def test_a_missing_document_is_refused_before_cups(pdf_queue: PdfQueue, tmp_path: Path) -> None:
    printer = CupsPrinter(pdf_queue.name, pdf_queue.cupsd.server)
    with pytest.raises(PrintRejected) as rejected:
        printer.submit(tmp_path / "gone.pdf", title="Borne")
    assert rejected.value.reason is DeviceFailure.NO_DOCUMENT


def test_no_server_is_offline_for_cups_and_absent_for_auto(document: Path) -> None:
    nobody = f"127.0.0.1:{free_port()}"
    configured, detected = CupsPrinter("Borne-PDF", nobody), CupsPrinter(None, nobody, detect=True)
    assert configured.status().state is DeviceState.OFFLINE
    assert configured.status().reasons == {DeviceFailure.OFFLINE}
    assert detected.status().state is DeviceState.ABSENT
    with pytest.raises(PrinterUnavailable) as offline:
        configured.submit(document, title="Borne")
    assert offline.value.reason is DeviceFailure.OFFLINE


def test_a_server_without_any_printer_is_absent(document: Path) -> None:
    empty = PrivateCups.start()
    try:
        printer = CupsPrinter(None, empty.server, detect=True)
        assert printer.status().state is DeviceState.ABSENT
        with pytest.raises(PrinterUnavailable) as absent:
            printer.submit(document, title="Borne")
        assert absent.value.reason is DeviceFailure.ABSENT
    finally:
        empty.stop()
    assert not empty.root.exists()


def test_a_printer_out_of_paper_holds_the_job_and_says_why_until_refilled(
    private_cupsd: PrivateCups, document: Path
) -> None:
    queue = "Borne-No-Paper"
    refill = private_cupsd.add_paper_out_queue(queue)
    try:
        printer = CupsPrinter(queue, private_cupsd.server)
        job = printer.submit(document, title="Borne")
        waiting = wait_for(lambda: (s := printer.job(job)).reason and s)
        assert waiting.state is JobState.PRINTING and waiting.reason is DeviceFailure.PAPER_OUT
        status = printer.status()
        assert status.state is DeviceState.OFFLINE and status.reasons == {DeviceFailure.PAPER_OUT}
        assert "paper" in status.message.lower()
        refill.touch()
        assert settled(printer, job, JobState.DONE).state is JobState.DONE
        assert wait_for(lambda: printer.status().state is DeviceState.READY)
    finally:
        private_cupsd.connection().deletePrinter(queue)
