"""Publication: fixed periods, decided once; a late batch changes nothing published; an older
database is brought to what version 2 keeps."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import select, text

from sync.server.db import MIGRATIONS, Database
from sync.server.models import Batch, PublishedCell
from sync.server.publication import publish_due, publishable
from sync.vocabulary.periods import Period
from tests.fedkit import Federation, batch

pytestmark = pytest.mark.sync


def post(fed: Federation, token: str, body: str) -> None:
    answer = fed.post("/api/v1/batches", body, token)
    assert answer.status_code == 201, answer.text


def published(fed: Federation, period: str) -> dict[tuple[str, str, str, str], tuple[int, bool]]:
    with fed.db.session() as session:
        rows = session.execute(select(PublishedCell).where(PublishedCell.period == period)).scalars()
        return {(r.level, r.scope, r.metric, r.key): (r.value, r.hidden) for r in rows}


def test_a_month_is_published_once_and_a_late_batch_changes_nothing(federation: Federation) -> None:
    device, token = federation.terminal()
    for n in range(20):
        post(federation, token, batch(device, date(2026, 6, 1) + timedelta(days=n), sessions=7).model_dump_json())
    assert [m.label for m in publish_due(federation.db, date(2026, 7, 15))] == ["2026-06"]
    june = published(federation, "2026-06")
    assert june[("national", "", "sessions", "")] == (140, False)
    post(federation, token, batch(device, date(2026, 6, 27), sessions=3).model_dump_json())  # late
    assert publish_due(federation.db, date(2026, 8, 30)) == [Period.parse("2026-07")]
    assert published(federation, "2026-06") == june  # the month read earlier reads the same
    assert publish_due(federation.db, date(2026, 8, 30)) == []


def test_the_export_without_a_period_is_the_latest_published_month(federation: Federation) -> None:
    headers = {"Authorization": f"Bearer {federation.read_token()}"}

    def export() -> requests.Response:
        return requests.get(f"{federation.url}/api/v1/export", headers=headers, timeout=30)

    nothing = export()
    assert nothing.status_code == 404 and "nothing is published yet" in nothing.text
    device, token = federation.terminal()
    post(federation, token, batch(device, date(2026, 6, 10), sessions=9).model_dump_json())
    latest = publish_due(federation.db)[-1]
    answer = export()
    assert answer.status_code == 200, answer.text
    assert answer.json()["period"] == latest.label and latest.kind == "month"


def test_days_outside_the_weeks_of_2000_to_2100_are_refused(federation: Federation) -> None:
    """2000-01-01 belongs to a week of December 1999, which no period can name."""
    device, token = federation.terminal(enrolled_on=date(1990, 1, 1))
    for day in (date(1999, 12, 31), date(2000, 1, 2)):
        answer = federation.post("/api/v1/batches", batch(device, day).model_dump_json(), token)
        assert answer.status_code == 422 and "2000-01-03" in answer.text, (day, answer.text)
    post(federation, token, batch(device, date(2000, 1, 3)).model_dump_json())


def test_a_quarter_and_a_year_are_published_with_their_last_month(federation: Federation) -> None:
    device, token = federation.terminal()
    post(federation, token, batch(device, date(2026, 6, 10), sessions=9).model_dump_json())
    publish_due(federation.db, date(2026, 7, 10))  # June (weeks 23 to 26) ends the second quarter
    assert published(federation, "2026-Q2")[("centre", "1", "sessions", "")][0] == 9
    assert published(federation, "2026") == {}
    assert publishable(date(2027, 1, 11)) == Period.parse("2026-12")  # ends Sunday 3 January 2027


def test_an_older_database_keeps_only_what_version_2_carries(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = Database(f"sqlite:///{tmp_path / 'old.db'}")
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
        connection.execute(
            text(
                "INSERT INTO usage_cells (level, scope, day, metric, key, value, hidden) VALUES"
                " ('centre', '1', '2026-06-10', 'total_duration_s', '', 4321, 0),"
                " ('centre', '1', '2026-06-10', 'blocked', 'evil.example', 2, 0),"
                " ('centre', '1', '2026-06-10', 'tiles', 'caf', 5, 0),"
                " ('centre', '1', '2026-06-10', 'categories', 'famille', 5, 0)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO centres (id, name, commune, departement, structure_type, created_at)"
                " VALUES (1, 'C', 'X', '69', 'autre', '2026-01-01')"
            )
        )
        connection.execute(
            text("INSERT INTO terminals (id, device_id, centre_id, name, rate_tokens) VALUES (1, 'b-1', 1, 'B', 0)")
        )
        connection.execute(
            text(
                "INSERT INTO batches (terminal_id, batch_id, day, version, payload_hash, payload, received_at,"
                " clock_skew_flagged) VALUES (1, 'b-1:2026-06-10:v1', '2026-06-10', 1, 'h', :payload,"
                " '2026-06-11', 0)"
            ),
            {
                "payload": '{"figures": {"total_duration_s": 4321, "blocked": {"evil.example": 2}, "tiles": {"caf": 5},'
                ' "categories": {"famille": 5}, "mediator": {"median_wait_s": 33.5}}}'
            },
        )
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    with db.engine.connect() as connection:
        cells = {(m, k): v for m, k, v in connection.execute(text("SELECT metric, key, value FROM usage_cells"))}
    assert cells == {("blocked", "inconnue"): 2, ("tiles", "famille/inconnue"): 5, ("categories", "famille"): 5}
    with db.session() as session:
        payload = session.execute(select(Batch.payload)).scalar_one()
    assert "evil" not in payload and "4321" not in payload and "33.5" not in payload
    db.dispose()
