"""What the session controller needs of the window: the ``KioskView`` protocol.

The window implements it; the controller only ever talks to this, so that the window knows
nothing of sessions and the controller nothing of widgets (tests may drive the controller with
any object of this shape).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtWebEngineCore import QWebEnginePage

from kiosk.i18n import Translator
from kiosk.shell.web.browser import SessionBrowser


class KioskView(Protocol):
    def show_lobby(self, page: str) -> None:
        """Show one of our pages full size, outside any resident's browser."""

    def showing_lobby(self) -> bool: ...

    def lobby_page(self) -> QWebEnginePage: ...

    def attach_session(self, browser: SessionBrowser) -> None:
        """Put a resident's browser in the window (not shown yet)."""

    def detach_session(self) -> SessionBrowser | None:
        """Take the resident's browser out of the window (the caller destroys it)."""

    def show_session(self) -> None: ...

    def pdf_shown(self) -> bool: ...

    def close_pdf(self) -> None: ...

    def show_layer(self, page: str) -> None:
        """One of our pages over the resident's page (idle warning, crash apology)."""

    def hide_layer(self) -> None: ...

    def visible_kiosk_page(self) -> QWebEnginePage | None: ...

    def reload_kiosk_pages(self) -> None: ...

    def set_zoom(self, factor: float, level: int) -> None: ...

    def set_translator(self, t: Translator) -> None: ...

    def set_in_session(self, in_session: bool) -> None: ...

    def dismiss_overlays(self) -> bool: ...

    def clear_screen(self) -> None: ...

    def show_notice(self, text: str) -> None: ...

    def ask_confirmation(self, text: str) -> bool: ...

    def choose_documents(self, documents: Sequence[Path]) -> list[str]: ...
