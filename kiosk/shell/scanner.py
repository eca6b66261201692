"""Scanning: scan → preview → turn, retake or add a page → save.

``ScanDesk`` sits between the controller and the window's ``DocumentChooser``: when a site asks
for a file it offers this session's documents that the site's ``accept`` allows, and a
"Scanner un document" button that opens ``ScanOverlay``. The top bar's "Scanner un document"
(``kiosk.shell.scanpanel``) opens the same overlay with no site to please: the resident saves
the document as a PDF or as JPEG pictures. The scanner is called off the GUI
thread (``Operation``); pages and saved files live in the session's directory only (raw pages
in ``pages/``, removed once saved; files in ``scans/``), which the end of the session deletes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from kiosk.core.devices import DeviceFailure, DeviceFault, Scanner, ScanOptions, ScanSource
from kiosk.core.scans import (
    ScanFormat,
    accepted_formats,
    export,
    export_for,
    rotate_page,
    scanner_message,
    session_scans,
)
from kiosk.core.stats.events import DeviceError, Event, PagesScanned
from kiosk.devices.absent import NoScanner
from kiosk.i18n import N_
from kiosk.shell.operations import Operation
from kiosk.shell.overlays import DocumentChooser, Overlay

log = logging.getLogger(__name__)

PAGES = "pages"  # raw scanned pages, inside the session's directory
Record = Callable[..., None]  # SessionController.record(event_type, **fields)


def _no_record(event_type: type[Event], **fields: object) -> None:
    return None


class PagePreview(QLabel):
    """The last scanned page, as large as the card leaves room for (at most 480 × 420): on a
    768 px high screen the buttons below it stay clear of it."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("scanPreview")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self._page = QPixmap()

    def sizeHint(self) -> QSize:
        return QSize(480, 420)  # not the pixmap's: the layout may shrink it, and it follows

    def minimumSizeHint(self) -> QSize:
        return QSize(120, 160)

    def show_page(self, page: QPixmap) -> None:
        self._page = page
        self._fit()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        if self._page.isNull():
            return
        box = QSize(min(480, self.width()), min(420, self.height()))
        mode, smooth = Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        self.setPixmap(self._page.scaled(box, mode, smooth))


