"""Federation figures for `make bench`: ingest rate, publication cost and dashboard latency.

- ``ingest_batches_per_s`` on SQLite and PostgreSQL: daily batches posted one after another over
  HTTP to a real server (several terminals, so the per-terminal rate limit is not what is
  measured); baseline: the same number of requests to ``/healthz`` on the same server.
- ``dashboard_p95_ms_<page>_<kind>``: every figure page (the network ``/``, the largest
  département, the centre with the most terminals, the centre-level CSV export read with a read
  token) for the latest published period of each kind (ISO week, month, quarter, year), and the
  fleet ``/parc``, on PostgreSQL seeded with 1,000 terminals in 400 centres over 730 days
  (:func:`seed_fleet`: daily centre rollups as ingest writes them, 24 months published with
  :func:`~sync.server.publication.publish_month`); baseline: ``/healthz`` on the same server, in
  the same round-robin as the pages so that a busy machine weighs on all alike.
- ``publication_s_*``: what publishing those months cost (pages read ``published_cells`` only).
"""

from __future__ import annotations

import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests
from sqlalchemy import func, insert, select

from sync.server import admin
from sync.server.db import Database, migrate
from sync.server.models import Batch, Centre, PublishedCell, Terminal
from sync.server.publication import publish_month, publishable, published_periods
from sync.server.settings import Rate, ServerSettings
from sync.vocabulary.periods import KINDS, Period, month_of, months_between
from tests.fedkit import PASSWORD, Federation, PostgresCluster, ServerThread, batch


@dataclass(frozen=True)
class Sizes:
    terminals: int = 1000
    days: int = 730
    centres: int = 400
    batches: int = 300  # posted per database
    runs: int = 30  # requests per page and period
    suppressed_months: int = 1  # the latest, published with their small cells hidden (timed)


FULL = Sizes()
# `--smoke`: it runs, nothing more (400 days: a whole year, so every kind of period is published).
SMOKE = Sizes(terminals=12, days=400, centres=5, batches=20, runs=3)
DASHBOARD_TARGET_MS = 200.0
PAGES = ("national", "departement", "centre", "export")
"""The figure pages timed for each kind of period (the fleet ``/parc`` has no period)."""


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


# -- a realistic fleet -----------------------------------------------------------------------

# Metropolitan départements and the overseas ones: centres are spread over them unevenly (the
# populous ones hold more), as France Services are.
DEPARTEMENTS = [f"{n:02d}" for n in range(1, 96) if n != 20] + ["2A", "2B", "971", "972", "973", "974", "976"]
CATEGORY_SHARES = {
    "papiers": 0.14,
    "famille": 0.16,
    "social_sante": 0.15,
    "travail": 0.14,
    "logement": 0.10,
    "transports": 0.04,
    "argent": 0.14,
    "justice": 0.02,
    "etrangers": 0.05,
    "loisirs": 0.02,
    "associations": 0.01,
    "autre": 0.03,
}
TILES = {  # the national catalogue's tiles per category (``category/tile``), most used first
    "papiers": ("ants", "etat-civil", "elections", "service-public"),
    "famille": ("caf", "pronote", "ecole", "creche"),
    "social_sante": ("ameli", "mdph", "msa", "mutuelle", "doctolib"),
    "travail": ("france-travail", "cpf", "urssaf", "mission-locale"),
    "logement": ("action-logement", "hlm", "energie"),
    "transports": ("sncf", "permis", "bus"),
    "argent": ("impots", "banque", "retraite", "la-poste"),
    "justice": ("justice",),
    "etrangers": ("anef", "rdv-prefecture"),
    "loisirs": ("bibliotheque", "sport"),
    "associations": ("associations",),
    "autre": ("mairie", "autre"),
}
HOUR_SHARES = {8: 0.03, 9: 0.12, 10: 0.16, 11: 0.14, 12: 0.05, 13: 0.06, 14: 0.15, 15: 0.13, 16: 0.10, 17: 0.06}
ANSWERS = {  # share of sessions per answer (about half the sessions end with the button)
    "satisfaction": {"content": 0.25, "moyen": 0.08, "mecontent": 0.03, "sans_reponse": 0.09},
    "outcome": {"oui": 0.22, "en_partie": 0.08, "non": 0.05, "sans_reponse": 0.10},
    "first_visit": {"oui": 0.15, "non": 0.20, "sans_reponse": 0.10},
    "age": {
        "18_24": 0.04,
        "25_39": 0.10,
        "40_59": 0.12,
        "60_69": 0.07,
        "70_plus": 0.06,
        "sans_reponse": 0.06,
    },
}


