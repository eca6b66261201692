"""The terminal's sync through a faulty network, server restarts, an agent killed mid-upload and
a month offline: in the end the server holds every batch exactly once and its totals are the
terminal's own."""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from kiosk.agent.sync_jobs import Enrolled, StoreOutbox, fill_outbox, save_enrolment
from kiosk.core.ports import ManualClock
from kiosk.core.stats.aggregate import seal_closed_days
from kiosk.core.stats.events import Satisfaction, SessionEnded, SessionStarted, TileOpened
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Role, Store, open_store
from sync.client import BACKOFF_BASE_S, BACKOFF_CAP_S, SyncClient
from sync.server import admin
from sync.server.models import Batch, UsageCell
from sync.vocabulary import Category
from tests.fedkit import Federation
from tests.sync.faultproxy import FAULTS, FaultProxy

pytestmark = [pytest.mark.sync, pytest.mark.sync_faults]
PARIS = ZoneInfo("Europe/Paris")
REPO = Path(__file__).resolve().parents[2]
FIRST_DAY = date(2026, 10, 1)


def terminal_with_days(path: Path, days: int, seed: int = 1) -> Store:
    """A terminal's database with ``days`` sealed days of sessions."""
    rng = random.Random(seed)
    store = open_store(path, Role.AGENT)
    clock = ManualClock(datetime(2026, 10, 1, 7, 0, tzinfo=UTC))
    recorder = StatsRecorder(store, clock, boot="test")
    for day in range(days):
        clock.set_wall(datetime.combine(FIRST_DAY + timedelta(days=day), datetime.min.time(), UTC) + timedelta(hours=7))
        for _ in range(rng.randint(0, 12)):
            recorder.record(SessionStarted())
            recorder.record(TileOpened(tile="caf", category=Category.FAMILLE))
            clock.advance(rng.randint(60, 1800))
            recorder.record(SessionEnded(duration_s=300, reason="button", satisfaction=Satisfaction.HAPPY))
    end = datetime.combine(FIRST_DAY + timedelta(days=days), datetime.min.time(), UTC) + timedelta(hours=12)
    seal_closed_days(store, PARIS, int(end.timestamp() * 1000), "test")
    return store


def terminal_totals(store: Store) -> tuple[int, int]:
    """The terminal's own count of sealed days and of sessions in them."""
    rows = store.conn.execute("SELECT data FROM daily_aggregates").fetchall()
    return len(rows), sum(json.loads(data)["sessions"] for (data,) in rows)


def server_totals(fed: Federation) -> tuple[int, int]:
    with fed.db.session() as session:
        batches = session.execute(select(func.count()).select_from(Batch)).scalar() or 0
        sessions = session.execute(
            select(func.sum(UsageCell.value)).where(UsageCell.level == "national", UsageCell.metric == "sessions")
        ).scalar()
    return int(batches), int(sessions or 0)


