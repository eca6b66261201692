"""Processes measured by `make bench` (run as ``python -m bench.probes MODE``).

Every kiosk probe starts the shell as ``kiosk shell`` does: JSON logs (to stderr, which the
bench shows when a probe fails), ``load_for_process`` on the shipped configuration with
KIOSK_DATA_DIR, KIOSK_SESSION_ROOT and KIOSK_LAST_GOOD_DIR pointing into the probe's own
temporary directory (``bench/__main__.py`` sets them), and the statistics store open.
"""

from __future__ import annotations

import ctypes
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from PySide6.QtWebEngineCore import QWebEnginePage
    from PySide6.QtWebEngineWidgets import QWebEngineView

    from kiosk.shell.assembly import Kiosk
    from tests.webserver import LoopbackWeb

REPO = Path(__file__).resolve().parents[1]
LOCAL_PAGE = "<!doctype html><meta charset=utf-8><h1>Bonjour</h1><p>Page locale.</p>"


_LOOP: list[Any] = []  # one event loop and its timer for the whole probe: nothing new per wait


def _loop(ms: int) -> None:
    """Let Qt run for ``ms`` milliseconds."""
    from PySide6.QtCore import QEventLoop, QTimer

    if not _LOOP:
        loop, timer = QEventLoop(), QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(loop.quit)
        _LOOP.extend((loop, timer))
    loop, timer = _LOOP
    timer.start(ms)
    # PySide 6.12 on CPython 3.11 takes a reference from None at each void call (HACKING): give
    # back the one this wait took, so that the bench never exhausts None in the code it measures.
    ctypes.pythonapi.Py_IncRef(ctypes.py_object(None))
    loop.exec()


def _wait(predicate: Callable[[], object], what: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout_s:.0f} s for {what}")
        _loop(2)


class Loads:
    """What a page finished loading, in order: the ``kiosk:`` page's name, or the host
    (``loadFinished`` with the page's URL then). Given a view, whatever page the view shows
    (the watchdog may give the lobby a fresh page)."""

    def __init__(self, page: QWebEnginePage | QWebEngineView) -> None:
        self.hosts: list[str] = []
        self._page = page
        page.loadFinished.connect(self._finished)

    def _finished(self, ok: bool) -> None:
        from kiosk.shell.web.scheme import page_name

        url = self._page.url()
        self.hosts.append((page_name(url) or url.host()) if ok else f"!failed:{page_name(url) or url.host()}")

    def wait(self, host: str, what: str) -> None:
        """Wait for the next load of ``host`` (loads seen so far are forgotten)."""
        try:
            _wait(lambda: host in self.hosts, what)
        except TimeoutError as error:
            seen = f"loads seen since: {self.hosts}, now at {self._page.url().toString()}"
            raise TimeoutError(f"{error}; {seen}") from None
        del self.hosts[: self.hosts.index(host) + 1]


def _start_logging() -> None:
    from kiosk.core.logs import configure_logging

    configure_logging("INFO", sys.stderr)


def _load(config_dir: Path):  # type: ignore[no-untyped-def]
    """The configuration as the shell loads it (the process's path overrides applied), with the
    very function ``kiosk shell``'s start calls (``kiosk.shell.startup``)."""
    from kiosk.core.loading import load_for_process

    result = load_for_process(config_dir)
    assert not result.problems, result.problems
    data_dir = result.config.kiosk.paths.data_dir
    assert os.environ.get("KIOSK_DATA_DIR") and data_dir == Path(os.environ["KIOSK_DATA_DIR"]), data_dir
    return result.config


def _assert_store_open(kiosk: Kiosk) -> None:
    if kiosk.controller.store is None:
        raise SystemExit("the statistics store did not open (see stats.store_unavailable above)")


SETTLE_MS = 1000  # the screen up and idle before the first resident touches it (both probes)
GOODBYE_SHOWN_MS = 200  # the goodbye screen's own seconds, shortened (and not counted)


