"""Printing from the real shell through a real cupsd: the window as `kiosk shell` builds it."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pypdf import PdfReader

from kiosk.core.loading import load_config
from kiosk.core.ports import ManualClock
from kiosk.core.session import State
from tests.devicekit import PdfQueue, make_pdf, page_count, wait_for
from tests.integration.test_shell import start_in_tile
from tests.integration.test_shell_help import open_article
from tests.shellkit import close_kiosk, print_whole_document, run_js, write_test_config
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


FIVE_PAGES = make_pdf(5, "Avis de situation")
# A site's page that prints itself: five sections, one per sheet, and a print button.
PRINTABLE_PAGE = (
    "<style>section { break-after: page; font-size: 40px; } section:last-of-type { break-after: auto; }</style>"
    + "".join(f"<section>Récapitulatif, partie {n}</section>" for n in range(1, 6))
    + "<button id=p onclick='window.print()'>Imprimer</button>"
)


def choose_pages_two_and_three_twice(viewer) -> None:  # type: ignore[no-untyped-def]
    """On the print screen: "Choisir les pages", 2 to 3, two copies, "Lancer l'impression"."""
    sheet = viewer.sheet
    viewer.print_button.click()
    assert sheet.isVisible() and sheet.count.text() == "Ce document a 5 pages."
    sheet.page_range.click()
    sheet.first_more.click()
    sheet.last_less.click()
    sheet.last_less.click()
    sheet.copies_more.click()
    assert (sheet.first_value.text(), sheet.last_value.text(), sheet.copies_value.text()) == ("2", "3", "2")
    assert sheet.consequence.text().startswith("Cette impression fait 4 pages.")
    sheet.start_button.click()


def no_dialog_shown() -> bool:
    """Nothing but the kiosk's own window on screen: no print dialog, no window of its own."""
    from PySide6.QtWidgets import QApplication, QDialog

    shown = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    return not any(isinstance(w, QDialog) for w in shown) and all(w.objectName() == "kioskWindow" for w in shown)


def test_pages_two_and_three_twice_from_the_viewer_come_out_of_cups(
    qtbot, cups_window, pdf_queue: PdfQueue, loopback_web
) -> None:  # type: ignore[no-untyped-def]
    kiosk, viewer = cups_window, cups_window.window.pdf_viewer
    loopback_web.add("www.allowed.test", "/avis.pdf", Response(FIVE_PAGES, content_type="application/pdf"))
    start_in_tile(qtbot, kiosk, loopback_web, '<a id=a href="/avis.pdf">Avis</a>')
    kiosk.controller.session_page().runJavaScript("document.getElementById('a').click()")
    qtbot.waitUntil(kiosk.window.pdf_shown, timeout=10_000)
    choose_pages_two_and_three_twice(viewer)
    qtbot.waitUntil(lambda: "C'est imprimé" in viewer.status.text(), timeout=20_000)
    [paper] = wait_for(pdf_queue.outputs)
    assert page_count(paper) == 4  # pages 2 and 3, twice
    assert recorded(kiosk, "print_job") == [{"pages": 4, "status": "printed"}]
    assert viewer.printer.quota.session_pages == 4


def test_window_print_of_a_page_goes_through_the_print_screen_to_cups(
    qtbot, cups_window, pdf_queue: PdfQueue, loopback_web
) -> None:  # type: ignore[no-untyped-def]
    kiosk, viewer = cups_window, cups_window.window.pdf_viewer
    start_in_tile(qtbot, kiosk, loopback_web, PRINTABLE_PAGE)
    kiosk.controller.session_page().runJavaScript("document.getElementById('p').click()")
    qtbot.waitUntil(kiosk.window.pdf_shown, timeout=10_000)
    assert viewer.page_count() == 5 and no_dialog_shown()
    assert viewer.path.parent == kiosk.controller.browser.dir / "downloads"  # wiped with the session
    choose_pages_two_and_three_twice(viewer)
    qtbot.waitUntil(lambda: "C'est imprimé" in viewer.status.text(), timeout=20_000)
    [paper] = wait_for(pdf_queue.outputs)
    assert page_count(paper) == 4
    assert no_dialog_shown()


def test_window_print_in_a_frame_prints_that_frame_through_the_print_screen(
    qtbot, cups_window, pdf_queue: PdfQueue, loopback_web
) -> None:  # type: ignore[no-untyped-def]
    kiosk, viewer = cups_window, cups_window.window.pdf_viewer
    loopback_web.page("www.allowed.test", "/form", PRINTABLE_PAGE)
    start_in_tile(
        qtbot, kiosk, loopback_web, "<h1>Démarche</h1><iframe id=f src='/form' width=600 height=400></iframe>"
    )
    script = "document.getElementById('f').contentDocument.getElementById('p').click()"
    qtbot.waitUntil(
        lambda: bool(run_js(qtbot, kiosk.controller.session_page(), f"!!({script.replace('.click()', '')})"))
    )
    kiosk.controller.session_page().runJavaScript(script)
    qtbot.waitUntil(kiosk.window.pdf_shown, timeout=10_000)
    assert viewer.page_count() == 5 and no_dialog_shown()  # the frame's five sections, not the outer page
    print_whole_document(viewer)
    qtbot.waitUntil(lambda: "C'est imprimé" in viewer.status.text(), timeout=20_000)
    [paper] = wait_for(pdf_queue.outputs)
    assert page_count(paper) == 5


def test_the_help_guides_print_button_goes_through_the_print_screen_to_cups(
    qtbot, cups_window, pdf_queue: PdfQueue
) -> None:  # type: ignore[no-untyped-def]
    kiosk, viewer = cups_window, cups_window.window.pdf_viewer
    kiosk.controller.start_session()
    open_article(qtbot, kiosk, "carte-vitale")
    label = run_js(qtbot, kiosk.controller.session_page(), "document.getElementById('print-guide').textContent.trim()")
    assert label == "Imprimer ce guide"
    kiosk.controller.session_page().runJavaScript("document.getElementById('print-guide').click()")
    qtbot.waitUntil(kiosk.window.pdf_shown, timeout=10_000)
    assert viewer.title.text() == "Page à imprimer" and no_dialog_shown()
    pages = viewer.page_count()
    text = " ".join(page.extract_text() for page in PdfReader(viewer.path).pages)
    assert "carte Vitale" in text and "Imprimer ce guide" not in text  # the guide, not the buttons around it
    viewer.print_button.click()
    assert viewer.sheet.isVisible() and no_dialog_shown()
    viewer.sheet.start_button.click()
    qtbot.waitUntil(lambda: "C'est imprimé" in viewer.status.text(), timeout=20_000)
    [paper] = wait_for(pdf_queue.outputs)
    assert page_count(paper) == pages
