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

from kiosk.core.schema import MIGRATIONS as MIGRATIONS  # the schema, re-exported for the tests
from kiosk.core.schema import SCHEMA_VERSION as SCHEMA_VERSION

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
