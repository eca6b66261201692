"""The paper a resident takes away: the ticket of a mediator call and of an appointment.

Pure: each function returns a :class:`~kiosk.core.devices.Ticket` that any ``TicketPrinter``
prints. Dates are written out in plain French that stays true on a kept ticket ("Mardi
6 janvier à 14 h 30", never "Demain"). Nothing of the resident's name or contact is printed in
the QR code; the appointment's ticket carries the appointment as an iCalendar event, which a
phone's camera offers to add to its calendar.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from kiosk.core.devices import (
    TICKET_LINE_MAX,
    TICKET_QR_MAX_BYTES,
    DeviceFailure,
    Ticket,
    TicketPrinter,
    TicketPrinterError,
)
from kiosk.core.mediation.booking import Appointment, appointment_calendar
from kiosk.core.mediation.calls import Call
from kiosk.core.mediation.wording import date_text, hour_text
from kiosk.core.mediation_config import PersonSettings
from kiosk.core.stats.events import DeviceError, TicketPrinted
from kiosk.core.stats.recorder import StatsRecorder

log = logging.getLogger(__name__)

CALL_HEADING = "Votre numéro"
APPOINTMENT_HEADING = "Votre rendez-vous"
ITEMS_MAX = 12  # things to bring, one paragraph each (a ticket holds TICKET_LINES_MAX paragraphs)


def _moment(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{date_text(local.date())} à {hour_text(local)}"


def _items(items: list[str]) -> list[str]:
    """A list to bring as paragraphs "- …"; past ``ITEMS_MAX`` the rest share the last one, and
    a paragraph too long for a ticket ends with "…" (the help guide has the whole list)."""
    if len(items) > ITEMS_MAX:
        items = [*items[: ITEMS_MAX - 1], " ; ".join(items[ITEMS_MAX - 1 :])]
    room = TICKET_LINE_MAX - 2
    return [f"- {item}" if len(item) <= room else f"- {item[: room - 1]}…" for item in items]


def call_ticket(call: Call, centre_name: str, now: datetime, zone: ZoneInfo) -> Ticket:
    """The ticket printed when a resident calls a mediator: their number of the day, very large."""
    lines = [_moment(now, zone)]
    if call.category is not None:
        lines.append(f"Démarche : {call.category.label}")
    lines += ["", "Un médiateur va vous appeler par ce numéro.", "Gardez ce ticket avec vous."]
    return Ticket(number=str(call.number), heading=CALL_HEADING, title=centre_name, lines=tuple(lines))


def appointment_ticket(
    appointment: Appointment,
    person: PersonSettings,
    *,
    centre: str,
    place: str = "",
    what_to_bring: Sequence[str] = (),
    now: datetime,
    zone: ZoneInfo,
) -> Ticket:
    """The ticket of a booked appointment: when, with whom, where, what to bring, and a QR code
    holding the appointment as an iCalendar event (``place`` says where when the person has no
    place of their own: the centre's address, say)."""
    start, end = appointment.start.astimezone(zone), appointment.end.astimezone(zone)
    where = person.place or place
    lines = [
        f"{date_text(start.date())}",
        f"de {hour_text(start)} à {hour_text(end)}",
        "",
        f"Avec {person.name}",
        f"Démarche : {appointment.category.label}",
    ]
    if where:
        lines.append(f"Lieu : {where}")
    items = [" ".join(item.split()) for item in what_to_bring if item.strip()]
    if items:
        lines += ["", "À apporter :", *_items(items)]
    lines += ["", "Scannez le code pour l'ajouter à votre agenda."]
    bring = ", ".join(items)
    event = appointment_calendar(appointment, person, centre, what_to_bring=bring, stamp=now)
    if len(event) > TICKET_QR_MAX_BYTES:  # the list is on the paper: the code keeps what fits
        event = appointment_calendar(appointment, person, centre, stamp=now)
    return Ticket(title=centre, heading=APPOINTMENT_HEADING, lines=tuple(lines), qr=event.decode())


def trial_ticket(centre_name: str, now: datetime, zone: ZoneInfo) -> Ticket:
    """The staff panel's test print: the number's size, every French letter and a QR code, so
    that a wrong code page or a printer without QR codes shows at once."""
    return Ticket(
        number="A12",
        heading="Ticket d'essai",
        title=centre_name,
        lines=(
            _moment(now, zone),
            "Accents : à â ä ç é è ê ë î ï ô ö ù û ü ÿ æ œ",
            "Capitales : À Ç É È Ê Ô Ù Œ – guillemets « » – euro €",
            "Le code ci-dessous doit se lire avec un téléphone.",
        ),
        qr=f"Borne : ticket d'essai du {_moment(now, zone)}",
    )


def print_ticket(
    printer: TicketPrinter, ticket: Ticket, recorder: StatsRecorder | None = None, session: str | None = None
) -> DeviceFailure | None:
    """Print ``ticket`` and count it: ``None`` once printed, else why not (the failure is
    counted as a ticket printer error and logged; ``printer_message``-style French is the
    caller's). Blocks up to the printer's timeout: call it off the GUI thread."""
    try:
        printer.print_ticket(ticket)
    except TicketPrinterError as error:
        log.warning("tickets.not_printed", extra={"reason": error.reason.value, "error": str(error)})
        if recorder is not None:
            recorder.record(DeviceError(device="ticket_printer", error=error.reason), session=session)
        return error.reason
    if recorder is not None:
        recorder.record(TicketPrinted(), session=session)
    return None
