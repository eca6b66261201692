"""The terminal's side of the sync: drain the outbox, send heartbeats, pull the catalogue.

Knows HTTP and the wire format, nothing of the terminal's database: the agent hands it an
:class:`Outbox`. Every request has connect and read timeouts. Failures never raise out of
:meth:`SyncClient.drain`; they become a :class:`DrainResult` saying what happened and when to
try again:

* 200/201 — stored (or already stored: a retry of a batch that had arrived);
* 409 — the server holds a different batch under this id: quarantined and reported;
* 413/422 — the server will never take it: quarantined with the server's reason;
* 401/403 — the token is refused: stop, report, try again in an hour;
* 429/503 — honour ``Retry-After``; other errors and timeouts — exponential backoff with
  jitter, capped at one hour. Either way the drain stops: the server is busy or away.
"""

from __future__ import annotations

import email.utils
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import requests

from sync.protocol import Catalogue, Enrolment, EnrolmentAnswer, Heartbeat

log = logging.getLogger(__name__)

TIMEOUTS = (5.0, 20.0)  # connect, read
BACKOFF_BASE_S = 30.0
BACKOFF_CAP_S = 3600.0
AUTH_RETRY_S = 3600.0
DRAIN_LIMIT = 50


@dataclass(frozen=True)
class OutboxItem:
    batch_id: str
    payload: str  # JSON of a DailyBatch
    attempts: int


class Outbox(Protocol):
    def due(self, now_ms: int, limit: int) -> list[OutboxItem]: ...

    def sent(self, batch_id: str, already: bool) -> None: ...

    def retry_later(self, batch_id: str, error: str, at_ms: int) -> None: ...

    def quarantine(self, batch_id: str, reason: str) -> None: ...


@dataclass
class DrainResult:
    sent: int = 0
    already: int = 0
    quarantined: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the drain stopped early: "auth", "busy", "error"
    retry_at_ms: int | None = None


def backoff_s(attempts: int, rng: random.Random) -> float:
    """Exponential backoff with jitter: 30 s, 60 s, 120 s … capped at one hour, each × [0.5, 1]."""
    growth = float(2 ** min(attempts, 20))
    return min(BACKOFF_CAP_S, BACKOFF_BASE_S * growth) * rng.uniform(0.5, 1.0)


