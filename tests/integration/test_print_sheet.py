"""The resident's print screen in the PDF viewer, offscreen: what it shows, its bounds, what it sends.

The viewer prints through the terminal's quota (``QuotaPrinter``) onto the fake printer of the
``Printer`` port (the cupsd tests are in test_shell_printing.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PySide6.QtCore import QPointF

from kiosk.core.devices import PrintOptions
from kiosk.core.ports import ManualClock
from kiosk.core.printing import PrintQuota, QuotaPrinter
from kiosk.core.settings import PrintingSettings
from kiosk.devices.fakes import FakePrinter
from tests.devicekit import make_pdf

pytestmark = [pytest.mark.shell, pytest.mark.devices]

SETTINGS = PrintingSettings(pages_per_session=10, pages_per_day=200, max_copies=3)


@pytest.fixture
def viewer(kiosk_app, qtbot, tmp_path: Path) -> Iterator:  # type: ignore[no-untyped-def,type-arg]
    from kiosk.shell.pdfviewer import PdfViewer

    document = tmp_path / "avis.pdf"
    document.write_bytes(make_pdf(5, "Avis"))
    quota = PrintQuota(SETTINGS, None, ManualClock(), ZoneInfo("Europe/Paris"))
    shown = PdfViewer(QuotaPrinter(FakePrinter(), quota))
    qtbot.addWidget(shown)
    shown.resize(1280, 760)
    shown.show()
    assert shown.open_document(document, "Avis")
    yield shown


def fake(viewer) -> FakePrinter:  # type: ignore[no-untyped-def]
    printer = viewer.printer.printer
    assert isinstance(printer, FakePrinter)
    return printer


def tap(button) -> None:  # type: ignore[no-untyped-def]
    assert button.isVisible() and button.isEnabled(), button.text()
    button.click()


def test_imprimer_opens_the_print_screen_beside_the_document_and_sends_nothing(qtbot, viewer) -> None:  # type: ignore[no-untyped-def]
    sheet = viewer.sheet
    assert not sheet.isVisible()
    tap(viewer.print_button)
    assert sheet.isVisible() and viewer.view.isVisible()  # the preview stays
    assert sheet.geometry().left() >= viewer.view.geometry().right()  # beside it, not over it
    assert not viewer.print_button.isEnabled()
    assert fake(viewer).jobs == {}
    assert sheet.count.text() == "Ce document a 5 pages."
    assert sheet.all_pages.text() == "✓  Toutes les pages" and sheet.all_pages.isChecked()
    assert sheet.current_page.text() == "○  Seulement la page affichée (page 1)"
    assert sheet.monochrome_button.text() == "✓  Noir et blanc"
    assert sheet.consequence.text() == "Cette impression fait 5 pages. Il vous en reste 10 gratuites aujourd'hui."
    assert (sheet.start_button.text(), sheet.cancel_button.text()) == ("Lancer l'impression", "Annuler")
    assert not sheet.range_row.isVisible()  # the range's steppers: for "Choisir les pages" only
    for button in (sheet.start_button, sheet.cancel_button, sheet.copies_less, sheet.copies_more):
        assert button.height() >= 64 and button.width() >= 64, button.text()
    for button in (sheet.all_pages, sheet.current_page, sheet.page_range, sheet.monochrome_button):
        assert button.height() >= 56 and button.width() >= 400, button.text()  # DESIGN: 48 at least


def test_a_range_and_copies_chosen_with_the_steppers_reach_the_printer(qtbot, viewer) -> None:  # type: ignore[no-untyped-def]
    sheet = viewer.sheet
    tap(viewer.print_button)
    tap(sheet.page_range)
    assert (sheet.first_value.text(), sheet.last_value.text()) == ("1", "5")
    tap(sheet.first_more)
    for _ in range(2):
        tap(sheet.last_less)
    tap(sheet.copies_more)
    assert (sheet.first_value.text(), sheet.last_value.text(), sheet.copies_value.text()) == ("2", "3", "2")
    assert sheet.consequence.text() == "Cette impression fait 4 pages. Il vous en reste 10 gratuites aujourd'hui."
    tap(sheet.start_button)
    assert not sheet.isVisible()
    qtbot.waitUntil(lambda: "C'est imprimé" in viewer.status.text(), timeout=5_000)
    [job] = fake(viewer).jobs.values()
    assert job.copies == 2 and job.options == PrintOptions(pages=((2, 3),), monochrome=True)
    assert viewer.printer.quota.session_pages == 4  # pages × copies
    assert viewer.print_button.isEnabled()


def test_steppers_stop_at_their_bounds(qtbot, viewer) -> None:  # type: ignore[no-untyped-def]
    sheet = viewer.sheet
    tap(viewer.print_button)
    tap(sheet.page_range)
    assert sheet.range_row.isVisible()
    assert not sheet.copies_less.isEnabled() and not sheet.first_less.isEnabled() and not sheet.last_more.isEnabled()
    for _ in range(2):
        tap(sheet.copies_more)
    assert sheet.copies_value.text() == "3" and not sheet.copies_more.isEnabled()  # [printing] max_copies
    for _ in range(4):
        tap(sheet.first_more)
    assert (sheet.first_value.text(), sheet.last_value.text()) == ("5", "5")
    assert not sheet.first_more.isEnabled() and not sheet.last_less.isEnabled()  # first never passes last
    assert sheet.page_range.isChecked()
    assert sheet.consequence.text().startswith("Cette impression fait 3 pages.")


def test_the_page_on_screen_alone_and_colour(qtbot, viewer) -> None:  # type: ignore[no-untyped-def]
    viewer.view.pageNavigator().jump(3, QPointF(), 0)  # the resident scrolled to page 4
    tap(viewer.print_button)
    sheet = viewer.sheet
    assert sheet.current_page.text() == "○  Seulement la page affichée (page 4)"
    tap(sheet.current_page)
    assert sheet.current_page.text().startswith("✓") and not sheet.all_pages.isChecked()
    tap(sheet.monochrome_button)
    assert sheet.monochrome_button.text() == "○  Noir et blanc (non : en couleur)"
    assert sheet.consequence.text().startswith("Cette impression fait 1 page.")
    tap(sheet.start_button)
    qtbot.waitUntil(lambda: bool(fake(viewer).jobs), timeout=5_000)
    [job] = fake(viewer).jobs.values()
    assert job.copies == 1 and job.options == PrintOptions(pages=((4, 4),), monochrome=False)


def test_over_the_free_pages_the_screen_says_it_will_wait_at_the_reception(qtbot, viewer) -> None:  # type: ignore[no-untyped-def]
    viewer.printer.quota.charge(8)  # 2 free pages left in this session
    tap(viewer.print_button)
    sheet = viewer.sheet
    assert sheet.consequence.text() == (
        "Cette impression fait 5 pages. Il vous en reste 2 gratuites aujourd'hui."
        " Elle sera gardée à l'accueil : demandez-la à l'accueil."
    )
    tap(sheet.current_page)  # one page fits
    assert sheet.consequence.text() == "Cette impression fait 1 page. Il vous en reste 2 gratuites aujourd'hui."
    tap(sheet.all_pages)
    tap(sheet.start_button)
    qtbot.waitUntil(lambda: bool(fake(viewer).jobs), timeout=5_000)
    [job] = fake(viewer).jobs.values()
    assert job.options.hold and job.options.pages == ()
    assert viewer.printer.quota.session_pages == 8  # a held job is not charged


def test_annuler_closes_the_screen_and_sends_nothing(qtbot, viewer) -> None:  # type: ignore[no-untyped-def]
    tap(viewer.print_button)
    tap(viewer.sheet.copies_more)
    tap(viewer.sheet.cancel_button)
    assert not viewer.sheet.isVisible() and viewer.print_button.isEnabled()
    assert fake(viewer).jobs == {}
    tap(viewer.print_button)  # opened again: a fresh choice
    assert viewer.sheet.copies_value.text() == "1"


def test_the_end_of_the_session_closes_the_screen(qtbot, viewer) -> None:  # type: ignore[no-untyped-def]
    tap(viewer.print_button)
    viewer.cancel_all()  # what the window does at the wipe
    assert not viewer.sheet.isVisible() and viewer.print_button.isEnabled()
    assert fake(viewer).jobs == {}
