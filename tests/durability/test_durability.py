"""The event store when things go badly: SIGKILL mid-burst, damaged files, a full disk, newer
software's database — and the shell starting again afterwards."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.core.ports import ManualClock
from kiosk.core.session import State
from kiosk.core.stats.events import SessionStarted
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Role, StoreError, open_store

pytestmark = pytest.mark.durability

REPO = Path(__file__).resolve().parents[2]


def kill_during_burst(db: Path, start: int, rng: random.Random, full: bool = False) -> list[int]:
    """Run the writer, SIGKILL it after a random moment, return every event it acknowledged."""
    args = [sys.executable, "-m", "tests.durability.writer", str(db), str(start)] + (["full"] if full else [])
    writer = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
    acked: list[int] = []
    try:
        assert writer.stdout is not None
        # Wait for the first acknowledgement (the interpreter takes a moment to start) ...
        first = writer.stdout.readline()
        if not first.startswith("ACK "):
            raise AssertionError(f"writer did not start: {first!r} {writer.stderr.read() if writer.stderr else ''}")
        acked.append(int(first.split()[1]))
        # ... then let it write for a random while and kill it mid-burst.
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)
        acked += [int(line.split()[1]) for line in writer.stdout.read().splitlines() if line.startswith("ACK ")]
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        for stream in (writer.stdout, writer.stderr):
            if stream is not None:
                stream.close()
    assert writer.returncode == -signal.SIGKILL
    return acked


def check_database(db: Path, acked: list[int]) -> None:
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        found: dict[int, int] = {}
        for (data,) in conn.execute("SELECT data FROM events WHERE kind = 'tile_opened'"):
            n = int(json.loads(data)["tile"][1:])
            found[n] = found.get(n, 0) + 1
    finally:
        conn.close()
    missing = [n for n in acked if n not in found]
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {missing[:5]}"
    assert all(count == 1 for count in found.values()), "an event was written twice"


@pytest.mark.parametrize(("durability", "rounds"), [("normal", 25), ("full", 5)])
def test_sigkill_during_bursts_loses_no_acknowledged_event(tmp_path: Path, durability: str, rounds: int) -> None:
    db = tmp_path / "kiosk.db"
    rng = random.Random(f"durability-{durability}")
    acked: list[int] = []
    for round_ in range(rounds):
        acked += kill_during_burst(db, start=round_ * 10_000_000, rng=rng, full=durability == "full")
        check_database(db, acked)
    assert len(acked) > rounds * 10  # the writer really wrote between kills


def test_a_damaged_database_is_moved_aside_and_a_fresh_one_works(tmp_path: Path) -> None:
    db = tmp_path / "kiosk.db"
    store = open_store(db)
    StatsRecorder(store, ManualClock(), boot="b").record(SessionStarted())
    store.checkpoint()
    store.close()
    data = db.read_bytes()
    db.write_bytes(data[:100] + bytes(random.Random(1).randrange(256) for _ in range(3000)) + data[3100:])
    store = open_store(db)
    try:
        aside = list(tmp_path.glob("kiosk.db.damaged-*"))
        assert [p.name for p in aside if not p.name.endswith(("-wal", "-shm"))], "the damaged copy was not kept"
        assert StatsRecorder(store, ManualClock(), boot="b").record(SessionStarted()) is True
        assert store.integrity_ok()
    finally:
        store.close()


@pytest.mark.parametrize(
    "content",
    [b"", b"not a database at all\n" * 100, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["empty", "text", "bad-header"],
)
def test_files_that_are_not_databases(tmp_path: Path, content: bytes) -> None:
    db = tmp_path / "kiosk.db"
    db.write_bytes(content)
    store = open_store(db)
    try:
        assert StatsRecorder(store, ManualClock(), boot="b").record(SessionStarted()) is True
        assert store.integrity_ok()
    finally:
        store.close()
    if content:
        assert list(tmp_path.glob("kiosk.db.damaged-*"))


def test_a_garbage_wal_file_is_survived(tmp_path: Path) -> None:
    db = tmp_path / "kiosk.db"
    store = open_store(db)
    StatsRecorder(store, ManualClock(), boot="b").record(SessionStarted())
    store.checkpoint()
    store.close()
    (tmp_path / "kiosk.db-wal").write_bytes(b"\x37\x7f\x06\x82" + os.urandom(8000))
    store = open_store(db)
    try:
        assert store.integrity_ok()
        assert StatsRecorder(store, ManualClock(), boot="b").record(SessionStarted()) is True
        assert store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] >= 1
    finally:
        store.close()


def test_a_full_disk_keeps_events_in_memory_and_counts_the_loss(tmp_path: Path) -> None:
    store = open_store(tmp_path / "kiosk.db", Role.SHELL)
    try:
        recorder = StatsRecorder(store, ManualClock(), boot="b", buffer_limit=50)
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from now on
        results = [recorder.record(SessionStarted()) for _ in range(2000)]
        assert results[-1] is False and recorder.waiting == 50
        written_while_full = recorder.written
        assert recorder.lost_total == 2000 - written_while_full - 50
        store.conn.execute("PRAGMA max_page_count = 1073741823")  # space again
        assert recorder.flush() is True
        kinds = dict(store.conn.execute("SELECT kind, COUNT(*) FROM events GROUP BY kind").fetchall())
        assert kinds["session_started"] == written_while_full + 50
        lost = store.conn.execute("SELECT data FROM events WHERE kind = 'events_lost'").fetchone()[0]
        assert json.loads(lost) == {"count": recorder.lost_total}
        assert store.integrity_ok()
    finally:
        store.close()


def test_a_database_of_newer_software_is_refused_and_kept(tmp_path: Path) -> None:
    db = tmp_path / "kiosk.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE future (x)")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(StoreError, match="schema version 99"):
        open_store(db)
    assert db.exists() and not list(tmp_path.glob("kiosk.db.damaged-*"))  # nothing moved or lost


# -- the shell starts again ------------------------------------------------------------------


def run_shell_session(qtbot, config, data_dir: Path, session_root: Path):  # type: ignore[no-untyped-def]
    """Build the real window as `kiosk shell` does, run one session, tear it down."""
    from kiosk.shell.app import build_window

    paths = config.kiosk.paths.model_copy(update={"data_dir": data_dir})
    config = replace(config, kiosk=config.kiosk.model_copy(update={"paths": paths}))
    window = build_window(config, session_root, clock=ManualClock())
    try:
        window.resize(1280, 800)
        window.show()
        qtbot.waitUntil(lambda: window.lobby_view.page().url().host() == "attract", timeout=15_000)
        window.start_session()
        qtbot.waitUntil(lambda: window.current_url().toString().startswith("kiosk://home"), timeout=15_000)
        window.end_session()
        qtbot.waitUntil(lambda: window.state is State.WIPED, timeout=15_000)
        window.stats.flush()
        return window.store is not None
    finally:
        if window.browser is not None:
            window.end_session()
            qtbot.waitUntil(lambda: window.browser is None, timeout=15_000)
        window.allow_close()
        window.close()
        if window.store is not None:
            window.store.close()
        window.deleteLater()
        qtbot.wait(50)


@pytest.mark.shell
def test_the_shell_starts_again_after_the_kills(qtbot, kiosk_app, kiosk_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    rng = random.Random("shell-again")
    acked: list[int] = []
    for round_ in range(5):
        acked += kill_during_burst(data / "kiosk.db", start=round_ * 10_000_000, rng=rng)
    check_database(data / "kiosk.db", acked)
    assert run_shell_session(qtbot, kiosk_config, data, tmp_path / "sessions") is True
    conn = sqlite3.connect(data / "kiosk.db")
    kinds = [row[0] for row in conn.execute("SELECT kind FROM events ORDER BY id DESC LIMIT 2")]
    conn.close()
    assert kinds == ["session_ended", "session_started"]


@pytest.mark.shell
def test_the_shell_starts_on_a_damaged_database(qtbot, kiosk_app, kiosk_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    (data / "kiosk.db").write_bytes(b"SQLite format 3\x00" + os.urandom(8192))
    assert run_shell_session(qtbot, kiosk_config, data, tmp_path / "sessions") is True
    assert list(data.glob("kiosk.db.damaged-*"))
    conn = sqlite3.connect(data / "kiosk.db")
    assert conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'session_started'").fetchone()[0] == 1
    conn.close()


@pytest.mark.shell
def test_the_shell_runs_without_statistics_when_the_database_cannot_be_used(  # type: ignore[no-untyped-def]
    qtbot, kiosk_app, kiosk_config, tmp_path: Path
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(data / "kiosk.db")
    conn.execute("PRAGMA user_version = 99")  # from newer software: kept, not used
    conn.close()
    assert run_shell_session(qtbot, kiosk_config, data, tmp_path / "sessions") is False
