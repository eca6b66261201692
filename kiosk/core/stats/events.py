"""The usage events the terminal records: a closed vocabulary, nothing about who.

Every field is a number, a boolean, a member of a fixed list, an identifier from the
configuration (a tile, an article) or a registrable domain. There is no field for free text,
a URL path, a query string, a name or an address, so none can be stored by mistake.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from kiosk.core.devices import DeviceFailure, PrintOutcome
from kiosk.i18n import N_
from sync.vocabulary import Category

_SLUG = re.compile(r"[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?")
# A registrable domain as the policy reports it: lower-case ASCII (punycode) labels, or an IP.
_DOMAIN = re.compile(r"(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
_IPV6 = re.compile(r"\[[0-9a-f:.]{2,45}\]")


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError(f"{value!r} is not an identifier (a-z, 0-9, '-', '_', at most 64)")
    return value


def _domain(value: str) -> str:
    if not (_DOMAIN.fullmatch(value) or _IPV6.fullmatch(value)):
        raise ValueError(f"{value!r} is not a domain name")
    return value


Slug = Annotated[str, AfterValidator(_slug)]
Domain = Annotated[str, AfterValidator(_domain)]

# Codes the first printer port stored before DeviceFailure closed the set.
_LEGACY_FAILURES = {"failed": DeviceFailure.UNKNOWN.value}


def _legacy_failure(value: object) -> object:
    return _LEGACY_FAILURES.get(value, value) if isinstance(value, str) else value


Failure = Annotated[DeviceFailure, BeforeValidator(_legacy_failure)]


class AgeBracket(StrEnum):
    """Brackets of the national digital-mediation activity report."""

    UNDER_12 = "moins_12"
    FROM_12_TO_17 = "12_17"
    FROM_18_TO_24 = "18_24"
    FROM_25_TO_39 = "25_39"
    FROM_40_TO_59 = "40_59"
    FROM_60_TO_69 = "60_69"
    FROM_70 = "70_plus"
    UNDISCLOSED = "non_communique"

    @property
    def label(self) -> str:
        return _AGE_LABELS[self]


_AGE_LABELS = {
    AgeBracket.UNDER_12: N_("Moins de 12 ans"),
    AgeBracket.FROM_12_TO_17: N_("12 – 17 ans"),
    AgeBracket.FROM_18_TO_24: N_("18 – 24 ans"),
    AgeBracket.FROM_25_TO_39: N_("25 – 39 ans"),
    AgeBracket.FROM_40_TO_59: N_("40 – 59 ans"),
    AgeBracket.FROM_60_TO_69: N_("60 – 69 ans"),
    AgeBracket.FROM_70: N_("70 ans et plus"),
    AgeBracket.UNDISCLOSED: N_("Non communiqué"),
}


class Outcome(StrEnum):
    """ "Avez-vous pu faire votre démarche ?" """

    YES = "oui"
    PARTLY = "en_partie"
    NO = "non"


class Satisfaction(StrEnum):
    HAPPY = "content"
    NEUTRAL = "moyen"
    UNHAPPY = "mecontent"


EndReasonName = Literal["button", "idle", "crash", "staff"]
Device = Literal["printer", "scanner", "ticket_printer", "touchscreen", "network", "disk", "clock"]


class Event(BaseModel):
    """Base of all events. ``kind`` is the name stored in the database."""

    # Each kind's validator is built when it is first recorded, not when the shell starts.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    kind: ClassVar[str]


class SessionStarted(Event):
    kind: ClassVar[str] = "session_started"


class SessionEnded(Event):
    """End of a session, with the resident's optional answers to the end-of-session questions.

    The answers travel with the end so that every answer table sums to the sessions that were
    asked (those ended with the button), which small-cell suppression relies on.
    """

    kind: ClassVar[str] = "session_ended"
    duration_s: float = Field(ge=0, le=7 * 24 * 3600)
    reason: EndReasonName
    age: AgeBracket | None = None
    outcome: Outcome | None = None
    satisfaction: Satisfaction | None = None
    first_visit: bool | None = None


class TileOpened(Event):
    kind: ClassVar[str] = "tile_opened"
    tile: Slug
    category: Category


class NavigationBlocked(Event):
    kind: ClassVar[str] = "navigation_blocked"
    tile: Slug | None = None  # None: from the home page or a help page
    domain: Domain | None = None  # the registrable domain that was refused, never the URL


class HelpArticleViewed(Event):
    kind: ClassVar[str] = "help_article_viewed"
    article: Slug


class HelpSearched(Event):
    """A search in the help centre: the number of results only, never the words typed."""

    kind: ClassVar[str] = "help_searched"
    results: int = Field(ge=0)


class MediatorCall(Event):
    kind: ClassVar[str] = "mediator_call"
    stage: Literal["opened", "taken", "done", "missed"]
    wait_s: float | None = Field(default=None, ge=0, le=24 * 3600)  # for taken and missed calls


class Appointment(Event):
    kind: ClassVar[str] = "appointment"
    action: Literal["booked", "cancelled"]
    category: Category


class PrintJob(Event):
    """Pages sent to the printer: printed at once, held for staff, released or cancelled by staff."""

    kind: ClassVar[str] = "print_job"
    pages: int = Field(ge=1, le=10_000)
    status: PrintOutcome


class StaffPrint(Event):
    """Pages staff printed from the console (pages × copies): the day's ``printing.pages_staff``."""

    kind: ClassVar[str] = "staff_print"
    pages: int = Field(ge=1, le=10_000)


class PagesScanned(Event):
    kind: ClassVar[str] = "pages_scanned"
    pages: int = Field(ge=1, le=10_000)


class TicketPrinted(Event):
    kind: ClassVar[str] = "ticket_printed"


class DeviceError(Event):
    kind: ClassVar[str] = "device_error"
    device: Device
    error: Failure  # from the devices' closed set ("offline", "paper_out", "jam"…) — never a message


class EventsLost(Event):
    """The recorder had to drop events (disk full or locked for too long): how many."""

    kind: ClassVar[str] = "events_lost"
    count: int = Field(ge=1)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.kind: cls
    for cls in (
        SessionStarted,
        SessionEnded,
        TileOpened,
        NavigationBlocked,
        HelpArticleViewed,
        HelpSearched,
        MediatorCall,
        Appointment,
        PrintJob,
        StaffPrint,
        PagesScanned,
        TicketPrinted,
        DeviceError,
        EventsLost,
    )
}


def parse_event(kind: str, data: str) -> Event | None:
    """An event read back from the database, or ``None`` if it is unknown or invalid."""
    cls = EVENT_TYPES.get(kind)
    if cls is None:
        return None
    try:
        return cls.model_validate_json(data)
    except ValueError:
        return None
