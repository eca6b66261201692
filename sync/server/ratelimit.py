"""Rate limits kept in the database, so that every server process counts the same requests.

One token bucket per key — ``terminal:<id>`` for a terminal's token, ``address:<ip>`` for
everything else, ``login:<ip>`` for the dashboard's login — holding at most ``burst`` tokens and
refilled at ``per_minute``. A request takes its token *before* it is handled, in a short
transaction of its own committed at once: a request refused afterwards (401, 403, 409, 413, 422)
or whose own transaction rolls back has still been counted.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from sync.server.db import Database
from sync.server.models import RateBucket, Terminal
from sync.server.security import token_hash
from sync.server.settings import Rate, ServerSettings

UNLIMITED_PATHS = ("/healthz", "/static/")  # no database behind them
STALE_BUCKET_S = 86_400.0  # a bucket untouched for a day is full again: its row can go
PURGE_EVERY = 1000  # takes per process between purges of stale buckets


def _take(session: Session, db: Database, key: str, rate: Rate, now_s: float) -> float | None:
    """Take one token from ``key``'s bucket: ``None`` if there was one, else seconds to wait."""
    insert = postgresql.insert if db.is_postgres else sqlite.insert
    # A write first: on SQLite it takes the write lock, so the read below is the latest state.
    session.execute(insert(RateBucket).values(key=key, tokens=rate.burst, updated_s=now_s).on_conflict_do_nothing())
    query = select(RateBucket).where(RateBucket.key == key)
    if db.is_postgres:
        query = query.with_for_update()
    bucket = session.execute(query).scalar_one()
    tokens = min(rate.burst, bucket.tokens + max(0.0, now_s - bucket.updated_s) * rate.per_minute / 60)
    bucket.updated_s = now_s
    if tokens < 1:
        bucket.tokens = tokens
        return (1 - tokens) * 60 / rate.per_minute
    bucket.tokens = tokens - 1
    return None


def take(db: Database, key: str, rate: Rate) -> float | None:
    """One request under ``key``, committed at once: ``None`` if allowed, else seconds to wait."""
    with db.session() as session:
        return _take(session, db, key, rate, time.time())


def forget(db: Database, key: str) -> None:
    """A full bucket again for ``key`` (a successful login forgives the failures before it)."""
    with db.session() as session:
        session.execute(delete(RateBucket).where(RateBucket.key == key))


def purge_stale(db: Database) -> None:
    with db.session() as session:
        session.execute(delete(RateBucket).where(RateBucket.updated_s < time.time() - STALE_BUCKET_S))


def client_address(scope: Scope) -> str:
    """The client's address (uvicorn puts the reverse proxy's X-Forwarded-For here)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            text = value.decode("latin-1")
            return text[7:].strip() if text[:7].lower() == "bearer " else None
    return None


@dataclass(frozen=True)
class Admitted:
    terminal: Terminal | None  # the terminal whose token came with the request, revoked or not
    retry_after_s: float | None


class RateLimit:
    """ASGI middleware taking every request's token before anything else reads it.

    It also finds the terminal a token belongs to, in the same transaction, and leaves it in
    ``scope["state"]["terminal"]`` for :func:`sync.server.app.create_app`'s ``device``."""

    def __init__(self, app: ASGIApp, db: Database, settings: ServerSettings) -> None:
        self.app = app
        self.db = db
        self.settings = settings
        self.takes = itertools.count(1)

    def admit(self, token: str | None, address: str) -> Admitted:
        with self.db.session() as session:
            terminal = None
            if token:
                digest = token_hash(token)
                terminal = session.execute(select(Terminal).where(Terminal.token_hash == digest)).scalar_one_or_none()
            if terminal is not None:
                key, rate = f"terminal:{terminal.id}", self.settings.terminal_rate
                session.expunge(terminal)
            else:
                key, rate = f"address:{address}", self.settings.address_rate
            wait = _take(session, self.db, key, rate, time.time())
        if next(self.takes) % PURGE_EVERY == 0:
            purge_stale(self.db)
        return Admitted(terminal, wait)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(UNLIMITED_PATHS):
            await self.app(scope, receive, send)
            return
        admitted = await run_in_threadpool(self.admit, bearer(scope), client_address(scope))
        if admitted.retry_after_s is not None:
            seconds = max(1, int(admitted.retry_after_s) + 1)
            refused = JSONResponse(
                {"detail": f"too many requests; retry after {seconds} s"},
                status_code=429,
                headers={"Retry-After": str(seconds)},
            )
            await refused(scope, receive, send)
            return
        scope.setdefault("state", {})["terminal"] = admitted.terminal
        await self.app(scope, receive, send)
