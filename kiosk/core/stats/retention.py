"""Retention: raw events go once counted and old enough; aggregates go after many months."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from kiosk.core.stats.aggregate import local_day
from kiosk.core.store import Store

log = logging.getLogger(__name__)

DEFAULT_EVENT_DAYS = 7
DEFAULT_AGGREGATE_MONTHS = 25


@dataclass(frozen=True)
class Purged:
    events: int
    aggregates: int


def months_before(day: date, months: int) -> date:
    """The same day ``months`` earlier (the last day of that month if it is shorter)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for candidate in range(day.day, 27, -1):
        try:
            return date(year, month, candidate)
        except ValueError:
            continue
    return date(year, month, min(day.day, 28))


def purge(
    store: Store,
    now_ms: int,
    zone: ZoneInfo,
    keep_event_days: int = DEFAULT_EVENT_DAYS,
    keep_aggregate_months: int = DEFAULT_AGGREGATE_MONTHS,
) -> Purged:
    """Delete counted events older than ``keep_event_days`` and aggregates older than
    ``keep_aggregate_months``. Events not yet counted are never deleted, whatever their age."""
    today = local_day(now_ms, zone)
    event_limit_ms = now_ms - keep_event_days * 86_400_000
    oldest_kept = months_before(today, keep_aggregate_months)
    with store.transaction() as conn:
        events = conn.execute(
            "DELETE FROM events WHERE agg_day IS NOT NULL AND (ts_ms IS NULL OR ts_ms < ?) AND agg_day < ?",
            (event_limit_ms, (today - timedelta(days=keep_event_days)).isoformat()),
        ).rowcount
        aggregates = conn.execute("DELETE FROM daily_aggregates WHERE day < ?", (oldest_kept.isoformat(),)).rowcount
    if events or aggregates:
        log.info("stats.purged", extra={"events": events, "aggregates": aggregates})
    return Purged(int(events), int(aggregates))
