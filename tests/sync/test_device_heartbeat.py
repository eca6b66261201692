"""The heartbeat carries the device states the shell recorded, to the real federation server: coarse
states and codes only, the fleet page's problems from them, and "absent" when nothing is known."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from kiosk.agent.sync_jobs import Enrolled, SyncJobs, save_enrolment
from kiosk.core.device_health import DeviceHealth, DeviceReport, write_health
from kiosk.core.devices import Marker
from kiosk.core.store import Role, Store, open_store
from sync.server.dashboard import _terminal_row
from sync.server.models import Terminal
from tests.fedkit import Federation

pytestmark = [pytest.mark.sync, pytest.mark.devices]


@pytest.fixture
def agent(federation: Federation, tmp_path: Path) -> Iterator[tuple[SyncJobs, Store, str]]:
    data = tmp_path / "data"
    device, token = federation.terminal()
    save_enrolment(data, Enrolled(federation.url, device, token, "Test"))
    store = open_store(data / "kiosk.db", Role.AGENT)
    try:
        yield SyncJobs(store, data, 5), store, device
    finally:
        store.close()


def last_heartbeat(federation: Federation, device: str) -> tuple[dict[str, object], Terminal]:
    with federation.db.session() as session:
        terminal = session.scalars(select(Terminal).where(Terminal.device_id == device)).one()
        assert terminal.last_heartbeat is not None
        return json.loads(terminal.last_heartbeat), terminal


def test_the_heartbeat_carries_the_states_the_shell_recorded(federation: Federation, agent) -> None:  # type: ignore[no-untyped-def]
    jobs, store, device = agent
    toner = Marker("HP 305A Black Cartridge", "toner", 7)  # the model never leaves the terminal
    write_health(
        store,
        DeviceHealth(
            datetime.now(UTC),
            {
                "printer": DeviceReport("warning", "toner_low", (toner,)),
                "ticket_printer": DeviceReport("error", "paper_out"),
                "scanner": DeviceReport("ok", "ok"),
                "touchscreen": DeviceReport("absent", "absent"),
            },
        ),
    )
    assert jobs.heartbeat("1.2.3")
    beat, terminal = last_heartbeat(federation, device)
    assert beat["printer"] == {"state": "warning", "code": "toner_low"}
    assert beat["ticket_printer"] == {"state": "error", "code": "paper_out"}
    assert beat["scanner"] == {"state": "ok", "code": None}
    assert "HP 305A" not in terminal.last_heartbeat and "touchscreen" not in beat
    assert _terminal_row(terminal)["problems"] == ["imprimante : toner_low", "tickets : paper_out"]


def test_without_a_fresh_snapshot_every_device_is_sent_absent(federation: Federation, agent) -> None:  # type: ignore[no-untyped-def]
    jobs, store, device = agent
    assert jobs.heartbeat("1.2.3")  # the shell never wrote one
    beat, _ = last_heartbeat(federation, device)
    for name in ("printer", "scanner", "ticket_printer"):
        assert beat[name] == {"state": "absent", "code": None}
    old = datetime.now(UTC) - timedelta(minutes=10)  # the shell stopped ten minutes ago
    write_health(store, DeviceHealth(old, {"printer": DeviceReport("error", "jam")}))
    assert jobs.heartbeat("1.2.3")
    beat, terminal = last_heartbeat(federation, device)
    assert beat["printer"] == {"state": "absent", "code": None}
    assert _terminal_row(terminal)["problems"] == []
