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
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from kiosk.core.ports import ManualClock
from kiosk.core.stats.aggregate import seal_day
from kiosk.core.stats.events import (
    AgeBracket,
    Event,
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
from sync.vocabulary import Category

T = TypeVar("T")
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


OPENING = datetime(2026, 11, 24, 7, 30, tzinfo=UTC)  # 08:30 in Paris
OPEN_S = 10 * 3600  # until 18:30
TILES = (
    ("impots", Category.ARGENT),
    ("caf", Category.FAMILLE),
    ("ameli", Category.SOCIAL_SANTE),
    ("ants", Category.PAPIERS),
    ("france-travail", Category.TRAVAIL),
    ("logement-social", Category.LOGEMENT),
    ("sncf", Category.TRANSPORTS),
)
BLOCKED = ("example.com", "facebook.com", "youtube.com", "leboncoin.fr")


def _session(rng: random.Random) -> list[Event]:
    """One resident's session: about 13 events (start and end included) on average."""
    batch: list[Event] = [SessionStarted()]
    for _ in range(rng.randint(4, 11)):  # démarches opened, often the same one again
        tile, category = rng.choice(TILES)
        batch.append(TileOpened(tile=tile, category=category))
        if rng.random() < 0.2:
            batch.append(NavigationBlocked(tile=tile, domain=rng.choice(BLOCKED)))
    if rng.random() < 0.5:
        for _ in range(rng.randint(1, 3)):
            batch.append(PrintJob(pages=rng.randint(1, 6), status=rng.choice(["printed", "printed", "held"])))
    if rng.random() < 0.25:
        wait = rng.uniform(10, 900)
        batch += [MediatorCall(stage="opened"), MediatorCall(stage="taken", wait_s=wait), MediatorCall(stage="done")]
    return batch


def _maybe(rng: random.Random, options: Sequence[T]) -> T | None:
    """An answer, or none (about one resident in seven skips a question)."""
    return None if rng.random() < 0.15 else rng.choice(options)


def _ended(rng: random.Random, duration_s: float) -> SessionEnded:
    if rng.random() < 0.25:  # only the sessions ended with the button are asked the questions
        return SessionEnded(duration_s=duration_s, reason="idle")
    return SessionEnded(
        duration_s=duration_s,
        reason="button",
        age=_maybe(rng, list(AgeBracket)),
        outcome=_maybe(rng, list(Outcome)),
        satisfaction=_maybe(rng, list(Satisfaction)),
        first_visit=_maybe(rng, [True, False]),
    )


def busy_day(path: Path, events: int = 5000, sessions: int = 400) -> int:
    """A busy day at one terminal: ``sessions`` sessions spread over the opening hours, each a few
    démarches, some refusals, prints and mediator calls, ended with the answers; the last session
    is cut short if needed so that exactly ``events`` events are written."""
    rng = random.Random(2026)
    store = open_store(path, Role.SHELL)
    clock = ManualClock(OPENING)
    recorder = StatsRecorder(store, clock, boot="bench")
    written = 0
    n = 0
    while written < events:
        # Sessions start every OPEN_S / sessions seconds or so, one after another.
        due = OPENING + timedelta(seconds=min(n, sessions - 1) * OPEN_S / sessions)
        if clock.now() < due:
            clock.advance((due - clock.now()).total_seconds())
        began = clock.monotonic()
        session = f"{n:032x}"
        for event in _session(rng):
            if written == events - 1:
                break
            recorder.record(event, session)
            written += 1
            clock.advance(rng.uniform(2, 8))
        recorder.record(_ended(rng, clock.monotonic() - began), session)
        written += 1
        n += 1
    assert recorder.written == written and recorder.waiting == 0
    store.checkpoint()
    store.close()
    return written


def aggregate_ms(directory: Path, runs: int, day_events: int = 5000) -> tuple[float, float, int]:
    """(median ms of ``seal_day``, median ms of the baseline read, events in the day)."""
    source = directory / "busy.db"
    count = busy_day(source, day_events)
    seal, read = [], []
    for run in range(runs):
        copy = directory / f"busy-{run}.db"
        shutil.copyfile(source, copy)
        # Baseline and measure each on their own connection, opened the same way (so neither
        # starts with a page cache warmed by the other).
        store = open_store(copy, Role.AGENT)
        start = time.perf_counter()
        rows = store.conn.execute("SELECT ts_ms, kind, data FROM events").fetchall()
        decoded = [json.loads(data) for _, _, data in rows]
        read.append(time.perf_counter() - start)
        store.close()
        assert len(decoded) == count
        store = open_store(copy, Role.AGENT)
        start = time.perf_counter()
        aggregate = seal_day(store, BUSY_DAY, PARIS, "bench")
        seal.append(time.perf_counter() - start)
        store.close()
        # The whole day was counted: every session started and ended in it, nothing late.
        assert aggregate is not None and aggregate.sessions == aggregate.sessions_ended > 0
        assert aggregate.late_events == 0 and aggregate.undated_events == 0
    return statistics.median(seal) * 1000, statistics.median(read) * 1000, count


def paired_us(directory: Path, durability: Durability, calls: int, rounds: int = 3) -> tuple[float, float]:
    """(median µs of ``record``, median µs of the bare INSERT) over ``rounds`` rounds on fresh files,
    the two taking turns at going first so that neither gains from the other's warm-up."""
    records, bares = [], []
    for round_ in range(rounds):
        sub = directory / f"{durability.value}-{round_}"
        sub.mkdir()
        if round_ % 2:
            records.append(record_us(sub, durability, calls))
            bares.append(bare_insert_us(sub, durability, calls))
        else:
            bares.append(bare_insert_us(sub, durability, calls))
            records.append(record_us(sub, durability, calls))
    return statistics.median(records), statistics.median(bares)


def measure(calls: int = 5000, runs: int = 5, day_events: int = 5000) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="borne-bench-") as tmp:
        directory = Path(tmp)
        record, bare = paired_us(directory, Durability.NORMAL, calls)
        # Each FULL commit waits for the disk: fewer calls, same number of rounds.
        record_full, bare_full = paired_us(directory, Durability.FULL, max(min(calls, 200), calls // 10))
        seal_ms, read_ms, events = aggregate_ms(directory, runs, day_events)
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
