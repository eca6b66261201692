"""The event store when things go badly: SIGKILL mid-burst, damaged files, a full disk, a database
of newer software — and the real shell starting again afterwards.

The kill tests run :mod:`tests.durability.writer` in a child process, read what it acknowledged
while it writes, SIGKILL it at a random moment and check that every acknowledged event is in the
database exactly once, and that the file is sound. Rounds accumulate in one database, so each
writer starts on the hot WAL its killed predecessor left.
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.core.ports import ManualClock
from kiosk.core.session import State
from kiosk.core.stats.events import SessionStarted, TileOpened, parse_event
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import MIGRATIONS, SCHEMA_VERSION, Role, StoreError, open_store
from sync.vocabulary import Category
from tests.durability.writer import event_key

pytestmark = pytest.mark.durability

REPO = Path(__file__).resolve().parents[2]


# -- the writer, killed ------------------------------------------------------------------------


def kill_during_burst(db: Path, seed: int, rng: random.Random, *, full: bool = False) -> list[str]:
    """Run the writer, SIGKILL it at a random moment mid-burst; the keys of all it acknowledged."""
    args = [sys.executable, "-m", "tests.durability.writer", str(db), str(seed)] + (["full"] if full else [])
    log = db.with_name(f"writer-{seed}.log")  # a file, not a pipe: warnings must never block the writer
    acked: list[str] = []
    started = threading.Event()
    with open(log, "wb") as stderr:
        writer = subprocess.Popen(args, cwd=REPO, stdout=subprocess.PIPE, stderr=stderr, text=True)

    def read() -> None:
        # Read all the time, so the writer never waits on a full pipe: the kill must find it writing.
        assert writer.stdout is not None
        for line in writer.stdout:
            if line.startswith("ACK ") and line.endswith("\n"):  # a line cut by the kill is not counted
                acked.append(line[4:].strip())
                started.set()
        started.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        started.wait(timeout=60)  # the interpreter takes a moment to start
        if writer.poll() is not None or not acked:
            raise AssertionError(f"the writer did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(rng.uniform(0.05, 0.4))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=10)
        reader.join(timeout=10)  # the lines still in the pipe were acknowledged too
    finally:
        if writer.poll() is None:
            writer.kill()
            writer.wait()
        reader.join(timeout=10)
        if writer.stdout is not None:
            writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL, f"the writer stopped by itself: {log.read_text(errors='replace')}"
    return acked


def stored_events(conn: sqlite3.Connection) -> Counter[str]:
    """How many times each event key is in the database; every row must still parse."""
    keys: Counter[str] = Counter()
    for session, kind, data in conn.execute("SELECT session, kind, data FROM events").fetchall():
        event = parse_event(kind, data)
        assert event is not None, f"an unreadable event: {kind} {data!r}"
        keys[event_key(session, kind, getattr(event, "tile", None))] += 1
    return keys


def check_database(conn: sqlite3.Connection, acked: list[str]) -> Counter[str]:
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    stored = stored_events(conn)
    missing = [key for key in acked if key not in stored]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged events lost, e.g. {missing[:5]}"
    twice = [key for key, count in stored.items() if count > 1]
    assert not twice, f"{len(twice)} events written more than once, e.g. {twice[:5]}"
    return stored


@contextmanager
def inspector(db: Path) -> Iterator[sqlite3.Connection]:
    """A connection kept open across the rounds, as the agent's is: closing the last connection
    would checkpoint and delete the WAL, and the next writer must start on a hot WAL instead."""
    conn = sqlite3.connect(db, isolation_level=None, timeout=10)
    try:
        yield conn
    finally:
        conn.close()


def run_kill_rounds(db: Path, rounds: int, seed: int, *, full: bool = False) -> tuple[list[str], Counter[str]]:
    rng = random.Random(seed)
    acked = kill_during_burst(db, seed, rng, full=full)
    with inspector(db) as conn:
        stored = check_database(conn, acked)
        for round_ in range(1, rounds):
            acked += kill_during_burst(db, seed + round_, rng, full=full)
            stored = check_database(conn, acked)
    return acked, stored


@pytest.mark.parametrize(("durability", "rounds"), [("normal", 25), ("full", 5)])
def test_sigkill_during_bursts_loses_no_acknowledged_event(tmp_path: Path, durability: str, rounds: int) -> None:
    db = tmp_path / "kiosk.db"
    acked, stored = run_kill_rounds(
        db, rounds, seed=1000 if durability == "normal" else 2000, full=durability == "full"
    )
    assert len(acked) > rounds * 20, "the writer hardly wrote between the kills"
    assert len(set(acked)) == len(acked)
    # The yardstick itself: at most the event being acknowledged at each kill is committed unacknowledged.
    assert len(stored) - len(acked) <= rounds
    assert {key.split("/")[1] for key in acked} >= {"session_started", "tile_opened", "print_job", "session_ended"}
    # Once everything is closed, the file opens as the shell would open it, sound and complete.
    store = open_store(db, Role.SHELL)
    try:
        assert store.integrity_ok()
        check_database(store.conn, acked)
    finally:
        store.close()
    assert not list(tmp_path.glob("kiosk.db.damaged-*"))


def test_sigkill_while_the_agent_holds_the_lock_loses_no_acknowledged_event(tmp_path: Path) -> None:
    """The agent takes the write lock now and then: the writer's events wait in memory and go in
    with a later one, in one transaction, which a kill may interrupt."""
    db = tmp_path / "kiosk.db"
    rng = random.Random("agent")
    acked = kill_during_burst(db, 3000, rng)  # creates the database
    stop = threading.Event()
    locks = 0

    def agent() -> None:
        nonlocal locks
        conn = sqlite3.connect(db, isolation_level=None, timeout=10)
        try:
            while not stop.is_set():
                conn.execute("BEGIN IMMEDIATE")
                time.sleep(rng.uniform(0.001, 0.03))
                conn.execute("ROLLBACK")
                locks += 1
                if locks % 10 == 0:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                time.sleep(rng.uniform(0, 0.02))
        finally:
            conn.close()

    thread = threading.Thread(target=agent, daemon=True)
    thread.start()
    try:
        with inspector(db) as conn:
            for round_ in range(1, 9):
                acked += kill_during_burst(db, 3000 + round_, random.Random(round_))
                check_database(conn, acked)
    finally:
        stop.set()
        thread.join(timeout=10)
    assert locks > 20
    logs = "".join(p.read_text(errors="replace") for p in tmp_path.glob("writer-*.log"))
    assert "stats.write_deferred" in logs, "the writer never met the agent's lock: the test tested nothing more"


# -- damaged files ---------------------------------------------------------------------------


def real_database(directory: Path, events: int = 500) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    db = directory / "kiosk.db"
    store = open_store(db, Role.SHELL)
    recorder = StatsRecorder(store, ManualClock(), boot="b")
    for i in range(events):
        assert recorder.record(TileOpened(tile=f"t{i}", category=Category.AUTRE))
    store.checkpoint()
    store.close()  # the last connection: the WAL is folded in and removed
    assert not db.with_name("kiosk.db-wal").exists()
    return db


def garbage(kind: str, tmp_path: Path) -> bytes:
    rng = random.Random(kind)
    if kind == "random":
        return rng.randbytes(20_000)
    if kind == "text":
        return b"not a database at all\n" * 100
    if kind == "bad-header":
        return b"SQLite format 3\x00" + b"\xff" * 4000
    data = real_database(tmp_path / "real").read_bytes()
    if kind == "truncated":
        return data[: len(data) // 2]
    if kind == "truncated-to-a-page":
        return data[:4096]
    assert kind == "scribbled"  # a few pages overwritten in the middle, the header intact
    return data[:100] + rng.randbytes(3000) + data[3100:]


@pytest.mark.parametrize("kind", ["random", "text", "bad-header", "truncated", "truncated-to-a-page", "scribbled"])
def test_garbage_database_is_moved_aside_and_a_fresh_one_works(tmp_path: Path, kind: str) -> None:
    content = garbage(kind, tmp_path)
    data = tmp_path / "data"
    data.mkdir()
    db = data / "kiosk.db"
    db.write_bytes(content)
    store = open_store(db, Role.SHELL)
    try:
        aside = [p for p in data.glob("kiosk.db.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
        assert len(aside) == 1 and aside[0].read_bytes() == content, "the damaged copy must stay for a technician"
        assert store.integrity_ok()
        assert store.conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 0
        assert StatsRecorder(store, ManualClock(), boot="b").record(SessionStarted()) is True
    finally:
        store.close()
    # Damaged again the same second: a second copy, the first one kept.
    db.write_bytes(content)
    open_store(db).close()
    assert len([p for p in data.glob("kiosk.db.damaged-*") if not p.name.endswith(("-wal", "-shm"))]) == 2


def test_an_empty_file_is_simply_a_new_database(tmp_path: Path) -> None:
    db = tmp_path / "kiosk.db"
    db.write_bytes(b"")
    store = open_store(db, Role.SHELL)
    try:
        assert StatsRecorder(store, ManualClock(), boot="b").record(SessionStarted()) is True
    finally:
        store.close()
    assert not list(tmp_path.glob("kiosk.db.damaged-*"))


def crash_image(directory: Path, events: int) -> tuple[bytes, bytes]:
    """The database and its WAL as a crash leaves them: ``events`` commits, none checkpointed."""
    db = directory / "kiosk.db"
    store = open_store(db, Role.SHELL)  # the shell never checkpoints on its own
    try:
        recorder = StatsRecorder(store, ManualClock(), boot="b")
        for i in range(events):
            assert recorder.record(TileOpened(tile=f"t{i}", category=Category.AUTRE))
        image = db.read_bytes(), db.with_name("kiosk.db-wal").read_bytes()
    finally:
        store.close()
    for path in directory.glob("kiosk.db*"):
        path.unlink()
    return image


WAL_DAMAGE = [
    "random",
    "magic-then-random",
    "header-then-random",
    "torn-tail",
    "torn-middle",
    "flipped-byte",
    "foreign",
]


@pytest.mark.parametrize("damage", WAL_DAMAGE)
def test_garbage_wal_file(tmp_path: Path, damage: str) -> None:
    """A damaged WAL never stops the store: SQLite stops reading it at the first frame that does
    not check out, so what remains is the events up to some point, in order, and a sound file."""
    rng = random.Random(damage)
    data = tmp_path / "data"
    data.mkdir()
    events = 200
    main, wal = crash_image(data, events)
    if damage == "random":
        wal = rng.randbytes(8000)
    elif damage == "magic-then-random":
        wal = b"\x37\x7f\x06\x82" + rng.randbytes(8000)
    elif damage == "header-then-random":
        wal = wal[:32] + rng.randbytes(8000)
    elif damage == "torn-tail":
        wal = wal[: len(wal) - rng.randrange(1, 4000)]
    elif damage == "torn-middle":
        wal = wal[: rng.randrange(len(wal) // 4, len(wal) // 2)]
    elif damage == "flipped-byte":
        damaged = bytearray(wal)
        damaged[rng.randrange(len(wal) // 4, len(wal) // 2)] ^= 0x55
        wal = bytes(damaged)
    else:  # the WAL of another database (a backup restored over the file, its old WAL left next to it)
        other = tmp_path / "other"
        other.mkdir()
        wal = crash_image(other, 30)[1]
    (data / "kiosk.db").write_bytes(main)
    (data / "kiosk.db-wal").write_bytes(wal)
    store = open_store(data / "kiosk.db", Role.SHELL)
    try:
        assert store.integrity_ok()
        tiles = [json.loads(d)["tile"] for (d,) in store.conn.execute("SELECT data FROM events ORDER BY id")]
        assert tiles == [f"t{i}" for i in range(len(tiles))], "not a prefix of what was written"
        if damage == "torn-tail":
            assert len(tiles) == events - 1  # only the last commit was cut
        assert StatsRecorder(store, ManualClock(), boot="b").record(SessionStarted()) is True
    finally:
        store.close()
    with closing(sqlite3.connect(data / "kiosk.db")) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


# -- a full disk -----------------------------------------------------------------------------


def test_full_disk_keeps_events_in_memory_and_counts_the_loss(tmp_path: Path) -> None:
    store = open_store(tmp_path / "kiosk.db", Role.SHELL)
    try:
        recorder = StatsRecorder(store, ManualClock(), boot="b", buffer_limit=50)
        for i in range(100):
            assert recorder.record(TileOpened(tile=f"t{i}", category=Category.AUTRE)) is True
        pages = store.conn.execute("PRAGMA page_count").fetchone()[0]
        store.conn.execute(f"PRAGMA max_page_count = {pages}")  # the disk is full from now on
        results = [recorder.record(TileOpened(tile=f"t{i}", category=Category.AUTRE)) for i in range(100, 2100)]
        written = 100 + results.count(True)  # the last page may still take a few
        assert results == [True] * (written - 100) + [False] * (2100 - written), "acknowledged after a refusal"
        assert written < 200 and recorder.waiting == 50
        dropped = 2100 - written - 50
        assert recorder.lost_total == dropped
        assert recorder.flush() is False and recorder.waiting == 50  # still full: nothing moves
        store.conn.execute("PRAGMA max_page_count = 1073741823")  # space again
        assert recorder.flush() is True and recorder.waiting == 0
        rows = store.conn.execute("SELECT kind, data FROM events ORDER BY id").fetchall()
        tiles = [json.loads(data)["tile"] for kind, data in rows if kind == "tile_opened"]
        # What was acknowledged, then the newest 50 that waited; the oldest waiting ones were dropped.
        assert tiles == [f"t{i}" for i in range(written)] + [f"t{i}" for i in range(2050, 2100)]
        assert [(kind, json.loads(data)) for kind, data in rows[-1:]] == [("events_lost", {"count": dropped})]
        assert recorder.record(SessionStarted()) is True  # and straight to the disk again
        assert store.conn.execute("SELECT COUNT(*) FROM events WHERE kind = 'events_lost'").fetchone()[0] == 1
        assert store.integrity_ok()
    finally:
        store.close()


FILE_SIZE_LIMIT = """
import json, resource, signal, sys
from pathlib import Path
from sync.vocabulary import Category
from kiosk.core.ports import ManualClock
from kiosk.core.stats.events import TileOpened
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Role, open_store

signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) instead
db = Path(sys.argv[1])
store = open_store(db, Role.SHELL)
recorder = StatsRecorder(store, ManualClock(), boot="b", buffer_limit=50)
tile = lambda i: TileOpened(tile=f"t{i}", category=Category.AUTRE)
results = [recorder.record(tile(i)) for i in range(10)]
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (db.with_name("kiosk.db-wal").stat().st_size + 20_000, hard))
results += [recorder.record(tile(i)) for i in range(10, 300)]
full = {"waiting": recorder.waiting, "lost": recorder.lost_total, "in_transaction": store.conn.in_transaction}
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
flushed = recorder.flush()
results.append(recorder.record(tile(300)))
print(json.dumps({"results": results, "full": full, "flushed": flushed}))
"""


def test_a_file_that_cannot_grow_fails_at_write_time_and_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """A real write error (the WAL cannot grow), in a child process because of the file-size limit."""
    if resource.getrlimit(resource.RLIMIT_FSIZE)[1] != resource.RLIM_INFINITY:
        pytest.skip("needs an unlimited hard file-size limit")
    db = tmp_path / "kiosk.db"
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(FILE_SIZE_LIMIT), str(db)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    results = report["results"]
    acked = [i for i, ok in enumerate(results[:300]) if ok]
    assert 10 <= len(acked) < 300 and results[-1] is True and report["flushed"] is True
    assert report["full"] == {"waiting": 50, "lost": 300 - len(acked) - 50, "in_transaction": False}
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        rows = conn.execute("SELECT kind, data FROM events ORDER BY id").fetchall()
    tiles = [int(json.loads(data)["tile"][1:]) for kind, data in rows if kind == "tile_opened"]
    assert tiles == acked + list(range(250, 301))
    assert ("events_lost", json.dumps({"count": 300 - len(acked) - 50}, separators=(",", ":"))) in rows


# -- software that is too old for the file ---------------------------------------------------


@pytest.mark.parametrize("role", [Role.SHELL, Role.AGENT])
def test_newer_schema_is_refused_clearly(tmp_path: Path, role: Role) -> None:
    db = tmp_path / "kiosk.db"
    with closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE future (x)")
        conn.execute("INSERT INTO future VALUES (42)")
        conn.execute("PRAGMA user_version = 99")
        conn.commit()
    with pytest.raises(StoreError, match=r"schema version 99\b.*newer") as raised:
        open_store(db, role)
    assert str(db) in str(raised.value)
    # Nothing moved aside, nothing migrated, nothing lost.
    assert not list(tmp_path.glob("kiosk.db.damaged-*"))
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
        assert conn.execute("SELECT x FROM future").fetchall() == [(42,)]
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'events'").fetchall() == []


def test_shell_opens_a_database_to_migrate_while_the_agent_writes(tmp_path: Path) -> None:
    db = tmp_path / "kiosk.db"
    open_store(db).close()
    with closing(sqlite3.connect(db, isolation_level=None, check_same_thread=False)) as agent:
        # As the database was at version 1: every table a later migration made is dropped (read
        # from the migrations themselves, so that the next one cannot break this test).
        for table in re.findall(r"CREATE TABLE (\w+)", "\n".join(MIGRATIONS[1:])):
            agent.execute(f"DROP TABLE {table}")
        agent.execute("PRAGMA user_version = 1")
        agent.execute("BEGIN IMMEDIATE")  # the agent is aggregating, for a moment
        release = threading.Timer(0.3, agent.execute, ("ROLLBACK",))
        release.start()
        try:
            store = open_store(db, Role.SHELL)  # starting up: a short wait harms no resident
        finally:
            release.join()
    try:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        store.close()


# -- the shell starts again ------------------------------------------------------------------


def with_data_dir(config, data_dir: Path):  # type: ignore[no-untyped-def]
    paths = config.kiosk.paths.model_copy(update={"data_dir": data_dir})
    return replace(config, kiosk=config.kiosk.model_copy(update={"paths": paths}))


def run_shell_session(qtbot, config, data_dir: Path, session_root: Path) -> tuple[bool, str]:  # type: ignore[no-untyped-def]
    """Build the real window as ``kiosk shell`` does, run one session, tear everything down.

    Returns whether the shell had a database, and the session's id."""
    from kiosk.shell.assembly import build_kiosk
    from kiosk.shell.web.scheme import page_name

    kiosk = build_kiosk(with_data_dir(config, data_dir), session_root)
    try:
        kiosk.window.resize(1280, 800)
        kiosk.window.show()
        qtbot.waitUntil(lambda: page_name(kiosk.window.lobby_view.page().url()) == "attract", timeout=15_000)
        kiosk.controller.start_session()
        session = kiosk.controller.session.session_id
        qtbot.waitUntil(
            lambda: kiosk.controller.current_url().toString().startswith("kiosk://borne/home"), timeout=15_000
        )
        kiosk.controller.end_session()
        qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=15_000)
        kiosk.controller.stats.flush()
        return kiosk.controller.store is not None, str(session)
    finally:
        if kiosk.controller.browser is not None:
            kiosk.controller.end_session()
            qtbot.waitUntil(lambda: kiosk.controller.browser is None, timeout=15_000)
        store = kiosk.controller.store
        kiosk.close()
        if store is not None:
            store.close()
        qtbot.wait(50)