def fleet_keys() -> list[tuple[str, str, str, float]]:
    """``(metric, key, how, share)`` of a centre's day: ``how`` is ``t`` (the number of
    terminals), ``e`` (exactly share × sessions) or ``n`` (about share × sessions, ± 60 %)."""
    keys = [("terminal_days", "", "t", 0.0), ("sessions", "", "e", 1.0), ("sessions_ended", "", "e", 0.97)]
    keys += [("hours", str(hour), "n", share) for hour, share in HOUR_SHARES.items()]
    durations = {"moins_5_min": 0.3, "5_15_min": 0.35, "15_30_min": 0.2, "30_60_min": 0.1, "plus_60_min": 0.05}
    keys += [("durations", key, "n", share) for key, share in durations.items()]
    keys += [("end_reasons", k, "n", s) for k, s in {"button": 0.45, "idle": 0.5, "staff": 0.04, "crash": 0.01}.items()]
    for category, share in CATEGORY_SHARES.items():
        keys.append(("categories", category, "n", share))
        tiles = TILES[category]
        weights = [1 / (n + 1) for n in range(len(tiles))]
        keys += [
            ("tiles", f"{category}/{t}", "n", share * w / sum(weights)) for t, w in zip(tiles, weights, strict=True)
        ]
    keys += [("blocked", k, "n", s) for k, s in {"hors_tuile": 0.04, "impots": 0.01, "ameli": 0.01}.items()]
    helps = {"imprimer": 0.05, "scanner": 0.04, "mot-de-passe": 0.03, "franceconnect": 0.03}
    keys += [("help_views", k, "n", s) for k, s in helps.items()]
    scalars = {
        "help_searches": 0.05,
        "help_searches_empty": 0.01,
        "scan_pages": 0.6,
        "tickets": 0.1,
        "answers_asked": 0.45,
        "events_lost": 0.002,
        "late_events": 0.002,
    }
    keys += [(name, "", "n", share) for name, share in scalars.items()]
    mediator = {"opened": 0.15, "taken": 0.12, "done": 0.11, "missed": 0.03}
    keys += [("mediator", k, "n", s) for k, s in mediator.items()]
    waits = {"moins_1_min": 0.03, "1_3_min": 0.04, "3_5_min": 0.02, "5_10_min": 0.02, "10_20_min": 0.008}
    keys += [("mediator_waits", k, "n", s) for k, s in {**waits, "plus_20_min": 0.002}.items()]
    printing = {"jobs": 0.3, "pages_printed": 0.9, "pages_held": 0.1, "pages_released": 0.08, "pages_cancelled": 0.02}
    printing["pages_staff"] = 0.2
    keys += [("printing", k, "n", s) for k, s in printing.items()]
    keys += [("appointments_booked", k, "n", s) for k, s in {"mediateur": 0.02, "prefecture": 0.005}.items()]
    keys += [("appointments_cancelled", "mediateur", "n", 0.003)]
    keys += [("device_errors", k, "n", s) for k, s in {"printer": 0.01, "scanner": 0.005}.items()]
    keys += [(f"answers.{q}", a, "n", s) for q, table in ANSWERS.items() for a, s in table.items()]
    return keys


