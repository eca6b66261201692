"""The ``[opening]``, ``[mediator]`` and ``[appointments]`` sections of kiosk.toml.

The models of :mod:`kiosk.core.mediation`, beside that package so that :mod:`kiosk.core.settings`
imports them without the rules (which record statistics, whose report reads the settings).

Hours are written as the centre says them: ``monday = ["09:00-12:00", "14:00-17:00"]`` (a day
left out is closed; the gap between two ranges is the lunch break). Closures are dates or date
ranges with a reason: ``{ start = 2026-12-24, end = 2027-01-02, reason = "Fêtes de fin d'année" }``.
All times are wall-clock times of the centre's time zone (``[centre] timezone``).
"""

from __future__ import annotations

import re
from datetime import date, time
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, field_validator, model_validator

from sync.vocabulary import Category

WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""The day keys, in ``date.weekday()`` order."""

_RANGE = re.compile(r"\s*(\d{1,2})[:h](\d{2})\s*-\s*(\d{1,2})[:h](\d{2})\s*")
_ID = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?")


def _parse_range(value: Any) -> tuple[time, time]:
    if isinstance(value, tuple | list) and len(value) == 2 and all(isinstance(v, time) for v in value):
        start, end = value
    else:
        match = _RANGE.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise ValueError(f'{value!r} is not a range of hours; give it as "09:00-12:00"')
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        if h1 > 23 or h2 > 24 or m1 > 59 or m2 > 59 or (h2 == 24 and m2):
            raise ValueError(f"{value!r} is not a range of hours; give hours 00–24 and minutes 00–59")
        start, end = time(h1, m1), time.max if h2 == 24 else time(h2, m2)
    if not start < end:
        raise ValueError(f'{value!r} ends before it starts; give the earlier hour first, e.g. "14:00-17:00"')
    return start, end


def _format_range(value: tuple[time, time]) -> str:
    end = "24:00" if value[1] == time.max else value[1].strftime("%H:%M")
    return f"{value[0].strftime('%H:%M')}-{end}"


TimeRange = Annotated[tuple[time, time], BeforeValidator(_parse_range), PlainSerializer(_format_range)]
"""``"09:00-12:00"`` in the file; ``(time(9), time(12))`` in the code."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Closure(_Strict):
    """A day or a run of days when nobody is there (holidays, training, a public holiday)."""

    start: date
    end: date | None = None  # the last day closed, included; None: the start day alone
    reason: str = Field(default="", max_length=120)

    @model_validator(mode="after")
    def _ordered(self) -> Closure:
        if self.end is not None and self.end < self.start:
            raise ValueError("the closure ends before it starts; give end on or after start")
        return self

    @property
    def last(self) -> date:
        return self.end or self.start

    def covers(self, day: date) -> bool:
        return self.start <= day <= self.last


class WeeklyHours(_Strict):
    """Hours for each day of the week, plus closures."""

    monday: tuple[TimeRange, ...] = ()
    tuesday: tuple[TimeRange, ...] = ()
    wednesday: tuple[TimeRange, ...] = ()
    thursday: tuple[TimeRange, ...] = ()
    friday: tuple[TimeRange, ...] = ()
    saturday: tuple[TimeRange, ...] = ()
    sunday: tuple[TimeRange, ...] = ()
    closures: tuple[Closure, ...] = ()

    @field_validator(*WEEKDAYS)
    @classmethod
    def _no_overlap(cls, ranges: tuple[tuple[time, time], ...]) -> tuple[tuple[time, time], ...]:
        ordered = tuple(sorted(ranges))
        for (_, end), (start, _) in pairwise(ordered):
            if start < end:
                raise ValueError("two ranges of the same day overlap; give the morning and the afternoon apart")
        return ordered

    def day_ranges(self, weekday: int) -> tuple[tuple[time, time], ...]:
        ranges: tuple[tuple[time, time], ...] = getattr(self, WEEKDAYS[weekday])
        return ranges

    @property
    def has_hours(self) -> bool:
        return any(self.day_ranges(day) for day in range(7))

    def closure_on(self, day: date) -> Closure | None:
        return next((closure for closure in self.closures if closure.covers(day)), None)


_WORKDAY = ("09:00-12:00", "14:00-17:00")


