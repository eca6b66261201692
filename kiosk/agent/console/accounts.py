"""Staff accounts, their logins and the audit log, in the shared database (migration 5).

Passwords are argon2id hashes (argon2-cffi's defaults). A login is a random token: the browser
keeps it in a cookie, the database only its SHA-256, so a copy of the database opens no session.
The audit log says who did what and when, with a target such as ``call 12`` — never a resident's
name. Qt-free and FastAPI-free: ``kiosk console-user`` uses it too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from kiosk.core.mediation.storage import to_ms, write
from kiosk.core.store import Store

NAME_MAX, PASSWORD_MIN, PASSWORD_MAX = 40, 10, 200
AUDIT_KEEP_DAYS = 365
"""The audit log (staff names, addresses of failed logins) is kept a year."""


class StaffRole(StrEnum):
    STAFF = "staff"
    ADMIN = "admin"


class AccountError(ValueError):
    """A name or a password that cannot be used (the message says why, in French: staff read it)."""


@dataclass(frozen=True)
class Account:
    name: str
    role: StaffRole

    @property
    def is_admin(self) -> bool:
        return self.role is StaffRole.ADMIN


@dataclass(frozen=True)
class Login:
    """A valid session: its account and the token the forms must echo (CSRF)."""

    account: Account
    csrf: str


def check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > NAME_MAX or not all(c.isalnum() or c in "._-" for c in name):
        raise AccountError(f"Le nom doit faire 1 à {NAME_MAX} caractères : lettres, chiffres, point, tiret.")
    return name


def check_password(password: str) -> str:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        raise AccountError(f"Le mot de passe doit faire au moins {PASSWORD_MIN} caractères.")
    return password


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_for(token: str) -> str:
    """The form token of a session: derived from the cookie's secret, unknown to the database."""
    return hashlib.sha256(b"csrf:" + token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


class Accounts:
    def __init__(self, store: Store, hasher: PasswordHasher | None = None) -> None:
        self.store = store
        self.hasher = hasher or PasswordHasher()

    @cached_property
    def _decoy(self) -> str:
        """Checked against when the name is unknown, so a wrong name costs as long as a wrong password."""
        return self.hasher.hash(secrets.token_urlsafe(16))

    # -- accounts -------------------------------------------------------------------------------
    def set(self, name: str, role: StaffRole, password: str, now: datetime) -> bool:
        """Create the account, or give an existing one this role and password (its logins end).
        Returns True when it was created."""
        name, hashed = check_name(name), self.hasher.hash(check_password(password))

        def upsert(conn: sqlite3.Connection) -> bool:
            existed = conn.execute("SELECT 1 FROM console_accounts WHERE name = ?", (name,)).fetchone() is not None
            conn.execute(
                "INSERT INTO console_accounts (name, role, password_hash, created_ms, updated_ms)"
                " VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash,"
                " updated_ms = excluded.updated_ms",
                (name, role, hashed, to_ms(now), to_ms(now)),
            )
            conn.execute("DELETE FROM console_sessions WHERE account = ?", (name,))
            return not existed

        return write(self.store, upsert)

    def all(self) -> list[Account]:
        rows = self.store.conn.execute("SELECT name, role FROM console_accounts ORDER BY name").fetchall()
        return [Account(str(name), StaffRole(role)) for name, role in rows]

    def authenticate(self, name: str, password: str) -> Account | None:
        row = self.store.conn.execute(
            "SELECT name, role, password_hash FROM console_accounts WHERE name = ?", (name.strip(),)
        ).fetchone()
        try:
            self.hasher.verify(row[2] if row else self._decoy, password)
        except (VerificationError, InvalidHashError):
            return None
        return Account(str(row[0]), StaffRole(row[1])) if row else None

    # -- sessions -------------------------------------------------------------------------------
    def open_session(self, account: Account, now: datetime, lasts: timedelta) -> str:
        """A new login; returns the cookie's token (the database keeps only its hash)."""
        token = secrets.token_urlsafe(32)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM console_sessions WHERE expires_ms <= ?", (to_ms(now),))
            conn.execute(
                "INSERT INTO console_sessions (token_hash, account, created_ms, expires_ms) VALUES (?, ?, ?, ?)",
                (_digest(token), account.name, to_ms(now), to_ms(now + lasts)),
            )

        write(self.store, insert)
        return token

    def session(self, token: str, now: datetime) -> Login | None:
        if not token or len(token) > 100:
            return None
        row = self.store.conn.execute(
            "SELECT a.name, a.role FROM console_sessions s JOIN console_accounts a ON a.name = s.account"
            " WHERE s.token_hash = ? AND s.expires_ms > ?",
            (_digest(token), to_ms(now)),
        ).fetchone()
        return None if row is None else Login(Account(str(row[0]), StaffRole(row[1])), csrf_for(token))

    def close_session(self, token: str) -> None:
        write(
            self.store,
            lambda conn: conn.execute("DELETE FROM console_sessions WHERE token_hash = ?", (_digest(token),)),
        )

    # -- audit ----------------------------------------------------------------------------------
    def audit(self, who: str, action: str, target: str | None, now: datetime) -> None:
        write(
            self.store,
            lambda conn: conn.execute(
                "INSERT INTO console_audit (at_ms, account, action, target) VALUES (?, ?, ?, ?)",
                (to_ms(now), who, action, target),
            ),
        )

    def purge(self, now: datetime, keep_days: int = AUDIT_KEEP_DAYS) -> int:
        """Delete expired logins and audit rows older than ``keep_days``; returns the rows deleted."""
        oldest = to_ms(now - timedelta(days=keep_days))

        def delete(conn: sqlite3.Connection) -> int:
            gone = conn.execute("DELETE FROM console_sessions WHERE expires_ms <= ?", (to_ms(now),)).rowcount
            return int(gone) + int(conn.execute("DELETE FROM console_audit WHERE at_ms < ?", (oldest,)).rowcount)

        return write(self.store, delete)

    def audit_log(self, limit: int = 100) -> list[tuple[int, str, str, str | None]]:
        rows = self.store.conn.execute(
            "SELECT at_ms, account, action, target FROM console_audit ORDER BY id DESC LIMIT ?", (limit,)
        ).fetchall()
        return [(int(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows]
