"""One function builds a session's browser profile, one tears it down.

Each resident gets a fresh off-the-record ``QWebEngineProfile``: cookies, storage, cache,
history, permissions and zoom live in memory only, and downloads land in the session's
own directory. Tearing down deletes the page before the profile (Qt requires that order)
and then the directory, so the next resident starts from nothing.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtWebEngineCore import (
    QWebEngineProfile,
    QWebEngineScript,
    QWebEngineSettings,
    QWebEngineUrlSchemeHandler,
)

from kiosk.core.policy import KIOSK_SCHEME, NavigationPolicy
from kiosk.shell.web.interceptor import SessionRequestInterceptor
from kiosk.shell.web.page import CLOSE_MARKER

log = logging.getLogger(__name__)

Attr = QWebEngineSettings.WebAttribute

# Settings of every page a resident sees. True/False is what a kiosk needs, not Qt's default.
KIOSK_WEB_ATTRIBUTES: dict[QWebEngineSettings.WebAttribute, bool] = {
    Attr.JavascriptEnabled: True,
    Attr.JavascriptCanOpenWindows: True,  # popups are redirected into the same view
    Attr.JavascriptCanAccessClipboard: False,
    Attr.JavascriptCanPaste: False,
    Attr.LocalContentCanAccessRemoteUrls: False,
    Attr.LocalContentCanAccessFileUrls: False,
    Attr.PluginsEnabled: False,
    Attr.PdfViewerEnabled: False,  # PDFs become downloads, opened in our own viewer
    Attr.FullScreenSupportEnabled: False,
    Attr.ScreenCaptureEnabled: False,
    Attr.NavigateOnDropEnabled: False,  # dropping a link must not navigate
    Attr.DnsPrefetchEnabled: False,
    Attr.HyperlinkAuditingEnabled: False,
    Attr.AllowRunningInsecureContent: False,
    Attr.AllowGeolocationOnInsecureOrigins: False,
    Attr.AllowWindowActivationFromJavaScript: False,
    Attr.WebRTCPublicInterfacesOnly: True,
    Attr.ErrorPageEnabled: False,  # our own French error pages instead of Chromium's
    Attr.FocusOnNavigationEnabled: True,
    Attr.TouchIconsEnabled: False,
    Attr.LocalStorageEnabled: True,
    Attr.ShowScrollBars: True,
    Attr.PlaybackRequiresUserGesture: True,
}


def apply_kiosk_settings(settings: QWebEngineSettings) -> None:
    for attribute, value in KIOSK_WEB_ATTRIBUTES.items():
        settings.setAttribute(attribute, value)
    settings.setUnknownUrlSchemePolicy(QWebEngineSettings.UnknownUrlSchemePolicy.DisallowUnknownUrlSchemes)
    settings.setDefaultTextEncoding("utf-8")


def build_profile(
    session_dir: Path | None,
    scheme_handler: QWebEngineUrlSchemeHandler,
    policy: Callable[[], NavigationPolicy],
    language: str = "fr",
    parent: QObject | None = None,
) -> QWebEngineProfile:
    """A fresh off-the-record profile; its downloads go to ``session_dir/downloads``."""
    profile = QWebEngineProfile(parent)  # no storage name: off the record
    assert profile.isOffTheRecord()
    profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
    profile.setPersistentCookiesPolicy(QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies)
    profile.setPersistentPermissionsPolicy(QWebEngineProfile.PersistentPermissionsPolicy.AskEveryTime)
    profile.setSpellCheckEnabled(False)
    profile.setPushServiceEnabled(False)
    profile.setHttpAcceptLanguage(f"{language},fr-FR;q=0.9,en;q=0.5")
    if session_dir is not None:
        downloads = session_dir / "downloads"
        downloads.mkdir(parents=True, exist_ok=True)
        profile.setDownloadPath(str(downloads))
    profile.installUrlSchemeHandler(KIOSK_SCHEME.encode(), scheme_handler)
    interceptor = SessionRequestInterceptor(policy, parent=profile)
    profile.setUrlRequestInterceptor(interceptor)
    apply_kiosk_settings(profile.settings())
    profile.scripts().insert(_close_script())
    return profile


def _close_script() -> QWebEngineScript:
    """``window.close()`` in a kiosk means "I am done here": send the resident home.

    Chromium ignores ``close()`` on windows a script did not open, and our popups are not
    windows, so the top frame's ``close`` asks the shell through a marker navigation that
    ``KioskPage`` recognises.
    """
    script = QWebEngineScript()
    script.setName("kiosk-window-close")
    script.setInjectionPoint(QWebEngineScript.InjectionPoint.DocumentCreation)
    script.setWorldId(QWebEngineScript.ScriptWorldId.MainWorld)
    script.setRunsOnSubFrames(False)
    script.setSourceCode("window.close = function () { location.href = '" + CLOSE_MARKER + "'; };")
    return script


def destroy_profile(profile: QWebEngineProfile, pages: list[QObject], session_dir: Path | None) -> None:
    """Delete pages, then the profile, then the session directory, synchronously."""
    for page in pages:
        page.deleteLater()
    # Deferred deletes run in the event loop; flush them now so the page is gone before
    # the profile (Qt warns and may crash otherwise) and both are gone before we return.
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    profile.removeAllUrlSchemeHandlers()
    profile.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    if session_dir is not None:
        remove_session_dir(session_dir)


def remove_session_dir(session_dir: Path) -> None:
    shutil.rmtree(session_dir, ignore_errors=True)
    if session_dir.exists():  # a file held open by a crashed process: try once more, then say so
        shutil.rmtree(session_dir, ignore_errors=True)
        if session_dir.exists():
            log.error("session_dir.not_removed", extra={"dir": str(session_dir)})