def retry_after_s(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds (a number of seconds or an HTTP date), capped at one hour."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(BACKOFF_CAP_S, float(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, min(BACKOFF_CAP_S, (when - now).total_seconds()))


class SyncError(Exception):
    """A request that could not be made or was refused; the message is for the technician."""


class EnrolmentRefused(SyncError):
    """The server answered, and refused the enrolment code (unknown, used, expired)."""


class SyncClient:
    def __init__(
        self,
        server: str,
        token: str | None,
        *,
        session: requests.Session | None = None,
        rng: random.Random | None = None,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        timeouts: tuple[float, float] = TIMEOUTS,
    ) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.http = session or requests.Session()
        self.rng = rng or random.Random()
        self.wall = wall
        self.timeouts = timeouts

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json", "User-Agent": "borne-agent"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        headers["X-Borne-Device-Clock"] = self.wall().isoformat()
        return headers

    # -- batches -----------------------------------------------------------------------------
    def drain(self, outbox: Outbox, limit: int = DRAIN_LIMIT) -> DrainResult:
        """Send due batches, oldest first, until done, ``limit`` reached, or the server says stop."""
        result = DrainResult()
        now_ms = int(self.wall().timestamp() * 1000)
        for item in outbox.due(now_ms, limit):
            try:
                answer = self.http.post(
                    f"{self.server}/api/v1/batches",
                    data=item.payload.encode("utf-8"),
                    headers=self._headers(),
                    timeout=self.timeouts,
                )
            except requests.RequestException as error:
                self._later(outbox, item, f"network: {type(error).__name__}", result, "error")
                break
            status = answer.status_code
            if status in (200, 201):
                already = _json(answer).get("status") == "already_stored"
                outbox.sent(item.batch_id, already)
                result.already += already
                result.sent += not already
            elif status == 409:
                reason = "the server holds a different batch with this id"
                outbox.quarantine(item.batch_id, reason)
                result.quarantined.append(item.batch_id)
                log.error("sync.batch_quarantined", extra={"batch": item.batch_id, "status": status})
            elif status in (413, 422):
                outbox.quarantine(item.batch_id, f"{status}: {_detail(answer)}"[:500])
                result.quarantined.append(item.batch_id)
                log.error("sync.batch_quarantined", extra={"batch": item.batch_id, "status": status})
            elif status in (401, 403):
                at = now_ms + int(AUTH_RETRY_S * 1000)
                outbox.retry_later(item.batch_id, f"{status}: {_detail(answer)}"[:500], at)
                result.stopped, result.retry_at_ms = "auth", at
                log.error("sync.token_refused", extra={"status": status, "detail": _detail(answer)})
                break
            elif status in (429, 503) and (wait := retry_after_s(answer.headers.get("Retry-After"), self.wall())):
                at = now_ms + int(wait * 1000)
                outbox.retry_later(item.batch_id, f"{status}: retry after {wait:.0f} s", at)
                result.stopped, result.retry_at_ms = "busy", at
                break
            else:
                self._later(
                    outbox,
                    item,
                    f"{status}: {_detail(answer)}"[:500],
                    result,
                    "busy" if status in (429, 503) else "error",
                )
                break
        if result.sent or result.quarantined or result.stopped:
            log.info(
                "sync.drained",
                extra={
                    "sent": result.sent,
                    "already": result.already,
                    "quarantined": len(result.quarantined),
                    "stopped": result.stopped or "",
                },
            )
        return result

    def _later(self, outbox: Outbox, item: OutboxItem, error: str, result: DrainResult, why: str) -> None:
        now_ms = int(self.wall().timestamp() * 1000)
        at = now_ms + int(backoff_s(item.attempts, self.rng) * 1000)
        outbox.retry_later(item.batch_id, error, at)
        result.stopped, result.retry_at_ms = why, at
        log.warning("sync.retry_later", extra={"batch": item.batch_id, "error": error, "in_s": (at - now_ms) // 1000})

    # -- heartbeat and catalogue -------------------------------------------------------------
    def heartbeat(self, beat: Heartbeat) -> bool:
        """Send the terminal's health; ``True`` if the server took it."""
        try:
            answer = self.http.post(
                f"{self.server}/api/v1/heartbeats",
                data=beat.model_dump_json().encode("utf-8"),
                headers=self._headers(),
                timeout=self.timeouts,
            )
        except requests.RequestException as error:
            log.warning("sync.heartbeat_failed", extra={"error": type(error).__name__})
            return False
        if answer.status_code != 200:
            log.warning("sync.heartbeat_refused", extra={"status": answer.status_code, "detail": _detail(answer)})
        return answer.status_code == 200

    def catalogue(self, etag: str | None) -> tuple[Catalogue | None, str | None]:
        """The national catalogue if it changed since ``etag``: ``(catalogue or None, etag)``.

        Raises :class:`SyncError` when it cannot be fetched or is invalid (keep the last good one).
        """
        headers = self._headers()
        if etag:
            headers["If-None-Match"] = etag
        try:
            answer = self.http.get(f"{self.server}/api/v1/catalogue", headers=headers, timeout=self.timeouts)
        except requests.RequestException as error:
            raise SyncError(f"catalogue: network: {type(error).__name__}") from error
        if answer.status_code == 304:
            return None, etag
        if answer.status_code != 200:
            raise SyncError(f"catalogue: {answer.status_code}: {_detail(answer)}")
        try:
            catalogue = Catalogue.model_validate_json(answer.content)
        except ValueError as error:
            raise SyncError(f"catalogue: invalid: {error}") from error
        return catalogue, answer.headers.get("ETag")

    def enrol(self, code: str, software_version: str) -> EnrolmentAnswer:
        """Exchange a one-time code for this terminal's token."""
        body = Enrolment(code=code.strip().upper(), software_version=software_version)
        try:
            answer = self.http.post(
                f"{self.server}/api/v1/enrol",
                data=body.model_dump_json().encode("utf-8"),
                headers={"Content-Type": "application/json", "User-Agent": "borne-agent"},
                timeout=self.timeouts,
            )
        except requests.RequestException as error:
            raise SyncError(f"cannot reach {self.server}: {error}") from error
        if answer.status_code != 200:
            raise EnrolmentRefused(f"the server refused the code ({answer.status_code}: {_detail(answer)})")
        return EnrolmentAnswer.model_validate_json(answer.content)


def _json(answer: requests.Response) -> dict[str, object]:
    try:
        data = answer.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _detail(answer: requests.Response) -> str:
    detail = _json(answer).get("detail")
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list) and detail:
        first = detail[0]
        if isinstance(first, dict):
            return f"{'.'.join(str(x) for x in first.get('loc', []))}: {first.get('msg', '')}"
    return answer.reason or str(answer.status_code)
