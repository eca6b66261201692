"""Entry point of the shell: environment, QApplication, configuration, window."""

from __future__ import annotations

import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

from kiosk.shell.environment import prepare_environment, shield_none

if TYPE_CHECKING:
    from PySide6.QtWidgets import QApplication

    from kiosk.core.loading import ConfigError, LoadResult
    from kiosk.shell.assembly import Kiosk
    from kiosk.shell.window import KioskWindow

log = logging.getLogger(__name__)

STYLE_PATH = Path(__file__).with_name("style.qss")


@dataclass
class ShellOptions:
    config_dir: Path
    windowed: bool = False
    size: tuple[int, int] | None = None
    chromium_flags: list[str] = field(default_factory=list)
    screenshot_path: Path | None = None  # where SIGUSR1 saves a picture of the screen


def create_application(argv: list[str] | None = None, chromium_flags: list[str] | None = None) -> QApplication:
    """The QApplication, with the environment and the kiosk: scheme in place first."""
    prepare_environment(extra_chromium_flags=chromium_flags or [])
    shield_none()
    from PySide6.QtWidgets import QApplication

    from kiosk.shell.web.scheme import register_kiosk_scheme

    register_kiosk_scheme()
    app = cast(QApplication, QApplication.instance() or QApplication(argv or [sys.argv[0]]))
    app.setApplicationName("borne")
    app.setApplicationDisplayName("Borne")
    app.setQuitOnLastWindowClosed(False)
    app.setStyleSheet(STYLE_PATH.read_text(encoding="utf-8"))
    return app


def run_shell(options: ShellOptions) -> int:
    app = create_application(chromium_flags=options.chromium_flags)
    from PySide6.QtCore import QTimer

    from kiosk.shell.startup import start_shell
    from kiosk.shell.watchdog_notify import SystemdWatchdog

    systemd = SystemdWatchdog.from_environment()  # None unless run by kiosk-shell.service

    def place(window: KioskWindow, fullscreen: bool) -> None:
        if options.size:
            window.resize(*options.size)
        if options.windowed or not fullscreen:
            window.show()
        else:
            # Without a window manager (Xvfb, some compositors) "full screen" is only a hint:
            # cover the whole screen ourselves too.
            window.setGeometry(app.primaryScreen().geometry())
            window.showFullScreen()
        if systemd is not None:
            systemd.watch(window.lobby_page)

    def failed(error: ConfigError) -> None:
        from kiosk.core.loading import format_problems

        log.critical("config.invalid_no_last_good", extra={"problems": format_problems(error.problems)})
        print(format_problems(error.problems), file=sys.stderr)
        refused.append(2)
        app.exit(2)  # when the first screen was up: the loop runs already

    def ready(kiosk: Kiosk, result: LoadResult) -> None:
        from kiosk.core.loading import format_problems

        if result.from_last_good:
            log.error("config.invalid_using_last_good", extra={"problems": format_problems(result.problems)})
        elif result.problems:  # the first-boot setup's local.toml, left out
            log.error("config.local_settings_ignored", extra={"problems": format_problems(result.problems)})
        started.append(kiosk)
        from kiosk.shell.assembly import report_touchscreen

        report_touchscreen(kiosk)
        log.info(
            "shell.started", extra={"tiles": len(result.config.tiles.tiles), "centre": result.config.kiosk.centre.name}
        )

    started: list[Kiosk] = []
    refused: list[int] = []
    start_shell(options.config_dir, place, ready, failed)
    if refused:
        return refused[0]  # found before the loop started: no first screen

    def quit_cleanly(*_args: object) -> None:
        log.info("shell.stopping")
        if systemd is not None:
            systemd.stop()
        for kiosk in started:
            kiosk.controller.end_session()
            kiosk.window.allow_close()
        QTimer.singleShot(200, app.quit)

    def let_device_calls_finish() -> None:
        from kiosk.shell.operations import wait_for_workers

        # The wipe's print cancels may still be on their way to cupsd.
        if not wait_for_workers(3000):
            log.warning("shell.device_calls_unfinished")

    def screenshot(*_args: object) -> None:
        target = options.screenshot_path or Path(os.environ.get("KIOSK_SCREENSHOT", "/tmp/borne-screen.png"))
        for kiosk in started:
            kiosk.window.grab().save(str(target))
            log.info("shell.screenshot_saved", extra={"path": str(target)})

    signal.signal(signal.SIGTERM, quit_cleanly)
    signal.signal(signal.SIGINT, quit_cleanly)
    signal.signal(signal.SIGUSR1, screenshot)
    # Let Python run its signal handlers while Qt's loop spins.
    wake = QTimer()
    wake.start(200)
    wake.timeout.connect(lambda: None)
    app.aboutToQuit.connect(let_device_calls_finish)
    code = app.exec()
    return int(code)
