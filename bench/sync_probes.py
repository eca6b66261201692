"""Federation figures for `make bench`: ingest rate and dashboard latency.

- ``ingest_batches_per_s`` on SQLite and PostgreSQL: daily batches posted one after another over
  HTTP to a real server (several terminals, so the per-terminal rate limit is not what is
  measured); baseline: the same number of requests to ``/healthz`` on the same server.
- ``dashboard_p95_ms``: the national page and a centre page, logged in, on PostgreSQL seeded with
  1,000 terminals × 730 days of rollups; baseline: ``/healthz`` on the same server.
"""

from __future__ import annotations

import io
import random
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import requests

from sync.server import admin
from sync.server.db import Database, migrate
from sync.server.publication import publish_month, publishable, published_periods
from sync.vocabulary.periods import month_of, months_between
from tests.fedkit import PASSWORD, Federation, PostgresCluster, ServerThread, batch


@dataclass(frozen=True)
class Sizes:
    terminals: int = 1000
    days: int = 730
    centres: int = 400
    batches: int = 300  # posted per database
    runs: int = 40  # dashboard requests per page


FULL = Sizes()
SMOKE = Sizes(terminals=20, days=30, centres=8, batches=20, runs=5)  # `--smoke`: it runs, nothing more
DASHBOARD_TARGET_MS = 200.0


