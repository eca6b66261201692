"""The shell starts with the welcome screen kept from its last start, then builds everything else
behind it (``kiosk.shell.startup``): the resident sees the real welcome page, never a stale one
for long, and the kiosk that follows is the complete one."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.shell.first_screen import SNAPSHOT_NAME, config_key
from kiosk.shell.web.scheme import page_name
from tests.shellkit import close_kiosk, run_js, shell_process_env, write_test_config

pytestmark = pytest.mark.shell
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The process's paths, as systemd gives them to `kiosk shell`; the config directory."""
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KIOSK_SESSION_ROOT", str(tmp_path / "sessions"))
    monkeypatch.setenv("KIOSK_LAST_GOOD_DIR", str(tmp_path / "last-good"))
    monkeypatch.setenv("KIOSK_SPEECH", "off")
    return write_test_config(tmp_path / "config")


class Start:
    """One ``start_shell`` as ``kiosk shell`` runs it, recording what it was given back."""

    def __init__(self, qtbot, config_dir: Path) -> None:  # type: ignore[no-untyped-def]
        from kiosk.shell.startup import start_shell

        self.placed: list[object] = []
        self.kiosks: list[object] = []
        self.failures: list[object] = []
        self.welcome_loads = 0
        self.first = start_shell(config_dir, self._place, self._ready, self.failures.append)
        self.ready_at_return = bool(self.kiosks)

    def _place(self, window, _fullscreen: bool) -> None:  # type: ignore[no-untyped-def]
        window.resize(1024, 700)
        window.show()
        self.placed.append(window)
        lobby = window.lobby_view

        def loaded(ok: bool) -> None:
            if ok and page_name(lobby.page().url()) == "attract":
                self.welcome_loads += 1

        lobby.loadFinished.connect(loaded)

    def _ready(self, kiosk, _result) -> None:  # type: ignore[no-untyped-def]
        self.kiosks.append(kiosk)

    def wait_complete(self, qtbot):  # type: ignore[no-untyped-def]
        qtbot.waitUntil(lambda: bool(self.kiosks), timeout=20_000)
        return self.kiosks[0]


def _snapshot(places: Path) -> dict[str, object]:
    path = Path(os.environ["KIOSK_LAST_GOOD_DIR"]) / SNAPSHOT_NAME
    return dict(json.loads(path.read_text(encoding="utf-8")))


def test_the_first_start_keeps_its_welcome_screen_and_the_next_one_shows_it_first(qtbot, kiosk_app, places) -> None:  # type: ignore[no-untyped-def]
    first = Start(qtbot, places)
    assert first.first is None and first.ready_at_return  # nothing kept yet: the usual start
    kiosk = first.wait_complete(qtbot)
    qtbot.waitUntil(lambda: first.welcome_loads == 1, timeout=10_000)
    kept = _snapshot(places)
    assert kept["key"] == config_key(places) and kept["centre_name"] == "Centre de test"
    assert kept["body"] == kiosk.controller.pages.render("attract", {}).body.decode()
    close_kiosk(qtbot, kiosk)

    second = Start(qtbot, places)
    assert second.first is not None and not second.ready_at_return  # the window first, the rest after
    assert second.placed == [second.first]
    kiosk = second.wait_complete(qtbot)
    assert kiosk.window is second.first  # completed, not built again
    qtbot.wait(300)
    assert second.welcome_loads == 1  # the same page: not loaded a second time
    kiosk.controller.start_session()  # and it is the complete kiosk
    qtbot.waitUntil(lambda: page_name(kiosk.controller.current_url()) == "home", timeout=10_000)
    close_kiosk(qtbot, kiosk, close_store=True)


