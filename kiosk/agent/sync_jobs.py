"""The agent's sync jobs: closed days into the outbox, the outbox to the server, heartbeats.

The enrolment (server, device id, token) is kept in ``data_dir``: ``sync.json`` and
``sync-token``, both readable only by the agent's user (mode 0600).
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kiosk.core.catalogue import save_catalogue, saved_etag
from kiosk.core.device_health import heartbeat_states, read_health
from kiosk.core.setup import server_url as server_url  # kiosk enroll's rule, with the setup's
from kiosk.core.setup import write_private
from kiosk.core.stats.aggregate import DayAggregate
from kiosk.core.stats.outgoing import day_figures
from kiosk.core.stats.suppression import terminal_secret
from kiosk.core.store import Store
from sync.client import DrainResult, OutboxItem, SyncClient, SyncError
from sync.protocol import DailyBatch, DeviceStatus, Heartbeat

log = logging.getLogger(__name__)

SYNC_FILE = "sync.json"
TOKEN_FILE = "sync-token"


@dataclass(frozen=True)
class Enrolled:
    server: str
    device_id: str
    token: str
    centre_name: str


def save_enrolment(data_dir: Path, enrolled: Enrolled) -> None:
    """``sync-token`` and ``sync.json``, both 0600: only the agent reads them (the shell never
    talks to the server), and the server's address and centre are nobody else's business."""
    data_dir.mkdir(parents=True, exist_ok=True)
    write_private(data_dir / TOKEN_FILE, enrolled.token + "\n")
    info = {"server": enrolled.server, "device_id": enrolled.device_id, "centre_name": enrolled.centre_name}
    write_private(data_dir / SYNC_FILE, json.dumps(info, ensure_ascii=False, indent=2) + "\n")


def load_enrolment(data_dir: Path) -> Enrolled | None:
    try:
        info = json.loads((data_dir / SYNC_FILE).read_text(encoding="utf-8"))
        token = (data_dir / TOKEN_FILE).read_text(encoding="ascii").strip()
        return Enrolled(str(info["server"]), str(info["device_id"]), token, str(info.get("centre_name", "")))
    except (OSError, ValueError, KeyError):
        return None


# -- batches ---------------------------------------------------------------------------------


def fill_outbox(store: Store, device_id: str, k: int) -> int:
    """Put every sealed day that has no batch yet into the outbox. Returns how many were added."""
    secret = terminal_secret(store)
    rows = store.conn.execute(
        "SELECT a.day, a.data FROM daily_aggregates a LEFT JOIN outbox o ON o.day = a.day WHERE o.day IS NULL"
        " ORDER BY a.day"
    ).fetchall()
    added = 0
    for day_text, data in rows:
        aggregate = DayAggregate.model_validate_json(data)
        batch = DailyBatch(
            batch_id=DailyBatch.make_id(device_id, aggregate.day),
            device_id=device_id,
            day=aggregate.day,
            figures=day_figures(aggregate, k, secret),
        )
        with store.transaction() as conn:
            added += conn.execute(
                "INSERT OR IGNORE INTO outbox (batch_id, day, payload, payload_hash, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    batch.batch_id,
                    day_text,
                    batch.model_dump_json(),
                    batch.payload_hash(),
                    datetime.now(UTC).isoformat(timespec="seconds"),
                ),
            ).rowcount
    return added


class StoreOutbox:
    """The outbox table as :class:`sync.client.Outbox`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def due(self, now_ms: int, limit: int) -> list[OutboxItem]:
        """Pending batches in the order of their days, up to the first that must still wait.

        Batches go in order: when the oldest waits (the network is down, the server busy or the
        token refused), the ones after it wait too, so the backoff of that one batch is the
        terminal's. Without this, each of a month of batches had its own backoff and, together,
        they tried the server at every drain."""
        rows = self.store.conn.execute(
            "SELECT batch_id, payload, attempts, next_attempt_ms FROM outbox WHERE state = 'pending'"
            " ORDER BY day LIMIT ?",
            (limit,),
        ).fetchall()
        due = []
        for batch_id, payload, attempts, next_attempt_ms in rows:
            if next_attempt_ms > now_ms:
                break
            due.append(OutboxItem(batch_id, payload, attempts))
        return due

    def sent(self, batch_id: str, already: bool) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET state = 'sent', sent_at = ?, last_error = ? WHERE batch_id = ?",
                (datetime.now(UTC).isoformat(timespec="seconds"), "already stored" if already else None, batch_id),
            )

    def retry_later(self, batch_id: str, error: str, at_ms: int) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?, last_error = ? WHERE batch_id = ?",
                (at_ms, error, batch_id),
            )

    def quarantine(self, batch_id: str, reason: str) -> None:
        with self.store.transaction() as conn:
            conn.execute(
                "UPDATE outbox SET state = 'quarantined', last_error = ? WHERE batch_id = ?", (reason, batch_id)
            )

    def counts(self) -> dict[str, int]:
        return dict(self.store.conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())


