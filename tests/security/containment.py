"""What "the resident is still contained" means, checked after every escape vector."""

from __future__ import annotations

import os
from pathlib import Path

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


def assert_contained(kiosk, snapshot: Snapshot | None = None) -> None:  # type: ignore[no-untyped-def]
    url = kiosk.controller.current_url().toString()
    if not url.startswith("kiosk:") and kiosk.window.stack.currentWidget() is not kiosk.window.pdf_viewer:
        decision = kiosk.controller.current_policy().decide(url)
        assert decision.verdict is Verdict.ALLOW, f"outside allowed origins: {url}"
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
    assert kiosk.window.top_bar.buttons["mediator"].isVisible()
    if snapshot is not None:
        session_dir = kiosk.controller.browser.dir if kiosk.controller.browser is not None else None
        leaked = snapshot.new_files_outside(session_dir)
        assert not leaked, f"written outside the session directory: {leaked}"
