"""The federation server tried as an attacker would: every hole the anonymity issue found, each
refused as README documents, on SQLite and PostgreSQL, and never a 5xx (the ``federation``
fixture fails a test whose server answered any)."""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import json
import re
import secrets
import socket
import statistics
import threading
import time
from datetime import UTC, date, datetime, timedelta

import pytest
import requests
from sqlalchemy import select

from sync.server import admin
from sync.server.db import utcnow
from sync.server.models import EnrolmentCode, Terminal, User
from sync.server.security import code_hash, token_hash
from sync.server.settings import Rate, ServerSettings
from sync.vocabulary import Category
from tests.fedkit import Federation, batch

pytestmark = [pytest.mark.sync, pytest.mark.abuse]
DAY = date(2026, 11, 2)


def enrol(fed: Federation, code: str) -> requests.Response:
    return fed.post("/api/v1/enrol", json.dumps({"code": code, "software_version": "1.0"}))


def strict_json(answer: requests.Response) -> object:
    """The answer's JSON, refusing what JSON cannot carry (NaN, Infinity)."""

    def refuse(constant: str) -> object:
        raise AssertionError(f"the server echoed {constant}")

    return json.loads(answer.content.decode("utf-8"), parse_constant=refuse)


# -- enrolment and revocation --------------------------------------------------------------------


def test_revocation_kills_outstanding_codes_and_enrolment_never_lifts_it(federation: Federation) -> None:
    made = admin.create_terminal(federation.db, federation.centre(), "Borne")
    first = enrol(federation, made.code)
    assert first.status_code == 200
    spare = admin.new_enrolment_code(federation.db, made.terminal_id)  # a re-install was planned
    admin.revoke_terminal(federation.db, made.device_id)  # then the box was stolen
    assert enrol(federation, spare).status_code == 403
    # Even a code that reached the database after the revocation does not lift it.
    slipped = "ABCD-EFGH-JKLM-NPQR"
    with federation.db.session() as session:
        session.add(
            EnrolmentCode(
                code_hash=code_hash(slipped), terminal_id=made.terminal_id, expires_at=utcnow() + timedelta(hours=1)
            )
        )
    assert enrol(federation, slipped).status_code == 403
    with federation.db.session() as session:
        terminal = session.get(Terminal, made.terminal_id)
        assert terminal is not None and terminal.revoked_at is not None
    stale = federation.post("/api/v1/batches", batch(made.device_id, DAY).model_dump_json(), first.json()["token"])
    assert stale.status_code == 401
    with pytest.raises(admin.AdminError, match="revoked"):
        admin.new_enrolment_code(federation.db, made.terminal_id)


def test_a_new_code_kills_the_outstanding_ones(federation: Federation) -> None:
    made = admin.create_terminal(federation.db, federation.centre(), "Borne")
    newer = admin.new_enrolment_code(federation.db, made.terminal_id)
    assert enrol(federation, made.code).status_code == 403
    assert enrol(federation, newer).status_code == 200


def race(fed: Federation, code: str, clients: int) -> list[requests.Response]:
    """``clients`` enrolments with the same code, released together by a barrier."""
    barrier = threading.Barrier(clients)
    answers: list[requests.Response] = []

    def client() -> None:
        with requests.Session() as http:
            http.get(f"{fed.url}/healthz", timeout=30)  # the connection is open before the race
            barrier.wait(timeout=30)
            body = {"code": code, "software_version": "1.0"}
            answers.append(http.post(f"{fed.url}/api/v1/enrol", json=body, timeout=30))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_one_code_gives_one_token_to_concurrent_clients(federation: Federation) -> None:
    """Eight clients with the same code at once, twenty times: exactly one token each time."""
    centre = federation.centre()
    clients = 8
    for trial in range(20):
        made = admin.create_terminal(federation.db, centre, f"Borne {trial}")
        answers = race(federation, made.code, clients)
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [200] + [403] * (clients - 1), f"trial {trial}: {statuses}"
        token = next(answer.json()["token"] for answer in answers if answer.status_code == 200)
        with federation.db.session() as session:
            terminal = session.get(Terminal, made.terminal_id)
            assert terminal is not None and terminal.token_hash == token_hash(token)


# -- rate limits ---------------------------------------------------------------------------------


