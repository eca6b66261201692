"""Test-wide settings: Qt offscreen, no sandbox as root, loopback only."""

from __future__ import annotations

import os

# Must be set before anything imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # tests run as root in CI
os.environ.setdefault("QT_QUICK_BACKEND", "software")

pytest_plugins = ["tests.shellkit"]