class OpeningSettings(WeeklyHours):
    """[opening]: when the centre is open (a mediator may be called then)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    monday: tuple[TimeRange, ...] = _WORKDAY  # type: ignore[assignment]
    tuesday: tuple[TimeRange, ...] = _WORKDAY  # type: ignore[assignment]
    wednesday: tuple[TimeRange, ...] = _WORKDAY  # type: ignore[assignment]
    thursday: tuple[TimeRange, ...] = _WORKDAY  # type: ignore[assignment]
    friday: tuple[TimeRange, ...] = _WORKDAY  # type: ignore[assignment]


class MediatorSettings(_Strict):
    """[mediator]: the call queue."""

    enabled: bool = True
    long_queue: int = Field(default=5, ge=1, le=100)  # this many waiting: offer an appointment instead
    long_wait_min: int = Field(default=45, ge=5, le=600)  # or a new caller would wait this long
    default_handling_min: int = Field(default=15, ge=1, le=240)  # a call's length before today tells
    keep_days: int = Field(default=7, ge=1, le=90)  # calls (without names: those go at the end of the day)


class PersonSettings(WeeklyHours):
    """[[appointments.persons]]: a resource person. No hours given: the centre's opening hours."""

    id: str
    name: str = Field(min_length=1, max_length=80)
    categories: tuple[Category, ...] = ()  # the démarches they handle; none listed: every one
    slot_minutes: int = Field(default=30, ge=10, le=240)
    place: str = Field(default="", max_length=120)  # "Bureau 2, premier étage"
    ics_url: str = ""  # a private calendar address (busy times), https://…

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.fullmatch(value):
            raise ValueError("give an id of lower-case letters, digits and dashes, at most 32 (e.g. 'marie-d')")
        return value

    @field_validator("ics_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://[^\s]{3,2000}", value):
            raise ValueError("give the calendar's full address, starting with https://, or leave it empty")
        return value

    def handles(self, category: Category) -> bool:
        return not self.categories or category in self.categories


class AppointmentSettings(_Strict):
    """[appointments]: booking time with the resource persons."""

    enabled: bool = True
    horizon_days: int = Field(default=14, ge=1, le=60)  # slots offered from today on, this many days
    min_notice_min: int = Field(default=60, ge=0, le=7 * 24 * 60)  # no slot sooner than this
    keep_days: int = Field(default=30, ge=1, le=365)  # names and contacts, after the appointment
    calendar_refresh_min: int = Field(default=30, ge=5, le=24 * 60)  # ICS busy times fetched this often
    persons: tuple[PersonSettings, ...] = ()

    @field_validator("persons")
    @classmethod
    def _unique(cls, persons: tuple[PersonSettings, ...]) -> tuple[PersonSettings, ...]:
        ids = [person.id for person in persons]
        doubles = sorted({i for i in ids if ids.count(i) > 1})
        if doubles:
            raise ValueError(f"give each person a different id ({', '.join(doubles)} is used twice)")
        return persons


# -- [notifications]: reminders and the long-wait alert --------------------------------------------
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
SMS_PLACEHOLDERS = ("phone", "phone_digits", "message", "id", "token")
"""What an SMS gateway's URL or body may say: the number (``+33612345678`` and ``33612345678``),
the text, the notice's id (the same on a retry: a gateway may refuse a second one) and the
content of ``token_file`` (for a gateway whose key goes in the address or the body)."""


def _address(value: str) -> str:
    if value and not re.fullmatch(r"https?://[^\s]{3,2000}", value):
        raise ValueError("give the full address, starting with https://, or leave it empty")
    return value


class SmtpSettings(_Strict):
    """[notifications.smtp]: the mail server the agent sends e-mails through (none: no e-mail)."""

    host: str = ""  # e.g. "smtp.example.org"; empty: no e-mail is sent
    port: int = Field(default=587, ge=1, le=65535)  # 587 with starttls, 465 with ssl, 25 with none
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str = ""  # empty: no login
    password_file: Path | None = None  # a file the agent alone reads: the password, nothing else
    from_address: str = ""  # "Espace France Services <rdv@exemple.fr>"
    ca_file: Path | None = None  # a private CA for the server's certificate; none: the system's
    timeout_s: float = Field(default=20.0, gt=0, le=120)

    @property
    def configured(self) -> bool:
        return bool(self.host)

    @model_validator(mode="after")
    def _complete(self) -> SmtpSettings:
        if self.host and "@" not in self.from_address:
            raise ValueError(
                'give from_address, the sender residents see, e.g. "Espace France Services <rdv@exemple.fr>"'
            )
        if self.username and self.password_file is None:
            raise ValueError(
                "give password_file, a file holding the password of username (readable by the agent alone)"
            )
        return self


