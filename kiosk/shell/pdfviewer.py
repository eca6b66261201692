"""In-app PDF viewer: the only way a downloaded or printed-to-PDF document is shown.

No "save as", no link that leaves the kiosk: the resident can read, zoom, print (through
the ``Printer`` port) and close.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.core.ports import Printer, PrinterError
from kiosk.i18n import N_, Translator, translator

log = logging.getLogger(__name__)


class PdfViewer(QWidget):
    """Shows one PDF with big "Imprimer" and "Fermer" buttons."""

    closed = Signal()
    printed = Signal(str, int)  # job id, pages
    printFailed = Signal(str)  # PrinterError.code

    def __init__(self, printer: Printer | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pdfViewer")
        self._printer = printer
        self._path: Path | None = None
        self._t: Translator = translator("fr")
        self._document = QPdfDocument(self)
        self.view = QPdfView(self)
        self.view.setDocument(self._document)
        self.view.setPageMode(QPdfView.PageMode.MultiPage)
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)

        self.title = QLabel(N_("Votre document"), self)
        self.title.setObjectName("pdfTitle")
        self.status = QLabel("", self)
        self.status.setObjectName("pdfStatus")
        self.status.setWordWrap(True)
        self.print_button = QPushButton(N_("Imprimer"), self)
        self.print_button.setObjectName("primaryButton")
        self.zoom_button = QPushButton(N_("Agrandir"), self)
        self.close_button = QPushButton(N_("Fermer le document"), self)
        for button in (self.print_button, self.zoom_button, self.close_button):
            button.setMinimumHeight(72)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.print_button.clicked.connect(self.print_document)
        self.zoom_button.clicked.connect(self._toggle_zoom)
        self.close_button.clicked.connect(self.close_document)

        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(self.zoom_button)
        bar.addWidget(self.print_button)
        bar.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addLayout(bar)
        layout.addWidget(self.status)
        layout.addWidget(self.view, 1)

    def set_translator(self, t: Translator) -> None:
        """The resident's language for the viewer's buttons and messages."""
        self._t = t
        self.print_button.setText(t(N_("Imprimer")))
        self.close_button.setText(t(N_("Fermer le document")))
        self._label_zoom()

    @property
    def path(self) -> Path | None:
        return self._path

    def open_document(self, path: Path, title: str | None = None) -> bool:
        self._document.close()
        error = self._document.load(str(path))
        if error != QPdfDocument.Error.None_:
            log.warning("pdf.open_failed", extra={"error": error.name})
            self._path = None
            self.status.setText(
                self._t(N_("Ce document ne peut pas être affiché. Un membre de l'accueil peut vous aider."))
            )
            return False
        self._path = path
        self.title.setText(title or self._t(N_("Votre document")))
        pages = self._document.pageCount()
        self.status.setText(
            self._t.ngettext(
                "%(pages)d page. Vous pouvez l'imprimer ou le fermer.",
                "%(pages)d pages. Vous pouvez l'imprimer ou le fermer.",
                pages,
            )
            % {"pages": pages}
        )
        self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self.view.pageNavigator().jump(0, QPointF(), 0)
        return True

    def page_count(self) -> int:
        return self._document.pageCount()

    def print_document(self) -> None:
        if self._path is None:
            return
        pages = self._document.pageCount()
        if self._printer is None:
            log.info("pdf.print_no_printer")
            self.status.setText(
                self._t(N_("Il n'y a pas d'imprimante sur cette borne. Un membre de l'accueil peut vous aider."))
            )
            return
        try:
            job = self._printer.print_pdf(self._path, self.title.text())
        except PrinterError as error:
            log.warning("pdf.print_failed", extra={"error": str(error)})
            self.printFailed.emit(error.code)
            self.status.setText(
                self._t(
                    N_(
                        "L'impression n'a pas pu partir. L'imprimante est peut-être éteinte. "
                        "Un membre de l'accueil peut vous aider."
                    )
                )
            )
            return
        self.status.setText(
            self._t.ngettext(
                "C'est parti : %(pages)d page à l'impression.", "C'est parti : %(pages)d pages à l'impression.", pages
            )
            % {"pages": pages}
        )
        self.printed.emit(job, pages)

    def close_document(self) -> None:
        self._document.close()
        self._path = None
        self.closed.emit()

    def _toggle_zoom(self) -> None:
        if self.view.zoomMode() == QPdfView.ZoomMode.FitToWidth:
            self.view.setZoomMode(QPdfView.ZoomMode.Custom)
            self.view.setZoomFactor(2.0)
        else:
            self.view.setZoomMode(QPdfView.ZoomMode.FitToWidth)
        self._label_zoom()

    def _label_zoom(self) -> None:
        zoomed = self.view.zoomMode() != QPdfView.ZoomMode.FitToWidth
        self.zoom_button.setText(self._t(N_("Réduire") if zoomed else N_("Agrandir")))
