"""In-window overlays: a site's messages, questions and the document chooser.

They are child widgets of the kiosk window — never separate or system windows — drawn
over the web content with a dimmed backdrop. Questions that a page needs answered
synchronously (``confirm()``, the file chooser) run a local event loop that the end of
the session always breaks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QEventLoop, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from kiosk.i18n import N_, Translator, translator


class Overlay(QWidget):
    """A dimmed full-size layer over its parent with a centred card."""

    finished = Signal(object)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("overlay")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.card = QFrame(self)
        self.card.setObjectName("overlayCard")
        self.card.setMaximumWidth(900)
        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(self.card, 4)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(1)
        self.body = QVBoxLayout(self.card)
        self.body.setContentsMargins(40, 32, 40, 32)
        self.body.setSpacing(20)
        self._loop: QEventLoop | None = None
        self._result: object = None
        self._t: Translator = translator("fr")
        self.hide()

    def set_translator(self, t: Translator) -> None:
        """The resident's language for the overlay's own words (set each time it is shown)."""
        self._t = t

    def _button(self, text: str, primary: bool = False) -> QPushButton:
        button = QPushButton(text, self.card)
        button.setObjectName("primaryButton" if primary else "secondaryButton")
        button.setMinimumHeight(80)
        button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        return button

    def _title(self, text: str) -> QLabel:
        label = QLabel(text, self.card)
        label.setObjectName("overlayTitle")
        label.setWordWrap(True)
        label.setTextFormat(Qt.TextFormat.PlainText)  # site text is never rendered as rich text
        return label

    def present(self) -> None:
        parent = self.parentWidget()
        if parent is not None:
            self.setGeometry(parent.rect())
        self.show()
        self.raise_()

    def done(self, result: object) -> None:
        self._result = result
        self.hide()
        self.finished.emit(result)
        if self._loop is not None:
            self._loop.quit()

    def wait(self) -> object:
        """Show and block (running the event loop) until answered or dismissed."""
        self.present()
        self._loop = QEventLoop()
        self._loop.exec()
        self._loop = None
        return self._result

    @property
    def waiting(self) -> bool:
        """True while a page is blocked in ``wait()`` for this overlay's answer."""
        return self._loop is not None

    def dismiss(self) -> None:
        """Close without an answer (the session ended, the page changed)."""
        if self.isVisible() or self._loop is not None:
            self.done(None)


class NoticeOverlay(Overlay):
    """A message from the site (``alert()``), with one "J'ai compris" button."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.heading = self._title("")
        self.heading.setObjectName("overlayHeading")
        self.message = self._title("")
        self.ok = self._button("", primary=True)
        self.ok.clicked.connect(lambda: self.done(True))
        self.body.addWidget(self.heading)
        self.body.addWidget(self.message)
        self.body.addWidget(self.ok)

    def show_message(self, text: str) -> None:
        self.heading.setText(self._t(N_("Message du site")))
        self.ok.setText(self._t(N_("J'ai compris")))
        self.message.setText(text)
        self.present()


class ConfirmOverlay(Overlay):
    """A question from the site (``confirm()``): Oui / Non."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.heading = self._title("")
        self.heading.setObjectName("overlayHeading")
        self.message = self._title("")
        self.yes = self._button("", primary=True)
        self.no = self._button("")
        self.yes.clicked.connect(lambda: self.done(True))
        self.no.clicked.connect(lambda: self.done(False))
        buttons = QHBoxLayout()
        buttons.addWidget(self.no)
        buttons.addWidget(self.yes)
        self.body.addWidget(self.heading)
        self.body.addWidget(self.message)
        self.body.addLayout(buttons)

    def ask(self, text: str) -> bool:
        self.heading.setText(self._t(N_("Le site vous pose une question")))
        self.yes.setText(self._t(N_("Oui")))
        self.no.setText(self._t(N_("Non")))
        self.message.setText(text)
        return self.wait() is True


class DocumentChooser(Overlay):
    """Lets the resident pick one of this session's documents — and nothing else."""

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.heading = self._title("")
        self.heading.setObjectName("overlayHeading")
        self.hint = self._title("")
        self.list_box = QVBoxLayout()
        self.cancel = self._button("")
        self.cancel.clicked.connect(lambda: self.done([]))
        self.scan: Callable[[], list[str]] | None = None  # "Scanner un document" (kiosk.shell.scanner)
        self.scan_button = self._button("", primary=True)
        self.scan_button.clicked.connect(self._scan)
        self.body.addWidget(self.heading)
        self.body.addWidget(self.hint)
        self.body.addLayout(self.list_box)
        self.body.addWidget(self.scan_button)
        self.body.addWidget(self.cancel)
        self._choices: list[QPushButton] = []

    def _scan(self) -> None:
        files = self.scan() if self.scan is not None else []
        if files and self.waiting:  # not if the session ended while scanning
            self.done(files)

    def choose(self, documents: Sequence[Path]) -> list[str]:
        for button in self._choices:
            button.deleteLater()
        self._choices = []
        if not documents:
            self.heading.setText(self._t(N_("Vous n'avez pas encore de document sur la borne.")))
            self.hint.setText(
                self._t(
                    N_(
                        "Ce site vous demande un fichier. Les documents que vous ouvrez pendant votre "
                        "session apparaîtront ici. Un membre de l'accueil peut vous aider à scanner vos papiers."
                    )
                )
            )
            self.cancel.setText(self._t(N_("J'ai compris")))
        else:
            self.heading.setText(self._t(N_("Quel document voulez-vous envoyer ?")))
            self.hint.setText(self._t(N_("Touchez le document à envoyer au site.")))
            self.cancel.setText(self._t(N_("Annuler")))
            for path in documents:
                button = self._button(path.name)
                button.setIcon(_thumbnail(path))
                button.setIconSize(QSize(150, 200))
                button.setMinimumHeight(220)
                button.clicked.connect(lambda _c=False, p=path: self.done([str(p)]))
                self.list_box.addWidget(button)
                self._choices.append(button)
        self.scan_button.setText(self._t(N_("Scanner un document")))
        self.scan_button.setVisible(self.scan is not None)
        result = self.wait()
        return list(result) if isinstance(result, list) else []


def _thumbnail(path: Path) -> QIcon:
    """A big picture of the document's first page (a scan, a downloaded PDF)."""
    if path.suffix.lower() != ".pdf":
        return QIcon(QPixmap(str(path)).scaled(150, 200, Qt.AspectRatioMode.KeepAspectRatio))
    from PySide6.QtPdf import QPdfDocument  # QtPdf on first use, as the PDF viewer

    document = QPdfDocument()
    document.load(str(path))
    image = document.render(0, QSize(150, 200)) if document.pageCount() else QImage()
    document.close()
    return QIcon(QPixmap.fromImage(image))