class FakeWall:
    """The agent's wall clock, moved by the test so that backoff delays pass at once."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def drain_until_done(store: Store, client: SyncClient, wall: FakeWall, rounds: int = 400) -> int:
    outbox = StoreOutbox(store)
    for round_ in range(rounds):
        client.drain(outbox)
        if outbox.counts().get("pending", 0) == 0:
            return round_ + 1
        wall.now += timedelta(hours=1)  # every backoff is capped at one hour
    raise AssertionError(f"outbox not drained: {outbox.counts()}")


@pytest.fixture
def proxy(federation: Federation):  # type: ignore[no-untyped-def]
    proxy = FaultProxy(federation.url, seed=7, delay_s=1.2).start()
    try:
        yield proxy
    finally:
        proxy.stop()


def enrolled_client(fed: Federation, proxy: FaultProxy, wall: FakeWall) -> tuple[str, SyncClient]:
    device, token = fed.terminal()
    client = SyncClient(proxy.url, token, wall=wall, rng=random.Random(3), timeouts=(1.0, 0.8))
    return device, client


def test_every_fault_at_random_yet_each_batch_once(federation: Federation, proxy: FaultProxy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = terminal_with_days(tmp_path / "kiosk.db", 30)
    wall = FakeWall()
    device, client = enrolled_client(federation, proxy, wall)
    proxy.weights = dict.fromkeys(FAULTS, 1.0) | {"pass": 3.0, "delay": 0.3}
    assert fill_outbox(store, device, 5) == 30
    drain_until_done(store, client, wall)
    assert set(proxy.seen) == set(FAULTS), f"not every fault was exercised: {proxy.seen}"
    assert server_totals(federation) == terminal_totals(store)
    assert StoreOutbox(store).counts() == {"sent": 30}


def offline(store: Store, client: SyncClient, proxy: FaultProxy, wall: FakeWall, days: int) -> list[datetime]:
    """Drain every 5 minutes (as the agent does) for ``days`` with no network; the times at which
    a request went out."""
    proxy.weights = {"drop_before": 1.0}
    attempts: list[datetime] = []
    for _ in range(days * 24 * 12):
        before = sum(proxy.seen.values())
        client.drain(StoreOutbox(store))
        sent = sum(proxy.seen.values()) - before
        assert sent <= 1, f"{sent} requests in one drain at {wall.now}: the drain must stop at the first failure"
        attempts += [wall.now] * sent
        wall.now += timedelta(minutes=5)
    return attempts


def assert_backoff_schedule(attempts: list[datetime]) -> None:
    """After the n-th failure the next try waits 30 s × 2ⁿ (at most an hour), jittered to between
    half and all of it, and comes at the first drain after that (drains every 5 minutes)."""
    assert attempts, "the terminal never tried"
    for n, (previous, current) in enumerate(itertools.pairwise(attempts)):
        delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**n)
        gap = (current - previous).total_seconds()
        assert delay / 2 <= gap <= delay + 300, f"try {n + 2} came {gap:.0f} s after try {n + 1}; backoff {delay:.0f} s"


def test_a_month_offline_then_bounded_catch_up(federation: Federation, proxy: FaultProxy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = terminal_with_days(tmp_path / "kiosk.db", 31)
    wall = FakeWall()
    device, client = enrolled_client(federation, proxy, wall)
    fill_outbox(store, device, 5)
    attempts = offline(store, client, proxy, wall, days=30)
    assert_backoff_schedule(attempts)
    assert len(attempts) <= 30 * 48 + 8  # never more than one try per half hour once backed off
    proxy.weights = {"pass": 1.0}
    before = sum(proxy.seen.values())
    rounds = drain_until_done(store, client, wall)
    # One request per batch, all in the first drain after the last backoff (at most an hour).
    assert sum(proxy.seen.values()) - before == 31 and rounds <= 2
    assert server_totals(federation) == terminal_totals(store)


def test_the_schedule_check_fails_a_client_without_backoff(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: the same day offline with backoff disabled is a storm it catches.
    No server is needed: the proxy drops every request before it would reach one."""
    store = terminal_with_days(tmp_path / "kiosk.db", 2)
    wall = FakeWall()
    proxy = FaultProxy("http://127.0.0.1:9", seed=7).start()
    try:
        client = SyncClient(proxy.url, "dev_token", wall=wall, rng=random.Random(3), timeouts=(1.0, 0.8))
        fill_outbox(store, "b-0123456789abcdef", 5)
        monkeypatch.setattr("sync.client.backoff_s", lambda attempts, rng: 0.0)
        attempts = offline(store, client, proxy, wall, days=1)
    finally:
        proxy.stop()
    assert len(attempts) == 24 * 12  # a try at every drain
    with pytest.raises(AssertionError, match="backoff"):
        assert_backoff_schedule(attempts)


