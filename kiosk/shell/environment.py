"""Process environment the shell needs, set before any Qt module is imported.

Qt reads these once, when the QApplication and the Chromium browser process start,
so they must be in place before the first ``from PySide6 ...`` import.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys
from collections.abc import MutableMapping, Sequence

log = logging.getLogger(__name__)

# Chromium switches for every shell. Each one closes a door a resident (or a hostile
# page) could otherwise open; none of them costs a resident anything.
BASE_CHROMIUM_FLAGS: tuple[str, ...] = (
    "--disable-background-networking",  # no phoning home between sessions
    "--disable-component-update",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-pings",  # <a ping> hyperlink auditing
    "--disable-breakpad",
    "--autoplay-policy=user-gesture-required",
)


def prepare_environment(
    env: MutableMapping[str, str] | None = None,
    *,
    extra_chromium_flags: Sequence[str] = (),
    is_root: bool | None = None,
) -> None:
    """Set Qt/Chromium environment variables for the shell (idempotent)."""
    env = os.environ if env is None else env
    # The on-screen keyboard lives inside our window (cage has no virtual-keyboard protocol).
    env.setdefault("QT_IM_MODULE", "qtvirtualkeyboard")
    env.setdefault("QT_VIRTUALKEYBOARD_STYLE", "default")
    if env.get("QT_QPA_PLATFORM") == "offscreen":
        # No GPU and no display: render Qt Quick (the keyboard) in software.
        env.setdefault("QT_QUICK_BACKEND", "software")
    root = os.geteuid() == 0 if is_root is None else is_root
    if root and env.get("QTWEBENGINE_DISABLE_SANDBOX") != "1":
        # Chromium refuses to start its sandbox as root. The appliance runs the shell as
        # the unprivileged user "kiosk" with the sandbox on; root only happens on a
        # developer's machine or in CI.
        env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
        log.warning("shell.sandbox_disabled", extra={"why": "running as root"})
    flags = env.get("QTWEBENGINE_CHROMIUM_FLAGS", "").split()
    for flag in (*BASE_CHROMIUM_FLAGS, *extra_chromium_flags):
        if flag not in flags:
            flags.append(flag)
    env["QTWEBENGINE_CHROMIUM_FLAGS"] = " ".join(flags)
    # Chromium's own logging to stderr is noise in the journal; our JSON logs say what matters.
    # Neither is ours to fix: Qt's own virtual keyboard QML overrides a member of its base type
    # (qt.qml.propertyCache.append, PopupList.contentWidth), and Qt Multimedia says so when the
    # optional PipeWire library is absent (qt.multimedia.symbolsresolver).
    env.setdefault(
        "QT_LOGGING_RULES",
        "qt.webenginecontext.debug=false;qt.qpa.*=false;qt.qml.propertyCache.append=false;"
        "qt.multimedia.symbolsresolver=false",
    )


NONE_RESERVE = 1 << 48


def shield_none() -> None:
    """Give ``None`` references for centuries (CPython before 3.12 only).

    PySide6 6.12 returns ``None`` from Qt's void methods without a reference of its own on
    CPython 3.11, where ``None`` is not yet immortal: every ``timer.start()``, ``setText()`` or
    ``runJavaScript()`` takes one reference from ``None`` for good. The shell starts with about
    20,000 and its watchdog pings the resident's page each second, so it aborted with "Fatal
    Python error: none_dealloc" after about five hours of sessions (``make bench``'s soak found
    it; ``tests/integration/test_shell_lifetimes.py`` shows it). CPython 3.12 makes ``None``
    immortal, which is what this does by hand until PySide is fixed: ``ob_refcnt`` is the first
    field of every object in a release build of CPython.
    """
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython" or hasattr(sys, "gettotalrefcount"):
        return  # immortal already; or not the object layout written above (PyPy, a debug build)
    refcount = ctypes.c_ssize_t.from_address(id(None))
    if refcount.value < NONE_RESERVE:
        refcount.value += NONE_RESERVE
