"""The real ``kiosk agent`` in a process of its own, as on a terminal: its scheduler (the beat the
shell reads), the help website and the staff console over HTTPS with the certificate it makes at
its first start. For the console's tests, the end-to-end test and the mediator bench.

:func:`running_agent` makes the accounts with ``kiosk console-user``, starts the agent on a data
directory of its own, waits until the console listens, and stops it (SIGTERM, then killed) even
when what ran inside failed.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.core.store import DB_NAME

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


class AgentProblem(AssertionError):
    """The agent (or its account CLI) did not do what it should: the message has its output."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def agent_env(data: Path, last_good: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "KIOSK_DATA_DIR": str(data), "KIOSK_LAST_GOOD_DIR": str(last_good)}


def start_agent(config: Path, env: dict[str, str], console_port: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kiosk.cli",
            "agent",
            "--config-dir",
            str(config),
            "--port",
            "0",
            "--console-port",
            str(console_port),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPO,
    )


def wait_started(agent: subprocess.Popen[str]) -> tuple[dict[str, str], list[str]]:
    """The agent's ``agent.started`` line and the lines before it."""
    assert agent.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = agent.stdout.readline()
        if not line:
            break
        lines.append(line)
        if '"agent.started"' in line:
            return json.loads(line), lines
    agent.kill()
    raise AgentProblem("the agent did not start:\n" + "".join(lines)[-3000:])


def wait_listening(port: int) -> None:
    """The agent logs its start before uvicorn has bound the ports."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise AgentProblem(f"nothing listens on 127.0.0.1:{port}")


def stop(agent: subprocess.Popen[str]) -> int:
    agent.send_signal(signal.SIGTERM)
    try:
        return agent.wait(timeout=20)
    finally:
        if agent.poll() is None:
            agent.kill()
            agent.wait()


def create_account(config: Path, env: dict[str, str], name: str, role: str, password: str) -> str:
    """``kiosk console-user`` as an administrator runs it; returns what it printed."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "kiosk.cli",
            "console-user",
            name,
            "--role",
            role,
            "--password-stdin",
            "--config-dir",
            str(config),
        ],
        input=password + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    if done.returncode != 0:
        raise AgentProblem(f"kiosk console-user {name} failed: {done.stderr[-2000:]}")
    return done.stdout


@dataclass
class RunningAgent:
    console_url: str  # https://127.0.0.1:<port>, no trailing slash
    db_path: Path  # the database file the shell shares with it
    config_dir: Path
    log: list[str] = field(default_factory=list)  # its output so far (JSON lines)


@contextmanager
def running_agent(config: Path, root: Path, accounts: Sequence[tuple[str, str, str]] = ()) -> Iterator[RunningAgent]:
    """``kiosk agent`` on ``config`` with its data under ``root``; ``accounts``: (name, role,
    password) made first with the account CLI."""
    data = root / "data"
    env = agent_env(data, root / "last-good-config")
    for name, role, password in accounts:
        create_account(config, env, name, role, password)
    port = free_port()
    process = start_agent(config, env, port)
    try:
        started, lines = wait_started(process)
        agent = RunningAgent(str(started["console"]).rstrip("/"), data / DB_NAME, config, lines)
        # Read on, so that a talkative agent never blocks on a full pipe.
        threading.Thread(target=_drain, args=(process, agent.log), name="agent-output", daemon=True).start()
        wait_listening(port)
        yield agent
    finally:
        if process.poll() is None:
            stop(process)


@contextmanager
def staff_browser(size: tuple[int, int] = (1024, 768)) -> Iterator[Any]:
    """A page of headless Chromium (Debian's: Playwright's own download does not work here), at a
    desk tablet's size, closed at the end. It accepts the agent's self-signed certificate, as
    staff do once they have checked its fingerprint (requests, elsewhere, trusts that one alone)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            yield chromium.new_page(ignore_https_errors=True, viewport={"width": size[0], "height": size[1]})
        finally:
            chromium.close()


def log_in(page: Any, console_url: str, name: str, password: str) -> None:
    """Staff log in from the console's own login page and land on the calls."""
    if not page.url.endswith("/connexion"):
        page.goto(console_url + "/connexion")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/appels")


def _drain(process: subprocess.Popen[str], into: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        into.append(line)