def test_refused_requests_count_against_the_limits(federation: Federation) -> None:
    device, token = federation.terminal()
    other, _ = federation.terminal()
    read = federation.read_token()
    tight = ServerSettings(
        insecure_cookies=True, terminal_rate=Rate(per_minute=0.01, burst=4), address_rate=Rate(per_minute=0.01, burst=3)
    )
    federation.restart(tight)
    assert federation.post("/api/v1/batches", batch(device, DAY).model_dump_json(), token).status_code == 201
    conflict = batch(device, DAY, sessions=99).model_dump_json()  # its transaction is rolled back
    assert federation.post("/api/v1/batches", conflict, token).status_code == 409
    assert federation.post("/api/v1/batches", b"{not json", token).status_code == 422
    assert federation.post("/api/v1/batches", batch(other, DAY).model_dump_json(), token).status_code == 403
    limited = federation.post("/api/v1/batches", batch(device, DAY - timedelta(days=1)).model_dump_json(), token)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    # Without a terminal's token, the client's address is what is counted.
    assert federation.post("/api/v1/batches", "{}", "dev_guessed").status_code == 401
    assert federation.post("/api/v1/batches", "{}", read).status_code == 403
    assert enrol(federation, "ABCD-EFGH-JKLM-NPQR").status_code == 403
    assert enrol(federation, "ABCD-EFGH-JKLM-NPQS").status_code == 429
    assert federation.post("/api/v1/batches", "{}").status_code == 429


# -- what a batch may hold -----------------------------------------------------------------------


def test_a_table_with_too_many_keys_is_refused_with_the_reason(federation: Federation) -> None:
    device, token = federation.terminal()
    body = json.loads(batch(device, DAY).model_dump_json())
    body["figures"]["tiles"] = {f"tile-{n}": 1 for n in range(1000)}
    answer = federation.post("/api/v1/batches", json.dumps(body), token)
    assert answer.status_code == 422 and "tiles" in answer.text


def test_a_valid_batch_with_thousands_of_keys_is_cheap(federation: Federation) -> None:
    device, token = federation.terminal()
    tables = ("end_reasons", "durations", "tiles", "categories", "blocked", "help_views", "device_errors")
    figures = {name: {f"{name[:4]}-{n}": n + 1 for n in range(250)} for name in tables}
    categories = [category.value for category in Category]
    figures["tiles"] = {f"{categories[n % len(categories)]}/tile-{n}": n + 1 for n in range(250)}
    figures["appointments_booked"] = {f"slot-{n}": 1 for n in range(250)}
    figures["mediator"] = {"waits": {f"w-{n}": 2 for n in range(250)}}
    figures["answers"] = {f"q{q}": {f"a{n}": 5 for n in range(25)} for q in range(10)}
    body = batch(device, DAY, **figures).model_dump_json()
    start = time.process_time()  # the server runs in this process: its CPU time is counted too
    answer = federation.post("/api/v1/batches", body, token)
    spent = time.process_time() - start
    assert answer.status_code == 201, answer.text
    assert spent < 2.0, f"{spent:.2f} s of CPU for one batch of {8 * 250 + 250 + 250} keys"


def test_days_are_taken_from_the_day_before_enrolment_to_tomorrow(federation: Federation) -> None:
    device, token = federation.terminal(enrolled_on=None)
    today = utcnow().date()
    cases = [
        (date(1, 1, 1), 422),
        (today - timedelta(days=2), 422),
        (today - timedelta(days=1), 201),
        (today, 201),
        (today + timedelta(days=1), 201),
        (today + timedelta(days=2), 422),
        (date(9999, 12, 31), 422),
    ]
    for day, expected in cases:
        answer = federation.post("/api/v1/batches", batch(device, day).model_dump_json(), token)
        assert answer.status_code == expected, (day, answer.text)
        if expected == 422:
            assert "day" in answer.text


