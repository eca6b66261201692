"""Starting the shell: the welcome screen first, everything else behind it.

1. When the welcome page of the last start is still good for this ``kiosk.toml``
   (:mod:`kiosk.shell.first_screen`), the window is built and shows it at once: Qt, Chromium,
   the window and that page, nothing else (no pydantic, no Jinja2, no help centre).
2. Once that page has loaded (or after :data:`FIRST_SCREEN_WAIT_MS`, whichever comes first),
   the configuration is read and checked and the rest is built into the same window
   (``build_kiosk(shown=...)``); the page rendered for real replaces the one shown only if it
   differs, and is kept for the next start.

Without a usable snapshot, step 2 runs alone: the usual start. A touch during step 2 waits in
Qt's queue and is answered when the kiosk is complete.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer

from kiosk.core import places
from kiosk.i18n import translator
from kiosk.shell.first_screen import WELCOME_PAGE, FirstScreen, FirstScreenPages, config_key, read_first_screen
from kiosk.shell.web.scheme import KioskSchemeHandler
from kiosk.shell.window import KioskWindow

if TYPE_CHECKING:
    from kiosk.core.loading import ConfigError, LoadResult
    from kiosk.shell.assembly import Kiosk

log = logging.getLogger(__name__)

FIRST_SCREEN_WAIT_MS = 3000
"""Longest wait for the first screen's page before the start goes on regardless."""

Place = Callable[[KioskWindow, bool], None]  # show the window: (window, full screen?)


def start_shell(
    config_dir: Path,
    place: Place,
    ready: Callable[[Kiosk, LoadResult], None],
    failed: Callable[[ConfigError], None],
) -> KioskWindow | None:
    """Start the shell from ``config_dir`` (the QApplication exists). ``place`` shows the window;
    ``ready`` gets the complete kiosk, ``failed`` a configuration that cannot be used (invalid,
    no good copy). Returns the first screen's window when it is shown; the rest then follows
    from the event loop."""
    screen = read_first_screen(config_dir, places.last_good_dir())
    if screen is None:
        _complete(config_dir, None, place, ready, failed)
        return None
    handler = KioskSchemeHandler(FirstScreenPages(screen))
    window = KioskWindow(screen.centre_name, handler, None)
    handler.setParent(window)
    window.set_in_session(False)
    window.set_translator(translator(screen.language))
    window.show_lobby(WELCOME_PAGE)
    place(window, screen.fullscreen)
    log.info("shell.first_screen_shown")
    lobby = window.lobby_view
    pending = [True]

    def go_on(*_args: object) -> None:
        if not pending:
            return
        pending.clear()
        lobby.loadFinished.disconnect(go_on)
        window.repaint()  # on screen now, before the main thread is busy for a while
        QTimer.singleShot(0, lambda: _complete(config_dir, (window, handler, screen), place, ready, failed))

    lobby.loadFinished.connect(go_on)
    QTimer.singleShot(FIRST_SCREEN_WAIT_MS, go_on)
    return window


def _complete(
    config_dir: Path,
    first: tuple[KioskWindow, KioskSchemeHandler, FirstScreen] | None,
    place: Place,
    ready: Callable[[Kiosk, LoadResult], None],
    failed: Callable[[ConfigError], None],
) -> None:
    from kiosk.core.loading import ConfigError, load_for_process
    from kiosk.shell.assembly import ShownWindow, build_kiosk

    shown = ShownWindow(*first) if first is not None else None

    try:
        result = load_for_process(config_dir)
    except ConfigError as error:
        if shown is not None:
            shown.window.allow_close()
            shown.window.close()
        failed(error)
        return
    config = result.config
    settings = config.kiosk
    if shown is not None and shown.screen.centre_name != settings.centre.name:
        # Cannot happen with the same kiosk.toml; if it ever does, no stale name stays on screen.
        shown.window.allow_close()
        shown.window.close()
        shown = None
    kiosk = build_kiosk(config, settings.paths.session_root, shown=shown)
    if shown is None:
        place(kiosk.window, settings.shell.fullscreen)
    key = config_key(config_dir)
    if key is not None:
        from kiosk.shell.first_screen import save_first_screen

        welcome = kiosk.controller.pages.render(WELCOME_PAGE, {}).body
        screen = FirstScreen(key, settings.centre.name, settings.shell.language, settings.shell.fullscreen, welcome)
        save_first_screen(places.last_good_dir(), screen)
    ready(kiosk, result)
