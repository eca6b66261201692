"""Process environment the shell needs, set before any Qt module is imported.

Qt reads these once, when the QApplication and the Chromium browser process start,
so they must be in place before the first ``from PySide6 ...`` import.
"""

from __future__ import annotations

import logging
import os
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
