"""The terminal's SQLite database: schema, migrations, and opening it safely.

One file (``kiosk.db`` in the data directory) in WAL mode, shared by the shell (which appends
usage events) and the agent (which aggregates, purges and, later, fills the sync outbox). Each
process opens its own connection through :func:`open_store`.

The schema version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` brings any older file
up to date, one transaction per step. A file that is not a database or is damaged (a power cut
on a card that lies about flushes) is moved aside and a fresh one created: the shell must keep
serving residents, and the damaged copy stays for a technician.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils

log = logging.getLogger(__name__)

DB_NAME = "kiosk.db"


class Role(StrEnum):
    SHELL = "shell"  # never waits for a lock: the resident's screen must not freeze
    AGENT = "agent"  # may wait a few seconds for the shell's short writes


class Durability(StrEnum):
    """How hard each commit is pushed to the disk (SQLite ``synchronous`` in WAL mode)."""

    NORMAL = "normal"  # survives a crash of the process; a power cut may lose the last commits
    FULL = "full"  # survives a power cut too; each commit waits for the disk


MIGRATIONS: tuple[str, ...] = (
    # 1: usage events and daily aggregates
    """
    CREATE TABLE events (
        id       INTEGER PRIMARY KEY,
        ts_ms    INTEGER,          -- UTC milliseconds; NULL while the wall clock cannot be trusted
        boot     TEXT NOT NULL,    -- kernel boot id: makes `mono` comparable between processes
        mono     REAL NOT NULL,    -- CLOCK_BOOTTIME seconds when recorded
        session  TEXT,             -- random session id; never leaves the terminal
        kind     TEXT NOT NULL,
        data     TEXT NOT NULL,    -- JSON object: the event's fields (closed vocabulary, no free text)
        agg_day  TEXT              -- local day whose aggregate counted this event; NULL until then
    );
    CREATE INDEX events_pending ON events (agg_day, ts_ms);
    CREATE TABLE daily_aggregates (
        day          TEXT PRIMARY KEY,   -- YYYY-MM-DD in the centre's time zone
        version      INTEGER NOT NULL,   -- schema version of `data`
        computed_at  TEXT NOT NULL,      -- UTC ISO 8601
        data         TEXT NOT NULL       -- JSON of stats.DayAggregate, before suppression
    );
    CREATE TABLE meta (
        key    TEXT PRIMARY KEY,
        value  TEXT NOT NULL
    );
    """,
    # 2: the outbox of daily batches waiting to reach the federation server
    """
    CREATE TABLE outbox (
        batch_id        TEXT PRIMARY KEY,   -- <device>:<day>:v<version>, deterministic
        day             TEXT NOT NULL,
        payload         TEXT NOT NULL,      -- JSON of sync.protocol.DailyBatch (small cells hidden)
        payload_hash    TEXT NOT NULL,
        created_at      TEXT NOT NULL,
        state           TEXT NOT NULL DEFAULT 'pending',  -- pending | sent | quarantined
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        sent_at         TEXT
    );
    CREATE INDEX outbox_due ON outbox (state, day);
    """,
    # 3: mediator calls, resource persons and appointments (kiosk.core.mediation)
    """
    CREATE TABLE mediator_calls (
        id          INTEGER PRIMARY KEY,
        day         TEXT NOT NULL,      -- local day (centre's zone): numbers restart each day
        number      INTEGER NOT NULL,   -- the resident's number of the day: 1, 2, 3…
        category    TEXT,               -- sync.vocabulary.Category value; NULL: "je ne sais pas"
        first_name  TEXT,               -- optional; wiped at the end of the day
        state       TEXT NOT NULL,      -- waiting | taken | done | cancelled | missed
        session     TEXT,               -- the resident's session id (a missed call when it ends)
        opened_ms   INTEGER NOT NULL,
        taken_ms    INTEGER,
        closed_ms   INTEGER,
        UNIQUE (day, number)
    );
    CREATE INDEX mediator_calls_state ON mediator_calls (state, day);
    CREATE TABLE resource_persons (
        id          TEXT PRIMARY KEY,
        settings    TEXT NOT NULL,      -- JSON of mediation.config.PersonSettings
        source      TEXT NOT NULL,      -- config | console
        active      INTEGER NOT NULL DEFAULT 1,
        updated_ms  INTEGER NOT NULL
    );
    CREATE TABLE appointments (
        id          INTEGER PRIMARY KEY,
        ref         TEXT NOT NULL UNIQUE,   -- random: the iCalendar UID and the cancel link
        person_id   TEXT NOT NULL,
        category    TEXT NOT NULL,
        start_ms    INTEGER NOT NULL,       -- UTC
        end_ms      INTEGER NOT NULL,
        state       TEXT NOT NULL,          -- booked | cancelled | attended | no_show
        channel     TEXT NOT NULL,          -- kiosk | website | staff
        guide       TEXT,                   -- the help guide of the démarche (what to bring)
        name        TEXT,                   -- name, phone, email: NULL once purged
        phone       TEXT,
        email       TEXT,
        created_ms  INTEGER NOT NULL,
        updated_ms  INTEGER NOT NULL,
        purged      INTEGER NOT NULL DEFAULT 0
    );
    -- One live appointment per person and start: the database itself refuses a double booking.
    CREATE UNIQUE INDEX appointments_one_per_slot ON appointments (person_id, start_ms) WHERE state != 'cancelled';
    CREATE INDEX appointments_time ON appointments (start_ms);
    """,
    # 4: what one process tells the other (kiosk.core.mediation.presence)
    """
    CREATE TABLE agent_status (
        key         TEXT PRIMARY KEY,   -- agent_beat | staff_present
        value       TEXT NOT NULL,
        updated_ms  INTEGER NOT NULL    -- UTC milliseconds
    );
    """,
    # 5: the staff console's accounts, logins and audit log (kiosk.agent.console)
    """
    CREATE TABLE console_accounts (
        name           TEXT PRIMARY KEY,
        role           TEXT NOT NULL,      -- staff | admin
        password_hash  TEXT NOT NULL,      -- argon2id
        created_ms     INTEGER NOT NULL,
        updated_ms     INTEGER NOT NULL
    );
    CREATE TABLE console_sessions (
        token_hash  TEXT PRIMARY KEY,      -- SHA-256 of the cookie's random token, never the token
        account     TEXT NOT NULL,         -- console_accounts.name (deleted with a reset of its password)
        created_ms  INTEGER NOT NULL,
        expires_ms  INTEGER NOT NULL
    );
    CREATE INDEX console_sessions_expiry ON console_sessions (expires_ms);
    CREATE TABLE console_audit (
        id       INTEGER PRIMARY KEY,
        at_ms    INTEGER NOT NULL,
        account  TEXT NOT NULL,            -- who (an account name, or what was typed at a failed login)
        action   TEXT NOT NULL,            -- login, login_failed, logout, call_take, presence, account_set…
        target   TEXT                      -- e.g. "call 12", "present", an account name: no resident data
    );
    CREATE INDEX console_audit_time ON console_audit (at_ms);
    """,
    # 6: each resource person's secret calendar feed of their appointments (kiosk.agent.console.feeds)
    """
    CREATE TABLE person_feeds (
        person_id   TEXT PRIMARY KEY,      -- resource_persons.id
        token_hash  TEXT NOT NULL UNIQUE,  -- SHA-256 of the address's random token, never the token
        created_ms  INTEGER NOT NULL
    );
    """,
    # 7: the centre's exceptional closures set in the console (kiosk.core.mediation.closures)
    """
    CREATE TABLE centre_closures (
        id          INTEGER PRIMARY KEY,
        first_day   TEXT NOT NULL,         -- YYYY-MM-DD, the centre's calendar
        last_day    TEXT NOT NULL,         -- included; the first day for a single day
        reason      TEXT NOT NULL DEFAULT '',
        created_ms  INTEGER NOT NULL
    );
    """,
    # 8: reminders and alerts, each sent once (kiosk.core.mediation.notices): no address, no text
    """
    CREATE TABLE notifications (
        key             TEXT PRIMARY KEY,   -- what is sent once: reminder:<ref>:<start ms>:email, alert:<call>:webhook
        kind            TEXT NOT NULL,      -- reminder | alert
        channel         TEXT NOT NULL,      -- email | sms | webhook
        subject         TEXT NOT NULL,      -- the appointment's ref or the call's id
        state           TEXT NOT NULL,      -- pending | sending | sent | failed | dropped
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        last_error      TEXT,               -- for staff: what the server said (no address, no text)
        created_ms      INTEGER NOT NULL,
        updated_ms      INTEGER NOT NULL,
        sent_ms         INTEGER
    );
    CREATE INDEX notifications_due ON notifications (state, next_attempt_ms);
    """,
    # 9: the free printing quota's day count and the print jobs' numbers (kiosk.core.printing):
    # counts only, never a document's name
    """
    CREATE TABLE print_quota_days (
        day     TEXT PRIMARY KEY,   -- YYYY-MM-DD, the centre's calendar
        pages   INTEGER NOT NULL    -- pages printed without asking that day
    );
    CREATE TABLE print_jobs (
        job_id      TEXT PRIMARY KEY,   -- the CUPS job number
        queue       TEXT NOT NULL,      -- "" for the default destination
        pages       INTEGER NOT NULL,
        copies      INTEGER NOT NULL,
        held        INTEGER NOT NULL,   -- 1: over the quota, waiting for staff
        origin      TEXT NOT NULL,      -- resident | staff
        created_ms  INTEGER NOT NULL
    );
    """,
    # 10: how many changes that can move a free slot were made (kiosk.core.mediation.reservation): a desk
    # keeps its free slots while the count stays, whatever else is written (usage events, the beat…)
    """
    CREATE TABLE slot_changes (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
    INSERT INTO slot_changes (id, n) VALUES (1, 0);
    CREATE TRIGGER slots_booked AFTER INSERT ON appointments BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_moved AFTER UPDATE OF person_id, start_ms, end_ms, state ON appointments
        BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_unbooked AFTER DELETE ON appointments BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_person_added AFTER INSERT ON resource_persons BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_person_changed AFTER UPDATE ON resource_persons BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_person_removed AFTER DELETE ON resource_persons BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_closed AFTER INSERT ON centre_closures BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_closure_changed AFTER UPDATE ON centre_closures BEGIN UPDATE slot_changes SET n = n + 1; END;
    CREATE TRIGGER slots_reopened AFTER DELETE ON centre_closures BEGIN UPDATE slot_changes SET n = n + 1; END;
    """,
    # 11: which slot each new booking took, by its change number: a desk takes the slots booked since
    # out of the list it keeps instead of listing every person's days again (the last 500 are kept)
    """
    CREATE TABLE slot_takes (
        n           INTEGER PRIMARY KEY,    -- slot_changes.n once the booking was counted
        person_id   TEXT NOT NULL,
        start_ms    INTEGER NOT NULL,
        end_ms      INTEGER NOT NULL
    );
    DROP TRIGGER slots_booked;
    CREATE TRIGGER slots_booked AFTER INSERT ON appointments BEGIN
        UPDATE slot_changes SET n = n + 1;
        INSERT INTO slot_takes (n, person_id, start_ms, end_ms)
            SELECT n, NEW.person_id, NEW.start_ms, NEW.end_ms FROM slot_changes WHERE NEW.state = 'booked';
        DELETE FROM slot_takes WHERE n <= (SELECT n FROM slot_changes) - 500;
    END;
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    """The database cannot be used by this software (the message says why, for staff logs)."""


@dataclass
class Store:
    """An open connection to the terminal's database."""

    conn: sqlite3.Connection
    path: Path | None
    role: Role

    @cached_property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over the same connection, imported on first use (the shell never needs it,
        and importing it took a tenth of a second of the kiosk's start)."""
        import sqlite_utils

        return sqlite_utils.Database(self.conn)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any error)."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def checkpoint(self) -> None:
        """Fold the WAL back into the database file (cheap when there is little to fold)."""
        try:
            self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as error:
            log.warning("store.checkpoint_failed", extra={"error": str(error)})

    def integrity_ok(self) -> bool:
        row = self.conn.execute("PRAGMA integrity_check").fetchone()
        return row is not None and row[0] == "ok"

    def close(self) -> None:
        self.conn.close()


def open_store(
    path: Path | None,
    role: Role = Role.AGENT,
    durability: Durability = Durability.NORMAL,
    *,
    now: datetime | None = None,
) -> Store:
    """Open (creating and migrating as needed) the database at ``path``; ``None`` is in memory.

    A damaged file is moved aside as ``kiosk.db.damaged-<UTC time>`` and replaced by an empty
    one. Raises :class:`StoreError` only for what moving aside cannot fix: a file written by a
    newer version of the software, or a directory that cannot be written.
    """
    if path is None:
        return _open(None, role, durability)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise StoreError(f"cannot create the data directory {path.parent}: {error.strerror}") from error
    try:
        return _open(path, role, durability)
    except sqlite3.DatabaseError as error:
        if isinstance(error, sqlite3.OperationalError) and not _is_damage(error):
            raise StoreError(f"cannot open {path}: {error}") from error
        aside = _move_aside(path, now or datetime.now(UTC))
        log.error("store.damaged_moved_aside", extra={"error": str(error), "moved_to": str(aside)})
    try:
        return _open(path, role, durability)
    except sqlite3.Error as error:
        raise StoreError(f"cannot create a new database at {path}: {error}") from error


def _is_damage(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return any(word in text for word in ("malformed", "not a database", "corrupt", "disk image"))


OPEN_WAIT_S = 15.0
"""How long opening may wait for the other process (creating, migrating, checkpointing)."""


FILE_MODE = 0o660
"""The database's mode: the shell's and the agent's users (two users, one group) both write it;
nobody else may read it. SQLite gives the ``-wal`` and ``-shm`` files the database's own mode."""


def _restrict(path: Path) -> None:
    """Create the database file with :data:`FILE_MODE`; take from an existing one (and its
    companions) whatever other users could read."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        pass
    else:
        os.fchmod(fd, FILE_MODE)  # whatever the process's umask
        os.close(fd)
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = stat.S_IMODE(file.stat().st_mode)
            if mode & 0o007:
                file.chmod(mode & ~0o007)
        except FileNotFoundError:
            continue
        except PermissionError as error:  # the other process's file: it tightens it when it opens it
            log.warning("store.cannot_restrict", extra={"file": str(file), "error": error.strerror})


def _open(path: Path | None, role: Role, durability: Durability) -> Store:
    """Open with waits allowed (nobody is waiting at start-up), retrying while another process
    holds the file; then the shell's connection stops waiting for locks at all."""
    if path is not None:
        _restrict(path)
    deadline = time.monotonic() + OPEN_WAIT_S
    while True:
        try:
            return _open_once(path, role, durability)
        except sqlite3.OperationalError as error:
            if ("locked" not in str(error) and "busy" not in str(error)) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _open_once(path: Path | None, role: Role, durability: Durability) -> Store:
    conn = sqlite3.connect(
        ":memory:" if path is None else str(path),
        isolation_level=None,  # autocommit; explicit BEGIN IMMEDIATE where several statements go together
        check_same_thread=False,  # the agent's scheduler runs jobs on worker threads, one at a time
        timeout=OPEN_WAIT_S,
    )
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={durability.value.upper()}")
        if role is Role.SHELL:
            # No surprise fsync in the middle of a resident's session: the shell checkpoints
            # between sessions and the agent does it on its schedule.
            conn.execute("PRAGMA wal_autocheckpoint=0")
        # Read the header now: a damaged or foreign file fails here, not in the middle of a session.
        quick = conn.execute("PRAGMA quick_check").fetchone()
        if quick is None or quick[0] != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed ({quick[0] if quick else 'no answer'})")
        _migrate(conn, path)
        if role is Role.SHELL:
            conn.execute("PRAGMA busy_timeout = 0")  # from now on a locked database never freezes the screen
        else:
            conn.execute("PRAGMA busy_timeout = 5000")
    except BaseException:
        conn.close()
        raise
    return Store(conn=conn, path=path, role=role)


def _migrate(conn: sqlite3.Connection, path: Path | None) -> None:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path or 'the database'} has schema version {version}, newer than this software's "
            f"{SCHEMA_VERSION}: update the software or restore an older database"
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current < number:
                for statement in _statements(MIGRATIONS[number - 1]):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        log.info("store.migrated", extra={"version": number})


def _statements(script: str) -> list[str]:
    """Split a migration into statements (``executescript`` would commit our transaction)."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        current += line.split("--", 1)[0] if "--" in line else line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    if current.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {current.strip()[:60]}")
    return statements


def _move_aside(path: Path, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.damaged-{stamp}")
    n = 1
    while aside.exists():
        aside = path.with_name(f"{path.name}.damaged-{stamp}-{n}")
        n += 1
    path.rename(aside)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.rename(aside.with_name(aside.name + suffix))
    return aside
