"""One resident, end to end: their session goes through the real recorder, the agent's sealing and
outbox and the real federation server; then every dashboard page, CSV and export that a user or
token of each scope can get is read. Nothing may tell that session's tile, hour, duration or the
domain they were refused: each figure counting the session is hidden, or counts at least k."""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from kiosk.agent.sync_jobs import Enrolled, SyncJobs, save_enrolment
from kiosk.core.ports import ManualClock
from kiosk.core.stats.aggregate import seal_closed_days
from kiosk.core.stats.events import NavigationBlocked, Satisfaction, SessionEnded, SessionStarted, TileOpened
from kiosk.core.stats.recorder import StatsRecorder
from kiosk.core.store import Role, open_store
from sync.server import admin
from sync.server.settings import Rate, ServerSettings
from sync.vocabulary import Category
from sync.vocabulary.periods import Period
from tests.fedkit import PASSWORD, Federation, batch

pytestmark = [pytest.mark.privacy, pytest.mark.sync]
PARIS = ZoneInfo("Europe/Paris")
K = 5
VISIT = datetime(2026, 6, 10, 8, 15, tzinfo=UTC)  # 10:15 in Paris, a Wednesday
TILE, DOMAIN = "titre-sejour", "evil-tracker.example"
SECRETS = (TILE, DOMAIN, "evil-tracker")


def resident_terminal(data: Path) -> Any:
    """The quiet centre's terminal: one resident in June, sealed days up to mid-July."""
    store = open_store(data / "kiosk.db", Role.AGENT)
    clock = ManualClock(VISIT)
    recorder = StatsRecorder(store, clock, boot="test")
    recorder.record(SessionStarted(), "s1")
    recorder.record(TileOpened(tile=TILE, category=Category.ETRANGERS), "s1")
    clock.advance(120)
    recorder.record(NavigationBlocked(tile=TILE, domain=DOMAIN), "s1")
    clock.advance(880)
    recorder.record(
        SessionEnded(duration_s=1000, reason="button", satisfaction=Satisfaction.UNHAPPY), "s1"
    )  # 16 min 40 s: 15–30 min
    seal_closed_days(store, PARIS, int(datetime(2026, 7, 20, 12, tzinfo=UTC).timestamp() * 1000), "test")
    return store


