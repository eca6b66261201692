"""What "the resident is still contained" means, checked after every escape vector."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from PySide6.QtCore import QPoint, QRect, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QDialog, QFileDialog, QMessageBox

from kiosk.core.policy import Verdict


def files_under(root: Path) -> set[Path]:
    found: set[Path] = set()
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            found.add(Path(dirpath) / name)
    return found


class Snapshot:
    """Files in HOME and the test's temporary tree, to spot writes outside the session."""

    def __init__(self, roots: list[Path]) -> None:
        self.roots = roots
        self.before = {root: files_under(root) for root in roots}

    def new_files_outside(self, session_dir: Path | None) -> list[Path]:
        new: list[Path] = []
        for root in self.roots:
            for path in files_under(root) - self.before[root]:
                if session_dir is not None and path.is_relative_to(session_dir):
                    continue
                new.append(path)
        return new


# The test catalogue's origins (``TEST_TILES`` in tests/shellkit.py) written out again, so that
# "still inside the tile" does not rest only on the policy code under test:
# (scheme, host, with its sub-domains).
TILE_ORIGINS: dict[str, tuple[tuple[str, str, bool], ...]] = {
    "allowed": (("http", "allowed.test", True), ("http", "login.test", False)),
    "other": (("http", "other.test", False),),
    "camera": (("http", "cam.test", False),),
}


def inside_tile(url: str, tile: str) -> bool:
    """``url`` is on one of ``tile``'s origins, judged with urllib alone (no policy code).

    Stricter than the policy on purpose: no user info, only the default port, and no
    about:blank (a tile never shows an empty page at the top).
    """
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None or port not in (None, 80):
        return False
    host = parts.hostname or ""
    return any(
        parts.scheme == scheme and (host == base or (subdomains and host.endswith("." + base)))
        for scheme, base, subdomains in TILE_ORIGINS[tile]
    )


def assert_contained(kiosk, snapshot: Snapshot | None = None, *, qtbot=None, tile: str = "allowed") -> None:  # type: ignore[no-untyped-def]
    """``qtbot``: also ask the document itself where it is (``page.url()`` is the requested URL)."""
    url = kiosk.controller.current_url().toString(QUrl.ComponentFormattingOption.FullyEncoded)
    if not url.startswith("kiosk:") and kiosk.window.stack.currentWidget() is not kiosk.window.pdf_viewer:
        decision = kiosk.controller.current_policy().decide(url)
        assert decision.verdict is Verdict.ALLOW, f"outside allowed origins: {url}"
        assert inside_tile(url, tile), f"outside the tile's origins written in the test: {url}"
        if qtbot is not None and kiosk.controller.session_page() is not None:
            from tests.shellkit import run_js

            href = str(run_js(qtbot, kiosk.controller.session_page(), "location.href"))
            assert href.startswith("kiosk:") or inside_tile(href, tile), f"the document is elsewhere: {href}"
    # Exactly one visible window: ours.
    ours = kiosk.window.windowHandle()
    other_windows = [w for w in QGuiApplication.topLevelWindows() if w.isVisible() and w is not ours]
    assert not other_windows, f"second window: {other_windows}"
    other_widgets = [w for w in QApplication.topLevelWidgets() if w.isVisible() and w is not kiosk.window]
    assert not other_widgets, f"second window: {other_widgets}"
    # No system dialog of any kind.
    assert QApplication.activeModalWidget() is None
    for kind in (QDialog, QFileDialog, QMessageBox):
        assert not [d for d in kiosk.window.findChildren(kind) if d.isVisible()], kind
    # The top bar is still there, on top, and the window is neither hidden nor made full screen by a page.
    assert kiosk.window.isVisible()
    assert kiosk.window.top_bar.isVisible() and kiosk.window.top_bar.geometry().top() == 0
    assert_below_top_bar(kiosk)
    assert kiosk.window.top_bar.buttons["mediator"].isVisible()
    if snapshot is not None:
        session_dir = kiosk.controller.browser.dir if kiosk.controller.browser is not None else None
        leaked = snapshot.new_files_outside(session_dir)
        assert not leaked, f"written outside the session directory: {leaked}"


def assert_below_top_bar(kiosk) -> None:  # type: ignore[no-untyped-def]
    """No web view reaches into the top bar: pages are drawn only inside their view."""
    from PySide6.QtWebEngineWidgets import QWebEngineView

    bar = kiosk.window.top_bar.geometry()
    assert bar.height() > 0
    for view in kiosk.window.findChildren(QWebEngineView):
        if not view.isVisible():
            continue
        area = QRect(view.mapTo(kiosk.window, QPoint(0, 0)), view.size())
        assert not area.intersects(bar), f"{view.objectName() or view} covers the top bar: {area} / {bar}"
