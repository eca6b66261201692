"""Fixtures that run the real kiosk shell offscreen against the loopback web.

One QApplication per test run (QtWebEngine can start only once per process), created
with Chromium routed through ``LoopbackWeb``; a fresh ``KioskWindow`` per test, closed
and its sessions wiped at the end even when the test fails.
"""

from __future__ import annotations

import os
import shutil
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytestqt.exceptions import TimeoutError as QtWaitTimeout

from tests.webserver import LoopbackWeb

REPO = Path(__file__).resolve().parents[1]

TEST_TILES = """
[origin_groups]
login = ["http://login.test"]

[[tiles]]
id = "allowed"
label = "Le site autorisé"
description = "Un site de test autorisé."
icon = "{icon}"
category = "autre"
url = "http://www.allowed.test/"
origins = ["http://*.allowed.test"]
origin_groups = ["login"]

[[tiles]]
id = "other"
label = "Un autre site"
description = "Un second site de test."
icon = "{icon}"
category = "social_sante"
url = "http://other.test/"
origins = ["http://other.test"]

[[tiles]]
id = "camera"
label = "Site avec caméra"
description = "Un site qui a le droit d'utiliser la caméra."
icon = "{icon}"
category = "papiers"
url = "http://cam.test/"
origins = ["http://cam.test"]
permissions = ["camera"]
"""

TEST_KIOSK = """
[centre]
name = "Centre de test"
commune = "Testville"

[session]
idle_timeout_s = 60
warning_s = 10
goodbye_s = 2

[shell]
fullscreen = false
hang_timeout_s = 2

[stats]
questions = false   # the questions' own tests turn them on
"""


class FakeSpeech:
    """A speech engine that records what it was asked to say (QTextToSpeech's say/stop)."""

    def __init__(self) -> None:
        self.said: list[str] = []
        self.stops = 0
        self.voices: list[str] = []  # the language of the voice each text was said with

    def setLocale(self, locale) -> None:  # type: ignore[no-untyped-def]
        self.voices.append(locale.name()[:2])

    def say(self, text: str) -> None:
        self.said.append(text)

    def stop(self, *_args: object) -> None:
        self.stops += 1


