"""What the home page shows: the tiles by démarche category, in the resident's language.

No Qt here (the a11y tests render the same page in Chromium).
"""

from __future__ import annotations

from typing import Any

from kiosk.core.tiles import TilesConfig


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
