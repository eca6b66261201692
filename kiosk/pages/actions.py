"""What a resident can ask of the kiosk: the verbs of the top bar and of the ``kiosk:`` pages.

One vocabulary for both: a page asks with a ``kiosk://borne/action/<verb>?…`` link (made by the
template global ``action()``, which refuses a verb that is not here), the top bar with the same
verb, and the shell dispatches both through one table.
"""

from __future__ import annotations

from enum import StrEnum

from kiosk.pages.address import verb_url


class Action(StrEnum):
    START = "start"  # the attract screen was touched
    OPEN = "open"  # open a tile (?tile=<id>)
    HOME = "home"
    BACK = "back"
    HELP = "help"
    MEDIATOR = "mediator"
    CALL = "call"  # call a mediator (?category=<category or "inconnu">&first_name=…), from the mediator page
    APPOINTMENT = "appointment"  # the booking page (?category=…: its slots; &slot=…: the contact form)
    BOOK = "book"  # book the slot (?category, slot, name, contact), from the booking page
    ZOOM = "zoom"
    END = "end"  # "Terminer ma session"
    STAY = "stay"  # "Oui, je continue" on the idle warning
    ATTRACT = "attract"  # a tap on the goodbye screen
    ANSWERS = "answers"  # the end-of-session questions, answered or skipped (?age=…)
    QUESTION = "question"  # an answer tapped: more time for the next question
    READ = "read"  # read the page aloud
    CONTRAST = "contrast"  # high contrast on or off
    LANGUAGE = "language"  # ?code=<language>
    SCAN = "scan"  # "Scanner un document" (the top bar): scan into the session's directory
    SETUP = "setup"  # the first-boot setup page's form (?centre, ssid, passphrase, server, code, step)


def action_url(action: Action | str, **params: str) -> str:
    """``kiosk://borne/action/<verb>?…``; raises ValueError for a verb the shell does not know."""
    return verb_url(Action(action).value, **params)
