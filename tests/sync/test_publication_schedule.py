"""When publication runs: never in a request; from the server's own job and from the command
line; one publisher at a time, a month published once and never half, a failure retried."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select, text

from sync import cli
from sync.server import admin, publication
from sync.server.db import Database, migrate
from sync.server.ingest import store_batch
from sync.server.models import ForcedCell, PublishedCell, PublishedMonth, Setting
from sync.server.schedule import publish_now
from sync.server.settings import ServerSettings
from sync.vocabulary.periods import Period
from tests.fedkit import PASSWORD, Federation, PostgresCluster, ServerThread, backdate_enrolment, batch

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.sync
JUNE = Period.parse("2026-06")
TODAY = date(2026, 7, 15)  # June (weeks 23 to 26) is due: it ended more than 7 days ago


def seed(db: Database, centres: int = 3) -> list[int]:
    """Centres of the Rhône, each with a terminal (enrolled in 2024) that sent every day of June,
    with one session on a rare démarche."""
    ids = []
    for n in range(centres):
        centre = admin.create_centre(db, f"Centre {n}", "Lyon", "69", "france_services")
        made = admin.create_terminal(db, centre, "Borne")
        terminal, _, _ = admin.enrol(db, made.code, "1.0")
        backdate_enrolment(db, terminal.device_id)
        for day in range(28):
            rare = 1 if day == 2 * n else 0  # one session on a rare démarche: a small count to hide
            tiles = {"famille/caf": 2 + n, "travail/france-travail": 1, "papiers/ants": rare}
            figures = {"tiles": tiles, "categories": {"famille": 2 + n, "travail": 1, "papiers": rare}}
            sent = batch(terminal.device_id, date(2026, 6, 1) + timedelta(days=day), sessions=3 + n + rare, **figures)
            store_batch(db, terminal.id, sent, None)
        ids.append(centre)
    return ids


def months(db: Database) -> list[str]:
    with db.session() as session:
        return sorted(session.execute(select(PublishedMonth.month)).scalars())


def counts(db: Database) -> tuple[int, int, int]:
    with db.session() as session:
        return tuple(  # type: ignore[return-value]
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (PublishedMonth, PublishedCell, ForcedCell)
        )


def test_no_request_publishes_and_pages_say_nothing_is_published_yet(federation: Federation) -> None:
    centres = seed(federation.db)
    admin.create_user(federation.db, "lecteur", PASSWORD)
    web, answer = federation.login("lecteur")
    assert answer.status_code == 303
    token = federation.read_token()
    reader = {"Authorization": f"Bearer {token}"}
    pages = ["/", "/departements/69", f"/centres/{centres[0]}"]
    for path in pages:
        page = web.get(f"{federation.url}{path}", timeout=30)
        assert page.status_code == 200 and "Aucune période publiée pour l'instant" in page.text, path
    for path in ("/parc", "/parc.csv", "/?periode=2026-06"):
        web.get(f"{federation.url}{path}", timeout=30)
    for query in ("", "?period=2026-06", "?period=2026-06&format=csv&level=centre", "?from=2026-06-01&to=2026-06-28"):
        answer = requests.get(f"{federation.url}/api/v1/export{query}", headers=reader, timeout=30)
        assert answer.status_code == 404, (query, answer.text)
        assert "published" in answer.json()["detail"] and "7 days after" in answer.json()["detail"]
    assert months(federation.db) == []  # every page and export read: June still waits for its job

    timer = subprocess.run(  # what the nightly timer runs
        [sys.executable, "-m", "sync.cli", "--database", federation.db.url, "publish"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert timer.returncode == 0, timer.stderr
    assert "published: 2026-06" in timer.stdout
    logged = [json.loads(line) for line in timer.stderr.splitlines()]
    assert {"publication.started", "publication.month", "publication.finished"} <= {e["event"] for e in logged}
    assert "2026-06" in months(federation.db)
    page = web.get(f"{federation.url}/?periode=2026-06", timeout=30)
    assert page.status_code == 200 and "Aucune période publiée" not in page.text
    answer = requests.get(f"{federation.url}/api/v1/export?period=2026-06", headers=reader, timeout=30)
    assert answer.status_code == 200 and answer.json()["rows"]


def test_the_server_publishes_due_months_from_its_own_job(
    federation_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    seed(federation_db)
    caplog.set_level(logging.INFO)
    settings = ServerSettings(insecure_cookies=True, publish_in_process=True)
    server = ServerThread(federation_db, settings=settings, lifespan="on").start()
    try:
        deadline = time.monotonic() + 60
        while "2026-06" not in months(federation_db):
            assert time.monotonic() < deadline, "the server's job did not publish June"
            time.sleep(0.2)
        headers = {"Authorization": f"Bearer {admin.create_read_token(federation_db, 'lecteur')}"}
        answer = requests.get(f"{server.url}/api/v1/export?period=2026-06", headers=headers, timeout=30)
        assert answer.status_code == 200 and answer.json()["rows"]
    finally:
        server.stop()
    assert server.log.server_errors() == []
    finished = [r for r in caplog.records if r.getMessage() == "publication.finished"]
    assert finished and "2026-06" in finished[0].months and finished[0].seconds >= 0  # type: ignore[attr-defined]
    month = next(r for r in caplog.records if r.getMessage() == "publication.month")
    assert month.suppress_s >= 0  # type: ignore[attr-defined]


def test_a_server_told_not_to_publish_leaves_it_to_the_timer(federation_db: Database) -> None:
    seed(federation_db, centres=1)
    settings = ServerSettings(insecure_cookies=True, publish_in_process=False)
    server = ServerThread(federation_db, settings=settings, lifespan="on").start()
    try:
        assert requests.get(f"{server.url}/healthz", timeout=10).status_code == 200
        time.sleep(1)
        assert months(federation_db) == []
    finally:
        server.stop()
    assert cli.build_parser().parse_args(["serve", "--no-publish"]).no_publish


def test_a_failed_publication_leaves_nothing_half_done_and_the_next_run_publishes(
    federation_db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    seed(federation_db)
    real = publication._insert
    failures = []

    def insert_then_fail(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
        real(session, model, rows)  # the month and its cells are written in the transaction...
        if model is PublishedCell and not failures:
            failures.append(len(rows))
            raise RuntimeError("the disk is full")  # ...and then it fails

    monkeypatch.setattr(publication, "_insert", insert_then_fail)
    caplog.set_level(logging.INFO)
    assert publish_now(federation_db, TODAY) is None
    assert failures and counts(federation_db) == (0, 0, 0)
    failed = [r for r in caplog.records if r.getMessage() == "publication.failed"]
    assert failed and failed[0].exc_info is not None
    assert [m.label for m in publish_now(federation_db, TODAY) or []][-1] == "2026-06"
    assert months(federation_db)[-1] == "2026-06"


@pytest.fixture
def postgres_db(postgres_cluster: PostgresCluster) -> Iterator[Database]:
    db = Database(postgres_cluster.create_database(f"borne_race_{time.monotonic_ns()}"))
    migrate(db.engine)
    try:
        yield db
    finally:
        db.dispose()


@pytest.mark.postgres
def test_concurrent_publishers_publish_a_month_once_and_whole(
    postgres_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A (``publish_due``) is inside its write transaction; B (``publish_due`` too: another
    worker, the timer) skips at once; C (``publish_month`` of the same month, past the lock)
    waits on A's row and gives up when A commits."""
    db = postgres_db
    seed(db)
    real = publication._insert
    a_inside = threading.Event()
    a_thread: list[int] = []
    written: list[int] = []

    def insert_and_hold(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
        real(session, model, rows)
        if model is PublishedCell and threading.get_ident() in a_thread and not a_inside.is_set():
            written.append(len(rows))
            a_inside.set()
            deadline = time.monotonic() + 60
            with db.engine.connect() as watcher:  # hold the transaction until C waits on it
                while not watcher.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                ).scalar():
                    assert time.monotonic() < deadline, "C never waited for A"
                    time.sleep(0.05)
                    watcher.rollback()

    monkeypatch.setattr(publication, "_insert", insert_and_hold)
    results: dict[str, Any] = {}

    def run(name: str, call: Any) -> None:
        if name == "A":
            a_thread.append(threading.get_ident())
        results[name] = call()

    a = threading.Thread(target=run, args=("A", lambda: publication.publish_due(db, TODAY)))
    a.start()
    assert a_inside.wait(60)
    results["B"] = publication.publish_due(db, TODAY)
    c = threading.Thread(target=run, args=("C", lambda: publication.publish_month(db, JUNE)))
    c.start()
    a.join(90)
    c.join(90)
    assert JUNE in results["A"] and results["B"] == [] and results["C"] is False
    assert months(db)[-1] == "2026-06"
    labels = [JUNE.label, *(week.label for week in JUNE.children())]
    with db.session() as session:
        june = session.execute(
            select(func.count()).select_from(PublishedCell).where(PublishedCell.period.in_(labels))
        ).scalar_one()
    assert june == written[0] > 0  # A's rows, once


