"""`make bench` keeps working: its smoke run (one start of each, a few sessions, small stats and
federation sizes) on the shipped configuration prints every figure. No timing is asserted here:
figures are for `make bench` on a quiet machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.bench

REPO = Path(__file__).resolve().parents[2]

SHELL = {
    "startup_baseline_s",
    "startup_kiosk_s",
    "startup_ratio",
    "startup_complete_s",
    "startup_complete_ratio",
    "session_start_ms",
    "session_start_baseline_ms",
    "session_start_ratio",
    "session_reset_ms",
    "session_reset_baseline_ms",
    "session_reset_ratio",
    "soak_sessions",
    "soak_rss_start_mib",
    "soak_rss_end_mib",
    "soak_rss_growth_pct",
    "runs",
}
STATS = {
    "event_record_us",
    "event_record_baseline_us",
    "event_record_ratio",
    "event_record_target_us",
    "event_record_target_met",
    "event_record_full_us",
    "event_record_full_baseline_us",
    "event_record_full_ratio",
    "aggregate_day_ms",
    "aggregate_day_events",
    "aggregate_day_baseline_ms",
    "aggregate_day_ratio",
    "aggregate_day_target_ms",
    "aggregate_day_target_met",
}
MEDIATOR = {
    "mediator_call_to_console_ms",
    "mediator_call_to_console_baseline_ms",
    "mediator_call_to_console_ratio",
    "mediator_call_to_console_max_ms",
    "mediator_console_fetch_ms",
    "mediator_call_to_console_target_ms",
    "mediator_call_to_console_target_met",
    "mediator_call_rounds",
}
SYNC = (
    {
        f"{figure}_{db}"
        for figure in ("ingest_batches_per_s", "ingest_baseline_requests_per_s", "ingest_ratio")
        for db in ("sqlite", "postgres")
    }
    | {
        "dashboard_seed",
        "dashboard_periods",
        "dashboard_baseline_p95_ms",
        "dashboard_target_ms",
        "dashboard_slowest",
        "dashboard_target_met",
        "publication_months",
        "publication_cells",
        "publication_s_month",
        "publication_suppressed_months",
        "publication_s_month_sums_only",
        "dashboard_p95_ms_parc",
        "dashboard_ratio_parc",
    }
    | {
        f"dashboard_{figure}_{page}_{kind}"
        for figure in ("p95_ms", "ratio")
        for page in ("national", "departement", "centre", "export")
        for kind in ("week", "month", "quarter", "year")
    }
)
BOOKING = {
    "booking_p95_ms",
    "booking_slots_page_p95_ms",
    "booking_form_p95_ms",
    "booking_whole_p95_ms",
    "booking_baseline_p95_ms",
    "booking_ratio",
    "booking_target_ms",
    "booking_target_met",
    "booking_clients",
    "booking_samples",
}
PRINTING = {"print_submit_ms", "print_submit_baseline_ms", "print_submit_ratio", "print_submit_rounds"}
SCAN = {"scan_to_chooser_ms", "scan_to_chooser_baseline_ms", "scan_to_chooser_ratio", "scan_to_chooser_rounds"}


@pytest.mark.timeout(900)
def test_the_bench_smoke_run_prints_every_figure() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=880,
    )
    assert run.returncode == 0, run.stderr[-6000:]
    figures = json.loads(run.stdout)
    assert set(figures) == SHELL | STATS | SYNC | MEDIATOR | BOOKING | PRINTING | SCAN
    assert figures["booking_clients"] == 20 and figures["booking_samples"] == 20
    assert figures["soak_sessions"] > 0 and figures["runs"] == 1
