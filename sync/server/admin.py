"""Federation administration: centres, terminals and enrolment, tokens, dashboard accounts."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from sync.server.db import Database, utcnow
from sync.server.models import STRUCTURE_TYPES, Centre, EnrolmentCode, ReadToken, Setting, Terminal, User
from sync.server.security import code_hash, hash_password, new_code, new_token, token_hash
from sync.vocabulary import MAX_K, MIN_K

ENROLMENT_VALIDITY = timedelta(hours=24)
SERVER_MIN_K = max(MIN_K, 5)  # the federation never publishes a count below 5
_DEPARTEMENT = re.compile(r"(0[1-9]|[1-8]\d|9[0-5]|2A|2B|97[1-6])")
_SIRET = re.compile(r"\d{14}")


class AdminError(ValueError):
    """Bad input for an administrative action; the message says what to fix."""


@dataclass(frozen=True)
class NewTerminal:
    terminal_id: int
    device_id: str
    code: str
    expires_at: datetime


def create_centre(
    db: Database, name: str, commune: str, departement: str, structure_type: str, siret: str | None = None
) -> int:
    departement = departement.strip().upper()
    if not _DEPARTEMENT.fullmatch(departement):
        raise AdminError(f"{departement!r} is not a département code (01–95, 2A, 2B, 971–976)")
    if structure_type not in STRUCTURE_TYPES:
        raise AdminError(f"structure type must be one of {', '.join(STRUCTURE_TYPES)}")
    if siret is not None and not _SIRET.fullmatch(siret.replace(" ", "")):
        raise AdminError("a SIRET has 14 digits")
    if not name.strip() or not commune.strip():
        raise AdminError("a centre needs a name and a commune")
    with db.session() as session:
        centre = Centre(
            name=name.strip(),
            commune=commune.strip(),
            departement=departement,
            structure_type=structure_type,
            siret=siret.replace(" ", "") if siret else None,
            created_at=utcnow(),
        )
        session.add(centre)
        session.flush()
        return centre.id


def create_terminal(db: Database, centre_id: int, name: str) -> NewTerminal:
    """A terminal and its one-time enrolment code (valid 24 h)."""
    code = new_code()
    expires = utcnow() + ENROLMENT_VALIDITY
    with db.session() as session:
        if session.get(Centre, centre_id) is None:
            raise AdminError(f"no centre {centre_id}")
        terminal = Terminal(device_id=f"b-{secrets.token_hex(8)}", centre_id=centre_id, name=name.strip() or "Borne")
        session.add(terminal)
        session.flush()
        session.add(EnrolmentCode(code_hash=code_hash(code), terminal_id=terminal.id, expires_at=expires))
        return NewTerminal(terminal.id, terminal.device_id, code, expires)


def _kill_codes(session: Session, terminal_id: int, now: datetime) -> None:
    """Every code of the terminal not used yet stops working (marked used now)."""
    session.execute(
        update(EnrolmentCode)
        .where(EnrolmentCode.terminal_id == terminal_id, EnrolmentCode.used_at.is_(None))
        .values(used_at=now)
    )


def new_enrolment_code(db: Database, terminal_id: int) -> str:
    """A fresh code for an existing terminal (re-installed box): its old token and every code
    given before stop working. A revoked terminal gets none: revocation is final."""
    code = new_code()
    now = utcnow()
    with db.session() as session:
        terminal = session.get(Terminal, terminal_id)
        if terminal is None:
            raise AdminError(f"no terminal {terminal_id}")
        if terminal.revoked_at is not None:
            raise AdminError(f"terminal {terminal.device_id} was revoked: create a new terminal for this box")
        terminal.token_hash = None
        _kill_codes(session, terminal_id, now)
        session.add(
            EnrolmentCode(code_hash=code_hash(code), terminal_id=terminal_id, expires_at=now + ENROLMENT_VALIDITY)
        )
    return code


class EnrolmentRefused(Exception):
    pass


def enrol(db: Database, code: str, software_version: str) -> tuple[Terminal, str, str]:
    """Exchange a code for a device token (once). Returns the terminal, its token, its centre's name.

    The code is spent by one conditional UPDATE (still unused, not expired): of clients racing
    with the same code, on SQLite or PostgreSQL, exactly one sees its row updated. A revoked
    terminal stays revoked whatever code is presented."""
    now = utcnow()
    with db.session() as session:
        spent = session.execute(
            update(EnrolmentCode)
            .where(
                EnrolmentCode.code_hash == code_hash(code),
                EnrolmentCode.used_at.is_(None),
                EnrolmentCode.expires_at > now,
            )
            .values(used_at=now)
            .returning(EnrolmentCode.terminal_id)
        ).scalar_one_or_none()
        terminal = session.get(Terminal, spent) if spent is not None else None
        if terminal is None or terminal.revoked_at is not None:
            raise EnrolmentRefused("unknown, used or expired enrolment code")
        token = new_token("dev")
        terminal.token_hash = token_hash(token)
        terminal.enrolled_at = terminal.enrolled_at or now  # the first enrolment: where its days start
        terminal.software_version = software_version
        centre_name = terminal.centre.name
        return terminal, token, centre_name


def revoke_terminal(db: Database, device_id: str) -> None:
    """Refuse the terminal's token from now on, and every enrolment code it still had, for good."""
    now = utcnow()
    with db.session() as session:
        terminal = session.execute(select(Terminal).where(Terminal.device_id == device_id)).scalar_one_or_none()
        if terminal is None:
            raise AdminError(f"no terminal {device_id}")
        terminal.revoked_at = terminal.revoked_at or now
        _kill_codes(session, terminal.id, now)


