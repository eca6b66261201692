"""The terminal's device health: one snapshot of every device, in words for staff and codes for logs.

The shell owns the devices: it probes them (every ``HEALTH_EVERY_S``, and at once when a USB
printer or scanner is plugged or unplugged), turns their statuses into a :class:`DeviceHealth`
with :func:`snapshot` and writes it into the database (:func:`write_health`, one row of
``agent_status``). The agent reads it back (:func:`read_health`) for the console's "Appareils"
page and the heartbeat it sends to the federation. Nothing else crosses: no queue names or
models reach the heartbeat, only each device's coarse state and a code of the closed vocabulary.

Each device has one state (``ok``, ``warning``, ``error``, ``absent``), one stable English
code (``paper_out``, ``toner_low``… from :class:`DeviceFailure`/:class:`DeviceWarning`, or
``ok``) for logs and statistics, and its French words for staff ("papier bas"). A printer's
markers (IPP ``marker-levels``) at or under ``MARKER_LOW_PERCENT`` give "toner bas" even when the
printer itself does not say ``toner-low``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from kiosk.core.devices import DeviceFailure, DeviceStatus, DeviceWarning, Marker, PrinterStatus
from kiosk.core.mediation.presence import read_status, try_set
from kiosk.core.mediation.storage import from_ms, to_ms
from kiosk.core.store import Store

log = logging.getLogger(__name__)

Health = Literal["ok", "warning", "error", "absent"]
DeviceName = Literal["printer", "ticket_printer", "scanner", "touchscreen"]
DEVICES: tuple[DeviceName, ...] = ("printer", "ticket_printer", "scanner", "touchscreen")

HEALTH_EVERY_S = 60
"""The shell probes its devices this often (and at once on a USB plug or unplug)."""
HEALTH_STALE_S = 300
"""A snapshot older than this is not trusted: the shell is down, the states are unknown."""
MARKER_LOW_PERCENT = 15
"""A toner or ink at or under this level is "toner bas" (CUPS drivers report in percent)."""

LABELS: dict[DeviceName, str] = {
    "printer": "Imprimante",
    "ticket_printer": "Imprimante à tickets",
    "scanner": "Scanner",
    "touchscreen": "Écran tactile",
}

# French words for staff, per code (the code itself is what logs and statistics keep).
FAILURE_WORDS: dict[DeviceFailure, str] = {
    DeviceFailure.ABSENT: "aucun appareil trouvé",
    DeviceFailure.OFFLINE: "ne répond pas (éteint, câble, réseau ?)",
    DeviceFailure.STOPPED: "mis en pause",
    DeviceFailure.REFUSED: "refuse les travaux",
    DeviceFailure.BUSY: "occupé",
    DeviceFailure.PAPER_OUT: "plus de papier",
    DeviceFailure.JAM: "bourrage papier",
    DeviceFailure.TONER_OUT: "plus d'encre ou de toner",
    DeviceFailure.DOOR_OPEN: "une porte ou un capot est ouvert",
    DeviceFailure.OUTPUT_FULL: "le bac de sortie est plein",
    DeviceFailure.NO_DOCUMENT: "document introuvable",
    DeviceFailure.BAD_DOCUMENT: "document illisible",
    DeviceFailure.TOO_LARGE: "document trop gros",
    DeviceFailure.TIMED_OUT: "ne répond pas à temps",
    DeviceFailure.UNKNOWN: "erreur inconnue",
}
WARNING_WORDS: dict[DeviceWarning, str] = {
    DeviceWarning.PAPER_LOW: "papier bas",
    DeviceWarning.TONER_LOW: "toner bas",
}
WORDS: dict[str, str] = {"ok": "en ordre"} | {
    code.value: words for code, words in (FAILURE_WORDS | WARNING_WORDS).items()
}
UNKNOWN_WORDS = "état inconnu (la borne n'a rien relevé récemment)"

_KEY = "device_health"  # its row in agent_status
_FAILURE_CODES = frozenset(failure.value for failure in DeviceFailure)


@dataclass(frozen=True)
class DeviceReport:
    """One device in the snapshot."""

    state: Health
    code: str  # "ok", or a DeviceFailure / DeviceWarning value
    markers: tuple[Marker, ...] = ()

    @property
    def words(self) -> str:
        return WORDS.get(self.code, self.code)


@dataclass(frozen=True)
class DeviceHealth:
    """Every device at one moment (``at``, UTC-aware)."""

    at: datetime
    devices: Mapping[DeviceName, DeviceReport] = field(default_factory=dict)

    def get(self, name: DeviceName) -> DeviceReport:
        return self.devices.get(name, DeviceReport("absent", DeviceFailure.ABSENT.value))

    def errors(self) -> dict[DeviceName, DeviceFailure]:
        """The devices that cannot work, with why (what statistics count as device problems)."""
        return {
            name: DeviceFailure(report.code)
            for name, report in self.devices.items()
            if report.state == "error" and report.code in _FAILURE_CODES
        }

    def to_json(self) -> str:
        return json.dumps(
            {
                "at": to_ms(self.at),
                "devices": {
                    name: {
                        "state": report.state,
                        "code": report.code,
                        "markers": [[m.name, m.kind, m.level] for m in report.markers],
                    }
                    for name, report in self.devices.items()
                },
            }
        )

    @classmethod
    def from_json(cls, text: str) -> DeviceHealth:
        """Raises ``ValueError`` on anything but what :meth:`to_json` wrote."""
        try:
            data = json.loads(text)
            at = from_ms(int(data["at"]))
            devices: dict[DeviceName, DeviceReport] = {}
            for name, item in data["devices"].items():
                if name not in DEVICES or item["state"] not in ("ok", "warning", "error", "absent"):
                    raise ValueError(f"unknown device or state: {name!r}")
                markers = tuple(Marker(str(n), str(k), None if v is None else int(v)) for n, k, v in item["markers"])
                devices[name] = DeviceReport(item["state"], str(item["code"]), markers)
        except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as error:
            raise ValueError(f"not a device health snapshot: {error}") from None
        assert at is not None
        return cls(at, devices)


def low_markers(markers: tuple[Marker, ...], low: int = MARKER_LOW_PERCENT) -> list[Marker]:
    """The consumables running out (a waste container filling up, ``waste-toner``, is not one)."""
    return [m for m in markers if m.level is not None and m.level <= low and "waste" not in m.kind]


def report(status: DeviceStatus) -> DeviceReport:
    """A device's status → its line in the snapshot (a printer's markers may add "toner bas")."""
    markers = status.markers if isinstance(status, PrinterStatus) else ()
    if low_markers(markers) and DeviceWarning.TONER_LOW not in status.warnings:
        status = replace(status, warnings=status.warnings | {DeviceWarning.TONER_LOW})
    state, code = status.health
    if state == "absent":
        return DeviceReport("absent", DeviceFailure.ABSENT.value)
    return DeviceReport(state, code.value if code is not None else "ok", markers)


def snapshot(probes: Mapping[DeviceName, Callable[[], DeviceStatus]], at: datetime) -> DeviceHealth:
    """Probe each device (slow: off the GUI thread). A probe that raises counts as ``unknown``:
    the ports promise ``status()`` never raises, so that is a bug worth seeing on the page."""
    devices: dict[DeviceName, DeviceReport] = {}
    for name, probe in probes.items():
        try:
            devices[name] = report(probe())
        except Exception:  # one broken adapter must not hide the others' health
            log.exception("devices.probe_failed", extra={"device": name})
            devices[name] = DeviceReport("error", DeviceFailure.UNKNOWN.value)
    return DeviceHealth(at, devices)


def new_errors(before: DeviceHealth | None, after: DeviceHealth) -> list[tuple[DeviceName, DeviceFailure]]:
    """The problems ``after`` shows that ``before`` did not: each counted once in statistics,
    when it starts, not at every probe while it lasts."""
    old = before.errors() if before is not None else {}
    return [(name, code) for name, code in after.errors().items() if old.get(name) is not code]


# -- in the database --------------------------------------------------------------------------


def write_health(store: Store, health: DeviceHealth) -> bool:
    """Keep the snapshot: one try, never a wait (the shell's GUI thread calls it); whether written
    (locked right now: the next probe writes it)."""
    return try_set(store, _KEY, health.to_json(), health.at)


def read_health(store: Store, now: datetime, stale_after_s: float = HEALTH_STALE_S) -> DeviceHealth | None:
    """The shell's last snapshot, or ``None`` when there is none or it is older than
    ``stale_after_s`` (the shell is down: nobody knows the devices' states)."""
    row = read_status(store, _KEY)
    if row is None:
        return None
    try:
        health = DeviceHealth.from_json(row[0])
    except ValueError:
        return None
    if now - health.at > timedelta(seconds=stale_after_s):
        return None
    return health


def heartbeat_states(health: DeviceHealth | None) -> dict[str, dict[str, Any]]:
    """What the heartbeat says of each device it carries: a state and a code, nothing else.
    Without a fresh snapshot every device is sent as ``absent`` (what older terminals send)."""
    states: dict[str, dict[str, Any]] = {}
    carried: tuple[DeviceName, ...] = ("printer", "scanner", "ticket_printer")
    for name in carried:
        item = health.get(name) if health is not None else None
        if item is None or item.state == "absent":
            states[name] = {"state": "absent", "code": None}
        else:
            states[name] = {"state": item.state, "code": None if item.code == "ok" else item.code}
    return states
