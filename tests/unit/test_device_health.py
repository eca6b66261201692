"""Device health: statuses → one snapshot with French words and stable codes, marker levels, the
problems counted once, the row in the database and what the heartbeat may say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from kiosk.core.device_health import (
    FAILURE_WORDS,
    MARKER_LOW_PERCENT,
    DeviceHealth,
    DeviceReport,
    heartbeat_states,
    new_errors,
    read_health,
    report,
    snapshot,
    write_health,
)
from kiosk.core.devices import DeviceFailure, DeviceState, DeviceStatus, DeviceWarning, Marker, PrinterStatus
from kiosk.core.store import Role, open_store
from kiosk.devices.cups import printer_status
from sync.protocol import DeviceStatus as WireStatus

pytestmark = pytest.mark.devices
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def cups(reasons: list[str], levels: list[int], types: list[str] | None = None, state: int = 3) -> PrinterStatus:
    """A CUPS queue's attributes as pycups's getPrinterAttributes gives them."""
    names = [f"Marker {n}" for n in range(len(levels))]
    return printer_status(
        "Accueil",
        {
            "printer-state": state,
            "printer-state-reasons": reasons,
            "marker-names": names,
            "marker-types": types or ["toner"] * len(levels),
            "marker-levels": levels,
        },
    )


def test_marker_levels_at_or_under_the_threshold_say_toner_low() -> None:
    full = report(cups(["none"], [80, 60]))
    assert (full.state, full.code, full.words) == ("ok", "ok", "en ordre")
    assert [m.level for m in full.markers] == [80, 60]
    low = report(cups(["none"], [80, MARKER_LOW_PERCENT]))
    assert (low.state, low.code, low.words) == ("warning", "toner_low", "toner bas")
    # A waste-toner box nearly full is not a toner running out; an unknown level (-1, -2) is not low.
    assert report(cups(["none"], [5], ["waste-toner"])).code == "ok"
    unknown = report(cups(["none"], [-2]))
    assert unknown.code == "ok" and unknown.markers[0].level is None


def test_state_reasons_give_paper_low_and_errors_win_over_warnings() -> None:
    assert report(cups(["media-low-report"], [90])).words == "papier bas"
    assert report(cups(["media-low-report"], [90])).code == "paper_low"
    empty = report(cups(["media-empty-error"], [5], state=5))
    assert (empty.state, empty.code, empty.words) == ("error", "paper_out", "plus de papier")
    offline = report(cups(["offline-report"], []))
    assert (offline.state, offline.code) == ("error", "offline")
    assert offline.words == FAILURE_WORDS[DeviceFailure.OFFLINE]


def test_other_devices_and_a_probe_that_raises() -> None:
    def broken() -> DeviceStatus:
        raise RuntimeError("adapter bug")

    health = snapshot(
        {
            "ticket_printer": lambda: DeviceStatus(DeviceState.READY, warnings=frozenset({DeviceWarning.PAPER_LOW})),
            "scanner": lambda: DeviceStatus(DeviceState.ABSENT, frozenset({DeviceFailure.ABSENT})),
            "touchscreen": lambda: DeviceStatus(DeviceState.READY, message="ILITEK Multi-Touch"),
            "printer": broken,
        },
        NOW,
    )
    assert health.get("ticket_printer") == DeviceReport("warning", "paper_low")
    assert health.get("scanner") == DeviceReport("absent", "absent")
    assert health.get("touchscreen") == DeviceReport("ok", "ok")
    assert health.get("printer") == DeviceReport("error", "unknown")
    assert health.errors() == {"printer": DeviceFailure.UNKNOWN}


def test_a_problem_is_new_once_when_it_starts() -> None:
    ok = DeviceHealth(NOW, {"printer": DeviceReport("ok", "ok")})
    out = DeviceHealth(NOW, {"printer": DeviceReport("error", "paper_out")})
    jam = DeviceHealth(NOW, {"printer": DeviceReport("error", "jam")})
    assert new_errors(None, out) == [("printer", DeviceFailure.PAPER_OUT)]
    assert new_errors(ok, out) == [("printer", DeviceFailure.PAPER_OUT)]
    assert new_errors(out, out) == []  # still out of paper: not counted at every probe
    assert new_errors(out, jam) == [("printer", DeviceFailure.JAM)]
    assert new_errors(out, ok) == []
    # Absent is no problem to count (a terminal without a scanner), nor a warning.
    absent = DeviceHealth(
        NOW, {"scanner": DeviceReport("absent", "absent"), "printer": DeviceReport("warning", "toner_low")}
    )
    assert new_errors(ok, absent) == []


def test_the_snapshot_round_trips_through_the_database_and_goes_stale(tmp_path: Path) -> None:
    store = open_store(tmp_path / "kiosk.db", Role.SHELL)
    try:
        assert read_health(store, NOW) is None  # never written: unknown
        markers = (Marker("Black Toner", "toner", 8), Marker("Waste", "waste-toner", None))
        health = DeviceHealth(NOW, {"printer": DeviceReport("warning", "toner_low", markers)})
        assert write_health(store, health)
        assert read_health(store, NOW + timedelta(minutes=4)) == health
        assert read_health(store, NOW + timedelta(minutes=6)) is None  # the shell stopped writing
        store.conn.execute("UPDATE agent_status SET value = '{\"at\": 1}' WHERE key = 'device_health'")
        assert read_health(store, NOW) is None  # damaged: unknown, never an exception
    finally:
        store.close()


def test_the_snapshot_refuses_what_it_did_not_write() -> None:
    texts = (
        "",
        "[]",
        '{"at": 0, "devices": []}',
        '{"at": 0, "devices": {"printer": {"state": "on fire", "code": "x", "markers": []}}}',
        '{"at": 0, "devices": {"coffee_machine": {"state": "ok", "code": "ok", "markers": []}}}',
        '{"at": 0, "devices": {"printer": {"state": "ok", "code": "ok", "markers": [["a", "toner"]]}}}',
    )
    for text in texts:
        with pytest.raises(ValueError):
            DeviceHealth.from_json(text)


def test_the_heartbeat_gets_coarse_states_only() -> None:
    health = DeviceHealth(
        NOW,
        {
            "printer": DeviceReport("warning", "toner_low", (Marker("HP 305A Black", "toner", 3),)),
            "ticket_printer": DeviceReport("error", "paper_out"),
            "scanner": DeviceReport("ok", "ok"),
            "touchscreen": DeviceReport("ok", "ok"),
        },
    )
    states = heartbeat_states(health)
    assert states == {
        "printer": {"state": "warning", "code": "toner_low"},
        "scanner": {"state": "ok", "code": None},
        "ticket_printer": {"state": "error", "code": "paper_out"},
    }
    for value in states.values():
        WireStatus.model_validate(value)  # the wire format takes each as it is
    assert heartbeat_states(None) == {name: {"state": "absent", "code": None} for name in states}
