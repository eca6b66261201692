"""A resident's browser: session directory, profile, page and view, born and destroyed together."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QPoint, Qt, Signal
from PySide6.QtWebEngineCore import (
    QWebEngineDownloadRequest,
    QWebEngineFrame,
    QWebEnginePage,
    QWebEngineUrlSchemeHandler,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QMenu, QWidget

from kiosk.core.policy import NavigationPolicy
from kiosk.i18n import N_
from kiosk.shell.web.page import KioskPage, PageHost
from kiosk.shell.web.profile import build_profile, destroy_profile

if TYPE_CHECKING:
    from kiosk.core.tiles import Tile

log = logging.getLogger(__name__)

MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
_UNSAFE_NAME = re.compile(r"[^\w.\- ]+", re.UNICODE)


def safe_document_name(suggested: str, existing: set[str]) -> str:
    """A plain file name ending in .pdf, unique in the session's downloads."""
    stem = Path(suggested.replace("\\", "/")).name
    stem = _UNSAFE_NAME.sub("_", stem).strip(" ._") or "document"
    if stem.lower().endswith(".pdf"):
        stem = stem[:-4]
    stem = stem[:80] or "document"
    name = f"{stem}.pdf"
    n = 2
    while name in existing:
        name = f"{stem} ({n}).pdf"
        n += 1
    return name


class SessionBrowser(QObject):
    """Everything a resident's browsing leaves behind lives in this one object."""

    pdfReady = Signal(str, str)  # path, title
    downloadRefused = Signal()

    def __init__(
        self,
        session_dir: Path,
        scheme_handler: QWebEngineUrlSchemeHandler,
        host: PageHost,
        parent_widget: QWidget | None,
        language: str = "fr",
        translate: Callable[[str], str] = str,
    ) -> None:
        """``translate``: the resident's language for the few words the browser shows itself."""
        super().__init__()
        self._translate = translate
        self.dir = session_dir
        session_dir.mkdir(mode=0o700, parents=True, exist_ok=False)
        self.tile: Tile | None = None
        self.policy = NavigationPolicy.internal_only()
        self.profile = build_profile(session_dir, scheme_handler, lambda: self.policy, language)
        self.page = KioskPage(self.profile, host)
        self.view = QWebEngineView(parent_widget)
        self.view.setObjectName("sessionView")
        self.view.setPage(self.page)
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._safe_context_menu)
        self.view.setAcceptDrops(False)
        self.profile.downloadRequested.connect(self._on_download)
        self._print_count = 0
        self.page.pdfPrintingFinished.connect(self._on_printed_to_pdf)
        self.page.printRequested.connect(self.print_page)
        self.page.printRequestedByFrame.connect(self.print_frame)  # window.print() in an iframe

    @property
    def downloads_dir(self) -> Path:
        return self.dir / "downloads"

    def documents(self) -> list[Path]:
        """This session's documents a site may receive: finished PDFs, newest first."""
        found = [p for p in self.downloads_dir.glob("*.pdf") if p.is_file()]
        return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)

    def set_tile(self, tile: Tile | None, policy: NavigationPolicy) -> None:
        self.tile = tile
        self.policy = policy

    # -- printing and downloads -----------------------------------------------------------
    def print_page(self) -> None:
        """``window.print()``: render the page to a PDF of this session, shown in our viewer,
        whose "Imprimer" opens our print screen. No system print dialog is ever shown."""
        self.page.printToPdf(str(self._next_print_target()))

    def print_frame(self, frame: QWebEngineFrame) -> None:
        """``window.print()`` in a frame (a form inside a site's page): that frame alone, likewise."""
        frame.printToPdf(str(self._next_print_target()))

    def _next_print_target(self) -> Path:
        self._print_count += 1
        return self.downloads_dir / f"page-imprimee-{self._print_count}.pdf"

    def _on_printed_to_pdf(self, path: str, ok: bool) -> None:
        if ok:
            self.pdfReady.emit(path, self._translate(N_("Page à imprimer")))
        else:
            log.warning("print_to_pdf.failed")

    def _on_download(self, request: QWebEngineDownloadRequest) -> None:
        mime = request.mimeType().lower()
        name = request.suggestedFileName()
        is_pdf = mime == "application/pdf" or name.lower().endswith(".pdf")
        if request.isSavePageDownload() or not is_pdf or request.totalBytes() > MAX_DOWNLOAD_BYTES:
            log.info("download.refused", extra={"mime": mime, "host": request.url().host()})
            request.cancel()
            self.downloadRefused.emit()
            return
        existing = {p.name for p in self.downloads_dir.iterdir()} if self.downloads_dir.exists() else set()
        request.setDownloadDirectory(str(self.downloads_dir))
        request.setDownloadFileName(safe_document_name(name, existing))
        request.isFinishedChanged.connect(lambda r=request: self._on_download_finished(r))
        request.accept()
        log.info("download.accepted", extra={"host": request.url().host()})

    def _on_download_finished(self, request: QWebEngineDownloadRequest) -> None:
        if request.state() != QWebEngineDownloadRequest.DownloadState.DownloadCompleted:
            log.info("download.interrupted", extra={"reason": request.interruptReasonString()})
            return
        path = Path(request.downloadDirectory()) / request.downloadFileName()
        if path.stat().st_size > MAX_DOWNLOAD_BYTES or not _looks_like_pdf(path):
            os.unlink(path)
            self.downloadRefused.emit()
            return
        self.pdfReady.emit(str(path), path.stem)

    # -- context menu ------------------------------------------------------------------------
    def _safe_context_menu(self, pos: QPoint) -> None:
        menu = QMenu(self.view)
        for label, action in (
            (N_("Copier"), QWebEnginePage.WebAction.Copy),
            (N_("Coller"), QWebEnginePage.WebAction.Paste),
            (N_("Tout sélectionner"), QWebEnginePage.WebAction.SelectAll),
        ):
            item = menu.addAction(self._translate(label))
            item.triggered.connect(lambda _c=False, a=action: self.page.triggerAction(a))
        menu.exec(self.view.mapToGlobal(pos))

    # -- the end -------------------------------------------------------------------------------
    def destroy(self) -> None:
        """Destroy view, page, profile and directory, in that order, before returning."""
        self.view.hide()
        self.view.setParent(None)
        destroy_profile(self.profile, [self.view, self.page], self.dir)
        self.deleteLater()


def _looks_like_pdf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(5) == b"%PDF-"
    except OSError:
        return False