def _show_local_page(profile: Any, title: str) -> tuple[Any, Any]:
    """A view of its own on ``profile`` showing the local page, painted; returns (view, page)."""
    from PySide6.QtWebEngineCore import QWebEnginePage
    from PySide6.QtWebEngineWidgets import QWebEngineView

    page = QWebEnginePage(profile)
    view = QWebEngineView()
    view.setPage(page)
    view.resize(1280, 800)
    view.show()
    done: list[bool] = []
    page.loadFinished.connect(done.append)
    page.setHtml(LOCAL_PAGE)
    _wait(lambda: bool(done), title)
    view.grab()
    return view, page


def _report_after_settling(name: str, measure: Callable[[], float]) -> None:
    """``name <ms>`` on stdout for ``measure()``, once the first screen has been idle a while."""
    from PySide6.QtCore import QTimer

    def run() -> None:
        print(f"{name} {measure():.1f}", flush=True)

    QTimer.singleShot(SETTLE_MS, run)


def bare() -> None:
    """Baseline: a bare QtWebEngine window loading a local page (READY once painted); then,
    for the first session's baseline, a fresh off-the-record profile whose own view paints a
    local page (SESSION <ms>)."""
    from kiosk.shell.environment import prepare_environment

    prepare_environment()
    from PySide6.QtWebEngineCore import QWebEngineProfile
    from PySide6.QtWebEngineWidgets import QWebEngineView
    from PySide6.QtWidgets import QApplication

    app = QApplication(sys.argv[:1])
    view = QWebEngineView()
    view.resize(1280, 800)
    view.show()
    kept: list[object] = []

    def fresh_profile_page() -> float:
        start = time.perf_counter()
        profile = QWebEngineProfile()
        kept.extend((profile, *_show_local_page(profile, "the baseline's second page")))
        return (time.perf_counter() - start) * 1000

    def painted(_ok: bool) -> None:
        view.grab()
        print("READY", flush=True)
        _report_after_settling("SESSION", fresh_profile_page)

    view.loadFinished.connect(painted)
    view.setHtml(LOCAL_PAGE)
    app.exec()


def kiosk() -> None:
    """The kiosk from process start to its welcome screen painted, as `kiosk shell` starts it
    (READY; from the last start's first screen when it is still good, as in production); then
    complete, the configuration read and everything built (INTERACTIVE); then the first
    resident's touch to their home page painted (SESSION <ms>)."""
    from kiosk.cli import build_parser  # the entry point's own imports, as `kiosk shell` pays them

    build_parser().parse_args(["shell", "--config-dir", str(REPO / "config")])
    _start_logging()
    from kiosk.shell.app import create_application
    from kiosk.shell.startup import start_shell
    from kiosk.shell.web.scheme import page_name

    app = create_application()

    def place(window: Any, _fullscreen: bool) -> None:
        window.resize(1280, 800)
        window.show()
        lobby = window.lobby_page()

        def painted(ok: bool) -> None:
            if not ok or page_name(lobby.url()) != "attract":
                return
            lobby.loadFinished.disconnect(painted)
            window.grab()
            print("READY", flush=True)

        lobby.loadFinished.connect(painted)

    def ready(kiosk: Kiosk, result: Any) -> None:
        assert not result.problems, result.problems
        data_dir = result.config.kiosk.paths.data_dir
        assert os.environ.get("KIOSK_DATA_DIR") and data_dir == Path(os.environ["KIOSK_DATA_DIR"]), data_dir
        _assert_store_open(kiosk)
        print("INTERACTIVE", flush=True)

        def first_session() -> float:
            start = time.perf_counter()
            kiosk.controller.start_session()
            page = kiosk.controller.session_page()
            assert page is not None
            Loads(page).wait("home", "the first resident's home page")
            kiosk.window.grab()
            return (time.perf_counter() - start) * 1000

        _report_after_settling("SESSION", first_session)

    def failed(error: Exception) -> None:
        raise SystemExit(f"the shipped configuration was refused: {error}")

    start_shell(REPO / "config", place, ready, failed)
    app.exec()


