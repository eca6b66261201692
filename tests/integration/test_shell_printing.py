"""Printing from the real shell through a real cupsd: the window as `kiosk shell` builds it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.core.loading import load_config
from kiosk.core.ports import ManualClock
from kiosk.core.session import State
from tests.devicekit import PdfQueue, make_pdf, page_count, wait_for
from tests.integration.test_shell import start_in_tile
from tests.shellkit import close_kiosk, print_whole_document, write_test_config
from tests.webserver import LoopbackWeb, Response

pytestmark = [pytest.mark.shell, pytest.mark.devices, pytest.mark.cups]

DOCUMENT = make_pdf(3, "Attestation de Mme Martin")


def shell_window(qtbot, tmp_path: Path, devices: str):  # type: ignore[no-untyped-def]
    """The shell `kiosk shell` builds (assembly.build_kiosk), with ``devices`` as its [devices]."""
    from kiosk.shell.assembly import build_kiosk
    from kiosk.shell.web.scheme import page_name

    directory = write_test_config(tmp_path / "config")
    with (directory / "kiosk.toml").open("a", encoding="utf-8") as kiosk_toml:
        kiosk_toml.write(f'\n[paths]\ndata_dir = "{tmp_path / "data"}"\n\n[devices]\n{devices}\n')
    config = load_config(directory / "kiosk.toml", directory / "tiles.toml")
    kiosk = build_kiosk(config, tmp_path / "sessions", clock=ManualClock())
    kiosk.window.resize(1280, 800)
    kiosk.window.show()
    qtbot.waitUntil(lambda: page_name(kiosk.window.lobby_view.page().url()) == "attract", timeout=10_000)
    return kiosk


@pytest.fixture
def cups_window(kiosk_app, qtbot, tmp_path: Path, pdf_queue: PdfQueue, monkeypatch: pytest.MonkeyPatch) -> Iterator:  # type: ignore[no-untyped-def,type-arg]
    """A shell configured for the test's CUPS queue."""
    monkeypatch.setenv("CUPS_SERVER", pdf_queue.cupsd.server)
    kiosk = shell_window(qtbot, tmp_path, f'printer = "cups"\nprinter_queue = "{pdf_queue.name}"')
    try:
        yield kiosk
    finally:
        close_kiosk(qtbot, kiosk, close_store=True)


def recorded(kiosk, kind: str) -> list[dict[str, object]]:  # type: ignore[no-untyped-def]
    kiosk.controller.stats.flush()
    rows = kiosk.controller.store.conn.execute("SELECT data FROM events WHERE kind = ? ORDER BY id", (kind,))
    return [json.loads(data) for (data,) in rows]


def files_holding(root: Path, content: bytes) -> list[Path]:
    found = []
    for directory, _dirs, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            if path.suffix == ".pdf" or content in path.read_bytes():
                found.append(path)
    return found


def open_document(qtbot, kiosk, web: LoopbackWeb) -> None:  # type: ignore[no-untyped-def]
    web.add("www.allowed.test", "/attestation.pdf", Response(DOCUMENT, content_type="application/pdf"))
    start_in_tile(qtbot, kiosk, web, '<a id=a href="/attestation.pdf">Attestation</a>')
    kiosk.controller.session_page().runJavaScript("document.getElementById('a').click()")
    qtbot.waitUntil(lambda: kiosk.window.stack.currentWidget() is kiosk.window.pdf_viewer, timeout=10_000)


def test_printed_is_recorded_when_cups_has_printed_and_nothing_stays_after_the_session(
    qtbot, cups_window, pdf_queue: PdfQueue, loopback_web, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    kiosk, cupsd, viewer = cups_window, pdf_queue.cupsd, cups_window.window.pdf_viewer
    open_document(qtbot, kiosk, loopback_web)
    cupsd.connection().disablePrinter(pdf_queue.name)  # staff paused the printer
    print_whole_document(viewer)
    qtbot.waitUntil(lambda: "ne répond pas" in viewer.status.text(), timeout=10_000)
    [job] = cupsd.jobs("not-completed")
    assert recorded(kiosk, "print_job") == []  # submitted is not printed
    assert recorded(kiosk, "device_error") == [{"device": "printer", "error": "stopped"}]

    cupsd.connection().enablePrinter(pdf_queue.name)
    qtbot.waitUntil(lambda: "C'est imprimé" in viewer.status.text(), timeout=20_000)
    assert recorded(kiosk, "print_job") == [{"pages": 3, "status": "printed"}]
    [paper] = wait_for(pdf_queue.outputs)
    assert page_count(paper) == 3

    cupsd.connection().disablePrinter(pdf_queue.name)
    print_whole_document(viewer)  # a second print, still waiting when the resident leaves
    qtbot.waitUntil(lambda: len(cupsd.jobs("not-completed")) == 1, timeout=10_000)
    assert cupsd.spool_files()  # the document is in cupsd's spool while it waits
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    qtbot.waitUntil(lambda: not cupsd.jobs("all"), timeout=10_000)  # done and waiting jobs: purged
    assert cupsd.spool_files() == []
    assert job not in cupsd.jobs("all")
    assert recorded(kiosk, "print_job") == [{"pages": 3, "status": "printed"}]
    for root in (tmp_path / "data", tmp_path / "sessions"):
        assert files_holding(root, b"Attestation de Mme Martin") == [], root


def test_a_printer_out_of_paper_says_so_in_french(qtbot, cups_window, pdf_queue: PdfQueue, loopback_web) -> None:  # type: ignore[no-untyped-def]
    kiosk, viewer = cups_window, cups_window.window.pdf_viewer
    # The queue is swapped for one whose printer has no paper (same adapter, same name).
    cupsd = pdf_queue.cupsd
    cupsd.connection().deletePrinter(pdf_queue.name)
    refill = cupsd.add_paper_out_queue(pdf_queue.name)
    open_document(qtbot, kiosk, loopback_web)
    print_whole_document(viewer)
    qtbot.waitUntil(lambda: "plus de papier" in viewer.status.text(), timeout=15_000)
    assert viewer.status.text() == "L'imprimante n'a plus de papier. Un membre de l'accueil peut vous aider."
    assert recorded(kiosk, "device_error") == [{"device": "printer", "error": "paper_out"}]
    assert recorded(kiosk, "print_job") == []
    refill.touch()
    qtbot.waitUntil(lambda: "C'est imprimé" in viewer.status.text(), timeout=20_000)
    assert recorded(kiosk, "print_job") == [{"pages": 3, "status": "printed"}]


def test_without_a_printer_imprimer_says_so(qtbot, kiosk_app, tmp_path: Path, loopback_web) -> None:  # type: ignore[no-untyped-def]
    kiosk = shell_window(qtbot, tmp_path, 'printer = "none"')
    try:
        open_document(qtbot, kiosk, loopback_web)
        print_whole_document(kiosk.window.pdf_viewer)
        qtbot.waitUntil(lambda: "pas d'imprimante" in kiosk.window.pdf_viewer.status.text(), timeout=5_000)
        assert recorded(kiosk, "device_error") == []  # a terminal without printer is not a fault
    finally:
        close_kiosk(qtbot, kiosk, close_store=True)