def check_scope(db: Database, scope: str) -> tuple[str, str]:
    """``national``, ``departement:69`` or ``centre:12`` as (level, value); AdminError if unknown."""
    level, _, value = scope.partition(":")
    with db.session() as session:
        if level == "national" and not value:
            return "national", ""
        if level == "departement" and _DEPARTEMENT.fullmatch(value.upper()):
            return "departement", value.upper()
        if level == "centre" and value.isdigit() and session.get(Centre, int(value)) is not None:
            return "centre", value
    raise AdminError(f"{scope!r} is not a scope: write national, departement:CODE or centre:ID (an existing centre)")


def create_read_token(db: Database, name: str, scope: str = "national") -> str:
    level, value = check_scope(db, scope)
    token = new_token("read")
    with db.session() as session:
        session.add(
            ReadToken(
                name=name, token_hash=token_hash(token), created_at=utcnow(), scope_level=level, scope_value=value
            )
        )
    return token


def revoke_read_token(db: Database, name: str) -> int:
    with db.session() as session:
        tokens = session.execute(select(ReadToken).where(ReadToken.name == name, ReadToken.revoked_at.is_(None)))
        count = 0
        for token in tokens.scalars():
            token.revoked_at = utcnow()
            count += 1
    return count


def create_user(db: Database, username: str, password: str, scope: str = "national") -> None:
    level, value = check_scope(db, scope)
    if len(password) < 12:
        raise AdminError("a dashboard password needs at least 12 characters")
    if not re.fullmatch(r"[A-Za-z0-9_.@-]{3,100}", username):
        raise AdminError("a user name has 3 to 100 letters, digits or _ . @ -")
    with db.session() as session:
        if session.execute(select(User).where(User.username == username)).scalar_one_or_none():
            raise AdminError(f"user {username!r} exists already")
        session.add(
            User(
                username=username,
                password_hash=hash_password(password),
                created_at=utcnow(),
                scope_level=level,
                scope_value=value,
            )
        )


def server_secret(db: Database) -> bytes:
    """The server's own secret (suppression draws); created on first use."""
    with db.session() as session:
        setting = session.get(Setting, "secret")
        if setting is None:
            setting = Setting(key="secret", value=secrets.token_hex(32))
            session.add(setting)
        return bytes.fromhex(setting.value)


def suppression_k(db: Database) -> int:
    """The server's k: cells below it are hidden (5 unless set higher with ``set-k``)."""
    with db.session() as session:
        setting = session.get(Setting, "suppression_k")
    return int(setting.value) if setting else SERVER_MIN_K


def set_suppression_k(db: Database, k: int) -> None:
    if not SERVER_MIN_K <= k <= MAX_K:
        raise AdminError(f"k must lie between {SERVER_MIN_K} and {MAX_K}")
    with db.session() as session:
        session.merge(Setting(key="suppression_k", value=str(k)))