def write_test_config(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    icons = directory / "icons"
    shutil.copytree(REPO / "config" / "icons", icons, dirs_exist_ok=True)
    shutil.copytree(REPO / "config" / "help", directory / "help", dirs_exist_ok=True)
    icon = sorted(p.name for p in icons.glob("*.svg"))[0]
    (directory / "tiles.toml").write_text(textwrap.dedent(TEST_TILES).format(icon=icon), encoding="utf-8")
    (directory / "kiosk.toml").write_text(textwrap.dedent(TEST_KIOSK), encoding="utf-8")
    return directory


def shell_process_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """The environment of a `kiosk shell` process in a test: offscreen, its data, sessions and
    last good configuration under ``tmp_path``, no voice, unbuffered logs; plus ``extra``."""
    import os

    return {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "QT_QPA_PLATFORM": "offscreen",
        "KIOSK_DATA_DIR": str(tmp_path / "data"),
        "KIOSK_SESSION_ROOT": str(tmp_path / "sessions"),
        "KIOSK_LAST_GOOD_DIR": str(tmp_path / "last-good"),
        "KIOSK_SPEECH": "off",
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


@pytest.fixture(scope="session")
def loopback_web() -> Iterator[LoopbackWeb]:
    web = LoopbackWeb().start()
    try:
        yield web
    finally:
        web.stop()


@pytest.fixture(scope="session")
def kiosk_app(loopback_web: LoopbackWeb, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    home = tmp_path_factory.mktemp("home")
    import os

    os.environ["HOME"] = str(home)  # anything Chromium writes outside a session shows up here
    os.environ["XDG_CONFIG_HOME"] = str(home / ".config")
    os.environ["XDG_DATA_HOME"] = str(home / ".local" / "share")
    os.environ["XDG_CACHE_HOME"] = str(home / ".cache")
    from kiosk.shell.app import create_application

    app = create_application(
        chromium_flags=[
            f"--proxy-server=http://127.0.0.1:{loopback_web.port}",
            # Test sites are plain http: let Chromium offer them the secure-context APIs
            # (camera, clipboard, file pickers) that the shell must refuse.
            "--unsafely-treat-insecure-origin-as-secure=http://www.allowed.test,http://cam.test",
        ]
    )
    yield app


@pytest.fixture
def qapp(kiosk_app):  # type: ignore[no-untyped-def]
    """pytest-qt's qapp is our kiosk application."""
    return kiosk_app


@pytest.fixture
def kiosk_config(tmp_path: Path):  # type: ignore[no-untyped-def]
    from kiosk.core.loading import load_config

    directory = write_test_config(tmp_path / "config")
    return load_config(directory / "kiosk.toml", directory / "tiles.toml")


@pytest.fixture
def make_kiosk(kiosk_app, kiosk_config, tmp_path: Path, qtbot):  # type: ignore[no-untyped-def]
    """Build the shell (ManualClock, fake printer, fake voice); every one is torn down after the test."""
    from kiosk.core.ports import ManualClock
    from kiosk.core.stats.recorder import StatsRecorder
    from kiosk.devices.fakes import FakePrinter
    from kiosk.shell.assembly import Kiosk, build_kiosk
    from kiosk.shell.web.scheme import page_name

    made: list[Kiosk] = []

    def build(config=None, size: tuple[int, int] = (1280, 800), store=None, clock=None, buttons=None) -> Kiosk:  # type: ignore[no-untyped-def]
        clock = clock or ManualClock()
        kiosk = build_kiosk(
            config or kiosk_config,
            tmp_path / "sessions",
            printer=FakePrinter(),
            clock=clock,
            store=store,
            recorder=StatsRecorder(store, clock, boot="test-boot"),
            speech=FakeSpeech(),
            template_cache=tmp_path / "template-cache",
            buttons=buttons,
        )
        kiosk.window.resize(*size)
        kiosk.window.show()
        made.append(kiosk)
        qtbot.waitUntil(lambda: page_name(kiosk.window.lobby_view.page().url()) == "attract", timeout=10_000)
        return kiosk

    yield build
    for kiosk in made:
        close_kiosk(qtbot, kiosk)
    qtbot.wait(50)


def close_kiosk(qtbot, kiosk, close_store: bool = False) -> None:  # type: ignore[no-untyped-def]
    """End the session (everything wiped) and close the shell; with its store if it owns it."""
    if kiosk.controller.browser is not None:
        kiosk.controller.end_session()
        qtbot.waitUntil(lambda: kiosk.controller.browser is None, timeout=10_000)
    kiosk.close()
    if close_store and kiosk.controller.store is not None:
        kiosk.controller.store.close()


@pytest.fixture
def kiosk(make_kiosk):  # type: ignore[no-untyped-def]
    return make_kiosk()


def wait_url(qtbot, kiosk, predicate: Callable[[str], bool], timeout: int = 10_000) -> str:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: predicate(kiosk.controller.current_url().toString()), timeout=timeout)
    return str(kiosk.controller.current_url().toString())


def run_js(qtbot, page, script: str, timeout: int = 5_000):  # type: ignore[no-untyped-def]
    """Evaluate ``script`` in the page's main world and return its value."""
    result: list[object] = []
    page.runJavaScript(script, 0, result.append)
    qtbot.waitUntil(lambda: bool(result), timeout=timeout)
    return result[0]


def wait_ready(qtbot, kiosk, prefix: str, timeout: int = 10_000, *, exact: bool = False) -> str:  # type: ignore[no-untyped-def]
    """Wait until the current page's URL starts with ``prefix`` (is ``prefix``, when ``exact``:
    ``…/`` also starts ``…/two``) and its document is complete."""

    def matches(url: str) -> bool:
        return url == prefix if exact else url.startswith(prefix)

    def ready() -> bool:
        if not matches(kiosk.controller.current_url().toString()):
            return False
        page = (
            kiosk.controller.session_page() if kiosk.controller.browser is not None else kiosk.window.lobby_view.page()
        )
        # page.url() is the requested URL from the start of a navigation; the document may
        # still be the previous one (or the initial about:blank), so ask the document itself.
        # A script sent to a document that a navigation then replaces never answers: ask again.
        try:
            state = run_js(qtbot, page, "[location.href, document.readyState].join(' ')", timeout=2_000)
        except QtWaitTimeout:
            return False
        href, _, ready = str(state).rpartition(" ")
        return matches(href) and ready == "complete"

    qtbot.waitUntil(ready, timeout=timeout)
    return str(kiosk.controller.current_url().toString())


def print_whole_document(viewer) -> None:  # type: ignore[no-untyped-def]
    """ "Imprimer", then "Lancer l'impression" on the print screen as it opens: every page, once."""
    viewer.print_button.click()
    assert viewer.sheet.isVisible()
    viewer.sheet.start_button.click()


def keep_shot(qtbot, kiosk, name: str) -> None:  # type: ignore[no-untyped-def]
    """With ``BORNE_SHOTS=<dir>`` (``make screenshots`` sets it), a PNG of the whole kiosk window
    as ``<dir>/<name>.png``, once painted: the screens a test walks through, to look at."""
    folder = os.environ.get("BORNE_SHOTS")
    if folder:
        qtbot.wait(700)  # painted
        Path(folder).mkdir(parents=True, exist_ok=True)
        kiosk.window.grab().save(str(Path(folder) / f"{name}.png"))
