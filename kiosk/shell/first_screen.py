"""The welcome screen, painted before the configuration is read.

Reading and checking the configuration (pydantic, the tiles, the public suffix list) and
building the help centre take about half a second on the terminal's small processor. The
welcome screen does not need them: at each start the shell keeps the welcome page it showed
(``first-screen.json`` beside the last good configuration, 0600), with a key made of the
``kiosk.toml`` it came from and the kiosk's version. At the next start, when the key still
matches, that page is on screen as soon as Chromium can paint it, and the rest is built behind
it (``kiosk.shell.startup``). The page then rendered for real is compared with the one shown: if
they differ (templates changed by an update, a translation), the real one replaces it and is kept
for next time. A missing, unreadable or stale snapshot only means the usual, slower start.

No resident data here: the welcome page shows the centre's name and the offered languages.
The standard library only, so that it is cheap to import before everything else.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kiosk import __version__
from kiosk.pages.files import PageNotFound, RenderedPage, static_file

log = logging.getLogger(__name__)

SNAPSHOT_NAME = "first-screen.json"
WELCOME_PAGE = "attract"
_FORMAT = 1


@dataclass(frozen=True)
class FirstScreen:
    """What the welcome screen looked like, and what it needs to be shown again."""

    key: str  # the kiosk.toml and the version it was rendered from
    centre_name: str
    language: str
    fullscreen: bool
    body: bytes  # the welcome page's HTML, as the page renderer made it


def config_key(config_dir: Path) -> str | None:
    """What the welcome page depends on, as a digest: ``kiosk.toml``'s bytes and the version.
    ``None`` when ``kiosk.toml`` cannot be read (the usual start then says why)."""
    try:
        text = (config_dir / "kiosk.toml").read_bytes()
    except OSError:
        return None
    digest = hashlib.sha256(f"borne {__version__} format {_FORMAT}\n".encode())
    digest.update(text)
    return digest.hexdigest()


def read_first_screen(config_dir: Path, directory: Path) -> FirstScreen | None:
    """The welcome screen kept in ``directory`` if it was made from ``config_dir``'s current
    ``kiosk.toml`` by this version; otherwise ``None``."""
    key = config_key(config_dir)
    path = directory / SNAPSHOT_NAME
    if key is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        screen = FirstScreen(
            key=str(data["key"]),
            centre_name=str(data["centre_name"]),
            language=str(data["language"]),
            fullscreen=bool(data["fullscreen"]),
            body=str(data["body"]).encode("utf-8"),
        )
    except (OSError, ValueError, KeyError, TypeError):
        log.warning("first_screen.unreadable", extra={"path": str(path)})
        return None
    if screen.key != key:
        log.info("first_screen.stale")  # kiosk.toml or the version changed since
        return None
    return screen


def save_first_screen(directory: Path, screen: FirstScreen) -> None:
    """Keep ``screen`` for the next start (atomically; nothing is written when it is already
    there). Failing to write only costs the next start its head start."""
    path = directory / SNAPSHOT_NAME
    data = {
        "key": screen.key,
        "centre_name": screen.centre_name,
        "language": screen.language,
        "fullscreen": screen.fullscreen,
        "body": screen.body.decode("utf-8"),
    }
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    try:
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            return
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-first-screen-")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except (OSError, UnicodeError) as error:
        log.warning("first_screen.not_saved", extra={"path": str(path), "error": str(error)})


class FirstScreenPages:
    """The pages of the first screen (a ``PageSource``): the welcome page kept from the last
    start and the static files; any other page is not there yet."""

    def __init__(self, screen: FirstScreen) -> None:
        self.screen = screen

    def render(self, page: str, params: Mapping[str, str]) -> RenderedPage:
        if page != WELCOME_PAGE:
            raise PageNotFound(page)
        return RenderedPage(self.screen.body, "text/html; charset=utf-8")

    def static(self, path: str) -> RenderedPage:
        return static_file(path)