def test_answer_cells_below_the_batch_k_are_refused(federation: Federation) -> None:
    device, token = federation.terminal()

    def send(day: date, k: int, cells: dict[str, int | None]) -> requests.Response:
        body = batch(device, day, answers_asked=20, answers={"satisfaction": cells}, suppression_k=k)
        return federation.post("/api/v1/batches", body.model_dump_json(), token)

    refused = send(DAY, 5, {"content": 3, "moyen": None, "mecontent": None})
    assert refused.status_code == 422 and "satisfaction" in refused.text and "below" in refused.text
    assert send(DAY, 5, {"content": 0, "moyen": None, "mecontent": None}).status_code == 422
    assert send(DAY, 7, {"content": 6, "moyen": None, "mecontent": None}).status_code == 422
    assert send(DAY, 5, {"content": 5, "moyen": None, "mecontent": None}).status_code == 201


# -- what the server echoes and parses -----------------------------------------------------------

UNREPRESENTABLE = {
    "nan": b'{"code": NaN, "software_version": "1.0"}',
    "infinity": b'{"code": "ABCD-EFGH", "software_version": Infinity}',
    "minus-infinity": b'{"code": -Infinity, "software_version": "1.0"}',
    "not-utf8": b'{"code": "\xff\xfe\xfd", "software_version": "1.0"}',
    "binary": bytes(range(256)),
    "surrogate-key": b'{"code": "ABCD-EFGH", "software_version": "1.0", "\\ud800": 1}',
    "surrogate-value": b'{"code": "\\udfff\\ud800", "software_version": "1.0"}',
    "huge-number": b'{"code": "ABCD-EFGH", "software_version": ' + b"9" * 5000 + b"}",
    "long-key": b'{"code": "ABCD-EFGH", "software_version": "1.0", "' + b"k" * 100_000 + b'": 1}',
}


@pytest.mark.parametrize("body", UNREPRESENTABLE.values(), ids=UNREPRESENTABLE.keys())
def test_bad_bodies_get_4xx_and_are_never_echoed(federation: Federation, body: bytes) -> None:
    _device, token = federation.terminal()
    figures = body.replace(b'"code"', b'"sessions"')
    for answer in (
        federation.post("/api/v1/enrol", body),  # no token needed here
        federation.post("/api/v1/batches", body),  # no token
        federation.post("/api/v1/batches", body, token),
        federation.post("/api/v1/heartbeats", figures, token),
    ):
        assert 400 <= answer.status_code < 500, answer.text
        detail = strict_json(answer)
        assert len(answer.content) < 4096, answer.content[:300]
        if isinstance(detail, dict) and isinstance(detail["detail"], list):  # a validation error
            assert all(set(error) == {"loc", "msg", "type"} for error in detail["detail"]), detail


def test_nan_and_infinity_in_a_batch_get_422(federation: Federation) -> None:
    device, token = federation.terminal()
    for constant in ("NaN", "Infinity", "-Infinity"):
        body = batch(device, DAY).model_dump_json().replace('"median_wait_s":null', f'"median_wait_s":{constant}')
        answer = federation.post("/api/v1/batches", body, token)
        assert answer.status_code == 422 and "median_wait_s" in answer.text
        strict_json(answer)


def test_a_clock_header_without_a_time_zone_is_taken_as_utc(federation: Federation) -> None:
    device, token = federation.terminal()
    naive = datetime.now(UTC).replace(tzinfo=None)
    on_time = federation.post("/api/v1/batches", batch(device, DAY).model_dump_json(), token,
                   **{"X-Borne-Device-Clock": naive.isoformat()})  # fmt: skip
    assert on_time.status_code == 201 and on_time.json()["clock_skew_flagged"] is False
    late = (naive - timedelta(hours=3)).isoformat()
    skewed = federation.post("/api/v1/batches", batch(device, DAY - timedelta(days=1)).model_dump_json(), token,
                  **{"X-Borne-Device-Clock": late})  # fmt: skip
    assert skewed.status_code == 201 and skewed.json()["clock_skew_flagged"] is True


