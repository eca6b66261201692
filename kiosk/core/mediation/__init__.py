"""Bringing a person to the resident: mediator calls and appointments with resource persons.

Pure rules, no Qt, no network: the shell, the agent's console and the booking website all use
them, and meet in the shared SQLite database.

* :mod:`kiosk.core.mediation_config` (beside this package: the settings import it alone)
                   the ``[opening]``, ``[mediator]`` and ``[appointments]`` settings of kiosk.toml
* :mod:`.hours`    opening hours in the centre's time zone: open now? the next opening
* :mod:`.wording`  the next opening in plain French ("Mardi de 14 h à 17 h")
* :mod:`.calls`    the mediator call queue (number of the day, position, wait estimate)
* :mod:`.slots`    free appointment slots from availability, closures, bookings and busy times
* :mod:`.booking`  resource persons and appointments in SQLite: atomic booking, states, purge
* :mod:`.contact`  a resident's name, phone number or e-mail, checked
* :mod:`.ics`      busy times read from a person's calendar (ICS), last good copy; one
                   appointment as an iCalendar event
* :mod:`.tickets`  the paper tickets of a call and of an appointment (QR code: the event)
* :mod:`.notices`  what is sent (reminders, alerts): each meant once, claimed, retried, never twice
* :mod:`.reminders`  which appointment is reminded when and on which channel; the words; the cancel link
* :mod:`.alerts`   the calls waiting too long; the alert's words
"""
