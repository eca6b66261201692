"""The print screen's figure for `make bench`: ``print_submit_ms``.

From the resident's tap on "Lancer l'impression" (the print screen open on a 5-page PDF in the
viewer) to the job accepted by CUPS as the shell sees it: the ``PrintTracker``'s first progress
with a job id, on the GUI thread, after the quota's decision, the submission on a worker
thread through the CUPS adapter (``printFile``) and its answer back. The shell is the one
``kiosk shell`` builds on the shipped configuration (``printer = "auto"``: the CUPS default
destination), against a private cupsd with a cups-pdf queue (``tests/devicekit.py``, as in the
tests and `make run`), all in the probe's own process.

Baseline, in the same run and in turns: the same PDF submitted by pycups directly, as ``lp``
would (a connection, ``printFile`` to the same queue), no shell. Each job is printed to the end
(cups-pdf writes it) and purged before the next, so that no round waits behind another; the
resident's quota is reset between rounds (``cancel_all``, as at a session's end) so that every
job is a free one, printed at once, never held.

Run as ``python -m bench.print_probes`` (``BENCH_PRINT_ROUNDS``): prints ``RESULT {json}``.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PAGES = 5


def measure(rounds: int, env: dict[str, str]) -> dict[str, object]:
    """Run the probe in a process of its own (QtWebEngine starts once per process)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr:
        out = subprocess.run(
            [sys.executable, "-m", "bench.print_probes"],
            stdout=subprocess.PIPE,
            stderr=stderr,
            env={**env, "BENCH_PRINT_ROUNDS": str(rounds)},
            text=True,
            timeout=1800,
        )
        lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
        if out.returncode != 0 or not lines:
            stderr.seek(0)
            raise RuntimeError(f"probe print: exit {out.returncode}\n--- its stderr (end) ---\n{stderr.read()[-6000:]}")
    figures = json.loads(lines[-1][len("RESULT ") :])
    return {
        "print_submit_ms": round(figures["shell_ms"], 1),
        "print_submit_baseline_ms": round(figures["baseline_ms"], 1),
        "print_submit_ratio": round(figures["shell_ms"] / figures["baseline_ms"], 2),
        "print_submit_rounds": rounds,
    }


def _shell_round(kiosk: Any, document: Path) -> float:
    """Imprimer, then the timed tap on "Lancer l'impression"; the job printed, then purged."""
    from bench.probes import _wait

    viewer = kiosk.window.pdf_viewer
    accepted: list[float] = []

    def progressed(job: str, _state: str, _reason: str) -> None:
        if job and not accepted:
            accepted.append(time.perf_counter())

    kiosk.window.open_pdf(str(document), "Avis")
    viewer.print_button.click()
    assert viewer.sheet.isVisible() and viewer.sheet.choice.total == PAGES
    viewer.tracker.progress.connect(progressed)
    try:
        start = time.perf_counter()
        viewer.sheet.start_button.click()
        _wait(lambda: accepted, "the job accepted by CUPS")
    finally:
        viewer.tracker.progress.disconnect(progressed)
    _wait(lambda: not viewer.tracker.busy, "the job printed")
    assert "imprimé" in viewer.status.text(), viewer.status.text()
    viewer.cancel_all()  # the job purged, the session's free pages back, as at a session's end
    viewer.close_document()
    return (accepted[0] - start) * 1000


def _baseline_round(cupsd: Any, queue: str, document: Path) -> float:
    """``lp``: one connection, one ``printFile``; then the job printed and purged (not timed)."""
    import cups

    from bench.probes import _wait

    start = time.perf_counter()
    job = cups.Connection(host="127.0.0.1", port=cupsd.port).printFile(queue, str(document), "Borne", {"copies": "1"})
    elapsed = (time.perf_counter() - start) * 1000
    conn = cupsd.connection()
    _wait(lambda: conn.getJobAttributes(job)["job-state"] == cups.IPP_JOB_COMPLETED, "the baseline's job printed")
    conn.cancelJob(job, purge_job=True)
    return elapsed


def probe() -> None:
    from bench.probes import _load, _start_logging
    from kiosk.core.ports import ManualClock
    from tests.devicekit import PrivateCups, make_pdf

    _start_logging()
    work = Path(tempfile.mkdtemp(prefix="borne-bench-print-"))
    document = work / "avis.pdf"
    document.write_bytes(make_pdf(PAGES, "Avis de situation"))
    cupsd = PrivateCups.start()
    try:
        queue = cupsd.add_pdf_queue("Borne-bench", work / "printed", default=True)
        os.environ["CUPS_SERVER"] = cupsd.server  # printer = "auto": the default destination there
        cupsd.connection()  # libcups' server for this (the GUI) thread too
        config = _load(REPO / "config")
        assert config.kiosk.devices.printer == "auto", "the shipped configuration finds the CUPS printer"
        from kiosk.shell.app import create_application
        from kiosk.shell.assembly import build_kiosk

        create_application()
        kiosk = build_kiosk(config, config.kiosk.paths.session_root, clock=ManualClock())
        kiosk.window.resize(1280, 800)
        kiosk.window.show()
        rounds = max(1, int(os.environ.get("BENCH_PRINT_ROUNDS", "15")))
        _shell_round(kiosk, document)  # warm-up: the viewer and QtPdf built, the adapter's imports
        _baseline_round(cupsd, queue, document)
        shell, baseline = [], []
        for _ in range(rounds):
            shell.append(_shell_round(kiosk, document))
            baseline.append(_baseline_round(cupsd, queue, document))
        figures = {"shell_ms": statistics.median(shell), "baseline_ms": statistics.median(baseline)}
        print("RESULT " + json.dumps(figures), flush=True)
    finally:
        cupsd.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    probe()
    sys.stdout.flush()
    os._exit(0)
