"""Test-wide settings: Qt offscreen, no sandbox as root, loopback only."""

from __future__ import annotations

import os

# Must be set before anything imports PySide6.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")  # tests run as root in CI
os.environ.setdefault("QT_QUICK_BACKEND", "software")
os.environ["KIOSK_SPEECH"] = "off"  # no speech-dispatcher spawned by tests; read-aloud tests use a fake engine

# Hypothesis checks properties, not speed: its per-example deadline failed tests on a loaded
# machine (a 2-core CI box running the shell's tests beside). Timing belongs in `make bench`.
from hypothesis import settings

settings.register_profile("borne", deadline=None)
settings.load_profile("borne")

pytest_plugins = ["tests.shellkit", "tests.fedkit", "tests.devicekit", "tests.axekit", "tests.sanekit"]


_exit_status = 0


def pytest_sessionfinish(session, exitstatus):  # type: ignore[no-untyped-def]
    global _exit_status
    _exit_status = int(exitstatus)


def pytest_unconfigure(config):  # type: ignore[no-untyped-def]
    # PySide6 + QtWebEngine can crash in the garbage collector while the interpreter shuts
    # down ("bool_dealloc"), after every result has been reported. Leave without that phase
    # so the exit code is pytest's own.
    import sys

    if "PySide6.QtWebEngineCore" in sys.modules:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_exit_status)
