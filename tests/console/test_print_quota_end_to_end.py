"""Over the free quota, end to end: the resident prints from the real shell (offscreen) past the
session's pages, the job is held in a real cupsd and the resident is told to ask at the reception;
the session ends and the held job stays; staff release it in the console (same database) and
cups-pdf produces the document with its pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.printing import HELD_WORDS
from kiosk.core.session import State
from tests.console.conftest import STAFF, ConsoleServer, audit_rows, form_token
from tests.devicekit import PdfQueue, page_count, wait_for
from tests.integration.test_shell_printing import open_document, recorded, shell_window
from tests.shellkit import close_kiosk, print_whole_document

pytestmark = [pytest.mark.console, pytest.mark.cups, pytest.mark.devices, pytest.mark.shell]


@pytest.fixture
def quota_window(kiosk_app, qtbot, tmp_path: Path, pdf_queue: PdfQueue, monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[no-untyped-def,type-arg]
    """A shell on the test's CUPS queue that prints 2 pages per session without asking."""
    monkeypatch.setenv("CUPS_SERVER", pdf_queue.cupsd.server)
    devices = f'printer = "cups"\nprinter_queue = "{pdf_queue.name}"\n\n[printing]\npages_per_session = 2'
    kiosk = shell_window(qtbot, tmp_path, devices)
    try:
        yield kiosk
    finally:
        close_kiosk(qtbot, kiosk, close_store=True)


def console_events(server: ConsoleServer, kind: str) -> list[dict[str, object]]:
    with server.console.context.db() as store:
        rows = store.conn.execute("SELECT data FROM events WHERE kind = ? ORDER BY id", (kind,)).fetchall()
    return [json.loads(data) for (data,) in rows]


def test_an_over_quota_job_waits_in_cups_until_staff_release_it(
    qtbot, console_server: ConsoleServer, quota_window, pdf_queue: PdfQueue, loopback_web
) -> None:  # type: ignore[no-untyped-def]
    kiosk, cupsd, viewer = quota_window, pdf_queue.cupsd, quota_window.window.pdf_viewer
    open_document(qtbot, kiosk, loopback_web)  # 3 pages: over the session's 2
    print_whole_document(viewer)
    qtbot.waitUntil(lambda: viewer.status.text() == HELD_WORDS, timeout=10_000)
    [number] = cupsd.jobs("not-completed")
    assert cupsd.connection().getJobAttributes(number)["job-state"] == 4  # held (IPP_JOB_HELD)
    qtbot.waitUntil(lambda: recorded(kiosk, "print_job") == [{"pages": 3, "status": "held"}], timeout=10_000)

    kiosk.controller.end_session()  # the resident walks to the reception
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    assert list(cupsd.jobs("not-completed")) == [number]  # a held job is not purged with the session
    assert pdf_queue.outputs() == []

    console_server.console.context.cups_server = cupsd.server
    staff = console_server.login(*STAFF)
    page = staff.get(console_server.url + "/impressions").text
    assert "Retenu pour l&#39;accueil" in page and "Document de la borne" in page
    assert "Attestation" not in page
    assert f'action="/impressions/{number}/liberer"' in page
    answer = staff.post(
        f"{console_server.url}/impressions/{number}/liberer", data={"csrf": form_token(page)}, allow_redirects=False
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/impressions?avis=liberee")
    wait_for(lambda: not cupsd.jobs("not-completed"))  # done: cups-pdf has written the whole file
    [paper] = pdf_queue.outputs()
    assert page_count(paper) == 3
    assert audit_rows(console_server, "print_release") == [(STAFF[0], f"job {number}")]
    assert console_events(console_server, "print_job")[-1] == {"pages": 3, "status": "released"}
    done = staff.get(console_server.url + "/impressions").text
    assert "Imprimé" in done and f'action="/impressions/{number}/annuler"' not in done


def test_a_job_within_the_quota_prints_at_once(qtbot, quota_window, pdf_queue: PdfQueue, loopback_web) -> None:  # type: ignore[no-untyped-def]
    kiosk, viewer = quota_window, quota_window.window.pdf_viewer
    kiosk.window.pdf_viewer.printer.quota.settings = kiosk.window.pdf_viewer.printer.quota.settings.model_copy(
        update={"pages_per_session": 3}
    )
    open_document(qtbot, kiosk, loopback_web)
    print_whole_document(viewer)
    qtbot.waitUntil(lambda: "C'est imprimé" in viewer.status.text(), timeout=20_000)
    assert kiosk.window.pdf_viewer.printer.quota.session_pages == 3
    print_whole_document(viewer)  # the session's 3 pages are spent: this one waits for staff
    qtbot.waitUntil(lambda: viewer.status.text() == HELD_WORDS, timeout=10_000)
