"""The agent's printing housekeeping against a real cupsd: the resident's jobs held longer than
held_keep_hours are purged with their documents; before that, and another program's held job
always, they are left alone."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.agent.print_housekeeping import PrintHousekeeping
from kiosk.core.devices import JobId
from kiosk.core.ports import ManualClock
from kiosk.core.printing import known_jobs, record_job
from kiosk.core.settings import KioskSettings, PrintingSettings
from kiosk.core.store import Role, open_store
from tests.devicekit import PdfQueue, make_pdf

pytestmark = [pytest.mark.devices, pytest.mark.cups]


def test_a_held_job_nobody_released_is_purged_after_held_keep_hours(pdf_queue: PdfQueue, tmp_path: Path) -> None:
    cupsd = pdf_queue.cupsd
    pdf = pdf_queue.output.parent / f"{pdf_queue.name}-old.pdf"
    pdf.write_bytes(make_pdf(1))
    conn = cupsd.connection()
    try:
        jobs = [conn.printFile(pdf_queue.name, str(pdf), "Borne", {"job-hold-until": "indefinite"}) for _ in range(3)]
    finally:
        pdf.unlink()
    store = open_store(tmp_path / "kiosk.db", Role.AGENT)
    sent = datetime.now(UTC)
    first, second, foreign = jobs
    for job in (first, second):
        record_job(store, JobId(str(job)), pdf_queue.name, 1, 1, held=True, origin="resident", at=sent)
    clock = ManualClock(sent + timedelta(hours=3))
    patient = KioskSettings(printing=PrintingSettings(held_keep_hours=5))
    assert PrintHousekeeping(store, patient, clock, cups_server=cupsd.server).run() == 0  # 3 h < 5 h
    assert set(cupsd.jobs("all")) == set(jobs)
    settings = KioskSettings(printing=PrintingSettings(held_keep_hours=2))
    assert PrintHousekeeping(store, settings, clock, cups_server=cupsd.server).run() == 2  # 3 h > 2 h
    assert set(cupsd.jobs("all")) == {foreign}  # purged with their documents; not the other program's
    assert set(known_jobs(store)) == {str(first), str(second)}  # numbers kept a while (no title)
    clock.set_wall(sent + timedelta(days=3))
    PrintHousekeeping(store, settings, clock, cups_server=cupsd.server).run()
    assert known_jobs(store) == {}  # forgotten after two days
    store.close()


def test_a_hung_cups_does_not_hold_the_agent(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A server that takes the connection and never answers: run() gives up after its timeout
    (the scheduler's thread carries the beat the shell reads), and does not start a second call."""
    listener = socket.create_server(("127.0.0.1", 0))
    store = open_store(tmp_path / "kiosk.db", Role.AGENT)
    try:
        record_job(store, JobId("7"), "", 1, 1, held=True, origin="resident", at=datetime.now(UTC))
        server = f"127.0.0.1:{listener.getsockname()[1]}"
        housekeeping = PrintHousekeeping(store, KioskSettings(), ManualClock(), cups_server=server, timeout_s=1)
        started = time.monotonic()
        assert housekeeping.run() == 0
        assert housekeeping.run() == 0  # the first call still hangs: no second thread
        assert time.monotonic() - started < 5
        logged = [record.getMessage() for record in caplog.records]
        assert "agent.print_housekeeping_timed_out" in logged
        assert "agent.print_housekeeping_still_running" in logged
    finally:
        listener.close()
        store.close()
