"""schemathesis against the federation server's own OpenAPI: whatever it is sent, never a 5xx."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from sync.server import admin
from sync.server.app import create_app
from sync.server.db import Database, migrate

pytestmark = [pytest.mark.sync, pytest.mark.fuzz]

_dir = Path(tempfile.mkdtemp(prefix="borne-fuzz-"))
_db = Database(f"sqlite:///{_dir / 'federation.db'}")
migrate(_db.engine)
_centre = admin.create_centre(_db, "Centre fuzz", "Fuzzville", "13", "france_services")
_terminal = admin.create_terminal(_db, _centre, "Borne fuzz")
_device, _token, _ = admin.enrol(_db, _terminal.code, "1.0")
_read = admin.create_read_token(_db, "fuzz")
app = create_app(_db)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_server_fail(case) -> None:  # type: ignore[no-untyped-def]
    token = _read if case.path == "/api/v1/export" else _token
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=[not_a_server_error])


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_the_server_fail_without_a_token(case) -> None:  # type: ignore[no-untyped-def]
    case.call_and_validate(checks=[not_a_server_error])
