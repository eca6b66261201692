"""The scanner's figure for `make bench`: ``scan_to_chooser_ms``, with SANE's ``test`` backend.

A site's file input asks for a document; in the kiosk's file chooser the resident taps
"Scanner un document", then "Scanner" in the scan overlay, then "Enregistrer le document" as
soon as the page is shown: the figure runs from the first tap to the chooser handing the saved
scan to the site (its answer, what the page's input then holds). The taps are made by a timer
polling every millisecond for the button to be ready, as a resident's finger would be there.
Everything is the shipped configuration's shell (``build_kiosk``, the bench tile's loopback
site) with the scanner ``test:0`` of a private SANE configuration (``tests/sanekit.py``).

Baseline, in the same run: what ``scanimage --format=png`` does for one page of the same device
at the same resolution, with python-sane in a process of its own (open, set mode and resolution,
scan, write the PNG, close; ``sane.init`` left out, as the shell pays it once per process). The
ratio says what the shell's path (worker thread, preview, PDF made and compressed, overlays)
adds to the scan itself.

Each side is measured in its own process (``python -m bench.scan_probes kiosk|bare``), which
prints ``RESULT {json}``: QtWebEngine starts once per process, and libsane reads its
configuration once.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiosk.shell.assembly import Kiosk

REPO = Path(__file__).resolve().parents[1]
DEVICE = "test:0"
UPLOAD = """<!doctype html><html lang=fr><meta charset=utf-8><title>Justificatif</title>
<input type=file id=f accept=".pdf,image/jpeg" style="display:none">
<button id=b style="position:fixed;inset:0;width:100%;height:100%;font-size:40px"
  onclick="document.getElementById('f').click()">Envoyer un justificatif</button>"""


def measure(env_for: Callable[[Path], dict[str, str]], rounds: int = 10) -> dict[str, object]:
    """Both sides, ``rounds`` scans each (the first of each left out as a warm-up when there are more)."""
    from tests.sanekit import write_config

    with tempfile.TemporaryDirectory(prefix="borne-bench-scan-") as tmp:
        root = Path(tmp)
        env = {**env_for(root / "kiosk"), "SANE_CONFIG_DIR": str(write_config(root / "sane"))}
        env["BENCH_SCAN_ROUNDS"] = str(rounds + (1 if rounds > 1 else 0))
        bare = _run("bare", env)
        kiosk = _run("kiosk", env)
    warm = 1 if rounds > 1 else 0
    scan_ms, bare_ms = statistics.median(kiosk["ms"][warm:]), statistics.median(bare["ms"][warm:])
    return {
        "scan_to_chooser_ms": round(scan_ms, 1),
        "scan_to_chooser_baseline_ms": round(bare_ms, 1),
        "scan_to_chooser_ratio": round(scan_ms / bare_ms, 2),
        "scan_to_chooser_rounds": rounds,
    }


def _run(mode: str, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr:
        out = subprocess.run(
            [sys.executable, "-m", "bench.scan_probes", mode], stdout=subprocess.PIPE, stderr=stderr, env=env, text=True
        )
        lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
        if out.returncode != 0 or not lines:
            stderr.seek(0)
            raise RuntimeError(f"scan probe {mode}: exit {out.returncode}\n{stderr.read()[-6000:]}")
        return dict(json.loads(lines[-1][len("RESULT ") :]))


def bare() -> None:
    """``scanimage -d test:0 --resolution 200 --mode Color --format=png``, in python-sane."""
    import sane

    from kiosk.core.devices import ScanOptions

    dpi = ScanOptions().resolution_dpi  # what the shell asks for
    sane.init()
    times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(int(os.environ["BENCH_SCAN_ROUNDS"])):
            start = time.perf_counter()
            device = sane.open(DEVICE)
            try:
                device.mode = "Color"
                device.resolution = dpi
                device.scan().save(Path(tmp) / f"page-{n}.png", "PNG")
            finally:
                device.close()
            times.append((time.perf_counter() - start) * 1000)
    print("RESULT " + json.dumps({"ms": times}), flush=True)


def kiosk() -> None:
    """The shipped shell, a resident on the bench tile's upload page, scanning from the chooser."""
    from bench.probes import Loads, _load, _start_logging, _wait
    from bench.site import HOST, TILE_ID, shipped_config_with_bench_tile
    from kiosk.core.ports import ManualClock
    from kiosk.devices.sane import SaneScanner
    from kiosk.shell.app import create_application
    from kiosk.shell.assembly import build_kiosk
    from tests.webserver import LoopbackWeb

    _start_logging()
    web = LoopbackWeb().start()
    try:
        web.page(HOST, "/", UPLOAD)
        config = _load(shipped_config_with_bench_tile(Path(tempfile.mkdtemp(prefix="borne-bench-config-"))))
        create_application(chromium_flags=[f"--proxy-server=http://127.0.0.1:{web.port}"])
        shell = build_kiosk(
            config, config.kiosk.paths.session_root, clock=ManualClock(), scanner=SaneScanner(DEVICE), store=None
        )
        shell.window.resize(1280, 800)
        shell.window.show()
        Loads(shell.window.lobby_view).wait("attract", "the welcome screen")
        times: list[float] = []
        for _ in range(int(os.environ["BENCH_SCAN_ROUNDS"])):
            shell.controller.start_session()
            page = shell.controller.session_page()
            assert page is not None
            Loads(page).wait("home", "the home page")
            loads = Loads(page)
            shell.actions.dispatch("open", {"tile": TILE_ID})
            loads.wait(HOST, "the upload page")
            times.append(_scan_from_chooser(shell))
            shell.controller.end_session()
            _wait(lambda: shell.controller.browser is None, "the wipe")
            shell.controller.skip_questions()
            shell.controller.session.activity()
        print("RESULT " + json.dumps({"ms": times}), flush=True)
    finally:
        web.stop()


