"""The notifications' ledger and the reminder rule, pure: a message meant once, a claim cut
short by a dead agent tried again only once it is stale, the pause growing, the day before
across a change of summer time."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.mediation.notices import (
    STALE,
    Backoff,
    DeliveryError,
    Ledger,
    NoticeChannel,
    NoticeKind,
    NoticeState,
)
from kiosk.core.mediation.reminders import due_at, key_start, reminder_key
from kiosk.core.ports import ManualClock
from kiosk.core.store import open_store

pytestmark = [pytest.mark.unit, pytest.mark.appointments]
PARIS = ZoneInfo("Europe/Paris")


def test_a_notice_is_meant_once_and_a_claim_cut_short_is_tried_again_when_stale(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = ManualClock()
    ledger = Ledger(open_store(None), clock)
    assert ledger.ensure("alert:1:webhook", NoticeKind.ALERT, NoticeChannel.WEBHOOK, "1")
    assert not ledger.ensure("alert:1:webhook", NoticeKind.ALERT, NoticeChannel.WEBHOOK, "1")
    (notice,) = ledger.due(NoticeKind.ALERT)
    assert ledger.due(NoticeKind.REMINDER) == []
    assert ledger.claim(notice)
    assert not ledger.claim(notice)  # read before the first claim: someone else has it
    # The agent dies here, between handing the message over and recording the answer.
    clock.advance(STALE.total_seconds() - 1)
    assert ledger.due(NoticeKind.ALERT) == []
    clock.advance(1)
    (cut_short,) = ledger.due(NoticeKind.ALERT)
    assert cut_short.state is NoticeState.SENDING and cut_short.attempts == 1
    with caplog.at_level(logging.WARNING):
        assert ledger.claim(cut_short)
    assert any(r.message == "notify.interrupted_retry" for r in caplog.records)
    ledger.sent(cut_short.key)
    sent = ledger.get(cut_short.key)
    assert sent is not None and (sent.state, sent.attempts) == (NoticeState.SENT, 2)
    assert ledger.due(NoticeKind.ALERT) == [] and not ledger.ensure(
        cut_short.key, NoticeKind.ALERT, NoticeChannel.WEBHOOK, "1"
    )


def test_failures_wait_longer_each_time_and_stop_at_the_limit_or_the_deadline() -> None:
    backoff = Backoff(first_s=120, cap_s=3600)
    assert [backoff.after(n).total_seconds() for n in (1, 2, 3, 6, 7, 20)] == [120, 240, 480, 3600, 3600, 3600]
    clock = ManualClock()
    ledger = Ledger(open_store(None), clock)
    ledger.ensure("k", NoticeKind.REMINDER, NoticeChannel.SMS, "ref")
    error = DeliveryError("the SMS gateway answered HTTP 503")
    (notice,) = ledger.due(NoticeKind.REMINDER)
    ledger.claim(notice)
    assert ledger.failed("k", error, max_attempts=3, backoff=backoff) is NoticeState.PENDING
    assert ledger.due(NoticeKind.REMINDER) == []
    clock.advance(120)
    (notice,) = ledger.due(NoticeKind.REMINDER)
    assert notice.last_error == "the SMS gateway answered HTTP 503"
    ledger.claim(notice)
    deadline = clock.now() + timedelta(minutes=3)  # the next try (4 min away) would be too late
    assert ledger.failed("k", error, max_attempts=3, backoff=backoff, give_up_at=deadline) is NoticeState.FAILED
    assert ledger.forget(timedelta(days=30)) == 0
    clock.advance(31 * 86400)
    assert ledger.forget(timedelta(days=30)) == 1 and ledger.get("k") is None


def test_the_day_before_across_the_change_to_summer_time() -> None:
    monday = datetime(2026, 3, 30, 7, 0, tzinfo=UTC)  # 9:00 in Paris, the day after the change
    assert due_at(monday, PARIS, time(10)) == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # 10:00 CEST
    key = reminder_key("abc", monday, NoticeChannel.EMAIL)
    assert key_start(key) == monday and key_start("alert:1:email") is None
