"""The agent's notification jobs: appointment reminders the day before, and the long-wait alert.

Each run means what the rules say is due (:mod:`kiosk.core.mediation.reminders`, :mod:`.alerts`)
in the ledger (:mod:`kiosk.core.mediation.notices`), then sends what the ledger says is due:
claimed before it is sent, recorded after, so that a message goes once whatever the retries and
restarts. A server that does not answer makes the run's other messages on that channel wait for
the next run (no attempt counted), so one dead server costs one timeout per run, not one per
message. Nothing is meant for a channel that is not configured.

The jobs run on their own thread and database connection (see :mod:`kiosk.agent.main`): a mail
server that hangs must not hold up the agent's beat, which the shell reads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from kiosk.agent.senders import SmsSender, SmtpSender, WebhookSender
from kiosk.core.mediation.alerts import alert_key, alert_text, overdue
from kiosk.core.mediation.booking import AppointmentBook
from kiosk.core.mediation.calls import CallQueue, CallState
from kiosk.core.mediation.notices import Backoff, DeliveryError, Ledger, Notice, NoticeChannel, NoticeKind, NoticeState
from kiosk.core.mediation.reminders import cancel_url, planned, reminder_text, still_wanted
from kiosk.core.ports import Clock
from kiosk.core.settings import KioskSettings
from kiosk.core.store import Store

log = logging.getLogger(__name__)

REMINDERS_EVERY_MIN = 5
ALERTS_EVERY_S = 30
REMINDER_BACKOFF = Backoff(first_s=120, cap_s=3600)
ALERT_BACKOFF = Backoff(first_s=30, cap_s=300)
LEDGER_KEEP = timedelta(days=30)
"""Finished notices (no personal data in them) are forgotten after this."""

Send = Callable[[], None]


@dataclass
class Outcome:
    """What one run did (``kiosk agent --once`` prints it; tests read it)."""

    sent: int = 0
    retry: int = 0  # failed, tried again later
    failed: int = 0  # given up
    dropped: int = 0
    postponed: int = 0  # their server did not answer this run: next run, no attempt counted


class NotifyJobs:
    def __init__(
        self,
        store: Store,
        settings: KioskSettings,
        clock: Clock,
        *,
        mailer: SmtpSender | None = None,
        sms: SmsSender | None = None,
        webhook: WebhookSender | None = None,
    ) -> None:
        notify = self.notify = settings.notifications
        self.settings, self.clock = settings, clock
        self.zone = ZoneInfo(settings.centre.timezone)
        self.ledger = Ledger(store, clock)
        self.book = AppointmentBook(store, settings.appointments, settings.opening, self.zone, clock)
        self.calls = CallQueue(store, settings.mediator, self.zone, clock)  # reads only: records nothing
        self.mailer = mailer or (SmtpSender(notify.smtp) if notify.smtp.configured else None)
        self.sms = sms or (SmsSender(notify.sms) if notify.sms.configured else None)
        alert = notify.alert
        self.webhook = webhook or (
            WebhookSender(alert.webhook_url, alert.webhook_url_file, alert.webhook_timeout_s) if alert.webhook else None
        )
        self.terminal = notify.terminal_name or settings.centre.name

    # -- reminders ------------------------------------------------------------------------------
    def reminders(self) -> Outcome:
        """Mean the reminders now due, send what is due (a job: never raises)."""
        if not (self.notify.reminding and self.settings.appointments.enabled):
            return Outcome()
        try:
            channels = [
                c for c, sender in ((NoticeChannel.EMAIL, self.mailer), (NoticeChannel.SMS, self.sms)) if sender
            ]
            for plan in planned(
                self.ledger.store, self.clock.now(), self.zone, self.notify.reminders.send_at, channels
            ):
                if self.ledger.ensure(plan.key, NoticeKind.REMINDER, plan.channel, plan.ref):
                    log.info("notify.reminder_due", extra={"notice": plan.key})
            outcome = self._send_due(NoticeKind.REMINDER, self._reminder, self.notify.reminders.max_attempts)
            self.ledger.forget(LEDGER_KEEP)
            return outcome
        except Exception:
            log.exception("agent.reminders_failed")
            return Outcome()

    def _reminder(self, notice: Notice, now: datetime) -> tuple[str, None] | tuple[Send, datetime]:
        appointment = self.book.get(notice.subject)
        why = still_wanted(appointment, notice.key, now)
        if why is not None or appointment is None or appointment.contact is None:
            return why or "no contact", None
        text = reminder_text(
            appointment,
            self.book.person(appointment.person_id),
            centre=self.settings.centre.name,
            cancel_link=cancel_url(self.notify.public_url, appointment.ref),
            zone=self.zone,
        )
        email, phone, mailer, sms = appointment.contact.email, appointment.contact.phone, self.mailer, self.sms
        if notice.channel is NoticeChannel.EMAIL and email and mailer:
            return (lambda: mailer.send(email, text.subject, text.email, notice.key)), appointment.start
        if notice.channel is NoticeChannel.SMS and phone and sms:
            return (lambda: sms.send(phone, text.sms, notice.key)), appointment.start
        return f"no {notice.channel.value} to send to", None

    # -- the long-wait alert ----------------------------------------------------------------------
    def alerts(self) -> Outcome:
        """Mean an alert for each call waiting too long, send what is due (a job: never raises)."""
        if not self.notify.alerting:
            return Outcome()
        try:
            channels = [
                c for c, on in ((NoticeChannel.WEBHOOK, self.webhook), (NoticeChannel.EMAIL, self.mailer)) if on
            ]
            if not self.notify.alert.email_to:
                channels = [c for c in channels if c is not NoticeChannel.EMAIL]
            for call in overdue(self.calls.today(), self.clock.now(), self.notify.alert.after_min):
                for channel in channels:
                    if self.ledger.ensure(alert_key(call.id, channel), NoticeKind.ALERT, channel, str(call.id)):
                        log.warning("notify.call_waiting_long", extra={"call": call.id, "channel": channel.value})
            return self._send_due(NoticeKind.ALERT, self._alert, self.notify.alert.max_attempts)
        except Exception:
            log.exception("agent.alerts_failed")
            return Outcome()

    def _alert(self, notice: Notice, now: datetime) -> tuple[str, None] | tuple[Send, None]:
        call = self.calls.get(int(notice.subject)) if notice.subject.isdigit() else None
        if call is None or call.state is not CallState.WAITING:
            return f"call {call.state.value if call else 'gone'}", None
        text = alert_text(call, now, self.terminal)
        webhook, mailer, staff = self.webhook, self.mailer, ", ".join(self.notify.alert.email_to)
        if notice.channel is NoticeChannel.WEBHOOK and webhook:
            return (lambda: webhook.send(text.payload, notice.key)), None
        if notice.channel is NoticeChannel.EMAIL and mailer and staff:
            return (lambda: mailer.send(staff, text.subject, text.email, notice.key)), None
        return f"{notice.channel.value} no longer configured", None

    # -- sending ------------------------------------------------------------------------------
    def _send_due(
        self,
        kind: NoticeKind,
        prepare: Callable[[Notice, datetime], tuple[str, None] | tuple[Send, datetime | None]],
        max_attempts: int,
    ) -> Outcome:
        outcome, down = Outcome(), set[NoticeChannel]()
        backoff = REMINDER_BACKOFF if kind is NoticeKind.REMINDER else ALERT_BACKOFF
        for notice in self.ledger.due(kind):
            if notice.channel in down:
                outcome.postponed += 1
                continue
            now = self.clock.now()
            send, give_up_at = prepare(notice, now)
            if isinstance(send, str):
                self.ledger.drop(notice.key, send)
                outcome.dropped += 1
                continue
            if not self.ledger.claim(notice):
                continue
            try:
                send()
            except Exception as error:
                if not isinstance(error, DeliveryError):
                    log.exception("notify.send_crashed", extra={"notice": notice.key})
                    error = DeliveryError(f"unexpected {type(error).__name__}")
                state = self.ledger.failed(
                    notice.key, error, max_attempts=max_attempts, backoff=backoff, give_up_at=give_up_at
                )
                if state is NoticeState.FAILED:
                    outcome.failed += 1
                else:
                    outcome.retry += 1
                if error.unreachable:
                    down.add(notice.channel)
            else:
                self.ledger.sent(notice.key)
                outcome.sent += 1
        return outcome
