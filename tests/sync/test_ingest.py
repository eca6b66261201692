"""Ingest: exactly once, conflicts, bad payloads, limits, clock skew, rollups and export."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from sync.protocol import MAX_BATCH_BYTES, DailyBatch, DayFigures, Heartbeat
from sync.server.models import Batch, UsageCell
from sync.server.settings import ServerSettings
from tests.fedkit import Federation, batch, free_port

pytestmark = pytest.mark.sync
DAY = date(2026, 11, 2)
PUBLISHED_DAY = date(2026, 6, 10)  # in a month long closed, so published


def send(fed: Federation, token: str, body: str | bytes, **headers: str) -> requests.Response:
    return requests.post(
        f"{fed.url}/api/v1/batches",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers},
        timeout=10,
    )


def national(fed: Federation, metric: str, key: str = "") -> int:
    with fed.db.session() as session:
        value = session.execute(
            select(func.sum(UsageCell.value)).where(
                UsageCell.level == "national", UsageCell.metric == metric, UsageCell.key == key
            )
        ).scalar()
    return int(value or 0)


def test_the_same_batch_twice_is_stored_once(federation: Federation) -> None:
    device, token = federation.terminal()
    body = batch(device, DAY, sessions=7, categories={"famille": 4}).model_dump_json()
    first, second = send(federation, token, body), send(federation, token, body)
    assert (first.status_code, first.json()["status"]) == (201, "stored")
    assert (second.status_code, second.json()["status"]) == (200, "already_stored")
    assert national(federation, "sessions") == 7 and national(federation, "categories", "famille") == 4


def test_a_different_payload_under_the_same_id_is_a_conflict(federation: Federation) -> None:
    device, token = federation.terminal()
    assert send(federation, token, batch(device, DAY, sessions=7).model_dump_json()).status_code == 201
    conflict = send(federation, token, batch(device, DAY, sessions=8).model_dump_json())
    assert conflict.status_code == 409 and "different batch" in conflict.json()["detail"]
    assert national(federation, "sessions") == 7


@pytest.mark.parametrize(
    ("mutate", "where"),
    [
        (lambda b: b.update(figures={**b["figures"], "sessions": -1}), "sessions"),
        (lambda b: b["figures"].update(hours=[0] * 23), "hours"),
        (lambda b: b["figures"].update(tiles={"Jean Dupont": 1}), "tiles"),
        (lambda b: b.update(version=99), "version"),
        (lambda b: b.update(day="2026-13-40"), "day"),
        (lambda b: b["figures"].update(nom="Dupont"), "nom"),
        (lambda b: b.update(batch_id="other:2026-11-02:v1"), "batch_id"),
    ],
)
def test_invalid_payloads_get_422_with_the_reason(federation: Federation, mutate, where: str) -> None:  # type: ignore[no-untyped-def]
    device, token = federation.terminal()
    body = json.loads(batch(device, DAY).model_dump_json())
    mutate(body)
    answer = send(federation, token, json.dumps(body))
    assert answer.status_code == 422
    assert where in json.dumps(answer.json()["detail"])
    assert national(federation, "sessions") == 0


def test_not_json_and_too_big_bodies_are_refused(federation: Federation) -> None:
    _device, token = federation.terminal()
    assert send(federation, token, b"{not json").status_code == 422
    big = send(federation, token, b"{" + b" " * (MAX_BATCH_BYTES + 10) + b"}")
    assert big.status_code == 413


def test_a_clock_off_by_more_than_five_minutes_is_flagged_but_the_batch_kept(federation: Federation) -> None:
    device, token = federation.terminal()
    skewed = (datetime.now(UTC) - timedelta(hours=3)).isoformat()
    answer = send(federation, token, batch(device, DAY).model_dump_json(), **{"X-Borne-Device-Clock": skewed})
    assert answer.status_code == 201 and answer.json()["clock_skew_flagged"] is True
    on_time = datetime.now(UTC).isoformat()
    answer = send(
        federation, token, batch(device, DAY + timedelta(days=1)).model_dump_json(), **{"X-Borne-Device-Clock": on_time}
    )
    assert answer.json()["clock_skew_flagged"] is False


def test_a_terminal_sending_too_fast_is_told_when_to_come_back(federation: Federation) -> None:
    device, token = federation.terminal()
    burst = ServerSettings().terminal_rate.burst
    accepted = 0
    for n in range(int(burst) * 2):
        answer = send(federation, token, batch(device, DAY - timedelta(days=n)).model_dump_json())
        if answer.status_code == 429:
            break
        assert answer.status_code == 201
        accepted += 1
    else:
        raise AssertionError("never limited")
    assert accepted >= burst  # the burst goes through, then the limit holds
    assert int(answer.headers["Retry-After"]) >= 1 and "retry after" in answer.json()["detail"]


def test_rollups_sum_per_centre_departement_and_nation(federation: Federation) -> None:
    lyon = federation.centre("69", "Lyon 1")
    paris = federation.centre("75", "Paris 1")
    for centre, sessions in ((lyon, 5), (lyon, 6), (paris, 10)):
        device, token = federation.terminal(centre)
        body = batch(device, PUBLISHED_DAY, sessions=sessions).model_dump_json()
        assert send(federation, token, body).status_code == 201
    federation.publish()
    reader = {"Authorization": f"Bearer {federation.read_token()}"}
    totals = {}
    for level in ("centre", "departement", "national"):
        rows = requests.get(
            f"{federation.url}/api/v1/export",
            params={"period": "2026-06", "level": level, "format": "json"},
            headers=reader,
            timeout=10,
        ).json()["rows"]
        totals[level] = {r["scope"]: r["value"] for r in rows if r["metric"] == "sessions"}
    assert totals["centre"] == {str(lyon): 11, str(paris): 10}
    assert totals["departement"] == {"69": 11, "75": 10}
    assert totals["national"] == {"": 21}


def test_export_flags_answer_counts_that_include_cells_a_terminal_hid(federation: Federation) -> None:
    device, token = federation.terminal()
    answers = {"satisfaction": {"content": 9, "moyen": None, "mecontent": None, "sans_reponse": 6}}
    figures = DayFigures(sessions=17, answers_asked=17, answers=answers)  # type: ignore[arg-type]
    body = DailyBatch(
        batch_id=DailyBatch.make_id(device, PUBLISHED_DAY), device_id=device, day=PUBLISHED_DAY, figures=figures
    )
    assert send(federation, token, body.model_dump_json()).status_code == 201
    federation.publish()
    text = requests.get(
        f"{federation.url}/api/v1/export",
        params={"period": "2026-06", "level": "national", "format": "csv"},
        headers={"Authorization": f"Bearer {federation.read_token()}"},
        timeout=10,
    ).text
    rows = {(r["metric"], r["key"]): r for r in csv.DictReader(io.StringIO(text))}
    satisfaction = {
        key: rows[("answers.satisfaction", key)] for key in ("content", "moyen", "mecontent", "sans_reponse")
    }
    assert satisfaction["content"]["value"] == "9" and satisfaction["content"]["partial"] == ""
    assert satisfaction["moyen"]["value"] == "0" and satisfaction["moyen"]["partial"] == "true"
    assert satisfaction["mecontent"]["partial"] == "true"
    assert rows[("sessions", "")]["value"] == "17"


def test_export_asks_for_a_fixed_period_and_never_a_day(federation: Federation) -> None:
    device, token = federation.terminal()
    assert send(federation, token, batch(device, PUBLISHED_DAY, sessions=9).model_dump_json()).status_code == 201
    federation.publish()
    reader = {"Authorization": f"Bearer {federation.read_token()}"}
    url = f"{federation.url}/api/v1/export"

    def ask(**params: str) -> requests.Response:
        return requests.get(url, params=params, headers=reader, timeout=10)

    shifted = ask(**{"from": "2026-06-02", "to": "2026-06-30"})
    assert shifted.status_code == 422 and "whole ISO weeks, months" in shifted.json()["detail"]
    assert ask(by="day", period="2026-06").status_code == 422
    assert ask(period="2026-13").status_code == 422
    exact = ask(**{"from": "2026-06-01", "to": "2026-06-28"})  # June = ISO weeks 23 to 26
    assert exact.status_code == 200 and exact.json()["period"] == "2026-06"
    weeks = ask(period="2026-06", by="week").json()["rows"]
    assert {r["period"] for r in weeks if r["metric"] == "sessions"} == {"2026-W24"}
    not_yet = ask(period="2099-01")
    assert not_yet.status_code == 404 and "not published yet" in not_yet.json()["detail"]


def test_a_version_1_batch_is_accepted_and_what_version_2_drops_is_not_kept(federation: Federation) -> None:
    device, token = federation.terminal()
    figures = DayFigures(  # type: ignore[call-arg]
        sessions=6,
        sessions_ended=6,
        total_duration_s=4321,
        tiles={"caf": 5, "ants": 1},
        categories={"famille": 5, "papiers": 1},
        blocked={"evil-tracker.example": 2},
        mediator={"taken": 1, "median_wait_s": 33.0},  # type: ignore[arg-type]
    )
    old = DailyBatch(version=1, batch_id=f"{device}:{DAY}:v1", device_id=device, day=DAY, figures=figures)
    assert send(federation, token, old.model_dump_json()).status_code == 201
    assert send(federation, token, old.model_dump_json()).json()["status"] == "already_stored"
    with federation.db.session() as session:
        kept = session.execute(select(Batch.payload)).scalar_one()
        tiles = dict(
            session.execute(
                select(UsageCell.key, UsageCell.value).where(UsageCell.level == "national", UsageCell.metric == "tiles")
            ).all()
        )
    assert "evil-tracker" not in kept and "4321" not in kept and "33.0" not in kept
    assert tiles == {"famille/inconnue": 5, "papiers/inconnue": 1}
    assert national(federation, "blocked", "inconnue") == 2


@pytest.mark.parametrize(
    "figures",
    [
        {"sessions": 1, "total_duration_s": 60},
        {"sessions": 1, "blocked": {"evil.example": 1}},
        {"sessions": 1, "tiles": {"caf": 1}},
        {"sessions": 1, "tiles": {"pas-une-categorie/caf": 1}},
    ],
)
def test_a_version_2_batch_carries_no_exact_duration_no_domain_and_tiles_with_their_category(
    federation: Federation, figures: dict[str, object]
) -> None:
    device, token = federation.terminal()
    body = {
        "version": 2,
        "batch_id": f"{device}:{DAY}:v2",
        "device_id": device,
        "day": str(DAY),
        "figures": figures,
    }
    assert send(federation, token, json.dumps(body)).status_code == 422


def test_a_heartbeat_updates_the_fleet(federation: Federation) -> None:
    device, token = federation.terminal()
    beat = Heartbeat(
        device_id=device,
        software_version="1.2.3",
        uptime_s=3600,
        disk_free_mb=900,
        device_clock=datetime.now(UTC) + timedelta(minutes=9),
        printer={"state": "error", "code": "paper_out"},  # type: ignore[arg-type]
    )
    answer = requests.post(
        f"{federation.url}/api/v1/heartbeats",
        data=beat.model_dump_json(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 200 and answer.json() == {"clock_skew_flagged": True}


def test_two_server_processes_ingesting_the_same_batches_store_each_once(federation: Federation) -> None:
    """A second server, a separate `kiosk-federation serve` process on the same database; every
    batch is sent to both servers at once, twice."""
    port = free_port()
    second = subprocess.Popen(
        [sys.executable, "-m", "sync.cli", "--database", federation.db.url, "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    second_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{second_url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline and second.poll() is None, "second server did not start"
            time.sleep(0.1)
        devices = [federation.terminal() for _ in range(3)]
        bodies = [
            (token, batch(device, DAY + timedelta(days=n), sessions=n + 1).model_dump_json())
            for device, token in devices
            for n in range(15)
        ]
        statuses: list[int] = []
        start = threading.Barrier(2)

        def hammer(url: str) -> None:
            start.wait(timeout=60)  # both servers from the same instant
            for token, body in bodies * 2:
                statuses.append(
                    requests.post(
                        f"{url}/api/v1/batches",
                        data=body,
                        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                        timeout=30,
                    ).status_code
                )

        threads = [threading.Thread(target=hammer, args=(url,)) for url in (federation.url, second_url)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        second.terminate()
        try:
            second.wait(timeout=15)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait()
    assert set(statuses) <= {200, 201} and statuses.count(201) == len(bodies)
    with federation.db.session() as session:
        assert session.execute(select(func.count()).select_from(Batch)).scalar() == len(bodies)
    assert national(federation, "sessions") == 3 * sum(range(1, 16))


def test_openapi_and_json_schemas_are_published(federation: Federation, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = requests.get(f"{federation.url}/openapi.json", timeout=10).json()
    assert "/api/v1/batches" in spec["paths"] and "/api/v1/export" in spec["paths"]
    assert requests.get(f"{federation.url}/docs", timeout=10).status_code == 404  # off: its scripts are third-party
    done = subprocess.run(
        [sys.executable, "-m", "sync.protocol", str(tmp_path)], capture_output=True, text=True, check=True, timeout=60
    )
    written = sorted(p.name for p in tmp_path.glob("*.schema.json"))
    assert (
        written
        == [
            "catalogue.v1.schema.json",
            "daily-batch.v2.schema.json",
            "enrolment.v1.schema.json",
            "heartbeat.v1.schema.json",
        ]
        and done.returncode == 0
    )


def test_the_committed_json_schemas_are_current(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    from sync.protocol import write_schemas

    committed = Path(__file__).resolve().parents[2] / "docs" / "protocol"
    for path in write_schemas(tmp_path):
        assert (committed / path.name).read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"docs/protocol/{path.name} is stale: run python -m sync.protocol docs/protocol"
        )