# A centre's day, from its terminals and the day of the week: closed on Sundays, a third open on
# Saturdays, 2 to 14 sessions per terminal on other days. Each key is drawn around its share;
# rare keys round up now and then (a tile used once a week). Answer cells under 5 are hidden by
# the terminals (value 0, hidden 1), as they send them.
SEED_SQL = """
INSERT INTO usage_cells (level, scope, day, metric, key, value, hidden)
SELECT 'centre', d.id::text, d.day, k.metric, k.key,
       CASE WHEN k.metric LIKE 'answers.%%' AND v.value < 5 THEN 0 ELSE v.value END,
       CASE WHEN k.metric LIKE 'answers.%%' AND v.value < 5 THEN 1 ELSE 0 END
FROM (
    SELECT c.id, c.terminals, day::date AS day,
           CASE extract(isodow FROM day)
               WHEN 7 THEN 0
               WHEN 6 THEN CASE WHEN c.id %% 3 = 0 THEN floor(c.terminals * 6 * random()) ELSE 0 END
               ELSE floor(c.terminals * (2 + 12 * random()))
           END AS sessions
    FROM bench_centres c, generate_series(%(first)s::date, %(last)s::date, interval '1 day') AS day
) d
CROSS JOIN bench_keys k
CROSS JOIN LATERAL (
    SELECT CASE k.how
               WHEN 't' THEN d.terminals
               WHEN 'e' THEN round(d.sessions * k.share)::int
               ELSE floor(d.sessions * k.share * (0.4 + 1.2 * random()) + random())::int
           END AS value
) v
WHERE d.sessions > 0 AND v.value > 0
"""


@dataclass(frozen=True)
class Fleet:
    rows: int  # usage_cells
    departements: int
    departement: str  # the one with the most centres
    centre: int  # the centre with the most terminals
    first_day: date


def seed_fleet(url: str, sizes: Sizes = FULL, today: date | None = None) -> Fleet:
    """``sizes.terminals`` terminals in ``sizes.centres`` centres (1 to 8 each, in départements
    weighted by rank) and their daily centre rollups over ``sizes.days`` days, written by
    PostgreSQL itself (:data:`SEED_SQL`)."""
    import psycopg

    rng = random.Random(1)
    db = Database(url)
    migrate(db.engine)
    ranked = DEPARTEMENTS[:]
    rng.shuffle(ranked)
    weights = [1 / (rank + 1) ** 0.6 for rank in range(len(ranked))]
    kinds = ("france_services",) * 3 + ("centre_social", "ccas", "mairie", "mediatheque", "association")
    centre_ids = [
        admin.create_centre(db, f"Centre {n}", f"Commune {n}", rng.choices(ranked, weights)[0], rng.choice(kinds))
        for n in range(sizes.centres)
    ]
    terminals_of = dict.fromkeys(centre_ids, 1)
    for _ in range(sizes.terminals - sizes.centres):
        terminals_of[rng.choice([c for c, n in terminals_of.items() if n < 8])] += 1
    today = today or date.today()
    first = today - timedelta(days=sizes.days)
    now = datetime.now(UTC)
    with db.session() as session:
        dep_of = {c.id: c.departement for c in session.execute(select(Centre)).scalars()}
        rows = []
        for cid, count in terminals_of.items():
            for n in range(count):
                health: dict[str, object] = {"disk_free_mb": rng.randint(2000, 60000)}
                if rng.random() < 0.05:
                    health["printer"] = {"state": "warning", "code": "media-empty"}
                rows.append(
                    {
                        "device_id": f"borne-{cid}-{n}",
                        "centre_id": cid,
                        "name": f"Borne {n + 1}",
                        "enrolled_at": datetime.combine(first, datetime.min.time(), UTC),
                        "software_version": "1.4.2",
                        "last_heartbeat_at": now - timedelta(minutes=rng.randint(0, 30)),
                        "last_batch_at": now - timedelta(hours=rng.randint(1, 30)),
                        "last_heartbeat": json.dumps(health),
                        "clock_skew_s": rng.uniform(-2, 2),
                    }
                )
        session.execute(insert(Terminal), rows)
        # publish_due starts from the first batch: one per terminal on the first day.
        terminal_ids = list(session.execute(select(Terminal.id)).scalars())
        session.execute(
            insert(Batch),
            [
                {
                    "terminal_id": tid,
                    "batch_id": f"bench-{tid}:{first}:v2",
                    "day": first,
                    "version": 2,
                    "payload_hash": "0" * 64,
                    "payload": "{}",
                    "received_at": now,
                    "clock_skew_flagged": False,
                }
                for tid in terminal_ids
            ],
        )
    by_departement: dict[str, int] = {}
    for cid in centre_ids:
        by_departement[dep_of[cid]] = by_departement.get(dep_of[cid], 0) + 1
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.execute("CREATE TEMPORARY TABLE bench_centres (id integer, terminals integer)")
        conn.execute("CREATE TEMPORARY TABLE bench_keys (metric text, key text, how text, share float8)")
        with conn.cursor() as cursor:
            cursor.executemany("INSERT INTO bench_centres VALUES (%s, %s)", list(terminals_of.items()))
            cursor.executemany("INSERT INTO bench_keys VALUES (%s, %s, %s, %s)", fleet_keys())
            cursor.execute("SELECT setseed(0.5)")
            cursor.execute(SEED_SQL, {"first": first, "last": today - timedelta(days=1)})
            written = cursor.rowcount
        conn.commit()
        conn.execute("ANALYZE usage_cells")
    db.dispose()
    return Fleet(
        rows=written,
        departements=len(by_departement),
        departement=max(by_departement, key=lambda d: (by_departement[d], d)),
        centre=max(terminals_of, key=lambda c: (terminals_of[c], -c)),
        first_day=first,
    )


