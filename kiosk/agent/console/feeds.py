"""Each resource person's secret calendar feed: their upcoming appointments, to subscribe to from
their own calendar (Google Agenda, Outlook, Thunderbird).

The feed is served on the console's HTTPS port at ``/agenda/<token>.ics`` without a login (a
calendar application cannot log in): the long random token *is* the permission. The database
keeps only its SHA-256 (a copy of the database opens no feed; the feed is found by the hash of
the token asked for), so the address is shown once, when an admin creates it; a new one
replaces the old at once (the old answers 404).

What the feed holds: the démarche, the time, the place. Never the resident's name or contact:
the person's calendar provider (Google, Microsoft…) stores what it fetches, and the residents'
details must stay on the terminal.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta

import icalendar
from fastapi import FastAPI
from fastapi.responses import Response

from kiosk.agent.console.context import ConsoleContext
from kiosk.core.mediation.booking import Appointment, AppointmentState
from kiosk.core.mediation.hours import wall_time
from kiosk.core.mediation.ics import PRODID
from kiosk.core.mediation.storage import from_ms, to_ms, write
from kiosk.core.mediation_config import PersonSettings
from kiosk.core.store import Store

FEED_PATH = "/agenda/{token}.ics"
FEED_DAYS = 120
"""How far ahead the feed looks (bookings are offered ``horizon_days`` ahead, at most 60)."""
REFRESH = timedelta(hours=1)
"""What the feed asks calendar applications to keep to (most poll less often anyway)."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class FeedTokens:
    """The persons' feed tokens, hashed, in ``person_feeds`` (migration 6)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def rotate(self, person_id: str, now: datetime) -> str:
        """A new token for ``person_id``; the old one stops working at once. Returns the token."""
        token = secrets.token_urlsafe(32)
        write(
            self.store,
            lambda conn: conn.execute(
                "INSERT INTO person_feeds (person_id, token_hash, created_ms) VALUES (?, ?, ?) "
                "ON CONFLICT (person_id) DO UPDATE SET token_hash = excluded.token_hash, "
                "created_ms = excluded.created_ms",
                (person_id, _digest(token), to_ms(now)),
            ),
        )
        return token

    def person_for(self, token: str) -> str | None:
        if not token or len(token) > 100:
            return None
        row = self.store.conn.execute(
            "SELECT person_id FROM person_feeds WHERE token_hash = ?", (_digest(token),)
        ).fetchone()
        return None if row is None else str(row[0])

    def created(self, conn: sqlite3.Connection | None = None) -> dict[str, datetime]:
        """When each person's current address was made."""
        rows = (conn or self.store.conn).execute("SELECT person_id, created_ms FROM person_feeds").fetchall()
        return {str(person): from_ms(int(ms)) or datetime.min.replace(tzinfo=UTC) for person, ms in rows}


def feed_calendar(appointments: Iterable[Appointment], person: PersonSettings, centre: str, stamp: datetime) -> bytes:
    """The person's booked appointments as one VCALENDAR: démarche, time and place only."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Rendez-vous – {person.name}")
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", REFRESH)
    place = ", ".join(part for part in (centre, person.place) if part)
    for appointment in appointments:
        if appointment.state is not AppointmentState.BOOKED or appointment.person_id != person.id:
            continue
        event = icalendar.Event()
        event.add("uid", f"{appointment.ref}@borne")
        event.add("dtstamp", stamp.astimezone(UTC))
        event.add("dtstart", appointment.start.astimezone(UTC))
        event.add("dtend", appointment.end.astimezone(UTC))
        event.add("summary", f"Rendez-vous – {appointment.category.label}")
        if place:
            event.add("location", place)
        # No name, phone or e-mail of the resident: they are in the console, not in a calendar
        # provider's copy.
        event.add("description", "Les coordonnées de la personne sont dans la console de la borne.")
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def add_routes(app: FastAPI, ctx: ConsoleContext) -> None:
    tokens = FeedTokens(ctx.store)

    @app.get(FEED_PATH)
    def feed(token: str) -> Response:
        now = ctx.clock.now()
        with ctx.db():
            person_id = tokens.person_for(token)
            person = ctx.book.person(person_id) if person_id else None
            if person is None:  # unknown token, replaced, or the person was deactivated
                return Response("Adresse inconnue.\n", status_code=404, media_type="text/plain; charset=utf-8")
            today = now.astimezone(ctx.zone).date()
            start = wall_time(today, time(0), ctx.zone)
            found = ctx.book.between(start, now + timedelta(days=FEED_DAYS))
        body = feed_calendar(found, person, ctx.centre_name, now)
        return Response(body, media_type="text/calendar; charset=utf-8")
