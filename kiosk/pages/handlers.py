"""The kiosk's own pages: welcome, home, idle warning, refusals, questions, goodbye."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiosk.core.tiles import TilesConfig
from kiosk.pages.actions import Action, action_url
from kiosk.pages.questions import QUESTIONS_PAGE
from kiosk.pages.registry import PAGES, PageRequest, PageServices

PAGES.static_pages("attract", "goodbye", "crashed")
PAGES.static_pages("appointment_cancel")  # the website's cancel link: the agent gives its context


def home_groups(tiles: TilesConfig, language: str) -> list[tuple[str, list[dict[str, Any]]]]:
    """(category label msgid, tiles) pairs; each tile in ``language`` when the centre translated
    it, else in French — ``lang`` says which, so the page marks French words as French."""
    groups = []
    for category, members in tiles.by_category():
        shown = []
        for tile in members:
            label, description, lang = tile.text(language)
            shown.append({"id": tile.id, "label": label, "description": description, "icon": tile.icon, "lang": lang})
        groups.append((category.label, shown))
    return groups


@PAGES.page("home")
def home_page(request: PageRequest, services: PageServices) -> Mapping[str, Any]:
    booking = services.booking is not None and services.booking.enabled
    return {"groups": home_groups(services.tiles, request.language), "booking": booking}


@PAGES.page("blocked")
def blocked_page(request: PageRequest, services: PageServices) -> Mapping[str, Any]:
    suggest = None
    if request.get("suggest"):
        try:
            tile = services.tiles.tile(request.get("suggest"))
        except KeyError:
            pass
        else:
            suggest = {"id": tile.id, "label": tile.text(request.language)[0]}
    return {
        "site": request.get("site") or None,
        "reason": request.get("reason", "not_allowed"),
        "back_url": action_url(Action.BACK),
        "suggest": suggest,
    }


@PAGES.page("unreachable")
def unreachable_page(request: PageRequest, services: PageServices) -> Mapping[str, Any]:
    return {"site": request.get("site") or None}


@PAGES.page("warning")
def warning_page(request: PageRequest, services: PageServices) -> Mapping[str, Any]:
    return {"seconds": int(services.warning_s)}


@PAGES.page("questions")
def questions_page(request: PageRequest, services: PageServices) -> Mapping[str, Any]:
    return {"questions": QUESTIONS_PAGE}
