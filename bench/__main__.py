"""`make bench`: the shell's and the statistics' figures, each against a same-run baseline.

Prints one JSON object on stdout. Each Qt measurement runs in its own process
(QtWebEngine starts once per process), on the shipped configuration, with its data, sessions
and last good config in a temporary directory. A probe that fails shows its stderr.

``--smoke`` runs everything once at small sizes: it proves that the bench works (``make test``
runs it), its figures mean nothing.
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
from typing import IO

REPO = Path(__file__).resolve().parents[1]
GROUPS = {"shell", "stats", "sync", "mediator", "booking", "printing", "scan"}


class ProbeFailed(RuntimeError):
    pass


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = str(REPO)
    env.setdefault("KIOSK_SPEECH", "off")  # no speech-dispatcher left behind by the probes
    # An installed kiosk starts from compiled bytecode (pip compiles it at install): let the
    # warm-up run write it, rather than compile the kiosk's modules again at every measured start.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # As `kiosk shell` runs under systemd with its paths set, never /var/lib/kiosk here.
    env["KIOSK_DATA_DIR"] = str(tmp / "data")
    env["KIOSK_SESSION_ROOT"] = str(tmp / "sessions")
    env["KIOSK_LAST_GOOD_DIR"] = str(tmp / "last-good-config")
    return env


def _failed(mode: str, why: str, stderr: IO[str]) -> ProbeFailed:
    stderr.seek(0)
    tail = stderr.read()[-6000:]
    return ProbeFailed(f"probe {mode}: {why}\n--- its stderr (end) ---\n{tail}")


def time_to_ready(mode: str, tmp: Path) -> tuple[float, float, float]:
    """Seconds from spawning ``bench.probes MODE`` to its READY line (its first screen painted)
    and to its INTERACTIVE line (complete; the bare baseline is complete when painted), and the
    milliseconds of its first session that it then reports (``SESSION <ms>``)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr:
        start = time.perf_counter()
        command = [sys.executable, "-m", "bench.probes", mode]
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, env=_env(tmp), text=True)
        assert proc.stdout is not None
        ready: float | None = None
        interactive: float | None = None
        try:
            for line in proc.stdout:
                if line.startswith("READY") and ready is None:
                    ready = time.perf_counter() - start
                elif line.startswith("INTERACTIVE"):
                    interactive = time.perf_counter() - start
                elif line.startswith("SESSION ") and ready is not None:
                    return ready, max(ready, interactive or ready), float(line.split()[1])
            proc.wait(timeout=60)
            seen = "READY but no SESSION" if ready is not None else "no READY"
            raise _failed(mode, f"ended with {seen} (exit {proc.returncode})", stderr)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            # Killed inside a session: its directory would be wiped by the next start, which
            # a normal start does not have to do.
            shutil.rmtree(tmp / "sessions", ignore_errors=True)


def probe_json(mode: str, tmp: Path, extra_env: dict[str, str] | None = None) -> dict[str, float]:
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as stderr:
        try:
            out = subprocess.run(
                [sys.executable, "-m", "bench.probes", mode],
                stdout=subprocess.PIPE,
                stderr=stderr,
                env={**_env(tmp), **(extra_env or {})},
                text=True,
                timeout=3600,
            )
        except subprocess.TimeoutExpired as error:
            raise _failed(mode, "timed out", stderr) from error
        lines = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")]
        if out.returncode != 0 or not lines:
            raise _failed(mode, f"exit {out.returncode}, {len(lines)} RESULT line(s)", stderr)
        return dict(json.loads(lines[-1][len("RESULT ") :]))


def shell_figures(runs: int, soak_sessions: int, reset_runs: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="borne-bench-shell-") as tmp:
        root = Path(tmp)
        # One warm-up each (file cache, the kiosk's database created), then bare and kiosk in
        # turns, so that a load change on the machine weighs on both alike.
        time_to_ready("bare", root / "bare")
        time_to_ready("kiosk", root / "kiosk")
        baseline, kiosk, session_baseline, session, complete = [], [], [], [], []
        for _ in range(runs):
            for mode, starts, sessions in (("bare", baseline, session_baseline), ("kiosk", kiosk, session)):
                start_s, complete_s, session_ms = time_to_ready(mode, root / mode)
                starts.append(start_s)
                sessions.append(session_ms)
                if mode == "kiosk":
                    complete.append(complete_s)
        reset = probe_json("reset", root / "reset", {"BENCH_RESET_RUNS": str(reset_runs)})
        soak = probe_json("soak", root / "soak", {"BENCH_SOAK_SESSIONS": str(soak_sessions)})
    return {
        "startup_baseline_s": round(statistics.median(baseline), 3),
        "startup_kiosk_s": round(statistics.median(kiosk), 3),
        "startup_ratio": round(statistics.median(kiosk) / statistics.median(baseline), 2),
        "startup_complete_s": round(statistics.median(complete), 3),
        "startup_complete_ratio": round(statistics.median(complete) / statistics.median(baseline), 2),
        "session_start_ms": round(statistics.median(session), 1),
        "session_start_baseline_ms": round(statistics.median(session_baseline), 1),
        "session_start_ratio": round(statistics.median(session) / statistics.median(session_baseline), 2),
        "session_reset_ms": round(reset["reset_ms"], 1),
        "session_reset_baseline_ms": round(reset["baseline_ms"], 1),
        "session_reset_ratio": round(reset["reset_ms"] / reset["baseline_ms"], 2),
        "soak_sessions": int(soak["sessions"]),
        "soak_rss_start_mib": round(soak["rss_start_mib"], 1),
        "soak_rss_end_mib": round(soak["rss_end_mib"], 1),
        "soak_rss_growth_pct": round(soak["growth_pct"], 1),
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--only", default=",".join(sorted(GROUPS)), help="comma-separated: " + ", ".join(sorted(GROUPS))
    )
    parser.add_argument("--smoke", action="store_true", help="once, at small sizes: check that the bench runs")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    if not only <= GROUPS:
        parser.error(f"unknown group(s): {', '.join(sorted(only - GROUPS))}")
    smoke = args.smoke
    figures: dict[str, object] = {}
    try:
        if "shell" in only:
            runs = 1 if smoke else int(os.environ.get("BENCH_RUNS", "5"))
            soak = 3 if smoke else int(os.environ.get("BENCH_SOAK_SESSIONS", "200"))
            figures.update(shell_figures(runs, soak, reset_runs=3 if smoke else 7))
        if "stats" in only:
            from bench.stats_probes import measure

            figures.update(measure(calls=200, runs=1, day_events=500) if smoke else measure())
        if "sync" in only:
            from bench.sync_probes import measure as measure_sync

            figures.update(measure_sync(smoke=smoke))
        if "mediator" in only:
            from bench.mediator_probes import measure as measure_mediator

            figures.update(measure_mediator(rounds=2 if smoke else 20))

        if "booking" in only:
            from bench.booking_probes import measure as measure_booking

            figures.update(measure_booking(bookings=1, gets=3) if smoke else measure_booking())
        if "printing" in only:
            from bench.print_probes import measure as measure_printing

            with tempfile.TemporaryDirectory(prefix="borne-bench-print-") as tmp:
                figures.update(measure_printing(1 if smoke else 15, _env(Path(tmp))))
        if "scan" in only:
            from bench.scan_probes import measure as measure_scan

            figures.update(measure_scan(_env, rounds=1 if smoke else 10))
    except ProbeFailed as error:
        print(error, file=sys.stderr)
        return 1
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
