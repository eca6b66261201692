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
from kiosk.pages.registry import PAGES, PageRequest, PageServices

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


def mediator_context(view: DeskView, tiles: TilesConfig, language: str = "fr") -> dict[str, Any]:
    return {
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
    return mediator_context(view, services.tiles, request.language)
