"""When the next mediator is there, in plain French for residents.

"Aujourd'hui à partir de 14 h", "Demain de 9 h à 12 h", "Mardi de 14 h à 17 h", and beyond the
coming week "Lundi 5 janvier de 9 h à 12 h". Day and month names come from Babel (CLDR).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date

from kiosk.core.mediation.hours import Availability, Interval, Unavailable

LOCALE = "fr_FR"


def hour_text(at: datetime) -> str:
    """``9 h``, ``14 h 30``, ``minuit``."""
    if at.hour == 0 and at.minute == 0:
        return "minuit"
    return f"{at.hour} h" if at.minute == 0 else f"{at.hour} h {at.minute:02d}"


def day_text(day: date, today: date) -> str:
    """``Aujourd'hui``, ``Demain``, ``Mardi`` (this coming week), ``Mardi 6 janvier``, ``Mardi 1er avril``."""
    delta = (day - today).days
    if delta == 0:
        return "Aujourd'hui"
    if delta == 1:
        return "Demain"
    if 1 < delta < 7:
        return format_date(day, "EEEE", locale=LOCALE).capitalize()
    return date_text(day)


def date_text(day: date) -> str:
    """``Mardi 6 janvier``, ``Mardi 1er avril``: a date that stays true on a kept ticket."""
    weekday = format_date(day, "EEEE", locale=LOCALE).capitalize()
    number = "1er" if day.day == 1 else str(day.day)
    month = format_date(day, "MMMM", locale=LOCALE)
    return f"{weekday} {number} {month}"


def opening_text(opening: Interval, now: datetime, zone: ZoneInfo) -> str:
    """The next opening as a resident reads it (an opening already begun says "jusqu'à")."""
    start, end = opening.start.astimezone(zone), opening.end.astimezone(zone)
    today = now.astimezone(zone).date()
    day = day_text(start.date(), today)
    if opening.start <= now:
        return f"{day} jusqu'à {hour_text(end)}"
    if start.date() == today:
        return f"{day} à partir de {hour_text(start)}"
    return f"{day} de {hour_text(start)} à {hour_text(end)}"


def availability_text(availability: Availability, now: datetime, zone: ZoneInfo) -> str:
    """One or two sentences for the mediator page when nobody can come now."""
    if availability.reason is None:
        return "Un médiateur peut venir vous aider."
    if availability.reason is Unavailable.DISABLED:
        return "Adressez-vous à l'accueil."
    first = {
        Unavailable.CLOSED: "L'espace est fermé en ce moment.",
        Unavailable.ABSENT: "Aucun médiateur n'est disponible en ce moment.",
        Unavailable.LONG_QUEUE: "Beaucoup de personnes attendent déjà un médiateur.",
    }[availability.reason]
    if availability.closure is not None and availability.closure.reason:
        first = f"L'espace est fermé aujourd'hui : {availability.closure.reason}."
    if availability.next_opening is None:
        return first
    return f"{first} Prochaine présence : {opening_text(availability.next_opening, now, zone)}."


def wait_text(seconds: float) -> str:
    """An estimated wait, rounded the way people say it: "moins de 5 minutes", "environ 20 minutes"."""
    minutes = seconds / 60
    if minutes < 5:
        return "moins de 5 minutes"
    if minutes < 60:
        return f"environ {int(round(minutes / 5) * 5)} minutes"
    hours, rest = divmod(int(round(minutes / 15) * 15), 60)
    return f"environ {hours} h {rest:02d}" if rest else f"environ {hours} h"
