"""Appointment reminders: which appointments get one, when, on which channel, and the words.

The rule: a booked appointment starting on day D gets its reminder from the day before at
``send_at`` (centre's time) until it starts, once per contact the resident gave and channel the
terminal can send (an e-mail, an SMS). Whoever booked after that moment has just read their
confirmation: no reminder. A reminder is for one start time (the key holds it): an appointment
moved gets one for its new time, and the one meant for the old time is dropped, as is any for an
appointment cancelled. Pure; the agent's job sends (:mod:`kiosk.agent.notify_jobs`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from kiosk.core.mediation.booking import Appointment, AppointmentState
from kiosk.core.mediation.notices import NoticeChannel
from kiosk.core.mediation.storage import from_ms, to_ms
from kiosk.core.mediation.wording import date_text, hour_text
from kiosk.core.mediation_config import PersonSettings
from kiosk.core.store import Store

CANCEL_PATH = "/rendez-vous/annuler/"
"""The website's cancel page of an appointment: this, then the appointment's ref."""


def cancel_url(public_url: str, ref: str) -> str:
    """The link a resident follows to cancel (``public_url``: the website as they reach it)."""
    return public_url.rstrip("/") + CANCEL_PATH + ref


def due_at(start: datetime, zone: ZoneInfo, send_at: time) -> datetime:
    """When the reminder of an appointment starting at ``start`` may go: the day before, ``send_at``."""
    day_before = start.astimezone(zone).date() - timedelta(days=1)
    return datetime.combine(day_before, send_at, tzinfo=zone)


def reminder_key(ref: str, start: datetime, channel: NoticeChannel) -> str:
    return f"reminder:{ref}:{to_ms(start)}:{channel.value}"


def key_start(key: str) -> datetime | None:
    """The start time a reminder's key was made for."""
    parts = key.split(":")
    return from_ms(int(parts[2])) if len(parts) == 4 and parts[2].isdigit() else None


@dataclass(frozen=True)
class Planned:
    """A reminder to mean: its key, channel and appointment."""

    key: str
    channel: NoticeChannel
    ref: str


def planned(
    store: Store,
    now: datetime,
    zone: ZoneInfo,
    send_at: time,
    channels: Iterable[NoticeChannel],
) -> list[Planned]:
    """The reminders whose time has come, for the channels the terminal can send."""
    usable = set(channels)
    rows = store.conn.execute(
        "SELECT ref, start_ms, created_ms, phone IS NOT NULL, email IS NOT NULL FROM appointments "
        "WHERE state = 'booked' AND purged = 0 AND start_ms > ? AND start_ms <= ? ORDER BY start_ms",
        (to_ms(now), to_ms(now + timedelta(days=2))),
    ).fetchall()
    found = []
    for ref, start_ms, created_ms, has_phone, has_email in rows:
        start = from_ms(int(start_ms)) or now
        due = due_at(start, zone, send_at)
        if now < due or int(created_ms) >= to_ms(due):
            continue
        for channel, given in ((NoticeChannel.EMAIL, has_email), (NoticeChannel.SMS, has_phone)):
            if given and channel in usable:
                found.append(Planned(reminder_key(str(ref), start, channel), channel, str(ref)))
    return found


def still_wanted(appointment: Appointment | None, key: str, now: datetime) -> str | None:
    """``None`` when the reminder of ``key`` should still go; else why not (for the log)."""
    if appointment is None:
        return "no such appointment"
    if appointment.state is not AppointmentState.BOOKED:
        return f"appointment {appointment.state.value}"
    if key_start(key) != appointment.start:
        return "appointment moved"
    if appointment.start <= now:
        return "appointment begun"
    if appointment.contact is None:
        return "contact wiped"
    return None


@dataclass(frozen=True)
class ReminderText:
    subject: str  # the e-mail's
    email: str
    sms: str


def reminder_text(
    appointment: Appointment, person: PersonSettings | None, *, centre: str, cancel_link: str, zone: ZoneInfo
) -> ReminderText:
    """The reminder in plain, warm French: when, where, with whom, and how to cancel."""
    start = appointment.start.astimezone(zone)
    when = f"{date_text(start.date())} à {hour_text(start)}"
    name = appointment.contact.name if appointment.contact else ""
    who = f" avec {person.name}" if person else ""
    where = ", ".join(part for part in (centre, person.place if person else "") if part)
    day = f"{when[0].lower()}{when[1:]}"
    lines = [
        f"Bonjour {name},".replace(" ,", ","),
        "",
        f"Nous vous rappelons votre rendez-vous{who} :",
        f"- le {day}",
        f"- pour : {appointment.category.label}",
        f"- lieu : {where}",
        "",
        "Si vous ne pouvez pas venir, merci d'annuler avec ce lien : quelqu'un d'autre pourra prendre votre place.",
        cancel_link,
        "",
        "À bientôt,",
        centre,
    ]
    # No "ê" or the like in the SMS: a letter outside the GSM alphabet makes a message of 70
    # characters a part instead of 160 (the date's month may still have one: "août").
    sms = f"Rappel de votre rendez-vous le {day}{who}, {where}. Pour annuler : {cancel_link}"
    return ReminderText(subject=f"Rappel de votre rendez-vous – {when}", email="\n".join(lines), sms=sms)
