"""Processes measured by `make bench` (run as ``python -m bench.probes MODE``)."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOCAL_PAGE = "<!doctype html><meta charset=utf-8><h1>Bonjour</h1><p>Page locale.</p>"


def _loop(ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def _wait(predicate, timeout_s: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError
        _loop(5)


def bare() -> None:
    """Baseline: a bare QtWebEngine window loading a local page."""
    from kiosk.shell.environment import prepare_environment

    prepare_environment()
    from PySide6.QtWebEngineWidgets import QWebEngineView
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    view = QWebEngineView()
    view.resize(1280, 800)
    view.show()
    view.loadFinished.connect(lambda ok: (view.grab(), print("READY", flush=True)))
    view.setHtml(LOCAL_PAGE)
    app.exec()


def _config():  # type: ignore[no-untyped-def]
    from kiosk.core.loading import load_config

    return load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml")


def kiosk() -> None:
    """The kiosk from process start to its home page painted."""
    from kiosk.shell.app import create_application
    from kiosk.shell.assembly import build_kiosk

    app = create_application()
    kiosk = build_kiosk(_config(), Path(tempfile.mkdtemp()) / "sessions")
    kiosk.window.resize(1280, 800)
    kiosk.window.show()
    kiosk.controller.start_session()

    def painted(ok: bool) -> None:
        kiosk.window.grab()
        print("READY", flush=True)

    kiosk.controller.session_page().loadFinished.connect(painted)
    app.exec()


def _rss_mib(pid: int) -> float:
    """RSS of a process and all its descendants (the QtWebEngine helpers)."""
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(c) for c in children.read().split())
        except OSError:
            continue
    return total / 1024


def reset() -> None:
    """Terminer ma session → attract ready, old profile destroyed and directory gone."""
    from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
    from PySide6.QtWebEngineWidgets import QWebEngineView

    from kiosk.core.ports import ManualClock
    from kiosk.core.session import State
    from kiosk.devices.fakes import FakePrinter
    from kiosk.shell.app import create_application
    from kiosk.shell.assembly import build_kiosk
    from kiosk.shell.web.profile import destroy_profile

    create_application()
    clock = ManualClock()
    kiosk = build_kiosk(_config(), Path(tempfile.mkdtemp()) / "s", printer=FakePrinter(), clock=clock, store=None)
    kiosk.window.resize(1280, 800)
    kiosk.window.show()
    _wait(
        lambda: (
            kiosk.window.lobby_view.page().url().host() == "attract" and not kiosk.window.lobby_view.page().isLoading()
        )
    )
    resets, baselines = [], []
    for _ in range(7):
        kiosk.controller.start_session()
        _wait(lambda: kiosk.controller.session_page() is not None and not kiosk.controller.session_page().isLoading())
        _loop(100)
        session_dir = kiosk.controller.browser.dir
        lobby = kiosk.window.lobby_view.page()
        start = time.perf_counter()
        kiosk.controller.end_session()
        _wait(lambda: kiosk.controller.state is State.WIPED)
        clock.advance(kiosk.controller.config.kiosk.session.goodbye_s)
        kiosk.controller.session.tick()
        _wait(
            lambda d=session_dir, p=lobby: (
                kiosk.controller.state is State.ATTRACT
                and p.url().host() == "attract"
                and not p.isLoading()
                and not d.exists()
            )
        )
        resets.append((time.perf_counter() - start) * 1000)
        # Baseline: a fresh off-the-record profile with a page loading a local page, then destroyed.
        start = time.perf_counter()
        profile = QWebEngineProfile()
        page = QWebEnginePage(profile)
        view = QWebEngineView()
        view.setPage(page)
        view.resize(1280, 800)
        view.show()
        done: list[bool] = []
        page.loadFinished.connect(done.append)
        page.setHtml(LOCAL_PAGE)
        _wait(lambda d=done: bool(d))
        destroy_profile(profile, [view, page], None)
        baselines.append((time.perf_counter() - start) * 1000)
    print(
        "RESULT "
        + json.dumps({"reset_ms": statistics.median(resets[2:]), "baseline_ms": statistics.median(baselines[2:])}),
        flush=True,
    )


def soak() -> None:
    """RSS of the whole shell (with its Chromium processes) over many scripted sessions."""
    sys.path.insert(0, str(REPO))
    from tests.shellkit import write_test_config
    from tests.webserver import LoopbackWeb

    web = LoopbackWeb().start()
    try:
        web.page(
            "www.allowed.test",
            "/",
            "<!doctype html><meta charset=utf-8><h1>Démarche</h1><input id=f>"
            "<script>localStorage.setItem('x', 'y'.repeat(10000)); document.cookie='a=b';</script>",
        )
        from kiosk.core.loading import load_config
        from kiosk.core.ports import ManualClock
        from kiosk.core.session import State
        from kiosk.devices.fakes import FakePrinter
        from kiosk.shell.app import create_application
        from kiosk.shell.assembly import build_kiosk

        create_application(chromium_flags=[f"--proxy-server=http://127.0.0.1:{web.port}"])
        tmp = Path(tempfile.mkdtemp())
        directory = write_test_config(tmp / "cfg")
        config = load_config(directory / "kiosk.toml", directory / "tiles.toml")
        clock = ManualClock()
        kiosk = build_kiosk(config, tmp / "s", printer=FakePrinter(), clock=clock, store=None)
        kiosk.window.resize(1280, 800)
        kiosk.window.show()
        sessions = int(os.environ.get("BENCH_SOAK_SESSIONS", "200"))
        warmup = 10
        start_rss = 0.0
        for n in range(sessions + warmup):
            kiosk.controller.start_session()
            _wait(
                lambda: kiosk.controller.session_page() is not None and kiosk.controller.current_url().host() == "home"
            )
            kiosk.controller.open_tile("allowed")
            _wait(
                lambda: (
                    kiosk.controller.current_url().host() == "www.allowed.test"
                    and not kiosk.controller.session_page().isLoading()
                )
            )
            kiosk.controller.end_session()
            _wait(lambda: kiosk.controller.state is State.WIPED)
            clock.advance(config.kiosk.session.goodbye_s)
            kiosk.controller.session.tick()
            _wait(lambda: kiosk.controller.state is State.ATTRACT)
            if n == warmup - 1:
                _loop(500)
                start_rss = _rss_mib(os.getpid())
        _loop(1000)
        end_rss = _rss_mib(os.getpid())
        print(
            "RESULT "
            + json.dumps(
                {
                    "sessions": sessions,
                    "rss_start_mib": start_rss,
                    "rss_end_mib": end_rss,
                    "growth_pct": (end_rss - start_rss) / start_rss * 100,
                }
            ),
            flush=True,
        )
    finally:
        web.stop()


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    {"bare": bare, "kiosk": kiosk, "reset": reset, "soak": soak}[sys.argv[1]]()
    sys.stdout.flush()
    os._exit(0)