def session_kinds(db: Path, session: str) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return [kind for (kind,) in conn.execute("SELECT kind FROM events WHERE session = ? ORDER BY id", (session,))]


@pytest.mark.shell
def test_shell_starts_again_after_the_kills(qtbot, kiosk_app, kiosk_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    db = data / "kiosk.db"
    rng = random.Random("shell")
    acked: list[str] = []
    for round_ in range(4):
        acked += kill_during_burst(db, 4000 + round_, rng)
    assert db.with_name("kiosk.db-wal").exists()  # the shell finds the killed writer's hot WAL
    has_store, session = run_shell_session(qtbot, kiosk_config, data, tmp_path / "sessions")
    assert has_store
    assert not list(data.glob("kiosk.db.damaged-*"))
    assert session_kinds(db, session) == ["session_started", "session_ended"]
    with closing(sqlite3.connect(db)) as conn:
        check_database(conn, acked)


@pytest.mark.shell
def test_shell_starts_on_a_garbage_database(qtbot, kiosk_app, kiosk_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    (data / "kiosk.db").write_bytes(b"SQLite format 3\x00" + random.Random(5).randbytes(8192))
    (data / "kiosk.db-wal").write_bytes(random.Random(6).randbytes(4096))
    has_store, session = run_shell_session(qtbot, kiosk_config, data, tmp_path / "sessions")
    assert has_store
    assert len([p for p in data.glob("kiosk.db.damaged-*") if not p.name.endswith(("-wal", "-shm"))]) == 1
    assert session_kinds(data / "kiosk.db", session) == ["session_started", "session_ended"]


@pytest.mark.shell
def test_shell_runs_without_statistics_on_a_newer_database(qtbot, kiosk_app, kiosk_config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "data"
    data.mkdir()
    with closing(sqlite3.connect(data / "kiosk.db")) as conn:
        conn.execute("PRAGMA user_version = 99")  # from newer software: kept, not used
    has_store, _ = run_shell_session(qtbot, kiosk_config, data, tmp_path / "sessions")
    assert not has_store  # residents are served all the same
    with closing(sqlite3.connect(data / "kiosk.db")) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 99
    assert not list(data.glob("kiosk.db.damaged-*"))