def _scan_from_chooser(shell: Kiosk) -> float:
    """One resident's scan for the page's file input: milliseconds from the chooser's
    "Scanner un document" to the chooser's answer."""
    from PySide6.QtCore import QPoint, Qt, QTimer
    from PySide6.QtTest import QTest

    from bench.probes import _wait

    assert shell.controller.scanning is not None
    chooser, overlay = shell.window.chooser, shell.controller.scanning.overlay
    answered: list[float] = []
    start = [0.0]

    def tap_scan() -> None:
        start[0] = time.perf_counter()
        chooser.scan_button.click()  # returns once the chooser has answered

    def ready(button: Any) -> Callable[[], bool]:
        return lambda: overlay.isVisible() and button.isVisible() and button.isEnabled() and not overlay._busy

    steps: list[tuple[Callable[[], bool], Callable[[], None]]] = [
        (lambda: chooser.isVisible() and chooser.scan_button.isVisible(), tap_scan),
        (ready(overlay.scan_button), overlay.scan_button.click),
        (lambda: bool(overlay._pages) and ready(overlay.save)(), overlay.save.click),
    ]
    timer = QTimer()
    timer.setInterval(1)

    def tick() -> None:
        if steps and steps[0][0]():
            _condition, action = steps.pop(0)
            QTimer.singleShot(0, action)  # outside this slot: the action may open a nested loop
        if not steps:
            timer.stop()

    def chosen(files: object) -> None:
        if files:
            answered.append(time.perf_counter())

    timer.timeout.connect(tick)
    chooser.finished.connect(chosen)
    timer.start()
    view = shell.controller.session_view()
    assert view is not None
    target = view.focusProxy() or view
    for _attempt in range(5):  # the resident's tap on the page's button: its file input
        centre = QPoint(target.width() // 2, target.height() // 2)
        QTest.mouseClick(target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, centre)
        try:  # the page waits inside the chooser: this wait returns once the chooser has answered
            _wait(lambda: chooser.isVisible() or bool(answered), "the file chooser", timeout_s=3)
            break
        except TimeoutError:
            continue
    _wait(lambda: bool(answered), "the scan handed to the site", timeout_s=60)
    chooser.finished.disconnect(chosen)
    return (answered[0] - start[0]) * 1000


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    {"bare": bare, "kiosk": kiosk}[sys.argv[1]]()
    sys.stdout.flush()
    os._exit(0)