class ScanOverlay(Overlay):
    """One document: its pages scanned one by one (or a feeder's at once), then saved."""

    def __init__(
        self, parent: QWidget, scanner: Scanner, limit_bytes: int, options: ScanOptions, record: Record = _no_record
    ) -> None:
        super().__init__(parent)
        self.setObjectName("scanOverlay")
        self.record = record  # usage statistics: pages scanned, device errors
        self.scanner, self.limit_bytes, self.options = scanner, limit_bytes, options
        self.heading = self._title("")
        self.heading.setObjectName("overlayHeading")
        self.hint = self._title("")
        self.preview = PagePreview(self.card)
        self.scan_button = self._button("", primary=True)
        self.rotate = self._button("")
        self.retake = self._button("")
        self.add = self._button("")
        self.save = self._button("", primary=True)
        self.save_jpeg = self._button("")  # the top bar's scan only: pictures rather than a PDF
        self.cancel = self._button("")
        self.scan_button.clicked.connect(lambda: self._scan(replace_last=False))
        self.add.clicked.connect(lambda: self._scan(replace_last=False))
        self.retake.clicked.connect(lambda: self._scan(replace_last=True))
        self.rotate.clicked.connect(self._rotate)
        self.save.clicked.connect(lambda: self._save(None if self._accept is not None else ScanFormat.PDF))
        self.save_jpeg.clicked.connect(lambda: self._save(ScanFormat.JPEG))
        self.cancel.clicked.connect(self._abandon)
        row = QHBoxLayout()
        for button in (self.rotate, self.retake, self.add):
            row.addWidget(button)
        saves = QHBoxLayout()  # side by side: the card fits a 768 px high screen
        for button in (self.save, self.save_jpeg):
            saves.addWidget(button)
        for widget in (self.heading, self.hint):
            self.body.addWidget(widget)
        self.body.addWidget(self.preview, 1)
        self.body.addLayout(row)
        self.body.addWidget(self.scan_button)
        self.body.addLayout(saves)
        self.body.addWidget(self.cancel)
        self._dir = Path()
        self._accept: Sequence[str] | None = ()
        self._pages: list[Path] = []
        self._busy = False
        self._one_page = False

    def run(self, session_dir: Path, accept: Sequence[str], *, one_page: bool = False) -> list[Path]:
        """Show the overlay until the resident saves (the new files) or gives up (``[]``).
        ``one_page``: no "Ajouter une page" (a site that takes one image, not a PDF)."""
        self.begin(session_dir, accept, one_page=one_page)
        result = self.wait()
        return result if isinstance(result, list) else []

    def begin(self, session_dir: Path, accept: Sequence[str] | None, *, one_page: bool = False) -> None:
        """Show the overlay and return; ``finished`` then carries the new files, or ``None``.
        ``accept`` ``None``: no site asked (the top bar), the resident saves a PDF or JPEGs."""
        self._dir, self._accept, self._pages, self._one_page = session_dir, accept, [], one_page
        if self.options.source is ScanSource.FEEDER:
            self._show(N_("Posez vos feuilles dans le chargeur du scanner, puis touchez « Scanner »."))
        else:
            self._show(N_("Posez votre document sur la vitre du scanner, face écrite vers le bas."))
        self.present()

    def done(self, result: object) -> None:
        if not isinstance(result, list):  # given up, or the session ended
            self.scanner.cancel()
            self._drop_pages()
        super().done(result)

    # -- steps -----------------------------------------------------------------------------
    def _show(self, heading: str, hint: str = "") -> None:
        self._busy = False
        have = bool(self._pages)
        self.heading.setText(self._t(heading))
        self.hint.setText(self._t(hint) if hint else "")
        self.hint.setVisible(bool(hint))
        self.scan_button.setText(self._t(N_("Scanner")))
        self.rotate.setText(self._t(N_("Tourner la page")))
        self.retake.setText(self._t(N_("Refaire cette page")))
        self.add.setText(self._t(N_("Ajouter une page")))
        free = self._accept is None
        self.save.setText(self._t(N_("Enregistrer en PDF") if free else N_("Enregistrer le document")))
        self.save_jpeg.setText(self._t(N_("Enregistrer en photo (JPEG)")))
        self.cancel.setText(self._t(N_("Annuler")))
        self.scan_button.setVisible(not have)
        for button in (self.rotate, self.retake, self.add, self.save):
            button.setVisible(have)
        self.add.setVisible(have and not self._one_page)
        self.save_jpeg.setVisible(have and self._accept is None)
        for button in (self.scan_button, self.rotate, self.retake, self.add, self.save, self.save_jpeg):
            button.setEnabled(True)
        self.preview.setVisible(have)
        if have:
            self.preview.show_page(QPixmap(str(self._pages[-1])))

    def _working(self, heading: str) -> None:
        self._busy = True
        self.heading.setText(self._t(heading))
        for button in (self.scan_button, self.rotate, self.retake, self.add, self.save, self.save_jpeg):
            button.setEnabled(False)

    def _scan(self, *, replace_last: bool) -> None:
        if self._busy:
            return
        self._working(N_("Numérisation en cours… Ne touchez pas au document."))
        pages_dir, options, scanner = self._dir / PAGES, self.options, self.scanner
        if self._one_page:  # a site that takes one picture: one sheet, even from the feeder
            options = replace(options, max_pages=1)
        Operation(self, lambda: scanner.scan(pages_dir, options), name="scan").success(
            lambda new: self._scanned(new, replace_last)
        ).failure(self._failed).run()

    def _scanned(self, new: list[Path], replace_last: bool) -> None:
        if self.isHidden():  # given up, or the session ended, while the scanner worked
            for page in new:
                page.unlink(missing_ok=True)
            return
        if replace_last and self._pages:
            self._pages.pop().unlink(missing_ok=True)
        self._pages.extend(new)
        log.info("scan.pages", extra={"pages": len(self._pages)})
        self._show(self._count(), N_("Vérifiez la page. Vous pouvez la tourner, la refaire ou ajouter une page."))

    def _count(self) -> str:
        return (
            N_("Votre document a une page.")
            if len(self._pages) == 1
            else self._t(N_("Votre document a {n} pages.")).format(n=len(self._pages))
        )

    def _rotate(self) -> None:
        if self._busy or not self._pages:
            return
        page = self._pages[-1]
        self._working(N_("Un instant…"))
        Operation(self, lambda: rotate_page(page, 1), name="scan.rotate").success(
            lambda _none: self._show(self._count())
        ).failure(self._failed).run()

    def _save(self, fmt: ScanFormat | None) -> None:
        """In ``fmt``, or (``None``) in the best format the site's ``accept`` allows."""
        if self._busy or not self._pages:
            return
        self._working(N_("Enregistrement du document…"))
        pages, accept, directory, limit = list(self._pages), self._accept or (), self._dir, self.limit_bytes

        def write() -> list[Path]:
            if fmt is None:
                return export_for(accept, pages, directory, limit_bytes=limit)
            return export(pages, fmt, directory, limit_bytes=limit)

        Operation(self, write, name="scan.save").success(self._saved).failure(self._failed).run()

    def _saved(self, files: list[Path]) -> None:
        if self.isHidden():  # the session ended while saving: nothing of it may stay
            for file in files:
                file.unlink(missing_ok=True)
            return
        log.info("scan.saved", extra={"files": len(files), "pages": len(self._pages)})
        self.record(PagesScanned, pages=len(self._pages))
        self._drop_pages()
        self.done(files)

    def _failed(self, error: Exception) -> None:
        reason = error.reason if isinstance(error, DeviceFault) else getattr(error, "reason", DeviceFailure.UNKNOWN)
        log.warning("scan.failed", extra={"reason": str(reason), "error": str(error)})
        if isinstance(error, DeviceFault):  # the scanner's fault, not the site's format or size
            self.record(DeviceError, device="scanner", error=str(reason))
        self._show(scanner_message(reason))

    def _abandon(self) -> None:
        self.done(None)  # which cancels a scan under way and drops the pages

    def _drop_pages(self) -> None:
        for page in self._pages:
            page.unlink(missing_ok=True)
        self._pages = []