def _timed(session: requests.Session, url: str, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        answer = session.get(url, timeout=60)
        samples.append(time.perf_counter() - start)
        answer.raise_for_status()
    return samples


def _p95_ms(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] * 1000


def ingest_rate(url: str, batches: int = 300) -> tuple[float, float]:
    """(batches per second, healthz requests per second) against the database at ``url``."""
    db = Database(url)
    migrate(db.engine)
    server = ServerThread(db).start()
    try:
        fed = Federation(db, server)
        centre = fed.centre("69")
        terminals = [fed.terminal(centre) for _ in range(10)]
        bodies = [
            (
                token,
                batch(
                    device,
                    date(2024, 1, 1) + timedelta(days=n),
                    sessions=n % 40 + 1,
                    categories={"famille": 3, "argent": 2},
                    tiles={"famille/caf": 3},
                ).model_dump_json(),
            )
            for device, token in terminals
            for n in range(batches // len(terminals))
        ]
        http = requests.Session()
        start = time.perf_counter()
        for token, body in bodies:
            answer = http.post(
                f"{server.url}/api/v1/batches",
                data=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                timeout=60,
            )
            assert answer.status_code == 201, answer.text
        ingest = len(bodies) / (time.perf_counter() - start)
        health = len(bodies) / sum(_timed(http, f"{server.url}/healthz", len(bodies)))
        return ingest, health
    finally:
        server.stop()
        db.dispose()


def seed_rollups(cluster: PostgresCluster, url: str, sizes: Sizes = FULL) -> int:
    """1,000 terminals in 400 centres over 730 days (``sizes``), as rollup rows, with COPY."""
    import psycopg

    db = Database(url)
    migrate(db.engine)
    rng = random.Random(1)
    departements = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B"]
    centre_ids = [
        admin.create_centre(db, f"Centre {n}", f"Commune {n}", rng.choice(departements), "france_services")
        for n in range(sizes.centres)
    ]
    with db.session() as session:
        from sync.server.models import Centre

        dep_of = {c.id: c.departement for c in session.query(Centre)}
    terminals_of = dict.fromkeys(centre_ids, 0)
    for n in range(sizes.terminals):
        terminals_of[centre_ids[n % sizes.centres]] += 1
    first = date.today() - timedelta(days=sizes.days)
    totals: dict[tuple[str, str, date, str, str], int] = {}
    cats = ["famille", "argent", "social_sante", "papiers", "travail", "logement"]
    buffer = io.StringIO()
    rows = 0
    for cid, count in terminals_of.items():
        for d in range(sizes.days):
            day = first + timedelta(days=d)
            sessions = sum(rng.randint(0, 20) for _ in range(count))
            cells = {
                ("sessions", ""): sessions,
                ("terminal_days", ""): count,
                ("mediator", "opened"): sessions // 6,
                ("mediator", "taken"): sessions // 8,
                ("printing", "pages_printed"): sessions * 2,
                ("answers.satisfaction", "content"): sessions // 3,
            }
            for cat in rng.sample(cats, 4):
                cells[("categories", cat)] = rng.randint(0, sessions + 1)
            for hour in (9, 10, 11, 14, 15, 16):
                cells[("hours", str(hour))] = sessions // 6
            for (metric, key), value in cells.items():
                buffer.write(f"centre\t{cid}\t{day}\t{metric}\t{key}\t{value}\t0\n")
                rows += 1
                for level, scope in (("departement", dep_of[cid]), ("national", "")):
                    k = (level, scope, day, metric, key)
                    totals[k] = totals.get(k, 0) + value
    for (level, scope, day, metric, key), value in totals.items():
        buffer.write(f"{level}\t{scope}\t{day}\t{metric}\t{key}\t{value}\t0\n")
        rows += 1
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        with (
            conn.cursor() as cursor,
            cursor.copy("COPY usage_cells (level, scope, day, metric, key, value, hidden) FROM STDIN") as copy,
        ):
            buffer.seek(0)
            while chunk := buffer.read(1 << 20):
                copy.write(chunk)
        conn.execute("ANALYZE usage_cells")
    db.dispose()
    return rows


def dashboard_latency(url: str, runs: int = 40, days: int = 730) -> dict[str, float]:
    db = Database(url)
    server = ServerThread(db).start()
    try:
        admin.create_user(db, "bench", PASSWORD)
        http = requests.Session()
        page = http.get(f"{server.url}/login", timeout=30)
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf
        http.post(
            f"{server.url}/login", data={"username": "bench", "password": PASSWORD, "csrf": csrf.group(1)}, timeout=30
        ).raise_for_status()
        start = time.perf_counter()
        # The rollups were seeded without batches (which publish_due starts from): each month.
        first = date.today() - timedelta(days=days)
        published = [m for m in months_between(month_of(first), publishable(date.today())) if publish_month(db, m)]
        publish_s = time.perf_counter() - start
        _timed(http, f"{server.url}/", 3)  # warm-up
        national = _timed(http, f"{server.url}/", runs)
        centre = _timed(http, f"{server.url}/centres/1", runs)
        year = max(
            (p for p in published_periods(db) if p.kind == "year"), default=published[-1], key=lambda p: p.first_day
        )
        national_2y = _timed(http, f"{server.url}/?periode={year.label}", max(5, runs // 4))
        health = _timed(http, f"{server.url}/healthz", runs)
        return {
            "national": _p95_ms(national),
            "centre": _p95_ms(centre),
            "national_2y": _p95_ms(national_2y),
            "baseline": _p95_ms(health),
            "publish_s": publish_s,
            "published_months": len(published),
        }
    finally:
        server.stop()
        db.dispose()


def measure(smoke: bool = False) -> dict[str, object]:
    sizes = SMOKE if smoke else FULL
    figures: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="borne-bench-fed-") as tmp:
        ingest, health = ingest_rate(f"sqlite:///{Path(tmp) / 'federation.db'}", sizes.batches)
        figures.update(
            ingest_batches_per_s_sqlite=round(ingest, 1),
            ingest_baseline_requests_per_s_sqlite=round(health, 1),
            ingest_ratio_sqlite=round(ingest / health, 3),
        )
    cluster = PostgresCluster().start()
    try:
        ingest, health = ingest_rate(cluster.create_database("bench_ingest"), sizes.batches)
        figures.update(
            ingest_batches_per_s_postgres=round(ingest, 1),
            ingest_baseline_requests_per_s_postgres=round(health, 1),
            ingest_ratio_postgres=round(ingest / health, 3),
        )
        url = cluster.create_database("bench_dashboard")
        start = time.perf_counter()
        rows = seed_rollups(cluster, url, sizes)
        seeded_s = time.perf_counter() - start
        latency = dashboard_latency(url, sizes.runs, sizes.days)
    finally:
        cluster.stop()
    figures.update(
        dashboard_seed=(
            f"{sizes.terminals} terminals x {sizes.days} days, {sizes.centres} centres, {rows} rows, {seeded_s:.0f} s"
        ),
        dashboard_p95_ms_national=round(latency["national"], 1),
        dashboard_p95_ms_centre=round(latency["centre"], 1),
        dashboard_p95_ms_national_2_years=round(latency["national_2y"], 1),
        dashboard_baseline_p95_ms=round(latency["baseline"], 1),
        dashboard_ratio_national=round(latency["national"] / latency["baseline"], 1),
        dashboard_ratio_centre=round(latency["centre"] / latency["baseline"], 1),
        dashboard_publish_s=round(latency["publish_s"], 1),
        dashboard_published_months=int(latency["published_months"]),
        dashboard_target_ms=DASHBOARD_TARGET_MS,
        dashboard_target_met=max(latency["national"], latency["centre"]) < DASHBOARD_TARGET_MS,
    )
    return figures


if __name__ == "__main__":
    import json

    print(json.dumps(measure(), indent=2))
