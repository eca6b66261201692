"""The ``kiosk:`` scheme: resident-facing internal pages rendered from Jinja2 templates.

URLs look like ``kiosk://borne/home`` and ``kiosk://borne/static/kiosk.css``: every page on
one host, hence one site, so that the lobby's pages share one renderer (``kiosk.pages.address``).
Only the shell itself or another ``kiosk:`` page may load them: a third-party site that
points a link or an iframe at ``kiosk://…`` gets nothing (the initiator is checked, as
qutebrowser does for ``qute://``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import parse_qsl

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QUrl
from PySide6.QtWebEngineCore import (
    QWebEngineUrlRequestJob,
    QWebEngineUrlScheme,
    QWebEngineUrlSchemeHandler,
)

from kiosk.core.policy import KIOSK_SCHEME
from kiosk.pages import address
from kiosk.pages.address import Kind, Place
from kiosk.pages.files import PageNotFound, RenderedPage

log = logging.getLogger(__name__)


class PageSource(Protocol):
    """Renders a page for the resident at the screen (their language, their contrast)."""

    def render(self, page: str, params: Mapping[str, str]) -> RenderedPage: ...

    def static(self, path: str) -> RenderedPage: ...


def register_kiosk_scheme() -> None:
    """Declare the scheme to Chromium. Must run before the QApplication exists."""
    if QWebEngineUrlScheme.schemeByName(KIOSK_SCHEME.encode()).name():
        return
    scheme = QWebEngineUrlScheme(KIOSK_SCHEME.encode())
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    scheme.setFlags(
        QWebEngineUrlScheme.Flag.SecureScheme
        | QWebEngineUrlScheme.Flag.LocalScheme
        | QWebEngineUrlScheme.Flag.LocalAccessAllowed
        | QWebEngineUrlScheme.Flag.ContentSecurityPolicyIgnored
    )
    QWebEngineUrlScheme.registerScheme(scheme)


def kiosk_url(page: str, **query: str) -> QUrl:
    """``kiosk://borne/page?a=b`` as a QUrl."""
    return QUrl(address.page_url(page, **query))


def kiosk_place(url: QUrl) -> Place | None:
    """What a ``kiosk:`` URL names (a page, a static file, a verb); None for any other URL."""
    return address.place(url.host(), url.path()) if url.scheme() == KIOSK_SCHEME else None


def page_name(url: QUrl) -> str:
    """The ``kiosk:`` page a URL shows (``""`` for any other URL)."""
    where = kiosk_place(url)
    return where.name if where is not None and where.kind is Kind.PAGE else ""


class KioskSchemeHandler(QWebEngineUrlSchemeHandler):
    """Serves ``kiosk:`` pages and static files to the shell's own pages only."""

    def __init__(self, pages: PageSource, parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self._pages = pages

    def set_source(self, pages: PageSource) -> None:
        """Serve ``pages`` from now on (the first screen's pages give way to the real ones)."""
        self._pages = pages

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:
        url = job.requestUrl()
        initiator = job.initiator()
        if initiator.isValid() and initiator.scheme() not in ("", KIOSK_SCHEME):
            # A web page tried to load one of our pages or files.
            log.warning("kiosk_scheme.denied", extra={"initiator_host": initiator.host()})
            job.fail(QWebEngineUrlRequestJob.Error.RequestDenied)
            return
        where = kiosk_place(url)
        page = where.name if where is not None else ""
        try:
            if where is None or where.kind is Kind.ACTION:
                raise PageNotFound(url.toString())  # a verb is never loaded: its page intercepts it
            if where.kind is Kind.STATIC:
                rendered = self._pages.static(where.name)
            else:
                rendered = self._pages.render(page, dict(parse_qsl(url.query(), keep_blank_values=True)))
        except PageNotFound:
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        except Exception:  # a template bug must not take the shell down
            log.exception("kiosk_scheme.render_failed", extra={"page": page})
            job.fail(QWebEngineUrlRequestJob.Error.RequestFailed)
            return
        buffer = QBuffer(parent=job)
        buffer.setData(QByteArray(rendered.body))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        job.reply(rendered.content_type.split(";")[0].encode(), buffer)