# -- publication and pages -------------------------------------------------------------------


def publish_all(db: Database, first_day: date, suppressed: int, today: date | None = None) -> list[Publication]:
    """Publish every closed month since ``first_day`` (as ``publish_due`` does from the first
    batch), oldest first; only the last ``suppressed`` with their small cells hidden
    (:func:`publish_without_suppression` for the others)."""
    months = months_between(month_of(first_day), publishable(today or date.today()))
    done = []
    for n, month in enumerate(months):
        full = n >= len(months) - suppressed
        start = time.perf_counter()
        assert (publish_month if full else publish_without_suppression)(db, month), f"{month.label} published"
        done.append(Publication(month, time.perf_counter() - start, full))
    return done


@dataclass(frozen=True)
class Publication:
    month: Period
    seconds: float
    suppressed: bool


def publish_without_suppression(db: Database, month: Period) -> bool:
    """:func:`publish_month` with the suppression's sums but without its choices: the same
    published rows (hidden ones are rows too), none hidden. Choosing the cells to hide takes
    one to two minutes per month at full size (``publication_s_month``), which the bench does
    not spend on each of 24 months; the pages read the same number of rows either way."""
    from unittest import mock

    from sync.vocabulary.disclosure import Suppressor

    with mock.patch("sync.server.publication._suppress_all", lambda jobs: [Suppressor(*job).result for job in jobs]):
        return publish_month(db, month)


def latest_periods(db: Database) -> dict[str, Period]:
    """The latest published period of each kind."""
    latest: dict[str, Period] = {}
    for period in published_periods(db):  # newest first
        latest.setdefault(period.kind, period)
    return latest


def _login(url: str) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{url}/login", timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf
    http.post(
        f"{url}/login", data={"username": "bench", "password": PASSWORD, "csrf": csrf.group(1)}, timeout=30
    ).raise_for_status()
    return http