class Resident:
    """The bench's kiosk on the shipped config plus the bench tile, with a scripted resident."""

    def __init__(self, web: LoopbackWeb) -> None:
        from bench.site import shipped_config_with_bench_tile
        from kiosk.core.ports import ManualClock
        from kiosk.shell.app import create_application
        from kiosk.shell.assembly import build_kiosk

        _start_logging()
        config_dir = shipped_config_with_bench_tile(Path(tempfile.mkdtemp(prefix="borne-bench-config-")))
        self.config = _load(config_dir)
        assert self.config.kiosk.stats.questions, "the shipped configuration asks the end-of-session questions"
        self.web = web
        create_application(chromium_flags=[f"--proxy-server=http://127.0.0.1:{web.port}"])
        # A manual clock only to skip the goodbye screen's few seconds, which nobody waits for here.
        self.clock = ManualClock()
        self.kiosk = build_kiosk(self.config, self.config.kiosk.paths.session_root, clock=self.clock)
        _assert_store_open(self.kiosk)
        self.kiosk.window.resize(1280, 800)
        self.kiosk.window.show()
        self.lobby = Loads(self.kiosk.window.lobby_view)
        self.lobby.wait("attract", "the welcome screen")

    def demarche(self) -> Path:
        """Touch the welcome screen, open the bench tile, let its site store everything and
        download its PDF; return once the PDF is on screen. Returns the session's directory."""
        from bench.site import HOST, TILE_ID

        controller = self.kiosk.controller
        controller.start_session()
        page = controller.session_page()
        assert page is not None and controller.browser is not None
        Loads(page).wait("home", "the home page")
        self.kiosk.actions.dispatch("open", {"tile": TILE_ID})
        _wait(self.kiosk.window.pdf_shown, "the avis in the PDF viewer")
        assert {"/", "/avis.pdf"} <= {hit.path for hit in self.web.requests_to(HOST)}, "served by the loopback site"
        self.web.hits.clear()  # the server lives in this process: what it keeps is not the kiosk's
        return controller.browser.dir

    def end_and_skip_questions(self) -> float:
        """ "Terminer ma session", one tap on "Passer les questions", the goodbye screen, then the
        welcome screen ready. Returns the seconds a resident waits for screens: to the goodbye,
        and from the end of its own seconds (left out) to the welcome screen."""
        from kiosk.core.session import State

        start = time.perf_counter()
        self.kiosk.actions.dispatch("end", {})
        self.lobby.wait("questions", "the end-of-session questions")
        self.kiosk.window.lobby_page().runJavaScript("document.getElementById('skip').click()", 0)
        _wait(lambda: self.kiosk.controller.state is State.WIPED, "the wipe")
        # The goodbye screen on screen a moment, as a resident sees it before its seconds run out.
        self.wait_goodbye()
        waited = time.perf_counter() - start
        _loop(GOODBYE_SHOWN_MS)
        start = time.perf_counter()
        self.clock.advance(self.config.kiosk.session.goodbye_s)
        self.kiosk.controller.session.tick()
        self.lobby.wait("attract", "the welcome screen again")
        return waited + time.perf_counter() - start

    def wait_goodbye(self) -> None:
        """The goodbye on screen: shown in place by the questions page (no load) or loaded; either
        way, the lobby's document is complete and shows it (asked of the document itself)."""
        from kiosk.shell.web.scheme import page_name

        lobby = self.kiosk.window.lobby_page()
        _wait(lambda: page_name(lobby.url()) == "goodbye", "the goodbye screen")
        script = (
            "document.readyState === 'complete' && !!document.getElementById('goodbye')"
            " && !document.getElementById('goodbye').hidden"
        )
        answers: list[object] = []
        asked = [0.0]

        def shown() -> bool:
            # Asked again when the last answer was "not yet", or never came: a script sent to a
            # document that a navigation then replaces (the goodbye loaded) never answers.
            if True in answers:
                return True
            if answers or time.monotonic() - asked[0] > 0.5:
                answers.clear()
                asked[0] = time.monotonic()
                lobby.runJavaScript(script, 0, answers.append)
            return False

        _wait(shown, "the goodbye on screen")

    def renderers(self) -> dict[int, str]:
        """The renderer processes of the kiosk's own views, by pid (for the memory trace)."""
        window = self.kiosk.window
        views = {"lobby": window.lobby_view, "layer": window._layer_view}
        return {view.page().renderProcessPid(): name for name, view in views.items() if view is not None}

    def sessions_ended(self) -> int:
        store = self.kiosk.controller.store
        assert store is not None
        self.kiosk.controller.stats.flush()
        return int(store.conn.execute("SELECT count(*) FROM events WHERE kind = 'session_ended'").fetchone()[0])


