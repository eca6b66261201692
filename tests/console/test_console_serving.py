"""The console's certificate, the agent serving it beside the help website, and the account CLI."""

from __future__ import annotations

import io
import os
import re
import stat
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from cryptography import x509

from kiosk.agent.console.certificate import VALID_DAYS, ensure_self_signed, fingerprint
from kiosk.core.mediation.calls import CallQueue
from kiosk.core.mediation.presence import agent_alive
from kiosk.core.mediation_config import MediatorSettings
from kiosk.core.ports import ManualClock
from kiosk.core.store import Role, Store, open_store
from tests.agentkit import agent_env, create_account, free_port, start_agent, stop, wait_listening, wait_started

pytestmark = pytest.mark.console
REPO = Path(__file__).resolve().parents[2]


def test_the_certificate_is_made_once_then_reused(tmp_path: Path) -> None:
    first = ensure_self_signed(tmp_path / "console", "192.0.2.10")
    assert first.created
    assert stat.S_IMODE(first.key_file.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(first.cert_file.read_bytes())
    assert first.fingerprint == fingerprint(cert) and len(first.fingerprint) == 95
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "192.0.2.10" in {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}
    key_bytes = first.key_file.read_bytes()
    again = ensure_self_signed(tmp_path / "console", "192.0.2.10")
    assert not again.created and again.fingerprint == first.fingerprint
    assert first.key_file.read_bytes() == key_bytes
    # Near its end (or damaged), a new one is made.
    later = datetime.now(UTC) + timedelta(days=VALID_DAYS - 10)
    renewed = ensure_self_signed(tmp_path / "console", "192.0.2.10", now=later)
    assert renewed.created and renewed.fingerprint != first.fingerprint
    first.key_file.write_bytes(b"garbage")
    assert ensure_self_signed(tmp_path / "console", "192.0.2.10").created


def shell_state(store: Store, call_id: int) -> tuple[str, str | None]:
    row = store.conn.execute("SELECT state, first_name FROM mediator_calls WHERE id = ?", (call_id,)).fetchone()
    return str(row[0]), row[1]


def test_the_agent_serves_the_console_over_https_with_its_certificate(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = agent_env(data, tmp_path / "lg")
    made = create_account(REPO / "config", env, "claire", "admin", "un-long-mot-de-passe")
    assert "Created the admin account 'claire'" in made
    # A call left waiting yesterday: the agent closes that day when it starts.
    shell = open_store(data / "kiosk.db", Role.SHELL)
    yesterday = ManualClock(datetime.now(UTC) - timedelta(days=1))
    left = CallQueue(shell, MediatorSettings(), ZoneInfo("Europe/Paris"), yesterday).open(None, "Jo")
    port = free_port()
    agent = start_agent(REPO / "config", env, port)
    try:
        started, lines = wait_started(agent)
        cert = data / "console" / "console-cert.pem"
        assert started["console"] == f"https://127.0.0.1:{port}/"
        assert started["console_fingerprint_sha256"] == fingerprint(x509.load_pem_x509_certificate(cert.read_bytes()))
        assert any('"console.certificate_created"' in line for line in lines)
        client = requests.Session()
        client.trust_env = False
        client.verify = str(cert)
        wait_listening(port)
        page = client.get(f"https://127.0.0.1:{port}/connexion", timeout=10)
        assert page.status_code == 200 and "Console du personnel" in page.text
        with pytest.raises(requests.exceptions.SSLError):  # only this certificate is trusted, not any
            requests.get(f"https://127.0.0.1:{port}/connexion", timeout=10, verify=True)
        try:  # the beat and the end of yesterday, at start by the scheduler's first runs
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not (
                agent_alive(shell, datetime.now(UTC)) and shell_state(shell, left.id) == ("missed", None)
            ):
                time.sleep(0.1)
            assert agent_alive(shell, datetime.now(UTC))
            assert shell_state(shell, left.id) == ("missed", None)  # and the first name wiped
        finally:
            shell.close()
        # A live stream open does not hold the agent up when it is told to stop.
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        client.post(
            f"https://127.0.0.1:{port}/connexion",
            data={"name": "claire", "password": "un-long-mot-de-passe", "csrf": token},
            timeout=10,
        )
        live = client.get(f"https://127.0.0.1:{port}/api/appels/flux", stream=True, timeout=10)
        assert live.status_code == 200
        began = time.monotonic()
        assert stop(agent) == 0
        assert time.monotonic() - began < 10
        live.close()
    finally:
        if agent.poll() is None:
            stop(agent)
    # The next start keeps the certificate staff have already accepted.
    agent = start_agent(REPO / "config", env, port)
    try:
        again, lines = wait_started(agent)
        assert again["console_fingerprint_sha256"] == started["console_fingerprint_sha256"]
        assert not any('"console.certificate_created"' in line for line in lines)
    finally:
        assert stop(agent) == 0


def test_console_user_refuses_a_short_password_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kiosk.cli import main

    monkeypatch.setenv("KIOSK_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KIOSK_LAST_GOOD_DIR", str(tmp_path / "lg"))
    monkeypatch.setattr(sys, "stdin", io.StringIO("court\n"))
    assert (
        main(["console-user", "karim", "--role", "staff", "--password-stdin", "--config-dir", str(REPO / "config")])
        == 2
    )
    store = open_store(tmp_path / "data" / "kiosk.db", Role.AGENT)
    try:
        assert store.conn.execute("SELECT COUNT(*) FROM console_accounts").fetchone()[0] == 0
    finally:
        store.close()


def test_building_the_cli_does_not_import_fastapi() -> None:
    code = (
        "import sys; import kiosk.cli as c; c.build_parser(); print('fastapi' in sys.modules, 'argon2' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert out.stdout.split() == ["False", "False"]


def test_a_certificate_without_its_key_is_a_configuration_problem() -> None:
    from pydantic import ValidationError

    from kiosk.core.settings import ConsoleSettings

    with pytest.raises(ValidationError, match="give both cert_file and key_file"):
        ConsoleSettings(cert_file=Path("/etc/kiosk/console.pem"))
    assert ConsoleSettings().listen_host == "127.0.0.1" and ConsoleSettings().listen_port == 8743
