"""The terminal's side of the federation tried as an attacker would: where ``kiosk enroll`` agrees to
send its enrolment code, and who may read the database and the enrolment files."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.agent.sync_jobs import SYNC_FILE, TOKEN_FILE, Enrolled, save_enrolment
from kiosk.cli import main as kiosk
from kiosk.core.store import Role, open_store
from sync.client import SyncClient
from sync.protocol import EnrolmentAnswer

pytestmark = [pytest.mark.sync, pytest.mark.abuse]
REPO = Path(__file__).resolve().parents[2]
CODE = "ABCD-EFGH-JKLM-NPQR"


@pytest.fixture
def contacted(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """The servers ``kiosk enroll`` sent a code to (no network: the client is replaced)."""
    servers: list[str] = []

    def enrol(client: SyncClient, code: str, software_version: str) -> EnrolmentAnswer:
        servers.append(client.server)
        return EnrolmentAnswer(device_id="b-0123456789abcdef", token="dev_token", centre_name="Centre")

    monkeypatch.setattr(SyncClient, "enrol", enrol)
    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KIOSK_LAST_GOOD_DIR", str(tmp_path / "last-good"))
    return servers


@pytest.mark.parametrize(
    "server",
    [
        "http://127.0.0.1.attacker.example",
        "http://127.0.0.1.attacker.example:8800/",
        "http://localhost.attacker.example",
        "http://localhost@attacker.example",
        "http://127.0.0.1@attacker.example",
        "https://user:secret@stats.example",
        "http://stats.example",
        "http://0x7f000001",
        "ftp://127.0.0.1",
        "https://",
        "stats.example",
        "https://stats.example:99999",
        "https://stats.example/?next=http://127.0.0.1",
    ],
)
def test_enroll_refuses_addresses_that_are_not_https_or_loopback(
    server: str, contacted: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert kiosk(["enroll", "--server", server, "--code", CODE, "--config-dir", str(REPO / "config")]) == 2
    assert contacted == [] and "server address" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("server", "kept"),
    [
        ("https://stats.federation.example/", "https://stats.federation.example"),
        ("https://stats.federation.example:8443/borne", "https://stats.federation.example:8443/borne"),
        ("http://127.0.0.1:8800", "http://127.0.0.1:8800"),
        ("http://[::1]:8800/", "http://[::1]:8800"),
        ("http://localhost:8800", "http://localhost:8800"),
    ],
)
def test_enroll_accepts_https_and_loopback_http(server: str, kept: str, contacted: list[str], tmp_path: Path) -> None:
    assert kiosk(["enroll", "--server", server, "--code", CODE, "--config-dir", str(REPO / "config")]) == 0
    assert contacted == [kept]
    assert json.loads((tmp_path / "data" / SYNC_FILE).read_text(encoding="utf-8"))["server"] == kept


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask a service could be started with."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
def test_the_database_and_its_wal_are_not_for_other_users(tmp_path: Path) -> None:
    store = open_store(tmp_path / "kiosk.db", Role.AGENT)
    with store.transaction() as conn:
        conn.execute("INSERT INTO meta (key, value) VALUES ('probe', 'x')")
    files = [tmp_path / name for name in ("kiosk.db", "kiosk.db-wal", "kiosk.db-shm")]
    try:
        assert {file.name: oct(mode(file)) for file in files} == {file.name: "0o660" for file in files}
    finally:
        store.close()


@pytest.mark.usefixtures("open_umask")
def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.db"
    open_store(path, Role.AGENT).close()
    for file in tmp_path.iterdir():
        file.chmod(0o644)
    store = open_store(path, Role.SHELL)
    try:
        assert all(mode(file) & 0o077 == 0o040 for file in tmp_path.iterdir()), [
            (file.name, oct(mode(file))) for file in tmp_path.iterdir()
        ]
    finally:
        store.close()


@pytest.mark.usefixtures("open_umask")
def test_the_enrolment_files_are_the_agents_only(tmp_path: Path) -> None:
    save_enrolment(tmp_path, Enrolled("https://stats.example", "b-0123456789abcdef", "dev_token", "Centre"))
    save_enrolment(tmp_path, Enrolled("https://stats.example", "b-0123456789abcdef", "dev_token2", "Centre"))
    assert {path.name: oct(mode(path)) for path in tmp_path.iterdir()} == {SYNC_FILE: "0o600", TOKEN_FILE: "0o600"}