def _baseline_reset_ms() -> float:
    """A fresh off-the-record profile with a view loading a local page, then destroyed."""
    from PySide6.QtWebEngineCore import QWebEngineProfile

    from kiosk.shell.web.profile import destroy_profile

    start = time.perf_counter()
    profile = QWebEngineProfile()
    view, page = _show_local_page(profile, "the baseline page")
    destroy_profile(profile, [view, page], None)
    return (time.perf_counter() - start) * 1000


def reset() -> None:
    """After a démarche: "Terminer ma session" → questions skipped → welcome screen ready, the
    old profile destroyed and its directory gone (the goodbye screen's delay left out)."""
    from bench.site import serve_demarche  # not at the top: the start probe must not pay for it

    web = serve_demarche()
    try:
        resident = Resident(web)
        runs = max(3, int(os.environ.get("BENCH_RESET_RUNS", "7")))
        resets, baselines = [], []
        for _ in range(runs):
            session_dir = resident.demarche()
            _loop(100)
            waited = resident.end_and_skip_questions()
            assert not session_dir.exists(), "the session directory outlived the session"
            resets.append(waited * 1000)
            baselines.append(_baseline_reset_ms())
        assert resident.sessions_ended() == runs, "each session's end was recorded"
        # The first two of each warm caches up: the median of the rest.
        figures = {"reset_ms": statistics.median(resets[2:]), "baseline_ms": statistics.median(baselines[2:])}
        print("RESULT " + json.dumps(figures), flush=True)
    finally:
        web.stop()


def soak() -> None:
    """RSS of the whole shell (with its Chromium processes) over many démarches."""
    from bench.memory import SoakTrace, rss_mib
    from bench.site import serve_demarche

    web = serve_demarche()
    try:
        resident = Resident(web)
        sessions = int(os.environ.get("BENCH_SOAK_SESSIONS", "200"))
        warmup = min(10, max(1, sessions // 2))
        # The lobby's renderer grows until the watchdog renews it (16 MiB, 3 % of the whole): one
        # reading is anywhere on that saw. Compare the median of the first and of the last
        # sessions' readings (a twentieth of the run each, at least one): a leak is a trend.
        window = max(1, sessions // 20)
        trace = SoakTrace.from_environment()
        readings: list[float] = []
        for n in range(warmup + sessions):
            session_dir = resident.demarche()
            resident.end_and_skip_questions()
            assert not session_dir.exists(), f"session {n}: its directory outlived it"
            if n >= warmup:
                _loop(100)
                readings.append(rss_mib(os.getpid()))
            if trace is not None:
                trace.session(n, resident.renderers())
        assert resident.sessions_ended() == warmup + sessions
        start_rss, end_rss = statistics.median(readings[:window]), statistics.median(readings[-window:])
        result: dict[str, Any] = {
            "sessions": sessions,
            "rss_start_mib": start_rss,
            "rss_end_mib": end_rss,
            "growth_pct": (end_rss - start_rss) / start_rss * 100,
        }
        print("RESULT " + json.dumps(result), flush=True)
    finally:
        web.stop()


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    {"bare": bare, "kiosk": kiosk, "reset": reset, "soak": soak}[sys.argv[1]]()
    sys.stdout.flush()
    os._exit(0)