def dashboard_latency(db: Database, fleet: Fleet, periods: dict[str, Period], runs: int) -> dict[str, float]:
    """p95 in ms of every page × kind of period, of ``/parc`` and of ``/healthz`` (``baseline``),
    timed in turns."""
    # The rate limits (tested in tests/sync/test_abuse.py) would answer 429 to this many pages
    # from one address: they are lifted here, where only latency is measured.
    lifted = Rate(per_minute=1e9, burst=1e9)
    settings = ServerSettings(insecure_cookies=True, publish_in_process=False, address_rate=lifted, login_rate=lifted)
    server = ServerThread(db, settings=settings).start()
    try:
        admin.create_user(db, "bench", PASSWORD)
        token = admin.create_read_token(db, "bench")
        http = _login(server.url)
        reader = requests.Session()
        reader.headers["Authorization"] = f"Bearer {token}"
        paths = {
            "national": "/?periode={}",
            "departement": f"/departements/{fleet.departement}?periode={{}}",
            "centre": f"/centres/{fleet.centre}?periode={{}}",
            "export": "/api/v1/export?period={}&level=centre&format=csv",
        }
        targets: dict[str, Callable[[], requests.Response]] = {"baseline": lambda: http.get(f"{server.url}/healthz")}
        targets["parc"] = lambda: http.get(f"{server.url}/parc")
        for page, path in paths.items():
            for kind, period in periods.items():
                client = reader if page == "export" else http
                url = server.url + path.format(period.label)
                targets[f"{page}_{kind}"] = lambda client=client, url=url: client.get(url, timeout=60)  # type: ignore[misc]
        samples: dict[str, list[float]] = {name: [] for name in targets}
        for run in range(runs + 1):  # the first round warms up
            for name, get in targets.items():
                start = time.perf_counter()
                answer = get()
                elapsed = time.perf_counter() - start
                answer.raise_for_status()
                if run:
                    samples[name].append(elapsed)
        return {name: _p95_ms(times) for name, times in samples.items()}
    finally:
        server.stop()


def _progress(what: str) -> None:
    """Where the bench is, on stderr (its figures go to stdout at the end)."""
    print(f"bench sync {time.strftime('%H:%M:%S')}: {what}", file=sys.stderr, flush=True)


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
        _progress(f"ingest done; seeding {sizes.terminals} terminals x {sizes.days} days")
        url = cluster.create_database("bench_dashboard")
        start = time.perf_counter()
        fleet = seed_fleet(url, sizes)
        seeded_s = time.perf_counter() - start
        _progress(f"seeded {fleet.rows} cells in {seeded_s:.0f} s; publishing")
        db = Database(url)
        try:
            published = publish_all(db, fleet.first_day, sizes.suppressed_months)
            _progress(
                ", ".join(f"{p.month.label} {p.seconds:.1f} s{'' if p.suppressed else ' (sums)'}" for p in published)
            )
            with db.session() as session:
                cells = session.execute(select(func.count()).select_from(PublishedCell)).scalar_one()
            periods = latest_periods(db)
            latency = dashboard_latency(db, fleet, periods, sizes.runs)
        finally:
            db.dispose()
    finally:
        cluster.stop()
    suppressed = [p.seconds for p in published if p.suppressed]
    sums_only = [p.seconds for p in published if not p.suppressed] or [0.0]
    baseline = latency.pop("baseline")
    figures.update(
        dashboard_seed=(
            f"{sizes.terminals} terminals x {sizes.days} days, {sizes.centres} centres in {fleet.departements}"
            f" départements, {fleet.rows} daily centre cells, {seeded_s:.0f} s"
        ),
        dashboard_periods={kind: periods[kind].label for kind in KINDS},
        dashboard_baseline_p95_ms=round(baseline, 1),
        **{f"dashboard_p95_ms_{name}": round(ms, 1) for name, ms in latency.items()},
        **{f"dashboard_ratio_{name}": round(ms / baseline, 1) for name, ms in latency.items()},
        dashboard_target_ms=DASHBOARD_TARGET_MS,
        dashboard_slowest=max(latency, key=lambda name: latency[name]),
        dashboard_target_met=max(latency.values()) < DASHBOARD_TARGET_MS,
        publication_months=len(published),
        publication_cells=cells,
        publication_s_month=round(statistics.median(suppressed), 1),
        publication_suppressed_months=[p.month.label for p in published if p.suppressed],
        publication_s_month_sums_only=round(statistics.median(sums_only), 1),
    )
    return figures


if __name__ == "__main__":
    print(json.dumps(measure(), indent=2))
