"""The ``kiosk:`` scheme: resident-facing internal pages rendered from Jinja2 templates.

URLs look like ``kiosk://home/`` (the host names the page) and ``kiosk://static/kiosk.css``.
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
from kiosk.pages import PageNotFound, RenderedPage

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
    """``kiosk://page/?a=b`` as a QUrl."""
    url = QUrl(f"{KIOSK_SCHEME}://{page}/")
    if query:
        from PySide6.QtCore import QUrlQuery

        q = QUrlQuery()
        for key, value in query.items():
            q.addQueryItem(key, value)
        url.setQuery(q)
    return url


class KioskSchemeHandler(QWebEngineUrlSchemeHandler):
    """Serves ``kiosk:`` pages and static files to the shell's own pages only."""

    def __init__(self, pages: PageSource, parent: object = None) -> None:
        super().__init__(parent)  # type: ignore[arg-type]
        self._pages = pages

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:
        url = job.requestUrl()
        initiator = job.initiator()
        if initiator.isValid() and initiator.scheme() not in ("", KIOSK_SCHEME):
            # A web page tried to load one of our pages or files.
            log.warning("kiosk_scheme.denied", extra={"initiator_host": initiator.host()})
            job.fail(QWebEngineUrlRequestJob.Error.RequestDenied)
            return
        page = url.host()
        try:
            if page == "static":
                rendered = self._pages.static(url.path().lstrip("/"))
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