class SyncJobs:
    """What the agent's scheduler runs for the sync (nothing until the terminal is enrolled)."""

    def __init__(self, store: Store, data_dir: Path, k: int, client: SyncClient | None = None) -> None:
        self.store = store
        self.data_dir = data_dir
        self.k = k
        self._client = client
        self.started = time.monotonic()
        self.last_sync: datetime | None = None

    def _enrolled(self) -> tuple[Enrolled, SyncClient] | None:
        enrolled = load_enrolment(self.data_dir)
        if enrolled is None:
            return None
        client = self._client or SyncClient(enrolled.server, enrolled.token)
        return enrolled, client

    def sync(self) -> DrainResult | None:
        found = self._enrolled()
        if found is None:
            return None
        enrolled, client = found
        try:
            fill_outbox(self.store, enrolled.device_id, self.k)
            result = client.drain(StoreOutbox(self.store))
        except Exception:
            log.exception("agent.sync_failed")
            return None
        if result.stopped is None:
            self.last_sync = datetime.now(UTC)
        return result

    def catalogue(self) -> bool:
        """Pull the national catalogue if it changed; ``True`` if a new one was saved.

        The shell merges it at its next start (see kiosk.core.catalogue)."""
        found = self._enrolled()
        if found is None:
            return False
        _, client = found
        try:
            catalogue, etag = client.catalogue(saved_etag(self.data_dir))
        except SyncError as error:
            log.warning("agent.catalogue_not_pulled", extra={"error": str(error)})
            return False
        if catalogue is None:
            return False
        save_catalogue(self.data_dir, catalogue.model_dump(mode="json"), etag)
        log.info("agent.catalogue_saved", extra={"version": catalogue.version, "tiles": len(catalogue.tiles)})
        return True

    def heartbeat(self, software_version: str) -> bool:
        found = self._enrolled()
        if found is None:
            return False
        enrolled, client = found
        try:
            disk = shutil.disk_usage(self.data_dir)
            states = heartbeat_states(read_health(self.store, datetime.now(UTC)))  # written by the shell
            beat = Heartbeat(
                device_id=enrolled.device_id,
                software_version=software_version,
                uptime_s=int(time.monotonic() - self.started),
                last_sync_at=self.last_sync,
                printer=DeviceStatus.model_validate(states["printer"]),
                scanner=DeviceStatus.model_validate(states["scanner"]),
                ticket_printer=DeviceStatus.model_validate(states["ticket_printer"]),
                disk_free_mb=disk.free // (1024 * 1024),
                device_clock=datetime.now(UTC),
                outbox_waiting=StoreOutbox(self.store).counts().get("pending", 0),
            )
            return client.heartbeat(beat)
        except Exception:
            log.exception("agent.heartbeat_failed")
            return False
