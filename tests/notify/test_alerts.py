"""The long-wait alert: staff told once per call, by a webhook (a real HTTP capture on
127.0.0.1) and by e-mail (aiosmtpd), when a mediator call has waited ``after_min`` minutes;
retried a bounded number of times, dropped once the call is taken, never duplicated; never
the resident's first name."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from kiosk.core.mediation.calls import CallQueue
from kiosk.core.store import Role
from sync.vocabulary import Category
from tests.notify.conftest import MONDAY, PARIS, Terminal
from tests.notifykit import HttpCapture, SmtpCapture

pytestmark = pytest.mark.mediator


def configure(terminal: Terminal, webhook: HttpCapture | None, smtp: SmtpCapture | None = None) -> None:
    settings: dict[str, object] = {
        "terminal_name": "Borne du hall",
        "reminders": {"enabled": False},
        "alert": {
            "after_min": 10,
            "max_attempts": 3,
            "webhook_timeout_s": 1,
            "webhook_url": webhook.url + "/hooks/borne" if webhook else "",
            "email_to": ["accueil@centre-exemple.fr", "direction@centre-exemple.fr"] if smtp else [],
        },
    }
    if smtp is not None:
        settings["smtp"] = {
            "host": "127.0.0.1", "port": smtp.port, "security": "none", "timeout_s": 1,
            "from_address": "Borne <borne@centre-exemple.fr>",
        }  # fmt: skip
    terminal.configure(**settings)


def queue(terminal: Terminal) -> CallQueue:
    return CallQueue(terminal.store(Role.SHELL), terminal.settings.mediator, PARIS, terminal.clock)


def test_one_alert_per_call_by_webhook_and_email_after_the_wait(
    terminal: Terminal, http_capture: HttpCapture, smtp_capture: SmtpCapture
) -> None:
    configure(terminal, http_capture, smtp_capture)
    calls = queue(terminal)
    call = calls.open(Category.LOGEMENT, first_name="Awa")
    calls.open(None)  # "je ne sais pas", two minutes later
    terminal.clock.advance(9 * 60 + 59)
    jobs = terminal.jobs()
    assert jobs.alerts().sent == 0 and not http_capture.seen and not smtp_capture.messages
    terminal.clock.advance(61)
    assert jobs.alerts().sent == 4  # two calls, two channels
    first = next(r.json() for r in http_capture.delivered if r.json()["number"] == call.number)
    assert first == {
        "event": "mediator_call_waiting", "number": 1, "category": "logement", "category_label": "Logement",
        "minutes": 11, "terminal": "Borne du hall",
    }  # fmt: skip
    other = next(r.json() for r in http_capture.delivered if r.json()["number"] == 2)
    assert other["category"] is None and other["category_label"] == "Je ne sais pas"
    assert all(r.headers["Content-Type"] == "application/json" for r in http_capture.delivered)
    mail = next(m for m in smtp_capture.messages if "n° 1 " in m["Subject"])
    assert mail["To"] == "accueil@centre-exemple.fr, direction@centre-exemple.fr"
    assert mail["Subject"] == "Borne : le n° 1 attend un médiateur depuis 11 minutes"
    assert "Logement" in mail.get_content() and "Borne du hall" in mail.get_content()
    assert sorted(smtp_capture.envelopes[0][1]) == ["accueil@centre-exemple.fr", "direction@centre-exemple.fr"]
    everything = repr([r.body for r in http_capture.seen]) + repr([m.as_string() for m in smtp_capture.messages])
    assert "Awa" not in everything  # the first name stays at the terminal

    # The call waits on: no second alert, not after an hour, not after a restart.
    terminal.clock.advance(3600)
    assert jobs.alerts().sent == 0 and terminal.jobs().alerts().sent == 0
    assert len(http_capture.seen) == 2 and len(smtp_capture.messages) == 2


def test_no_alert_when_off_or_for_a_call_taken_in_time(terminal: Terminal, http_capture: HttpCapture) -> None:
    calls = queue(terminal)
    calls.open(Category.PAPIERS)
    terminal.clock.advance(3600)
    assert terminal.jobs().alerts().sent == 0 and terminal.notices() == []  # not configured
    configure(terminal, http_capture)
    taken = calls.open(Category.PAPIERS)
    terminal.clock.advance(5 * 60)
    calls.take(taken.id)
    terminal.clock.advance(3600)
    assert terminal.jobs().alerts().sent == 1  # the first call only
    assert [r.json()["number"] for r in http_capture.delivered] == [1]


@pytest.mark.parametrize("fault", ["answers 500", "hangs", "down"])
def test_a_failing_webhook_is_retried_a_few_times_then_given_up_never_twice(
    terminal: Terminal, http_capture: HttpCapture, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    configure(terminal, http_capture)
    queue(terminal).open(Category.TRAVAIL)
    terminal.clock.advance(11 * 60)
    if fault == "answers 500":
        http_capture.status = 500
    elif fault == "hangs":
        http_capture.hang = True
    else:
        http_capture.down()
    outcomes = []
    with caplog.at_level(logging.WARNING):
        for _ in range(6):
            outcomes.append(terminal.jobs().alerts())
            terminal.clock.advance(600)
    assert [o.retry for o in outcomes] == [1, 1, 0, 0, 0, 0] and [o.failed for o in outcomes] == [0, 0, 1, 0, 0, 0]
    assert [state for _, state, _ in terminal.notices()] == ["failed"]
    given_up = [r for r in caplog.records if r.message == "notify.given_up"]
    assert len(given_up) == 1 and given_up[0].attempts == 3
    said = {"answers 500": "answered HTTP 500", "hangs": "gave no answer within 1 s", "down": "unreachable"}[fault]
    assert said in given_up[0].error, given_up[0].error
    if fault == "down":
        http_capture.up()
    http_capture.status, http_capture.hang = 200, False
    assert terminal.jobs().alerts().sent == 0 and not http_capture.delivered


def test_an_alert_waiting_for_its_retry_is_dropped_once_the_call_is_taken(
    terminal: Terminal, http_capture: HttpCapture
) -> None:
    configure(terminal, http_capture)
    calls = queue(terminal)
    call = calls.open(Category.TRAVAIL)
    terminal.clock.advance(11 * 60)
    http_capture.status = 503
    assert terminal.jobs().alerts().retry == 1
    calls.take(call.id)
    http_capture.status = 200
    terminal.clock.advance(600)
    outcome = terminal.jobs().alerts()
    assert (outcome.sent, outcome.dropped) == (0, 1) and not http_capture.delivered


def test_the_check_reads_today_only_and_never_alerts_a_call_again(
    terminal: Terminal, http_capture: HttpCapture
) -> None:
    """Yesterday's calls are the end of the day's (closed as missed), not the alert's."""
    configure(terminal, http_capture)
    terminal.clock.set_wall(MONDAY.replace(hour=15))  # 16:00 in Paris
    queue(terminal).open(Category.ARGENT)
    terminal.clock.advance(11 * 60)
    assert terminal.jobs().alerts().sent == 1
    terminal.clock.advance(timedelta(hours=8).total_seconds())  # past midnight in Paris
    assert terminal.jobs().alerts().sent == 0 and len(http_capture.seen) == 1


def test_a_webhook_whose_address_is_its_secret_is_read_from_a_file(
    terminal: Terminal, http_capture: HttpCapture
) -> None:
    secret = terminal.tmp / "webhook-url"
    secret.write_text(http_capture.url + "/hooks/T0K3N\n", encoding="utf-8")
    terminal.configure(reminders={"enabled": False}, alert={"after_min": 10, "webhook_url_file": str(secret)})
    queue(terminal).open(Category.JUSTICE)
    terminal.clock.advance(10 * 60)
    assert terminal.jobs().alerts().sent == 1
    assert [r.path for r in http_capture.delivered] == ["/hooks/T0K3N"]
