"""What the shell makes late and lets go early, for a quick start and a memory that does not
grow (`make bench`'s start profile and soak found these).

- The on-screen keyboard's Qt Quick panel is built after the welcome screen is painted, but
  always before a resident's page may focus a field: QtVirtualKeyboard crashes the process when
  a field asks for the keyboard before its QML exists.
- The layer over the page (idle warning, crash apology) had its own renderer process, kept for
  the rest of the shell's life once shown: a tenth of a gigabyte that never came back.
- Each lobby page (welcome, questions, goodbye) had a renderer process of its own, launched at
  every step between two residents (each ``kiosk:`` page was a site of its own to Chromium).
- The welcome screen's breathing hand repainted a shadow sixty times a second for as long as it
  was up (most of the day): 40 % of a core of a machine without GPU, for a screen at rest.
- A hang-check ping left unanswered by one resident's page carried over to the next resident's
  page, which the watchdog then killed as hung (and the layer above, for the apology, stayed).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import kiosk.shell.watchdog as watchdog_module
from kiosk.core.session import State
from kiosk.shell.web.scheme import page_name
from tests.integration.test_shell import HANGS_ON_DEMAND, hang, start_in_tile
from tests.integration.test_shell_stats import end_and_wait_questions, with_questions
from tests.shellkit import run_js, wait_ready, wait_url

pytestmark = pytest.mark.shell


def _alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_the_welcome_screen_at_rest_leaves_the_processor_alone(qtbot, kiosk) -> None:  # type: ignore[no-untyped-def]
    lobby = kiosk.window.lobby_view.page()
    wait_ready(qtbot, kiosk, lobby.url().toString(), exact=True)
    renderer = lobby.renderProcessPid()
    qtbot.wait(3_500)  # its breath is over (3 s of every 12)
    before, start = _cpu_s(renderer) + _cpu_s(os.getpid()), time.monotonic()
    qtbot.wait(5_000)
    busy = (_cpu_s(renderer) + _cpu_s(os.getpid()) - before) / (time.monotonic() - start)
    assert busy < 0.15, f"{busy:.0%} of a core for a still screen"  # 40 % with the endless pulse


def test_the_layer_and_its_renderer_go_away_when_the_layer_is_hidden(qtbot, kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk.controller.start_session()
    wait_url(qtbot, kiosk, lambda u: u.startswith("kiosk://borne/home"))
    kiosk.controller.clock.advance(kiosk.controller.config.kiosk.session.idle_timeout_s + 1)
    kiosk.controller.session.tick()
    assert kiosk.controller.state is State.WARNING
    layer = kiosk.window.layer_view
    qtbot.waitUntil(lambda: layer.isVisible() and page_name(layer.page().url()) == "warning", timeout=10_000)
    qtbot.waitUntil(lambda: layer.page().renderProcessPid() > 0, timeout=10_000)
    pid = layer.page().renderProcessPid()
    assert pid != kiosk.window.lobby_view.page().renderProcessPid()  # a renderer of its own
    kiosk.controller.session.activity()  # the resident is back
    assert kiosk.window.lobby_views() == [kiosk.window.lobby_view]
    qtbot.waitUntil(lambda: not _alive(pid), timeout=10_000)


def test_the_lobby_keeps_one_renderer_from_one_resident_to_the_next(qtbot, make_kiosk, kiosk_config) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk(with_questions(kiosk_config))
    lobby = kiosk.window.lobby_view.page()
    qtbot.waitUntil(lambda: lobby.renderProcessPid() > 0, timeout=10_000)
    pid = lobby.renderProcessPid()
    kiosk.controller.start_session()
    wait_url(qtbot, kiosk, lambda u: page_name(kiosk.controller.current_url()) == "home")
    end_and_wait_questions(qtbot, kiosk)
    assert lobby.renderProcessPid() == pid
    kiosk.controller.skip_questions()
    qtbot.waitUntil(lambda: page_name(lobby.url()) == "goodbye", timeout=10_000)
    kiosk.controller.clock.advance(kiosk.controller.config.kiosk.session.goodbye_s)
    kiosk.controller.session.tick()
    assert kiosk.controller.state is State.ATTRACT
    wait_ready(qtbot, kiosk, lobby.url().toString(), exact=True)
    assert page_name(lobby.url()) == "attract"
    assert kiosk.window.lobby_view.page() is lobby and lobby.renderProcessPid() == pid


def test_a_lobby_page_that_does_not_come_is_asked_for_again(qtbot, kiosk, caplog) -> None:  # type: ignore[no-untyped-def]
    from kiosk.pages import PageNotFound

    caplog.set_level(logging.WARNING, logger="kiosk")
    pages, render, failed = kiosk.controller.pages, kiosk.controller.pages.render, []

    def fails_once(page: str, params):  # type: ignore[no-untyped-def]
        if page == "goodbye" and not failed:
            failed.append(page)
            raise PageNotFound(page)  # the view's load ends aborted, as Chromium's sometimes does
        return render(page, params)

    lobby = kiosk.window.lobby_view.page()
    wait_ready(qtbot, kiosk, lobby.url().toString(), exact=True)  # the welcome screen, at rest
    pages.render = fails_once
    kiosk.window.show_lobby("goodbye")
    wait_ready(qtbot, kiosk, lobby.url().toString(), exact=True)
    assert failed and page_name(lobby.url()) == "goodbye"
    assert run_js(qtbot, lobby, "!!document.querySelector('.big-title')") is True  # the page itself
    assert "internal_page.asked_again" in caplog.messages


def test_a_ping_left_unanswered_never_condemns_the_next_resident(qtbot, make_kiosk, loopback_web, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(watchdog_module, "HANG_CHECK_MS", 3_600_000)  # only the checks made here
    kiosk = make_kiosk()
    start_in_tile(qtbot, kiosk, loopback_web, HANGS_ON_DEMAND)
    hang(qtbot, kiosk)
    kiosk.watchdog.check_renderer()  # a ping the hung page will never answer
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    settings = kiosk.controller.config.kiosk
    kiosk.controller.clock.advance(max(settings.session.goodbye_s, settings.shell.hang_timeout_s) + 1)
    kiosk.controller.session.tick()
    assert kiosk.controller.state is State.ATTRACT
    start_in_tile(qtbot, kiosk, loopback_web, "<h1>Une page qui répond</h1>")
    pid = kiosk.controller.session_page().renderProcessPid()
    kiosk.watchdog.check_renderer()
    qtbot.wait(500)
    assert kiosk.controller.session_page().renderProcessPid() == pid and _alive(pid)
    assert kiosk.controller.current_url().host() == "www.allowed.test"
    assert kiosk.window.lobby_views() == [kiosk.window.lobby_view]  # no apology shown


def test_the_keyboard_is_built_after_the_welcome_screen_and_before_any_resident_page(qtbot, make_kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk()  # the welcome screen asked for, not yet painted
    assert not kiosk.window.keyboard.loaded  # nothing of Qt Quick before the first screen
    qtbot.waitUntil(lambda: kiosk.window.keyboard.loaded, timeout=10_000)  # once it is painted

    early = make_kiosk()
    assert not early.window.keyboard.loaded
    early.controller.start_session()  # a resident before the welcome screen was even painted
    assert early.window.keyboard.loaded and early.window.keyboard.available


VOID_CALLS = """
import sys
from PySide6.QtCore import QCoreApplication, QObject
{shield}
app = QCoreApplication([])
thing, before = QObject(), sys.getrefcount(None)
thing.setObjectName("x")  # a void method: PySide 6.12 on CPython 3.11 gives None back without a reference
print(before - sys.getrefcount(None), flush=True)
for _ in range(200_000):  # more than None has here: without the shield, the process aborts
    thing.setObjectName("x")
print("alive", flush=True)
"""


@pytest.mark.parametrize("shielded", [True, False], ids=["shielded", "bare"])
def test_void_qt_calls_never_use_up_none(shielded: bool) -> None:
    shield = "from kiosk.shell.environment import shield_none; shield_none()" if shielded else ""
    run = subprocess.run(
        [sys.executable, "-c", VOID_CALLS.format(shield=shield)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    taken = int(run.stdout.split()[0]) if run.stdout else -1
    # 0: the upstream bug is gone (this test says when); 1 or 2 by process (it varies from one
    # start to the next): the bug is still there.
    assert taken in (0, 1, 2), run.stderr[-2000:]
    if shielded:
        assert run.returncode == 0 and "alive" in run.stdout, run.stderr[-2000:]
    elif taken > 0:
        assert run.returncode != 0 and "none_dealloc" in run.stderr  # what the shield prevents
