"""schemathesis against the federation server's own OpenAPI, on SQLite and PostgreSQL: whatever it
is sent, with a terminal's or a reader's token or none, never a 5xx.

The budget (examples per operation and generation mode) is set so that the whole fuzz suite takes
a few minutes of CI on both databases. Hypothesis' health checks are all on. Each operation is
fuzzed by a Hypothesis test built at run time from schemathesis' strategy for it, inside a
pytest test that owns the server (schemathesis' own pytest loader for a schema from a fixture
does not run on pytest 9).
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
import schemathesis
from hypothesis import given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NotSet
from starlette.testclient import TestClient

from sync.protocol import DailyBatch
from sync.server import admin
from sync.server.app import create_app
from sync.server.db import Database, utcnow
from sync.server.ingest import store_batch
from sync.server.publication import publish_due
from sync.server.settings import Rate, ServerSettings
from sync.vocabulary import periods
from tests.fedkit import StatusLog, batch

pytestmark = [pytest.mark.sync, pytest.mark.fuzz]

WITH_TOKENS = 100  # examples per operation, with valid tokens
WITHOUT_TOKEN = 30  # examples per operation, anonymous
UNLIMITED = Rate(per_minute=1e9, burst=1e9)  # the fuzzer is not here to meet the rate limits
# Operations whose every input is a free-text header: no request to them is invalid by the schema.
NOTHING_TO_NEGATE = {"GET /api/v1/catalogue"}


@dataclass
class Target:
    db: Database
    app: StatusLog
    device: str
    token: str
    read: str

    def plausible(self, body: Any) -> None:
        """Give a generated batch or heartbeat this terminal's id (and a batch its matching id), so
        that the fuzzer gets past the token checks into validation and storage."""
        if not isinstance(body, dict):
            return
        if isinstance(body.get("device_id"), str):
            body["device_id"] = self.device
        day = body.get("day")
        if isinstance(day, str) and isinstance(body.get("batch_id"), str):
            with contextlib.suppress(ValueError):
                # into the days the server takes (the window itself is tested in test_abuse.py)
                first, span = periods.FIRST_DAY, (utcnow().date() - periods.FIRST_DAY).days
                moved = first + timedelta(days=date.fromisoformat(day).toordinal() % span)
                body["day"] = moved.isoformat()
                body["batch_id"] = DailyBatch.make_id(self.device, moved)


@pytest.fixture
def target(federation_db: Database) -> Iterator[Target]:
    centre = admin.create_centre(federation_db, "Centre fuzz", "Fuzzville", "13", "france_services")
    made = admin.create_terminal(federation_db, centre, "Borne fuzz")
    terminal, token, _ = admin.enrol(federation_db, made.code, "1.0")
    with federation_db.session() as session:  # enrolled long ago: most generated days are its own
        session.merge(terminal).enrolled_at = utcnow() - timedelta(days=30 * 365)
    # A day of 2000 makes every month since then published (empty ones too): generated periods
    # of these years reach the published figures.
    store_batch(federation_db, terminal.id, batch(terminal.device_id, date(2000, 1, 5)), None)
    publish_due(federation_db)
    settings_ = ServerSettings(
        terminal_rate=UNLIMITED, address_rate=UNLIMITED, login_rate=UNLIMITED, publish_in_process=False
    )
    app = StatusLog(create_app(federation_db, settings_))
    yield Target(federation_db, app, terminal.device_id, token, admin.create_read_token(federation_db, "fuzz"))
    assert app.server_errors() == []


# What a schema-driven generator never produces and an attacker sends: JSON that is not JSON
# (NaN, Infinity), lone surrogates, text a spreadsheet runs, huge numbers and keys, dates at the
# ends of the calendar. Each example may put up to two of them anywhere in its body or query,
# as a value or as a key, and may send a device clock without a zone or at the ends of time.
HOSTILE: tuple[Any, ...] = (
    float("nan"),
    float("inf"),
    float("-inf"),
    "\ud800",
    "=1+1",
    "k" * 3000,
    10**40,
    -(10**40),
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00:00+14:00",
)
CLOCKS = (None, "2026-11-29T10:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00")


def _spots(value: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key or index) of a JSON value, depth first."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in list(items):
        yield value, key
        yield from _spots(item)


def spoil(value: Any, picks: list[tuple[int, Any]]) -> Any:
    """A copy of ``value`` with the picked hostile values put in (at a spot, or as a new key)."""
    value = copy.deepcopy(value)
    for where, hostile in picks:
        spots = list(_spots(value))
        if not spots:
            break
        container, key = spots[where % len(spots)]
        if isinstance(container, dict) and isinstance(hostile, str) and where % 2:
            container[hostile] = 1
        else:
            container[key] = hostile
    return value


OURS = {"authorization", "content-type"}  # headers this test sets itself


def url_text(value: Any) -> str:
    """A query key or value a URL can carry (a lone surrogate becomes the bytes it would be, undecodable)."""
    return str(value).encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def header_bytes(value: Any) -> Any:
    """A header value as the client can send it: non-ASCII text as Latin-1 (else UTF-8) bytes."""
    if isinstance(value, str) and not value.isascii():
        try:
            return value.encode("latin-1")
        except UnicodeEncodeError:
            return value.encode("utf-8")
    return value


def fuzz(target: Target, mode: GenerationMode, examples: int, tokens: bool) -> dict[str, int]:
    """Every operation of the server's OpenAPI, ``examples`` cases each, some spoilt with
    :data:`HOSTILE` values; returns how many answers of each status each operation gave."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.app)
    client = TestClient(target.app, raise_server_exceptions=False)
    statuses: dict[str, int] = {}
    picks = st.lists(st.tuples(st.integers(0, 999), st.sampled_from(HOSTILE)), max_size=2)
    for result in schema.get_all_operations():
        operation = result.ok()
        if mode is GenerationMode.NEGATIVE and operation.label in NOTHING_TO_NEGATE:
            continue

        @given(case=operation.as_strategy(mode), picks=picks, clock=st.sampled_from(CLOCKS))
        @settings(max_examples=examples, deadline=None, database=None)
        def call(case: Any, picks: list[tuple[int, Any]], clock: str | None) -> None:
            # A generated header may hold any Latin-1 text ("année"): sent as the bytes HTTP
            # carries, where the client would refuse a str that is not ASCII.
            headers = {k: header_bytes(v) for k, v in (case.headers or {}).items() if k.lower() not in OURS}
            headers["Content-Type"] = "application/json"
            if tokens:
                token = target.read if case.path == "/api/v1/export" else target.token
                headers["Authorization"] = f"Bearer {token}"
                target.plausible(case.body)
            if clock is not None:
                headers["X-Borne-Device-Clock"] = clock
            query = {url_text(key): url_text(value) for key, value in spoil(case.query or {}, picks).items()}
            body = case.body
            if not isinstance(body, (NotSet, bytes)):
                body = json.dumps(spoil(body, picks)).encode()
            body = None if isinstance(body, NotSet) else body
            answer = client.request(case.method, case.formatted_path, params=query, headers=headers, content=body)
            key = f"{case.method} {case.path} {answer.status_code}"
            statuses[key] = statuses.get(key, 0) + 1
            assert answer.status_code < 500, f"{key}: {case.method} {case.formatted_path} {query} {body!r:.500}"

        call()
    return statuses


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_no_input_makes_the_server_fail(target: Target, mode: GenerationMode) -> None:
    statuses = fuzz(target, mode, WITH_TOKENS, tokens=True)
    print(mode, statuses)
    if mode is GenerationMode.POSITIVE:  # the fuzzer got past the tokens and validation into storage
        assert statuses.get("POST /api/v1/batches 201", 0) + statuses.get("POST /api/v1/batches 200", 0) > 0
        assert statuses.get("GET /api/v1/export 200", 0) > 0


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_no_input_makes_the_server_fail_without_a_token(target: Target, mode: GenerationMode) -> None:
    fuzz(target, mode, WITHOUT_TOKEN, tokens=False)


def test_a_plausible_batch_is_stored(target: Target) -> None:
    """What :meth:`Target.plausible` is for: a batch of another terminal, under a wrong id, is
    stored once given the fuzzing terminal's ids."""
    day = str(utcnow().date() - timedelta(days=3))
    body = {"device_id": "b-someone-else", "day": day, "batch_id": "x:2000-01-01:v1", "figures": {"sessions": 3}}
    target.plausible(body)
    with TestClient(target.app) as client:
        answer = client.post("/api/v1/batches", json=body, headers={"Authorization": f"Bearer {target.token}"})
    assert answer.status_code == 201, answer.text
