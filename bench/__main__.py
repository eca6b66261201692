"""`make bench`: the shell's and the statistics' figures, each against a same-run baseline.

Prints one JSON object on stdout. Each Qt measurement runs in its own process
(QtWebEngine starts once per process).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
SOAK_SESSIONS = int(os.environ.get("BENCH_SOAK_SESSIONS", "200"))


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    env["PYTHONPATH"] = str(REPO)
    env.setdefault("KIOSK_SPEECH", "off")  # no speech-dispatcher left behind by the probes
    return env


def time_to_ready(mode: str) -> float:
    """Seconds from spawning ``bench.probes MODE`` to its READY line."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.probes", mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(),
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("READY"):
            elapsed = time.perf_counter() - start
            proc.terminate()
            proc.wait(timeout=30)
            return elapsed
    proc.wait()
    raise RuntimeError(f"probe {mode} ended without READY")


def probe_json(mode: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.probes", mode],
        capture_output=True,
        env=_env(),
        text=True,
        timeout=1800,
        check=True,
    ).stdout
    line = [x for x in out.splitlines() if x.startswith("RESULT ")][-1]
    return dict(json.loads(line[len("RESULT ") :]))


def shell_figures() -> dict[str, object]:
    baseline = [time_to_ready("bare") for _ in range(RUNS)]
    kiosk = [time_to_ready("kiosk") for _ in range(RUNS)]
    reset = probe_json("reset")
    soak = probe_json("soak")
    figures = {
        "startup_baseline_s": round(statistics.median(baseline), 3),
        "startup_kiosk_s": round(statistics.median(kiosk), 3),
        "startup_ratio": round(statistics.median(kiosk) / statistics.median(baseline), 2),
        "session_reset_ms": round(reset["reset_ms"], 1),
        "session_reset_baseline_ms": round(reset["baseline_ms"], 1),
        "session_reset_ratio": round(reset["reset_ms"] / reset["baseline_ms"], 2),
        "soak_sessions": int(soak["sessions"]),
        "soak_rss_start_mib": round(soak["rss_start_mib"], 1),
        "soak_rss_end_mib": round(soak["rss_end_mib"], 1),
        "soak_rss_growth_pct": round(soak["growth_pct"], 1),
        "runs": RUNS,
    }
    return dict(figures)


GROUPS = {"shell", "stats", "sync"}


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", default=",".join(sorted(GROUPS)), help="comma-separated: shell, stats, sync")
    only = set(parser.parse_args(argv).only.split(","))
    if not only <= GROUPS:
        parser.error(f"unknown group(s): {', '.join(sorted(only - GROUPS))}")
    figures: dict[str, object] = {}
    if "shell" in only:
        figures.update(shell_figures())
    if "stats" in only:
        from bench.stats_probes import measure

        figures.update(measure())
    if "sync" in only:
        from bench.sync_probes import measure as measure_sync

        figures.update(measure_sync())
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
