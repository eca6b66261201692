"""The mediator page: call a person to the terminal, then follow the call.

The handler reads only what the mediator desk last saw (``services.mediation.view``, kept by the
shell off its GUI thread): rendering never touches the database. Without a desk (no database,
the website) the page sends the resident to the reception desk.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiosk.core.mediation.contact import FIRST_NAME_MAX
from kiosk.core.mediation.desk import UNKNOWN_CATEGORY, DeskState, DeskView
from kiosk.core.tiles import TilesConfig
from kiosk.pages.actions import Action, action_url
from kiosk.pages.registry import PAGES, PageRequest, PageServices
from sync.vocabulary import Category

UNKNOWN_ICON = "actions/help.svg"


def call_categories(tiles: TilesConfig) -> list[dict[str, str]]:
    """The démarche categories of the home page, each with its first tile's pictogram, then
    "Je ne sais pas" (``label`` is a message id: the template translates it)."""
    shown = [
        {"value": category.value, "label": category.label, "icon": "icons/" + members[0].icon}
        for category, members in tiles.by_category()
    ]
    shown.append({"value": UNKNOWN_CATEGORY, "label": "", "icon": UNKNOWN_ICON})  # "Je ne sais pas"
    return shown


def ordinal(position: int, language: str = "fr") -> str:
    """``1er``, ``2e``: the resident's place in French (other languages say "number 2")."""
    if language != "fr":
        return str(position)
    return "1er" if position == 1 else f"{position}e"


def appointment_offer(tiles: TilesConfig, preselected: Category | None) -> dict[str, Any]:
    """When no mediator can come: an appointment in one tap, for the démarche of the tile the
    resident was in first, then for any other (each tap goes straight to its free slots)."""
    categories = [c for c in call_categories(tiles) if c["value"] != UNKNOWN_CATEGORY]
    first = next((c for c in categories if preselected is not None and c["value"] == preselected.value), None)
    if first is None and preselected is not None:
        first = {"value": preselected.value, "label": preselected.label, "icon": UNKNOWN_ICON}
    return {
        "first": None if first is None else {**first, "url": action_url(Action.APPOINTMENT, category=first["value"])},
        "others": [
            {**c, "url": action_url(Action.APPOINTMENT, category=c["value"])} for c in categories if c is not first
        ],
    }


def mediator_context(
    view: DeskView,
    tiles: TilesConfig,
    language: str = "fr",
    *,
    booking: bool = False,
    preselected: Category | None = None,
) -> dict[str, Any]:
    """``booking``: appointments can be booked here (offered when no mediator can come)."""
    offer = booking and view.state is DeskState.UNAVAILABLE
    return {
        "appointment": appointment_offer(tiles, preselected) if offer else None,
        "desk": view.state.value,
        "message": view.message,
        "number": view.number,
        "place": ordinal(view.position, language) if view.position else None,
        "wait": view.wait,
        "error": view.error,
        "ticket_failed": view.ticket_failed,
        "categories": call_categories(tiles) if view.state is DeskState.OFFER else [],
        "first_name_max": FIRST_NAME_MAX,
    }


@PAGES.page("mediator")
def mediator_page(request: PageRequest, services: PageServices) -> Mapping[str, Any]:
    desk = services.mediation
    view = desk.view if desk is not None else DeskView(DeskState.RECEPTION)
    booking = services.booking
    return mediator_context(
        view,
        services.tiles,
        request.language,
        booking=booking is not None and booking.enabled,
        preselected=booking.preselected if booking is not None else None,
    )