def test_a_kept_screen_that_differs_from_the_real_one_is_replaced_at_once(qtbot, kiosk_app, places) -> None:  # type: ignore[no-untyped-def]
    kiosk = Start(qtbot, places).wait_complete(qtbot)
    close_kiosk(qtbot, kiosk, close_store=True)
    path = Path(os.environ["KIOSK_LAST_GOOD_DIR"]) / SNAPSHOT_NAME
    kept = _snapshot(places)
    old = str(kept["body"]).replace('<main id="attract">', '<main id="attract"><p id="old">Ancien écran</p>')
    assert old != kept["body"]
    path.write_text(json.dumps({**kept, "body": old}), encoding="utf-8")  # e.g. an update changed the page

    start = Start(qtbot, places)
    assert start.first is not None
    lobby = start.first.lobby_view.page()
    qtbot.waitUntil(lambda: start.welcome_loads >= 1, timeout=10_000)
    kiosk = start.wait_complete(qtbot)
    qtbot.waitUntil(lambda: start.welcome_loads == 2, timeout=10_000)  # the real one, loaded over it
    assert run_js(qtbot, lobby, "document.getElementById('old') === null") is True
    assert _snapshot(places)["body"] == kept["body"]  # and kept for the next start
    close_kiosk(qtbot, kiosk, close_store=True)


def test_a_changed_configuration_is_never_painted_from_the_old_screen(qtbot, kiosk_app, places) -> None:  # type: ignore[no-untyped-def]
    close_kiosk(qtbot, Start(qtbot, places).wait_complete(qtbot), close_store=True)
    toml = places / "kiosk.toml"
    toml.write_text(toml.read_text(encoding="utf-8").replace("Centre de test", "Maison des services"), "utf-8")
    start = Start(qtbot, places)
    assert start.first is None  # the usual start
    kiosk = start.wait_complete(qtbot)
    assert kiosk.window.top_bar.centre.toolTip() == "Maison des services"
    assert _snapshot(places)["centre_name"] == "Maison des services"
    close_kiosk(qtbot, kiosk, close_store=True)


def _kiosk_shell(tmp_path: Path, config_dir: Path) -> tuple[int, list[str], str]:
    """`kiosk shell` as systemd runs it, stopped with SIGTERM once started: (exit code, the
    events it logged, all it wrote)."""
    env = shell_process_env(tmp_path)
    command = [sys.executable, "-m", "kiosk.cli", "shell", "--windowed", "--size", "800x600", "--config-dir"]
    log = tmp_path / "shell.log"
    with log.open("w", encoding="utf-8") as out:  # JSON logs on stdout, problems on stderr
        proc = subprocess.Popen([*command, str(config_dir)], env=env, cwd=REPO, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and '"shell.started"' not in log.read_text(encoding="utf-8", errors="replace"):
            assert time.monotonic() < deadline, log.read_text(encoding="utf-8", errors="replace")[-3000:]
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    events = [json.loads(x)["event"] for x in lines if x.startswith("{")]
    return proc.returncode, events, "\n".join(lines)


def test_kiosk_shell_starts_from_its_first_screen_and_refuses_a_broken_config_cleanly(tmp_path: Path) -> None:
    config = write_test_config(tmp_path / "config")
    code, events, stderr = _kiosk_shell(tmp_path, config)
    assert code == 0, stderr
    assert "shell.first_screen_shown" not in events and "shell.started" in events
    assert "devices.touchscreen" in events  # its presence checked at start (none here)
    code, events, stderr = _kiosk_shell(tmp_path, config)
    assert code == 0, stderr
    assert events.index("shell.first_screen_shown") < events.index("shell.started")

    (config / "kiosk.toml").write_text("[centre]\nname = 3\n", encoding="utf-8")  # broken: the last good copy
    for _ in range(2):  # the second time from the first screen kept for the broken file
        code, events, stderr = _kiosk_shell(tmp_path, config)
        assert code == 0, stderr
        assert "config.invalid_using_last_good" in events and "shell.started" in events
    assert "shell.first_screen_shown" in events

    for name in ("kiosk.toml", "tiles.toml"):  # and no good copy left: refused, the screen closed
        (tmp_path / "last-good" / name).unlink()
    code, events, stderr = _kiosk_shell(tmp_path, config)
    assert code == 2
    assert "shell.first_screen_shown" in events and "config.invalid_no_last_good" in events
    assert "centre.name" in stderr