class SmsSettings(_Strict):
    """[notifications.sms]: an HTTP SMS gateway (none: no SMS). Placeholders in ``url`` and
    ``body``: {phone}, {phone_digits}, {message}, {id}; escaped for JSON, a form or a URL."""

    url: str = ""  # e.g. "https://sms.example.net/api/send"; empty: no SMS is sent
    method: Literal["POST", "PUT", "GET"] = "POST"
    body: str = '{"to": "{phone}", "text": "{message}"}'  # ignored for GET (put the placeholders in url)
    content_type: str = Field(default="application/json", max_length=100)
    token_header: str = Field(default="Authorization", max_length=100)  # the header the token goes in; "": none
    token_file: Path | None = None  # a file the agent alone reads, e.g. holding "Bearer abc123"
    timeout_s: float = Field(default=15.0, gt=0, le=120)

    @property
    def configured(self) -> bool:
        return bool(self.url)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _address(value)

    @model_validator(mode="after")
    def _placeholders(self) -> SmsSettings:
        template = self.url + ("" if self.method == "GET" else self.body)
        unknown = sorted(set(_PLACEHOLDER.findall(template)) - set(SMS_PLACEHOLDERS))
        if unknown:
            raise ValueError(
                f"unknown placeholder {{{unknown[0]}}}; the url and body may use "
                + ", ".join(f"{{{name}}}" for name in SMS_PLACEHOLDERS)
            )
        if self.url and not {"message"} <= set(_PLACEHOLDER.findall(template)):
            raise ValueError("the gateway must be given the text: put {message} (and {phone}) in the body or url")
        if "{token}" in template and self.token_file is None:
            raise ValueError("{token} is the content of token_file: give token_file")
        return self


class ReminderSettings(_Strict):
    """[notifications.reminders]: the day before an appointment, by e-mail and/or SMS (whichever
    contact the resident gave and the terminal can send)."""

    enabled: bool = True
    send_at: time = time(10, 0)  # the day before, from this hour (centre's time)
    max_attempts: int = Field(default=10, ge=1, le=50)  # a server down: tried again, then given up


class AlertSettings(_Strict):
    """[notifications.alert]: staff told once when a mediator call has waited ``after_min``."""

    after_min: int = Field(default=0, ge=0, le=600)  # 0: no alert
    webhook_url: str = ""  # POSTed JSON: number, category, minutes, terminal
    webhook_url_file: Path | None = None  # or a file holding it (an address that is its own secret)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    email_to: tuple[str, ...] = ()  # staff addresses (through [notifications.smtp])
    max_attempts: int = Field(default=5, ge=1, le=20)

    @field_validator("webhook_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _address(value)

    @model_validator(mode="after")
    def _one_webhook(self) -> AlertSettings:
        if self.webhook_url and self.webhook_url_file is not None:
            raise ValueError("give webhook_url or webhook_url_file, not both")
        return self

    @property
    def webhook(self) -> bool:
        return bool(self.webhook_url or self.webhook_url_file)

    @field_validator("email_to")
    @classmethod
    def _emails(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        wrong = [address for address in value if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", address)]
        if wrong:
            raise ValueError(f"{wrong[0]!r} is not an e-mail address, e.g. 'accueil@exemple.fr'")
        return value


class NotificationSettings(_Strict):
    """[notifications]: what the agent sends: reminders to residents, the long-wait alert to staff."""

    public_url: str = ""  # the website as residents reach it (behind the centre's proxy): cancel links
    terminal_name: str = Field(default="", max_length=80)  # in the alert; empty: the centre's name
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)
    alert: AlertSettings = Field(default_factory=AlertSettings)

    @field_validator("public_url")
    @classmethod
    def _public(cls, value: str) -> str:
        return _address(value.rstrip("/"))

    @model_validator(mode="after")
    def _usable(self) -> NotificationSettings:
        if self.reminding and not self.public_url:
            raise ValueError(
                'reminders carry a cancel link: give public_url = "https://…" (the website\'s address as'
                " residents reach it), or set reminders.enabled = false"
            )
        if self.alert.email_to and not self.smtp.configured:
            raise ValueError("alert.email_to needs a mail server: fill in [notifications.smtp]")
        return self

    @property
    def reminding(self) -> bool:
        """Reminders go out: they are on and the terminal can send an e-mail or an SMS."""
        return self.reminders.enabled and (self.smtp.configured or self.sms.configured)

    @property
    def alerting(self) -> bool:
        return self.alert.after_min > 0 and (self.alert.webhook or bool(self.alert.email_to))
