"""Appointment reminders the day before, captured by a real SMTP server (aiosmtpd) and a real HTTP
SMS gateway on 127.0.0.1: sent once per contact, never again after a retry or a restart, tried
again later when the server is down, fails or hangs; none for a cancelled, moved or late-booked
appointment; none at all when nothing is configured."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from pathlib import Path

import pytest

from kiosk.core.mediation.booking import Booked
from kiosk.core.mediation.contact import Contact
from kiosk.core.mediation.notices import NoticeState
from kiosk.core.store import Role
from sync.vocabulary import Category
from tests.notify.conftest import AWA, REMINDER_TIME, WEDNESDAY_2PM, Terminal
from tests.notifykit import HttpCapture, SmtpCapture

pytestmark = pytest.mark.appointments

PUBLIC = "https://rdv.centre-exemple.fr/borne"


def configure(terminal: Terminal, smtp: SmtpCapture | None = None, sms: HttpCapture | None = None) -> None:
    token = terminal.tmp / "sms-token"
    token.write_text("Bearer tok-123\n", encoding="utf-8")
    settings: dict[str, object] = {"public_url": PUBLIC}
    if smtp is not None:
        settings["smtp"] = {
            "host": "127.0.0.1", "port": smtp.port, "security": "none", "timeout_s": 1,
            "from_address": "Espace France Services <rdv@centre-exemple.fr>",
        }  # fmt: skip
    if sms is not None:
        settings["sms"] = {
            "url": sms.url + "/api/sms", "token_file": str(token), "timeout_s": 1,
            "body": '{"to": "{phone}", "text": "{message}", "ref": "{id}"}',
        }  # fmt: skip
    terminal.configure(**settings)


def test_one_email_and_one_sms_the_day_before_and_never_again(
    terminal: Terminal, smtp_capture: SmtpCapture, http_capture: HttpCapture
) -> None:
    configure(terminal, smtp_capture, http_capture)
    appointment = terminal.book_one()
    jobs = terminal.jobs()
    terminal.clock.set_wall(REMINDER_TIME - timedelta(minutes=1))
    assert jobs.reminders().sent == 0 and not smtp_capture.messages and not http_capture.seen
    terminal.clock.set_wall(REMINDER_TIME + timedelta(minutes=3))
    assert jobs.reminders().sent == 2

    (mail,) = smtp_capture.messages
    link = f"{PUBLIC}/rendez-vous/annuler/{appointment.ref}"
    body = smtp_capture.bodies()[0]
    assert mail["To"] == AWA.email and "rdv@centre-exemple.fr" in mail["From"]
    assert mail["Subject"] == "Rappel de votre rendez-vous – Mercredi 7 janvier à 14 h"
    for words in ("Bonjour Awa Diallo,", "le mercredi 7 janvier à 14 h", "avec Marie Dupont", "Papiers",
                  "Bureau 2, rez-de-chaussée", link):  # fmt: skip
        assert words in body, words
    (request,) = http_capture.delivered
    sent = request.json()
    assert request.method == "POST" and request.path == "/api/sms"
    assert request.headers["Authorization"] == "Bearer tok-123"
    assert sent["to"] == "+33612345678" and link in sent["text"] and "14 h" in sent["text"]
    assert sent["ref"] == f"reminder:{appointment.ref}:{int(WEDNESDAY_2PM.timestamp() * 1000)}:sms"
    assert "Awa" not in sent["text"]  # an SMS may be read over a shoulder: no name

    # Later runs, and the agent started again (a new connection, new jobs): nothing more.
    terminal.clock.advance(3600)
    assert jobs.reminders().sent == 0
    assert terminal.jobs().reminders().sent == 0
    assert len(smtp_capture.messages) == 1 and len(http_capture.seen) == 1
    assert [state for _, state, _ in terminal.notices()] == ["sent", "sent"]


def test_only_the_contact_the_resident_gave_and_the_channels_configured(
    terminal: Terminal, smtp_capture: SmtpCapture, http_capture: HttpCapture
) -> None:
    configure(terminal, smtp_capture, http_capture)
    terminal.book_one(Contact("Léa Martin", phone="+33611223344"))
    terminal.book_one(Contact("Jean Petit", email="jean@exemple.fr"), start=WEDNESDAY_2PM + timedelta(minutes=30))
    terminal.clock.set_wall(REMINDER_TIME)
    assert terminal.jobs().reminders().sent == 2
    assert [m["To"] for m in smtp_capture.messages] == ["jean@exemple.fr"]
    assert [r.json()["to"] for r in http_capture.delivered] == ["+33611223344"]

    # E-mail only: the phone-only resident gets nothing, nothing is even meant for them.
    smtp_capture.messages.clear()
    configure(terminal, smtp_capture)
    terminal.book_one(Contact("Léa Martin", phone="+33611223344"), start=WEDNESDAY_2PM + timedelta(hours=1))
    assert terminal.jobs().reminders().sent == 0 and len(terminal.notices()) == 2


def test_nothing_is_sent_or_meant_when_nothing_is_configured(terminal: Terminal) -> None:
    terminal.book_one()
    terminal.clock.set_wall(REMINDER_TIME)
    jobs = terminal.jobs()
    assert jobs.reminders().sent == 0 and jobs.alerts().sent == 0
    assert terminal.notices() == []


def test_no_reminder_for_a_cancelled_or_a_late_booked_appointment(
    terminal: Terminal, smtp_capture: SmtpCapture
) -> None:
    configure(terminal, smtp_capture)
    cancelled = terminal.book_one()
    terminal.book().cancel(cancelled.ref)
    terminal.clock.set_wall(REMINDER_TIME + timedelta(hours=1))
    late = terminal.book_one(start=WEDNESDAY_2PM + timedelta(hours=1))  # booked after the reminders' hour
    assert late.start > WEDNESDAY_2PM
    assert terminal.jobs().reminders().sent == 0 and not smtp_capture.messages


def test_a_moved_appointment_is_reminded_for_its_new_time(terminal: Terminal, smtp_capture: SmtpCapture) -> None:
    configure(terminal, smtp_capture)
    appointment = terminal.book_one()
    terminal.clock.set_wall(REMINDER_TIME)
    smtp_capture.mode = "busy"
    assert terminal.jobs().reminders().retry == 1  # meant for Wednesday 14:00, waiting for its retry
    book = terminal.book()
    later = next(s for s in book.free_slots(Category.PAPIERS) if s.start == WEDNESDAY_2PM + timedelta(hours=1))
    assert isinstance(book.move(appointment.ref, later), Booked)
    smtp_capture.mode = "ok"
    terminal.clock.advance(600)
    outcome = terminal.jobs().reminders()
    assert (outcome.sent, outcome.dropped) == (1, 1)  # the new time sent, the old one dropped
    assert smtp_capture.messages[0]["Subject"].endswith("Mercredi 7 janvier à 15 h")


def test_an_agent_off_the_whole_day_before_sends_nothing_once_the_appointment_began(
    terminal: Terminal, smtp_capture: SmtpCapture
) -> None:
    configure(terminal, smtp_capture)
    terminal.book_one()
    terminal.clock.set_wall(WEDNESDAY_2PM + timedelta(minutes=1))
    assert terminal.jobs().reminders().sent == 0 and terminal.notices() == [] and not smtp_capture.messages


def test_a_reminder_waiting_for_a_retry_is_dropped_when_the_appointment_is_cancelled(
    terminal: Terminal, smtp_capture: SmtpCapture
) -> None:
    configure(terminal, smtp_capture)
    appointment = terminal.book_one()
    terminal.clock.set_wall(REMINDER_TIME)
    smtp_capture.mode = "busy"
    assert terminal.jobs().reminders().retry == 1
    terminal.book().cancel(appointment.ref)
    smtp_capture.mode = "ok"
    terminal.clock.advance(3600)
    outcome = terminal.jobs().reminders()
    assert outcome.dropped == 1 and outcome.sent == 0 and not smtp_capture.messages
    assert [state for _, state, _ in terminal.notices()] == ["dropped"]


@pytest.mark.parametrize("fault", ["down", "answers 500", "hangs"])
def test_an_sms_gateway_down_failing_or_hanging_is_tried_again_later_never_twice(
    terminal: Terminal, http_capture: HttpCapture, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    configure(terminal, sms=http_capture)
    terminal.book_one()
    terminal.book_one(Contact("Léa Martin", phone="+33611223344"), start=WEDNESDAY_2PM + timedelta(minutes=30))
    terminal.clock.set_wall(REMINDER_TIME)
    if fault == "down":
        http_capture.down()
    elif fault == "answers 500":
        http_capture.status = 500
    else:
        http_capture.hang = True
    with caplog.at_level(logging.WARNING):
        outcome = terminal.jobs().reminders()
    assert outcome.sent == 0 and not http_capture.delivered
    if fault == "answers 500":  # the server answers: each message is tried (and fails)
        assert outcome.retry == 2
    else:  # no answer: the second waits for the next run without an attempt counted
        assert (outcome.retry, outcome.postponed) == (1, 1)
    retry = [r for r in caplog.records if r.message == "notify.retry_later"]
    said = {"answers 500": "answered HTTP 500", "hangs": "gave no answer within 1 s", "down": "unreachable"}[fault]
    assert retry and said in retry[0].error, retry[0].error

    if fault == "down":
        http_capture.up()
    http_capture.status, http_capture.hang = 200, False
    # The one postponed goes at once; the one that failed waits for its pause.
    assert terminal.jobs().reminders().sent == (0 if fault == "answers 500" else 1)
    terminal.clock.advance(150)
    assert terminal.jobs().reminders().sent == (2 if fault == "answers 500" else 1)
    terminal.clock.advance(3600)
    assert terminal.jobs().reminders().sent == 0
    assert sorted(r.json()["to"] for r in http_capture.delivered) == ["+33611223344", "+33612345678"]


@pytest.mark.parametrize("fault", ["down", "busy", "hang"])
def test_a_mail_server_down_busy_or_hanging_is_tried_again_later_never_twice(
    terminal: Terminal, smtp_capture: SmtpCapture, fault: str
) -> None:
    configure(terminal, smtp_capture)
    terminal.book_one()
    terminal.clock.set_wall(REMINDER_TIME)
    if fault == "down":
        smtp_capture.down()
    else:
        smtp_capture.mode = fault
    assert terminal.jobs().reminders().retry == 1
    ((key, state, attempts),) = terminal.notices()
    assert (state, attempts) == ("pending", 1)
    said = {
        "down": "unreachable: [Errno 111]",
        "busy": "SMTP answered 451",
        "hang": "unreachable: Connection unexpectedly closed: timed out",
    }
    error = terminal.store().conn.execute("SELECT last_error FROM notifications").fetchone()[0]
    assert said[fault] in error, error
    if fault == "down":
        smtp_capture.up()
    smtp_capture.mode = "ok"
    terminal.clock.advance(150)
    assert terminal.jobs().reminders().sent == 1
    terminal.clock.advance(3600)
    assert terminal.jobs().reminders().sent == 0
    assert len(smtp_capture.messages) == 1
    assert smtp_capture.messages[0]["Message-ID"] == f"<{key.replace(':', '.')}@borne.invalid>"


def test_an_address_refused_is_given_up_at_once_and_a_dead_server_after_max_attempts(
    terminal: Terminal, smtp_capture: SmtpCapture, caplog: pytest.LogCaptureFixture
) -> None:
    configure(terminal, smtp_capture)
    terminal.book_one()
    terminal.book_one(Contact("Léa Martin", email="lea@exemple.fr"), start=WEDNESDAY_2PM + timedelta(minutes=30))
    terminal.clock.set_wall(REMINDER_TIME)
    smtp_capture.refused = {AWA.email or ""}
    smtp_capture.mode = "busy"
    with caplog.at_level(logging.ERROR):
        outcome = terminal.jobs().reminders()
    assert (outcome.failed, outcome.retry) == (1, 1)
    assert any(r.message == "notify.given_up" and "refused" in r.error for r in caplog.records)
    assert sorted(state for _, state, _ in terminal.notices()) == [NoticeState.FAILED.value, NoticeState.PENDING.value]

    # A server that stays down: tried max_attempts times over the day, then given up.
    smtp_capture.down()
    runs = 0
    while runs < 100 and terminal.jobs().reminders().failed == 0:
        terminal.clock.advance(300)
        runs += 1
    attempts = sorted(n for _, _, n in terminal.notices())
    assert attempts == [1, terminal.settings.notifications.reminders.max_attempts]
    assert terminal.clock.now() < WEDNESDAY_2PM  # given up before the appointment, not at it
    smtp_capture.mode = "ok"
    smtp_capture.up()
    terminal.clock.advance(3 * 3600)
    assert terminal.jobs().reminders().sent == 0 and not smtp_capture.messages


def test_a_mail_server_with_tls_and_a_login(terminal: Terminal, smtp_with_login: SmtpCapture) -> None:
    password = terminal.tmp / "smtp-password"
    password.write_text("s3cret-pass\n", encoding="utf-8")
    terminal.configure(
        public_url=PUBLIC,
        smtp={"host": "127.0.0.1", "port": smtp_with_login.port, "security": smtp_with_login.security,
              "username": "borne", "password_file": str(password), "from_address": "rdv@centre-exemple.fr",
              "ca_file": str(smtp_with_login.ca_file)},
    )  # fmt: skip
    terminal.book_one()
    terminal.clock.set_wall(REMINDER_TIME)
    outcome = terminal.jobs().reminders()
    error = terminal.store().conn.execute("SELECT last_error FROM notifications").fetchone()[0]
    assert outcome.sent == 1 and smtp_with_login.logins == ["borne"], error


def test_the_contacts_purge_still_works_and_the_ledger_holds_no_contact(
    terminal: Terminal, smtp_capture: SmtpCapture, http_capture: HttpCapture
) -> None:
    configure(terminal, smtp_capture, http_capture)
    appointment = terminal.book_one()
    terminal.clock.set_wall(REMINDER_TIME)
    assert terminal.jobs().reminders().sent == 2
    terminal.clock.set_wall(WEDNESDAY_2PM + timedelta(days=terminal.settings.appointments.keep_days + 1))
    assert terminal.book().purge() == 1
    wiped = terminal.book().get(appointment.ref)
    assert wiped is not None and wiped.contact is None
    dump = json.dumps(terminal.store(Role.AGENT).conn.execute("SELECT * FROM notifications").fetchall())
    assert "Awa" not in dump and "3361" not in dump and "@" not in dump
    assert terminal.jobs().reminders().sent == 0
    assert terminal.notices() == []  # finished notices forgotten after 30 days


def test_settings_are_checked(tmp_path: Path) -> None:
    from pydantic import ValidationError

    from kiosk.core.mediation_config import NotificationSettings

    with pytest.raises(ValidationError, match="give public_url"):
        NotificationSettings.model_validate({"smtp": {"host": "smtp.x.fr", "from_address": "a@x.fr"}})
    with pytest.raises(ValidationError, match="unknown placeholder"):
        NotificationSettings.model_validate({"public_url": PUBLIC, "sms": {"url": "https://g.fr", "body": "{tel}"}})
    with pytest.raises(ValidationError, match="put \\{message\\}"):
        NotificationSettings.model_validate({"public_url": PUBLIC, "sms": {"url": "https://g.fr", "body": "{phone}"}})
    with pytest.raises(ValidationError, match="needs a mail server"):
        NotificationSettings.model_validate({"alert": {"after_min": 10, "email_to": ["a@x.fr"]}})
    with pytest.raises(ValidationError, match="password_file"):
        NotificationSettings.model_validate(
            {"public_url": PUBLIC, "smtp": {"host": "h", "from_address": "a@x.fr", "username": "u"}}
        )
    ok = NotificationSettings.model_validate({"public_url": PUBLIC + "/", "alert": {"after_min": 10}})
    assert ok.public_url == PUBLIC and not ok.reminding and not ok.alerting


@pytest.mark.parametrize("style", ["get", "form"])
def test_gateways_with_the_key_in_the_address_or_a_form_body_get_their_values_escaped(
    terminal: Terminal, http_capture: HttpCapture, style: str
) -> None:
    from urllib.parse import parse_qs, urlsplit

    key = terminal.tmp / "sms-key"
    key.write_text("k&y=1\n", encoding="utf-8")
    gateway = {
        "get": {"method": "GET", "url": http_capture.url + "/send?to={phone_digits}&text={message}&key={token}"},
        "form": {
            "url": http_capture.url + "/send?key={token}", "content_type": "application/x-www-form-urlencoded",
            "body": "recipient={phone}&message={message}&ref={id}",
        },
    }[style]  # fmt: skip
    terminal.configure(public_url=PUBLIC, sms={**gateway, "token_file": str(key), "token_header": ""})
    appointment = terminal.book_one()
    terminal.clock.set_wall(REMINDER_TIME)
    assert terminal.jobs().reminders().sent == 1
    (request,) = http_capture.delivered
    query = parse_qs(urlsplit(request.path).query)
    fields = query if style == "get" else parse_qs(request.body.decode())
    assert query["key"] == ["k&y=1"] and "Authorization" not in request.headers
    text = fields["text" if style == "get" else "message"][0]
    assert text.startswith("Rappel de votre rendez-vous le mercredi 7 janvier à 14 h avec Marie Dupont")
    assert text.endswith(f"Pour annuler : {PUBLIC}/rendez-vous/annuler/{appointment.ref}")
    if style == "get":
        assert fields["to"] == ["33612345678"] and request.body == b""
    else:
        assert fields["recipient"] == ["+33612345678"] and fields["ref"][0].startswith("reminder:")