@pytest.mark.parametrize("clock", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00"])
def test_a_clock_at_the_ends_of_time_is_flagged_not_fatal(federation: Federation, clock: str) -> None:
    device, token = federation.terminal()
    answer = federation.post("/api/v1/batches", batch(device, DAY).model_dump_json(), token,
                  **{"X-Borne-Device-Clock": clock})  # fmt: skip
    assert answer.status_code == 201 and answer.json()["clock_skew_flagged"] is True
    beat = {"device_id": device, "software_version": "1.0", "uptime_s": 1, "disk_free_mb": 1, "device_clock": clock}
    assert federation.post("/api/v1/heartbeats", json.dumps(beat), token).json() == {"clock_skew_flagged": True}
    web = logged_in(federation)
    assert web.get(f"{federation.url}/parc", timeout=30).status_code == 200


@pytest.mark.parametrize("field", ["uptime_s", "disk_free_mb"])
def test_heartbeat_numbers_are_bounded(federation: Federation, field: str) -> None:
    device, token = federation.terminal()
    beat = {"device_id": device, "software_version": "1.0", "uptime_s": 1, "disk_free_mb": 1}
    beat |= {"device_clock": datetime.now(UTC).isoformat(), field: 10**30}
    answer = federation.post("/api/v1/heartbeats", json.dumps(beat), token)
    assert answer.status_code == 422 and field in answer.text


@pytest.mark.parametrize("name", ["%00", "%00.css", "..%2Fapp.py", "%2e%2e", "a" * 300, "dashboard.css%00"])
def test_odd_static_names_are_not_found(federation: Federation, name: str) -> None:
    assert requests.get(f"{federation.url}/static/{name}", timeout=30).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        "from=0001-01-01&to=0001-01-31",
        "from=9999-12-01&to=9999-12-31",
        "from=1999-12-31&to=2000-01-31",
        "from=2026-11-01&to=2101-01-01",
    ],
)
def test_export_dates_are_bounded(federation: Federation, query: str) -> None:
    answer = requests.get(
        f"{federation.url}/api/v1/export?{query}",
        headers={"Authorization": f"Bearer {federation.read_token()}"},
        timeout=30,
    )
    assert answer.status_code == 422 and "2000" in answer.text


@pytest.mark.parametrize(
    "path",
    [
        "/?periode=0001-01",
        "/?periode=9999",
        "/?periode=0001-W01",
        "/?periode=99999999999999999999-Q1",
        "/departements/69?periode=9999-12",
        "/centres/99999999999999999999999",
        "/centres/-1",
        "/centres/2147483648",
    ],
)
def test_dashboard_dates_and_ids_are_bounded(federation: Federation, path: str) -> None:
    web = logged_in(federation)
    answer = web.get(f"{federation.url}{path}", timeout=30)
    assert answer.status_code in (404, 422), answer.text[:300]


# -- the dashboard's login -----------------------------------------------------------------------


def login(
    fed: Federation, username: str, password: str, address: str = "192.0.2.1", web: requests.Session | None = None
) -> requests.Response:
    """A login from ``address`` (the test server trusts X-Forwarded-For from loopback, as a reverse
    proxy's)."""
    web = web or requests.Session()
    forwarded = {"X-Forwarded-For": address}
    page = web.get(f"{fed.url}/login", headers=forwarded, timeout=30)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text[:300]
    return web.post(
        f"{fed.url}/login",
        data={"username": username, "password": password, "csrf": csrf.group(1)},
        headers=forwarded,
        allow_redirects=False,
        timeout=60,
    )


def logged_in(fed: Federation) -> requests.Session:
    name = f"user{secrets.token_hex(3)}"
    username, password = fed.user(name)
    web = requests.Session()
    assert login(fed, username, password, web=web).status_code == 303
    return web


def login_error(answer: requests.Response) -> str:
    found = re.search(r'role="alert">([^<]*)<', answer.text)
    return found.group(1) if found else answer.text[:200]


def test_login_takes_as_long_for_an_unknown_user(federation: Federation) -> None:
    """The work done, measured as this process's CPU time (the server runs in it): unlike the
    wall clock, it does not depend on what else the machine is doing."""
    username, _ = federation.user()
    spent: dict[str, list[float]] = {username: [], "nobody-here": []}
    for n in range(5):
        for name in spent:  # interleaved, so that both see the same conditions
            start = time.process_time()
            assert login(federation, name, "not the password!", f"192.0.2.{10 + n}").status_code == 401
            spent[name].append(time.process_time() - start)
    known, unknown = statistics.median(spent[username]), statistics.median(spent["nobody-here"])
    assert 0.7 < unknown / known < 1.4, f"unknown user {unknown:.3f} s, known user {known:.3f} s of CPU"