def busy_centres(fed: Federation) -> None:
    """Two busy centres (one in the same département) send June's days directly."""
    rng = random.Random(7)
    for departement in ("69", "13"):
        device, token = fed.terminal(fed.centre(departement, f"Centre animé {departement}"))
        for n in range(30):
            day = date(2026, 6, 1) + timedelta(days=n)
            sessions = rng.randint(8, 14)
            hours = [0] * 24
            for _ in range(sessions):
                hours[rng.choice((9, 10, 11, 14))] += 1
            body = batch(
                device,
                day,
                sessions=sessions,
                hours=hours,
                durations={"moins_5_min": sessions // 2, "15_30_min": sessions - sessions // 2},
                tiles={"famille/caf": sessions - 2, "travail/france-travail": 2},
                categories={"famille": sessions - 2, "travail": 2},
            )
            answer = fed.post("/api/v1/batches", body.model_dump_json(), token)
            assert answer.status_code == 201, answer.text


def crawl(fed: Federation, web: requests.Session) -> tuple[list[str], list[dict[str, str]]]:
    """Every dashboard page reachable from the home page (each published period) and every CSV
    they link to: the pages' text and the CSV rows."""
    pages, rows, seen = [], [], set()
    todo = ["/"]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        answer = web.get(f"{fed.url}{path}", timeout=20)
        if answer.status_code in (403, 404):
            continue
        assert answer.status_code == 200, (path, answer.status_code)
        if "text/csv" in answer.headers.get("content-type", ""):
            rows.extend(csv.DictReader(io.StringIO(answer.text)))
            continue
        pages.append(answer.text)
        base = path.split("?")[0]
        for href in re.findall(r'href="([^"]+)"', answer.text):
            href = href.replace("&amp;", "&")
            if href.startswith(("/departements/", "/centres/", "/api/v1/export")):
                todo.append(href)
        for label in re.findall(r'<option value="([^"]+)"', answer.text):
            todo.append(f"{base}?periode={label}")
    return pages, rows


def counts_the_session(row: dict[str, Any], quiet: str) -> bool:
    """Whether the resident's session is counted in this published figure."""
    place_holds = (
        row["level"] == "national"
        or (row["level"] == "departement" and row["scope"] == "69")
        or (row["level"] == "centre" and row["scope"] == quiet)
    )
    period = Period.parse(row["period"])
    if not place_holds or not period.first_day <= date(2026, 6, 10) <= period.last_day:
        return False
    metric, key = row["metric"], row["key"]
    return (metric, key) in {
        ("sessions", ""),
        ("sessions_ended", ""),
        ("hours", "10"),
        ("durations", "15_30_min"),
        ("tiles_opened", ""),
        ("categories", "etrangers"),
        ("tiles", f"etrangers/{TILE}"),
        ("blocked_total", ""),
        ("blocked", TILE),
        ("answers_asked", ""),
    }


def test_nothing_published_tells_one_residents_session(federation: Federation, tmp_path: Path) -> None:
    # The readers below fetch every page, CSV and export from one address, more than the
    # production rate allows (the limits themselves are tested in tests/sync/test_abuse.py).
    federation.restart(ServerSettings(insecure_cookies=True, address_rate=Rate(per_minute=6000.0, burst=6000.0)))
    data = tmp_path / "terminal"
    data.mkdir()
    store = resident_terminal(data)
    quiet = federation.centre("69", "Centre tranquille")
    device, token = federation.terminal(quiet)
    save_enrolment(data, Enrolled(federation.url, device, token, "Centre tranquille"))
    result = SyncJobs(store, data, k=K).sync()
    assert result is not None and result.stopped is None and result.sent >= 30
    busy_centres(federation)
    federation.publish()

    readers = {
        "national": "national",
        "departement": "departement:69",
        "centre": f"centre:{quiet}",
    }
    texts: list[str] = []
    rows: list[dict[str, Any]] = []
    for name, scope in readers.items():
        admin.create_user(federation.db, f"lecteur-{name}", PASSWORD, scope=scope)
        pages, csv_rows = crawl(federation, logged_in(federation, f"lecteur-{name}"))
        assert pages, name
        texts += pages
        rows += csv_rows
        token = admin.create_read_token(federation.db, f"jeton-{name}", scope=scope)
        headers = {"Authorization": f"Bearer {token}"}
        for label in ("2026-W24", "2026-06", "2026-Q2"):
            for level in ("centre", "departement", "national"):
                answer = requests.get(
                    f"{federation.url}/api/v1/export",
                    params={"period": label, "level": level},
                    headers=headers,
                    timeout=20,
                )
                if answer.status_code == 403:
                    assert name != "national"
                    continue
                assert answer.status_code == 200, answer.text
                texts.append(answer.text)
                rows += answer.json()["rows"]
    everything = "\n".join(texts) + "\n".join(str(r) for r in rows)
    for secret in SECRETS:
        assert secret not in everything, f"{secret!r} is published"
    counted = [r for r in rows if counts_the_session(r, str(quiet))]
    assert counted, "the session's figures were not found at all"
    small = [r for r in counted if r["value"] not in (None, "") and int(r["value"]) < K]
    assert not small, f"figures counting the session are below k: {small[:5]}"
    centre_keys = {(r["metric"], r["key"]) for r in counted if r["level"] == "centre" and r["value"] not in (None, "")}
    assert not centre_keys & {("hours", "10"), ("durations", "15_30_min"), ("categories", "etrangers")}
    page_text = " ".join(re.sub(r"<[^>]+>", " ", t) for t in texts)
    assert "Étrangers" not in page_text  # the category of the tile is not even listed


def logged_in(fed: Federation, username: str) -> requests.Session:
    web, answer = fed.login(username)
    assert answer.status_code == 303
    return web
