"""The shell's Qt speaks on stderr only about problems: `make test` and the journal must show
failures, not hundreds of lines of QML warnings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.shell
REPO = Path(__file__).resolve().parents[2]

# In a process of its own: Qt warns about a QML type once per process, and the test process has
# loaded the keyboard long before.
LOAD_KEYBOARD = """
from kiosk.shell.environment import prepare_environment
prepare_environment(is_root=False)
from PySide6.QtWidgets import QApplication
app = QApplication([])
from kiosk.shell.keyboard import OnScreenKeyboard
keyboard = OnScreenKeyboard()
print("keyboard available:", keyboard.available)
app.processEvents()
"""


def test_loading_the_on_screen_keyboard_prints_no_qml_warning() -> None:
    env = {k: v for k, v in os.environ.items() if k != "QT_LOGGING_RULES"}  # the shell's own rules
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
    done = subprocess.run(
        [sys.executable, "-c", LOAD_KEYBOARD], env=env, cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "keyboard available: True" in done.stdout  # the QML was loaded, so it could have warned
    assert [line for line in done.stderr.splitlines() if line.startswith("qt.")] == []
