"""Statistics figures for `make bench`: recording one event, sealing a busy day.

Each figure comes with a baseline measured in the same run on the same machine:
- ``event_record_us``: ``StatsRecorder.record`` (validation, trusted stamp, JSON, INSERT, commit)
  against a bare ``sqlite3`` INSERT of an equivalent row with the same PRAGMAs;
- ``aggregate_day_ms``: ``seal_day`` on a day of 5,000 events against reading those rows and
  decoding their JSON, the part no aggregation can avoid.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from kiosk.core.config import Category
from kiosk.core.ports import ManualClock
from kiosk.core.stats.aggregate import seal_day
from kiosk.core.stats.events import (
    AgeBracket,
    MediatorCall,
    NavigationBlocked,
    Outcome,
    PrintJob,
    Satisfaction,
    SessionEnded,
    SessionStarted,
    TileOpened,
)
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Durability, Role, open_store

RECORD_TARGET_US = 50.0
AGGREGATE_TARGET_MS = 200.0
PARIS = ZoneInfo("Europe/Paris")
BUSY_DAY = date(2026, 11, 24)


def _median_us(samples: list[float]) -> float:
    return statistics.median(samples) * 1e6


def record_us(directory: Path, durability: Durability, calls: int) -> float:
    store = open_store(directory / f"record-{durability.value}.db", Role.SHELL, durability)
    recorder = StatsRecorder(store, ManualClock(datetime(2026, 11, 24, 9, tzinfo=UTC)), boot="bench")
    event = TileOpened(tile="impots", category=Category.ARGENT)
    for _ in range(200):  # warm-up
        recorder.record(event, "0123456789abcdef0123456789abcdef")
    samples = []
    clock = time.perf_counter
    for _ in range(calls):
        start = clock()
        recorder.record(event, "0123456789abcdef0123456789abcdef")
        samples.append(clock() - start)
    store.close()
    return _median_us(samples)


def bare_insert_us(directory: Path, durability: Durability, calls: int) -> float:
    conn = sqlite3.connect(directory / f"bare-{durability.value}.db", isolation_level=None, timeout=0)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={durability.value.upper()}")
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, ts_ms INTEGER, boot TEXT NOT NULL, mono REAL NOT NULL,"
        " session TEXT, kind TEXT NOT NULL, data TEXT NOT NULL, agg_day TEXT)"
    )
    conn.execute("CREATE INDEX events_pending ON events (agg_day, ts_ms)")
    row = (
        1795510800000,
        "bench",
        1000.0,
        "0123456789abcdef0123456789abcdef",
        "tile_opened",
        '{"tile":"impots","category":"argent"}',
    )
    sql = "INSERT INTO events (ts_ms, boot, mono, session, kind, data) VALUES (?, ?, ?, ?, ?, ?)"
    for _ in range(200):
        conn.execute(sql, row)
    samples = []
    clock = time.perf_counter
    for _ in range(calls):
        start = clock()
        conn.execute(sql, row)
        samples.append(clock() - start)
    conn.close()
    return _median_us(samples)


def busy_day(path: Path, events: int = 5000) -> int:
    """A realistic busy day: sessions of a few tiles, refusals, prints, calls, answers."""
    rng = random.Random(2026)
    store = open_store(path, Role.SHELL)
    clock = ManualClock(datetime(2026, 11, 24, 7, 30, tzinfo=UTC))  # 08:30 in Paris
    recorder = StatsRecorder(store, clock, boot="bench")
    tiles = [
        ("impots", Category.ARGENT),
        ("caf", Category.FAMILLE),
        ("ameli", Category.SOCIAL_SANTE),
        ("ants", Category.PAPIERS),
        ("france-travail", Category.TRAVAIL),
    ]
    written = 0
    n = 0
    while written < events:
        session = f"{n:032x}"
        batch = [SessionStarted()]
        for tile, category in rng.sample(tiles, rng.randint(1, 4)):
            batch.append(TileOpened(tile=tile, category=category))
        if rng.random() < 0.3:
            batch.append(NavigationBlocked(tile="caf", domain="example.com"))
        if rng.random() < 0.4:
            batch.append(PrintJob(pages=rng.randint(1, 6), status="printed"))
        if rng.random() < 0.2:
            batch += [MediatorCall(stage="opened"), MediatorCall(stage="taken", wait_s=rng.uniform(10, 900))]
        batch.append(
            SessionEnded(
                duration_s=rng.uniform(60, 3600),
                reason=rng.choice(["button", "button", "idle"]),
                age=rng.choice(list(AgeBracket)),
                outcome=rng.choice(list(Outcome)),
                satisfaction=rng.choice(list(Satisfaction)),
                first_visit=rng.random() < 0.3,
            )
        )
        for event in batch[: events - written]:
            recorder.record(event, session)
            clock.advance(rng.uniform(1, 8))
            written += 1
        n += 1
    store.checkpoint()
    store.close()
    return written


def aggregate_ms(directory: Path, runs: int) -> tuple[float, float, int]:
    source = directory / "busy.db"
    count = busy_day(source)
    seal, read = [], []
    for run in range(runs):
        copy = directory / f"busy-{run}.db"
        shutil.copyfile(source, copy)
        store = open_store(copy, Role.AGENT)
        start = time.perf_counter()
        rows = store.conn.execute("SELECT ts_ms, kind, data FROM events WHERE agg_day IS NULL").fetchall()
        decoded = [json.loads(data) for _, _, data in rows]
        read.append(time.perf_counter() - start)
        assert len(decoded) == count
        start = time.perf_counter()
        aggregate = seal_day(store, BUSY_DAY, PARIS, "bench")
        seal.append(time.perf_counter() - start)
        assert aggregate is not None and aggregate.sessions > 0
        store.close()
    return statistics.median(seal) * 1000, statistics.median(read) * 1000, count


def measure(calls: int = 5000, runs: int = 5) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="borne-bench-") as tmp:
        directory = Path(tmp)
        # Alternate the measure and its baseline (fresh files each time) so neither gains from
        # going second; medians of three rounds.
        pairs = []
        for round_ in range(3):
            sub = directory / f"round{round_}"
            sub.mkdir()
            pairs.append((bare_insert_us(sub, Durability.NORMAL, calls), record_us(sub, Durability.NORMAL, calls)))
        bare = statistics.median(b for b, _ in pairs)
        record = statistics.median(r for _, r in pairs)
        bare_full = bare_insert_us(directory, Durability.FULL, max(200, calls // 10))
        record_full = record_us(directory, Durability.FULL, max(200, calls // 10))
        seal_ms, read_ms, events = aggregate_ms(directory, runs)
    return {
        "event_record_us": round(record, 1),
        "event_record_baseline_us": round(bare, 1),
        "event_record_ratio": round(record / bare, 2),
        "event_record_target_us": RECORD_TARGET_US,
        "event_record_target_met": record <= RECORD_TARGET_US,
        "event_record_full_us": round(record_full, 1),
        "event_record_full_baseline_us": round(bare_full, 1),
        "event_record_full_ratio": round(record_full / bare_full, 2),
        "aggregate_day_ms": round(seal_ms, 1),
        "aggregate_day_events": events,
        "aggregate_day_baseline_ms": round(read_ms, 1),
        "aggregate_day_ratio": round(seal_ms / read_ms, 2),
        "aggregate_day_target_ms": AGGREGATE_TARGET_MS,
        "aggregate_day_target_met": seal_ms <= AGGREGATE_TARGET_MS,
    }


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