def test_every_login_failure_says_the_same(federation: Federation) -> None:
    username, password = federation.user()
    messages = {login_error(login(federation, "nobody-here", "not the password!", "192.0.2.20"))}
    for n in range(6):  # more failures than any per-account lock would allow, from several addresses
        messages.add(login_error(login(federation, username, "not the password!", f"192.0.2.{30 + n}")))
    messages.add(login_error(login(federation, username, "x", "192.0.2.40")))
    assert len(messages) == 1, messages
    assert login(federation, username, password, "192.0.2.41").status_code == 303


def test_an_attacker_cannot_lock_someone_else_out(federation: Federation) -> None:
    username, password = federation.user()
    attacker = [login(federation, username, f"guess number {n}!", "203.0.113.7").status_code for n in range(12)]
    assert attacker[:10] == [401] * 10 and set(attacker[10:]) == {429}  # the attacker's address is throttled
    assert login(federation, username, password, "203.0.113.7").status_code == 429  # even with the password
    assert login(federation, username, password, "198.51.100.2").status_code == 303  # the owner is not


def test_passwords_use_owasp_scrypt_and_older_hashes_are_upgraded(federation: Federation) -> None:
    username, password = federation.user()
    with federation.db.session() as session:
        stored = session.execute(select(User.password_hash).where(User.username == username)).scalar_one()
    assert stored.startswith("scrypt$131072$8$1$")
    salt = secrets.token_bytes(16)
    old = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    with federation.db.session() as session:
        session.add(
            User(username="ancien", password_hash=f"scrypt$16384$8$1${salt.hex()}${old.hex()}", created_at=utcnow())
        )
    assert login(federation, "ancien", password).status_code == 303
    with federation.db.session() as session:
        upgraded = session.execute(select(User.password_hash).where(User.username == "ancien")).scalar_one()
    assert upgraded.startswith("scrypt$131072$8$1$")
    assert login(federation, "ancien", password).status_code == 303


# -- what the pages allow a browser to do --------------------------------------------------------


def test_no_api_docs_by_default_and_no_third_party_script(federation: Federation) -> None:
    for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert requests.get(f"{federation.url}{path}", timeout=30).status_code == 404
    assert requests.get(f"{federation.url}/openapi.json", timeout=30).status_code == 200
    web = logged_in(federation)
    centre = federation.centre()
    for path in ("/login", "/", "/departements/69", f"/centres/{centre}", "/parc"):
        page = web.get(f"{federation.url}{path}", timeout=30)
        sources = re.findall(r'<(?:script|link|img|iframe)[^>]*(?:src|href)="([^"]*)"', page.text)
        assert sources and all(source.startswith("/static/") for source in sources), (path, sources)


def test_every_answer_carries_the_security_headers(federation: Federation) -> None:
    web = logged_in(federation)
    centre = federation.centre()
    paths = [
        "/login",
        "/",
        "/departements/69",
        f"/centres/{centre}",
        "/parc",
        "/parc.csv",
        "/static/dashboard.css",
        "/static/charts.js",
        "/static/%00",
        "/api/v1/export?from=2026-11-01&to=2026-11-30",
        "/api/v1/export?from=2026-11-31",
        "/api/v1/catalogue",
        "/openapi.json",
        "/healthz",
        "/nowhere",
    ]
    answers = [web.get(f"{federation.url}{path}", allow_redirects=False, timeout=30) for path in paths]
    too_big = http.client.HTTPConnection("127.0.0.1", federation.server.port, timeout=30)
    too_big.putrequest("POST", "/api/v1/batches")
    too_big.putheader("Content-Length", "300000")  # refused before any of it is sent
    too_big.endheaders()
    refused = too_big.getresponse()
    assert refused.status == 413
    headers = [dict(refused.getheaders())]
    too_big.close()
    answers.append(requests.get(f"{federation.url}/", allow_redirects=False, timeout=30))  # 303 to the login
    headers += [dict(answer.headers.items()) | {"where": answer.url} for answer in answers]
    for found in headers:
        lower = {k.lower(): v for k, v in found.items()}
        where = lower.get("where", "413")
        policy = lower.get("content-security-policy", "")
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy, where
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy, where
        assert lower.get("x-content-type-options") == "nosniff", where
        assert lower.get("x-frame-options") == "DENY", where
        assert lower.get("referrer-policy") == "no-referrer", where