class ScanDesk:
    """Offers scanning in the file chooser, and this session's scans the site accepts."""

    def __init__(
        self,
        chooser: DocumentChooser,
        scanner: Scanner,
        limit_bytes: int,
        options: ScanOptions,
        record: Record = _no_record,
    ) -> None:
        parent = chooser.parentWidget()
        assert parent is not None
        self.chooser = chooser
        self.can_scan = not isinstance(scanner, NoScanner)
        self.overlay = ScanOverlay(parent, scanner, limit_bytes, options, record)
        chooser.finished.connect(lambda _result: self.overlay.dismiss())  # the session ended meanwhile

    def offer(
        self, session_dir: Path, accept: Sequence[str], downloads: Sequence[Path], *, multiple: bool = False
    ) -> list[Path]:
        """What the chooser lists for a site whose input has ``accept`` (and takes ``multiple``
        files or one); arms its scan button."""
        formats = accepted_formats(accept)
        scans = [path for path in session_scans(session_dir) if path.suffix[1:] in formats]
        documents = scans + (list(downloads) if ScanFormat.PDF in formats else [])

        def scan_now() -> list[str]:
            self.overlay.set_translator(self.chooser._t)
            one_page = not multiple and ScanFormat.PDF not in formats  # one image: one page
            return [str(path) for path in self.overlay.run(session_dir, accept, one_page=one_page)]

        self.chooser.scan = scan_now if self.can_scan and formats else None
        return documents
