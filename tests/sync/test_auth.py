"""Who may enrol, write, read and log in on the federation server."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import requests
from sqlalchemy import update

from sync.server import admin
from sync.server.db import utcnow
from sync.server.models import EnrolmentCode
from tests.fedkit import Federation, batch

pytestmark = [pytest.mark.sync, pytest.mark.auth]
DAY = date(2026, 11, 2)
PUBLISHED_DAY = date(2026, 6, 10)  # in a month long closed, so published


def post_batch(fed: Federation, token: str, device_id: str, day: date = DAY) -> requests.Response:
    return requests.post(
        f"{fed.url}/api/v1/batches",
        data=batch(device_id, day).model_dump_json(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )


def test_a_terminal_writes_its_own_batches_only(federation: Federation) -> None:
    a, token_a = federation.terminal()
    b, _ = federation.terminal()
    assert post_batch(federation, token_a, a).status_code == 201
    refused = post_batch(federation, token_a, b)
    assert refused.status_code == 403 and "another terminal" in refused.json()["detail"]


def test_a_read_token_cannot_write(federation: Federation) -> None:
    device, _ = federation.terminal()
    refused = post_batch(federation, federation.read_token(), device)
    assert refused.status_code == 403 and "read token" in refused.json()["detail"]


@pytest.mark.parametrize("header", [None, "Bearer ", "Bearer dev_not-a-token", "Basic YWRtaW46YWRtaW4="])
def test_missing_or_unknown_tokens_are_refused(federation: Federation, header: str | None) -> None:
    device, _ = federation.terminal()
    headers = {"Content-Type": "application/json"} | ({"Authorization": header} if header else {})
    answer = requests.post(
        f"{federation.url}/api/v1/batches", data=batch(device, DAY).model_dump_json(), headers=headers, timeout=10
    )
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"] == "Bearer"


def test_a_revoked_terminal_is_refused(federation: Federation) -> None:
    device, token = federation.terminal()
    admin.revoke_terminal(federation.db, device)
    refused = post_batch(federation, token, device)
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]


def test_an_enrolment_code_works_once_and_only_for_a_day(federation: Federation) -> None:
    made = admin.create_terminal(federation.db, federation.centre(), "Borne")
    body = {"code": made.code, "software_version": "1.0"}
    first = requests.post(f"{federation.url}/api/v1/enrol", json=body, timeout=10)
    assert first.status_code == 200 and first.json()["device_id"] == made.device_id
    assert first.json()["token"].startswith("dev_")
    again = requests.post(f"{federation.url}/api/v1/enrol", json=body, timeout=10)
    assert again.status_code == 403
    late = admin.create_terminal(federation.db, federation.centre(), "Borne")
    with federation.db.session() as session:
        session.execute(update(EnrolmentCode).values(expires_at=utcnow() - timedelta(minutes=1)))
    expired = requests.post(
        f"{federation.url}/api/v1/enrol", json={"code": late.code, "software_version": "1.0"}, timeout=10
    )
    assert expired.status_code == 403


def test_the_server_keeps_only_hashes_of_tokens_and_codes(federation: Federation) -> None:
    _device, token = federation.terminal()
    read = federation.read_token()
    with federation.db.engine.connect() as conn:
        from sqlalchemy import text

        dump = " ".join(
            str(row)
            for table in ("terminals", "read_tokens", "enrolment_codes")
            for row in conn.execute(text(f"SELECT * FROM {table}"))
        )
    assert token not in dump and read not in dump


def test_export_needs_a_read_token_and_a_revoked_one_stops_working(federation: Federation) -> None:
    device, token = federation.terminal()
    assert post_batch(federation, token, device, PUBLISHED_DAY).status_code == 201
    federation.publish()
    url = f"{federation.url}/api/v1/export?period=2026-06"
    assert requests.get(url, timeout=10).status_code == 401
    token = federation.read_token("ars")
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 200
    admin.revoke_read_token(federation.db, "ars")
    assert requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code == 401
    device_token = federation.terminal()[1]
    assert requests.get(url, headers={"Authorization": f"Bearer {device_token}"}, timeout=10).status_code == 401


def login(fed: Federation, username: str, password: str) -> tuple[requests.Session, requests.Response]:
    return fed.login(username, password)


@pytest.mark.parametrize("path", ["/", "/departements/69", "/centres/1", "/parc"])
def test_dashboard_pages_send_anonymous_visitors_to_the_login(federation: Federation, path: str) -> None:
    answer = requests.get(f"{federation.url}{path}", allow_redirects=False, timeout=10)
    assert answer.status_code == 303 and answer.headers["Location"] == "/login"


def test_login_then_pages_and_export_open_and_logout_needs_csrf(federation: Federation) -> None:
    device, token = federation.terminal()
    assert post_batch(federation, token, device, PUBLISHED_DAY).status_code == 201
    federation.publish()
    username, password = federation.user()
    web, answer = login(federation, username, password)
    assert answer.status_code == 303
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert web.get(f"{federation.url}/", timeout=10).status_code == 200
    assert web.get(f"{federation.url}/api/v1/export?period=2026-06", timeout=10).status_code == 200
    forged = web.post(f"{federation.url}/logout", data={"csrf": "forged"}, allow_redirects=False, timeout=10)
    assert forged.status_code == 403
    assert web.get(f"{federation.url}/", allow_redirects=False, timeout=10).status_code == 200  # still logged in


def test_login_without_the_form_token_is_refused(federation: Federation) -> None:
    username, password = federation.user()
    answer = requests.post(
        f"{federation.url}/login", data={"username": username, "password": password, "csrf": "x"}, timeout=10
    )
    assert answer.status_code == 403


def test_passwords_too_short_are_refused() -> None:
    from sync.server.db import Database, migrate

    db = Database("sqlite://")
    migrate(db.engine)
    with pytest.raises(admin.AdminError, match="12 characters"):
        admin.create_user(db, "someone", "short")
