"""In-app PDF viewer: the only way a downloaded or printed-to-PDF document is shown.

No "save as", no link that leaves the kiosk: the resident can read, zoom, print and close.
"Imprimer" opens the print screen beside the document (``PrintSheet``: pages, copies, black and
white, what it costs); "Lancer l'impression" sends the job through the ``Printer`` port, followed
by a ``PrintTracker`` off the GUI thread, with the quota decided on the chosen pages × copies.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtPdf import QPdfDocument
from PySide6.QtPdfWidgets import QPdfView
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from kiosk.core.devices import DeviceFailure, JobId, JobState, printer_message
from kiosk.core.ports import Printer
from kiosk.core.print_choice import MAX_COPIES, PrintChoice, consequence_words
from kiosk.core.printing import HELD_WORDS, Decision, QuotaPrinter
from kiosk.devices.absent import NoPrinter
from kiosk.i18n import N_, Translator, translator
from kiosk.shell.printing import OVER, PrintTracker
from kiosk.shell.printsheet import PrintSheet

log = logging.getLogger(__name__)


PRINTED = N_("C'est imprimé. Vous pouvez prendre vos feuilles à l'imprimante.")
HELD = HELD_WORDS
CANCELLED = N_("L'impression a été annulée. Un membre de l'accueil peut vous aider.")


class PdfViewer(QWidget):
    """Shows one PDF with big "Imprimer" and "Fermer" buttons."""

    closed = Signal()
    printed = Signal(str, int)  # job id, pages: emitted when the printer says the job is DONE
    printHeld = Signal(str, int)  # job id, pages: the printer keeps the job for staff
    printFailed = Signal(str)  # a DeviceFailure value the printer met with a job (once per job and reason)

    def __init__(self, printer: Printer | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pdfViewer")
        self.printer: Printer = printer if printer is not None else NoPrinter("no printer given to the viewer")
        self.tracker = PrintTracker(self.printer, self)
        self.tracker.printed.connect(self.printed)
        self.tracker.held.connect(self.printHeld)
        self.tracker.problem.connect(lambda _job, reason: self.printFailed.emit(reason))
        self.tracker.progress.connect(self._on_progress)
        self._printing_pages = 0  # pages × copies of the job on its way
        self._printing_copies = 1
        self._decision: Decision | None = None  # the job on its way to the printer, if counted
        self._holding = False  # the job was sent held (over the quota)
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
        self.print_button.clicked.connect(self.open_print_sheet)
        self.zoom_button.clicked.connect(self._toggle_zoom)
        self.close_button.clicked.connect(self.close_document)
        self.sheet = PrintSheet(self)
        self.sheet.confirmed.connect(self.print_choice)
        self.sheet.cancelled.connect(self._close_sheet)

        bar = QHBoxLayout()
        bar.addWidget(self.title, 1)
        bar.addWidget(self.zoom_button)
        bar.addWidget(self.print_button)
        bar.addWidget(self.close_button)
        # A long name wraps (the print screen beside the document leaves it little room), and a
        # word longer than the room is cut rather than widening the bar.
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setWordWrap(True)
        document = QVBoxLayout()
        document.addLayout(bar)
        document.addWidget(self.status)
        document.addWidget(self.view, 1)
        layout = QHBoxLayout(self)  # the print screen beside the document, from top to bottom
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(16)
        layout.addLayout(document, 1)
        layout.addWidget(self.sheet)

    def set_translator(self, t: Translator) -> None:
        """The resident's language for the viewer's buttons and messages."""
        self._t = t
        self.print_button.setText(t(N_("Imprimer")))
        self.close_button.setText(t(N_("Fermer le document")))
        self.sheet.set_translator(t)
        self._label_zoom()

    @property
    def path(self) -> Path | None:
        return self._path

    def open_document(self, path: Path, title: str | None = None) -> bool:
        self._close_sheet()  # a choice made for another document means nothing for this one
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

    def current_page(self) -> int:
        """The page on screen, 1-based."""
        return min(max(1, self.view.pageNavigator().currentPage() + 1), max(1, self._document.pageCount()))

    def open_print_sheet(self) -> None:
        """ "Imprimer": the print screen beside the document (nothing is sent yet)."""
        if self._path is None or self.tracker.busy:
            return
        self.print_button.setEnabled(False)
        self.print_button.hide()  # the screen's own "Annuler" and "Lancer l'impression" take over
        self.sheet.open(
            PrintChoice.for_document(max(1, self._document.pageCount()), self.current_page(), self.max_copies()),
            self._consequence,
        )

    def max_copies(self) -> int:
        return self.printer.quota.settings.max_copies if isinstance(self.printer, QuotaPrinter) else MAX_COPIES

    def _consequence(self, choice: PrintChoice) -> str:
        decision = None
        if isinstance(self.printer, QuotaPrinter):
            decision = self.printer.quota.decide(choice.selected_pages, choice.copies)
        return consequence_words(self._t, choice.total, decision)

    def print_choice(self, choice: PrintChoice) -> None:
        """ "Lancer l'impression": send the chosen pages; the status line follows the job."""
        if self._path is None or self.tracker.busy:
            return
        self.print_button.setEnabled(False)
        self.print_button.show()
        self._printing_pages, self._printing_copies = choice.total, choice.copies
        hold = False
        if isinstance(self.printer, QuotaPrinter):  # decided here: the store belongs to this thread
            self._decision = self.printer.quota.decide(choice.selected_pages, choice.copies)
            hold = self._decision.hold
            if not hold:
                self.printer.quota.charge(self._decision.pages)  # given back if the printer refuses
        self._holding = hold
        log.info("print.chosen", extra={"pages": choice.selected_pages, "copies": choice.copies,
                                        "monochrome": choice.monochrome})  # fmt: skip
        self.tracker.submit(self._path, choice.total, copies=choice.copies, options=choice.options(hold=hold))

    def cancel_all(self) -> None:
        """Session end: cancel the session's print jobs and erase them from the printer."""
        self.tracker.cancel_all()
        self._close_sheet()
        self.print_button.setEnabled(True)
        self._decision, self._holding = None, False
        if isinstance(self.printer, QuotaPrinter):
            self.printer.quota.end_session()

    def _on_progress(self, job: str, state: str, reason: str) -> None:
        decision, self._decision = self._decision, None
        if decision is not None and isinstance(self.printer, QuotaPrinter):
            if job:
                pages = self._printing_pages // self._printing_copies
                self.printer.remember(JobId(job), decision, pages, self._printing_copies)
            elif not decision.hold:
                self.printer.quota.refund(decision.pages)
        if state in OVER:
            self.print_button.setEnabled(True)
        if state == JobState.DONE:
            text = self._t(PRINTED)
        elif state == JobState.HELD:
            text = self._t(HELD)
        elif state == JobState.CANCELLED:
            text = self._t(CANCELLED)
        elif reason:
            text = self._t(printer_message(DeviceFailure(reason)))
        elif self._holding:  # submitted held: it waits for staff from the start
            text = self._t(HELD)
        else:
            pages = self._printing_pages
            text = self._t.ngettext(
                "C'est parti : %(pages)d page à l'impression.", "C'est parti : %(pages)d pages à l'impression.", pages
            ) % {"pages": pages}
        self.status.setText(text)

    def close_document(self) -> None:
        self._close_sheet()
        self._document.close()
        self._path = None
        self.closed.emit()

    def _close_sheet(self) -> None:
        self.sheet.close_sheet()
        self.print_button.show()
        if not self.tracker.busy:
            self.print_button.setEnabled(True)

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
