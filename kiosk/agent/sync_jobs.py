"""The agent's sync jobs: closed days into the outbox, the outbox to the server, heartbeats.

The enrolment (server, device id, token) is kept in ``data_dir``: ``sync.json`` and
``sync-token``, the latter readable only by the agent's user (mode 0600).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from kiosk.core.catalogue import save_catalogue, saved_etag
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
    data_dir.mkdir(parents=True, exist_ok=True)
    token_path = data_dir / TOKEN_FILE
    tmp = token_path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(enrolled.token + "\n")
    os.replace(tmp, token_path)
    info = {"server": enrolled.server, "device_id": enrolled.device_id, "centre_name": enrolled.centre_name}
    (data_dir / SYNC_FILE).write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


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
        rows = self.store.conn.execute(
            "SELECT batch_id, payload, attempts FROM outbox WHERE state = 'pending' AND next_attempt_ms <= ?"
            " ORDER BY day LIMIT ?",
            (now_ms, limit),
        ).fetchall()
        return [OutboxItem(batch_id, payload, attempts) for batch_id, payload, attempts in rows]

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
            beat = Heartbeat(
                device_id=enrolled.device_id,
                software_version=software_version,
                uptime_s=int(time.monotonic() - self.started),
                last_sync_at=self.last_sync,
                printer=DeviceStatus(),
                disk_free_mb=disk.free // (1024 * 1024),
                device_clock=datetime.now(UTC),
                outbox_waiting=StoreOutbox(self.store).counts().get("pending", 0),
            )
            return client.heartbeat(beat)
        except Exception:
            log.exception("agent.heartbeat_failed")
            return False