def test_the_server_restarting_between_and_during_drains(federation: Federation, proxy: FaultProxy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = terminal_with_days(tmp_path / "kiosk.db", 20)
    wall = FakeWall()
    device, client = enrolled_client(federation, proxy, wall)
    fill_outbox(store, device, 5)
    outbox = StoreOutbox(store)
    for item in outbox.due(int(wall.now.timestamp() * 1000), 5):
        assert client.drain(outbox, limit=1).sent == 1, item
        federation.restart()
    federation.server.stop()  # down while the terminal tries
    result = client.drain(outbox)
    assert result.stopped == "error" and result.sent == 0
    federation.restart()
    wall.now += timedelta(hours=1)
    drain_until_done(store, client, wall)
    assert server_totals(federation) == terminal_totals(store)


def test_an_agent_killed_mid_upload(federation: Federation, proxy: FaultProxy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    store = terminal_with_days(data / "kiosk.db", 12)
    device, token = federation.terminal()
    save_enrolment(data, Enrolled(proxy.url, device, token, "Test"))
    proxy.delay_s = 3.0
    proxy.weights = {"delay": 1.0}  # the server stores, the answer is slow: the kill lands in between
    env = dict(os.environ, KIOSK_DATA_DIR=str(data), KIOSK_LAST_GOOD_DIR=str(tmp_path / "lg"), PYTHONPATH=str(REPO))
    for _ in range(3):
        agent = subprocess.Popen(
            [sys.executable, "-m", "kiosk.cli", "agent", "--once", "--config-dir", str(REPO / "config")],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 20
            while proxy.seen["delay"] == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)
            agent.send_signal(signal.SIGKILL)
            agent.wait(timeout=10)
        finally:
            if agent.poll() is None:
                agent.kill()
                agent.wait()
        proxy.seen.clear()
    stored, _ = server_totals(federation)
    assert stored >= 1  # the server took batches whose answers the dead agent never read
    proxy.weights = {"pass": 1.0}
    wall = FakeWall()
    wall.now = datetime.now(UTC) + timedelta(hours=2)  # past the killed attempts' retry times
    drain_until_done(store, SyncClient(proxy.url, token, wall=wall), wall)
    assert server_totals(federation) == terminal_totals(store)


def test_a_conflicting_batch_is_quarantined(federation: Federation, proxy: FaultProxy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.fedkit import batch

    store = terminal_with_days(tmp_path / "kiosk.db", 5)
    wall = FakeWall()
    device, client = enrolled_client(federation, proxy, wall)
    import requests

    taken = batch(device, FIRST_DAY + timedelta(days=2), sessions=999)
    requests.post(
        f"{federation.url}/api/v1/batches",
        data=taken.model_dump_json(),
        headers={"Authorization": f"Bearer {client.token}", "Content-Type": "application/json"},
        timeout=10,
    ).raise_for_status()
    fill_outbox(store, device, 5)
    result = client.drain(StoreOutbox(store))
    assert result.quarantined == [taken.batch_id] and result.sent == 4
    assert StoreOutbox(store).counts() == {"sent": 4, "quarantined": 1}
    reason = store.conn.execute("SELECT last_error FROM outbox WHERE state = 'quarantined'").fetchone()[0]
    assert "different batch" in reason


def test_a_refused_token_stops_the_drain(federation: Federation, proxy: FaultProxy, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = terminal_with_days(tmp_path / "kiosk.db", 4)
    wall = FakeWall()
    device, client = enrolled_client(federation, proxy, wall)
    fill_outbox(store, device, 5)
    admin.revoke_terminal(federation.db, device)
    result = client.drain(StoreOutbox(store))
    assert result.stopped == "auth" and result.sent == 0 and not result.quarantined
    assert proxy.seen["pass"] == 1  # stopped at the first refusal
    assert StoreOutbox(store).counts() == {"pending": 4}


@pytest.mark.parametrize(
    ("value", "expected"),
    [("120", 120.0), ("99999", 3600.0), ("Wed, 25 Nov 2026 09:01:00 GMT", 60.0), ("soon", None), (None, None)],
)
def test_retry_after_is_read_in_both_forms(value: str | None, expected: float | None) -> None:
    from sync.client import retry_after_s

    assert retry_after_s(value, datetime(2026, 11, 25, 9, 0, tzinfo=UTC)) == expected


def test_backoff_grows_with_jitter_and_stops_at_an_hour() -> None:
    from sync.client import backoff_s

    rng = random.Random(1)
    delays = [backoff_s(n, rng) for n in range(12)]
    assert all(15 <= d <= 3600 for d in delays)
    assert delays[0] <= 30 and delays[4] > delays[0] and max(delays) <= 3600
    assert len({round(backoff_s(3, random.Random(seed)), 3) for seed in range(20)}) > 10  # jittered