@pytest.mark.parametrize("evil", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1:A9)"])
def test_csv_cells_a_spreadsheet_would_run_are_neutralised(federation: Federation, evil: str) -> None:
    centre = federation.centre("69", evil)
    device, token = federation.terminal(centre)
    assert federation.post("/api/v1/batches", batch(device, DAY).model_dump_json(), token).status_code == 201
    beat = {"device_id": device, "software_version": "+1+1", "uptime_s": 1, "disk_free_mb": 1}
    beat |= {"device_clock": datetime.now(UTC).isoformat()}
    assert federation.post("/api/v1/heartbeats", json.dumps(beat), token).status_code == 200
    web = logged_in(federation)
    export = web.get(
        f"{federation.url}/api/v1/export?from=2026-11-01&to=2026-11-30&level=centre&format=csv", timeout=30
    )
    fleet = web.get(f"{federation.url}/parc.csv", timeout=30)
    tables = [list(csv.reader(io.StringIO(answer.text)))[1:] for answer in (export, fleet)]
    cells = [cell for rows in tables for row in rows for cell in row]
    assert [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")] == []
    assert f"'{evil} (Testville)" in cells and "'+1+1" in cells


# -- slow clients --------------------------------------------------------------------------------


def trickle(fed: Federation, head: bytes, limit_s: float) -> tuple[bytes, float]:
    """Send ``head`` then one byte a second until the server answers or closes (or ``limit_s``)."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", fed.server.port), timeout=limit_s) as sock:
        sock.sendall(head)
        sock.settimeout(1.0)
        while time.monotonic() - start < limit_s:
            try:
                data = sock.recv(4096)
                return data, time.monotonic() - start
            except TimeoutError:
                pass
            except ConnectionResetError:  # cut off with a reset (the byte sent into a closing socket)
                return b"", time.monotonic() - start
            try:
                sock.sendall(b"x")
            except OSError:
                return b"", time.monotonic() - start
    return b"still open", time.monotonic() - start


def test_a_body_sent_one_byte_a_second_is_cut_off(federation: Federation) -> None:
    federation.restart(ServerSettings(insecure_cookies=True, body_timeout_s=2.0, head_timeout_s=2.0))
    head = (
        b"POST /api/v1/enrol HTTP/1.1\r\nHost: borne\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n"
    )
    outcome: list[tuple[bytes, float]] = []
    slow = threading.Thread(target=lambda: outcome.append(trickle(federation, head, 20.0)))
    slow.start()
    time.sleep(0.5)
    assert requests.get(f"{federation.url}/healthz", timeout=5).status_code == 200  # others are served meanwhile
    slow.join()
    data, elapsed = outcome[0]
    assert data.startswith(b"HTTP/1.1 408") and elapsed < 6, (data[:100], elapsed)


@pytest.mark.parametrize("head", [b"", b"POST /api/v1/enrol HTTP/1.1\r\nHo"], ids=["silent", "slow-head"])
def test_a_request_head_sent_one_byte_a_second_is_cut_off(federation: Federation, head: bytes) -> None:
    federation.restart(ServerSettings(insecure_cookies=True, body_timeout_s=2.0, head_timeout_s=2.0))
    data, elapsed = trickle(federation, head, 20.0)
    assert data in (b"", b"HTTP/1.1 408") or data.startswith(b"HTTP/1.1 4"), data[:100]
    assert data != b"still open" and elapsed < 6, elapsed


def test_a_body_trickled_after_the_answer_is_cut_off(federation: Federation) -> None:
    """A GET announcing a body it then sends one byte a second: answered at once, then cut off."""
    federation.restart(ServerSettings(insecure_cookies=True, body_timeout_s=2.0, head_timeout_s=2.0))
    with socket.create_connection(("127.0.0.1", federation.server.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: borne\r\nContent-Length: 100000\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.settimeout(1.0)
        start = time.monotonic()
        closed = False
        while not closed and time.monotonic() - start < 20:
            try:
                sock.sendall(b"x")
                closed = sock.recv(4096) == b""
            except TimeoutError:
                continue
            except OSError:
                closed = True
        assert closed and time.monotonic() - start < 9, time.monotonic() - start