def test_families_suppressed_in_several_processes_hide_the_same_cells(
    federation_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A large month's families are suppressed in parallel processes: the same cells hidden."""
    other = Database(f"sqlite:///{tmp_path / 'alone.db'}")
    migrate(other.engine)
    try:
        for db in (federation_db, other):
            seed(db, centres=6)
            with db.session() as session:  # the same secret: the same draws
                session.merge(Setting(key="secret", value="ab" * 32))
        assert publication.publish_month(other, JUNE)
        spawned: list[int] = []
        real_pool = publication.ProcessPoolExecutor

        def pool(workers: int, **options: Any) -> Any:
            spawned.append(workers)
            return real_pool(workers, **options)

        monkeypatch.setattr(publication, "PARALLEL_FROM", 0)
        monkeypatch.setattr(publication.os, "cpu_count", lambda: 2)
        monkeypatch.setattr(publication, "ProcessPoolExecutor", pool)
        assert publication.publish_month(federation_db, JUNE)
        assert spawned == [2]
        rows = []
        for db in (federation_db, other):
            with db.session() as session:
                rows.append(
                    sorted(
                        session.execute(
                            select(
                                PublishedCell.level,
                                PublishedCell.scope,
                                PublishedCell.period,
                                PublishedCell.metric,
                                PublishedCell.key,
                                PublishedCell.value,
                                PublishedCell.hidden,
                            )
                        ).all()
                    )
                )
        assert rows[0] == rows[1] and any(row[-1] for row in rows[0])
    finally:
        other.dispose()
