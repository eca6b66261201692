"""Read tokens and dashboard users carry a scope: the whole network, one département or one
centre. Pages, CSV and the export API give nothing outside it — and inside it, the same figures
anyone else gets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import requests

from sync.cli import main as federation_main
from sync.protocol import Heartbeat
from sync.server import admin
from tests.fedkit import PASSWORD, Federation, batch

pytestmark = [pytest.mark.sync, pytest.mark.auth]
DAY = date(2026, 6, 10)


def seeded(fed: Federation) -> dict[str, int]:
    centres = {
        "lyon": fed.centre("69", "Lyon"),
        "bron": fed.centre("69", "Bron"),
        "marseille": fed.centre("13", "Mars"),
    }
    for centre in centres.values():
        device, token = fed.terminal(centre)
        answer = fed.post("/api/v1/batches", batch(device, DAY, sessions=12).model_dump_json(), token)
        assert answer.status_code == 201
    fed.publish()
    return centres


def export(fed: Federation, token: str, **params: object) -> requests.Response:
    return requests.get(
        f"{fed.url}/api/v1/export",
        params={"period": "2026-06", **params},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_a_departement_token_reads_its_departement_and_its_centres_only(federation: Federation) -> None:
    centres = seeded(federation)
    token = admin.create_read_token(federation.db, "rhone", "departement:69")
    assert export(federation, token, level="national").status_code == 403
    assert export(federation, token, level="departement", scope="13").status_code == 403
    mine = export(federation, token, level="departement", scope="69")
    assert mine.status_code == 200 and {r["scope"] for r in mine.json()["rows"]} == {"69"}
    rows = export(federation, token, level="centre").json()["rows"]
    assert {r["scope"] for r in rows} == {str(centres["lyon"]), str(centres["bron"])}
    other = export(federation, token, level="centre", scope=str(centres["marseille"]))
    assert other.status_code == 200 and other.json()["rows"] == []


def test_a_kept_export_is_never_served_to_a_reader_of_another_scope(federation: Federation) -> None:
    """The server keeps rendered exports (published figures never change): the same question
    from a national reader first, then a département's, gets each its own answer."""
    centres = seeded(federation)
    national = admin.create_read_token(federation.db, "national")
    rhone = admin.create_read_token(federation.db, "rhone", "departement:69")
    for _ in range(2):  # the second time from what the server kept
        everyone = {r["scope"] for r in export(federation, national, level="centre").json()["rows"]}
        assert everyone == {str(c) for c in centres.values()}
        mine = {r["scope"] for r in export(federation, rhone, level="centre").json()["rows"]}
        assert mine == {str(centres["lyon"]), str(centres["bron"])}


def test_a_centre_token_reads_its_centre_only(federation: Federation) -> None:
    centres = seeded(federation)
    token = admin.create_read_token(federation.db, "lyon", f"centre:{centres['lyon']}")
    assert export(federation, token, level="departement", scope="69").status_code == 403
    assert export(federation, token, level="centre").status_code == 403
    mine = export(federation, token, level="centre", scope=str(centres["lyon"]), format="csv")
    assert mine.status_code == 200 and "Lyon" in mine.text and "Bron" not in mine.text
    national = admin.create_read_token(federation.db, "national")
    everyone = export(federation, national, level="centre", scope=str(centres["lyon"])).json()["rows"]
    assert everyone == export(federation, token, level="centre", scope=str(centres["lyon"])).json()["rows"]


def test_a_departement_user_sees_its_pages_and_terminals_only(federation: Federation) -> None:
    centres = seeded(federation)
    admin.create_user(federation.db, "rhone", PASSWORD, "departement:69")
    web = logged_in(federation, "rhone")
    home = web.get(f"{federation.url}/", allow_redirects=False, timeout=10)
    assert home.status_code == 303 and home.headers["Location"] == "/departements/69"
    page = web.get(f"{federation.url}/departements/69", timeout=10)
    assert page.status_code == 200 and "Lyon" in page.text and "Mars" not in page.text
    assert web.get(f"{federation.url}/departements/13", timeout=10).status_code == 403
    assert web.get(f"{federation.url}/centres/{centres['marseille']}", timeout=10).status_code == 403
    assert web.get(f"{federation.url}/centres/{centres['bron']}", timeout=10).status_code == 200
    fleet = web.get(f"{federation.url}/parc.csv", timeout=10).text
    assert "Lyon" in fleet and "Mars" not in fleet
    assert web.get(f"{federation.url}/api/v1/export?period=2026-06&level=national", timeout=10).status_code == 403


def test_the_fleet_page_shows_a_hundred_terminals_at_a_time_silent_ones_first(federation: Federation) -> None:
    centre = federation.centre("69", "Lyon")
    for n in range(101):
        admin.create_terminal(federation.db, centre, f"Borne {n:03d}")  # never seen: all silent
    device, token = federation.terminal(centre)
    beat = Heartbeat(
        device_id=device, software_version="1.0", uptime_s=60, disk_free_mb=900, device_clock=datetime.now(UTC)
    )
    yesterday = batch(device, datetime.now(UTC).date() - timedelta(days=1))
    for path, body in (("heartbeats", beat), ("batches", yesterday)):
        answer = federation.post(f"/api/v1/{path}", body.model_dump_json(), token)
        assert answer.status_code in (200, 201), answer.text
    admin.create_user(federation.db, "parc", PASSWORD)
    web = logged_in(federation, "parc")
    first = web.get(f"{federation.url}/parc", timeout=10)
    assert first.status_code == 200 and "102 bornes, dont 101 à surveiller" in first.text
    assert first.text.count('<tr class="stale">') == 100 and "Page 1 sur 2" in first.text
    second = web.get(f"{federation.url}/parc?page=2", timeout=10)
    assert second.text.count("<tr class") == 2 and device in second.text  # the one that answers, last
    assert web.get(f"{federation.url}/parc?page=3", timeout=10).status_code == 404
    assert len(web.get(f"{federation.url}/parc.csv", timeout=10).text.splitlines()) == 103  # all, and a header


def test_scopes_from_the_command_line(federation: Federation, capsys: pytest.CaptureFixture[str]) -> None:
    centre = federation.centre("69", "Lyon")
    url = ["--database", federation.db.url]
    assert federation_main([*url, "create-read-token", "--name", "lyon", "--scope", f"centre:{centre}"]) == 0
    assert capsys.readouterr().out.startswith("read_")
    assert federation_main([*url, "create-read-token", "--name", "x", "--scope", "centre:999999"]) == 2
    assert "is not a scope" in capsys.readouterr().err
    assert federation_main([*url, "set-k", "4"]) == 2
    assert "between 5 and" in capsys.readouterr().err
    assert federation_main([*url, "set-k", "7"]) == 0 and admin.suppression_k(federation.db) == 7


def logged_in(fed: Federation, username: str) -> requests.Session:
    web, answer = fed.login(username)
    assert answer.status_code == 303
    return web
