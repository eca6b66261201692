"""What the terminal and the federation server must agree on, written once.

The démarche categories, what a tile's words and names may be, the names of the day's counts,
and the small-cell rule. The terminal's core (``kiosk.core``) and the server (``sync.protocol``,
``sync.server``) both import them from here, so a catalogue the server accepts is one every
terminal can show, and a table is hidden the same way wherever it is published.

Pure: the standard library only (the pydantic field types are in :mod:`sync.vocabulary.fields`,
so that the shell's first screen never waits for pydantic), nothing of ``kiosk`` and no I/O. Origins (host names
and their rules) need idna and the public suffix list: they are :mod:`sync.vocabulary.origins`.

The categories' French names are plain strings here: the terminal marks them for translation
(``make i18n`` reads :data:`CATEGORY_LABELS`) and translates them where it shows them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from enum import StrEnum

# -- démarche categories -------------------------------------------------------------------


class Category(StrEnum):
    """Démarche categories of the national digital-mediation activity report."""

    PAPIERS = "papiers"
    FAMILLE = "famille"
    SOCIAL_SANTE = "social_sante"
    TRAVAIL = "travail"
    LOGEMENT = "logement"
    TRANSPORTS = "transports"
    ARGENT = "argent"
    JUSTICE = "justice"
    ETRANGERS = "etrangers"
    LOISIRS = "loisirs"
    ASSOCIATIONS = "associations"
    AUTRE = "autre"

    @property
    def label(self) -> str:
        """The category's French name (the terminal's translation key)."""
        return CATEGORY_LABELS[self]


CATEGORY_LABELS: dict[Category, str] = {
    Category.PAPIERS: "Papiers – Élections – Citoyenneté",
    Category.FAMILLE: "Famille – Scolarité",
    Category.SOCIAL_SANTE: "Social – Santé",
    Category.TRAVAIL: "Travail – Formation",
    Category.LOGEMENT: "Logement",
    Category.TRANSPORTS: "Transports – Mobilité",
    Category.ARGENT: "Argent – Impôts",
    Category.JUSTICE: "Justice",
    Category.ETRANGERS: "Étrangers – Europe",
    Category.LOISIRS: "Loisirs",
    Category.ASSOCIATIONS: "Associations",
    Category.AUTRE: "Autre",
}

# -- tiles ---------------------------------------------------------------------------------

TILE_LABEL_MAX = 40  # fits the home page's tile at the largest zoom
TILE_DESCRIPTION_MAX = 140
TILE_ID_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
"""A tile's id: lower-case letters, digits and inner dashes, at most 64 (statistics count by it)."""
ICON_NAME_MAX = 100


def check_tile_id(value: str) -> str:
    if not TILE_ID_PATTERN.fullmatch(value):
        raise ValueError(
            "use lower-case letters, digits and dashes only, at most 64, not at the ends"
            " (e.g. 'caf' or 'france-travail')"
        )
    return value


def check_icon_name(value: str) -> str:
    if "/" in value or "\\" in value or not value.endswith(".svg") or len(value) > ICON_NAME_MAX:
        raise ValueError("give the file name of an SVG in the icons/ directory, e.g. 'impots.svg'")
    return value


# The pydantic field types built on these checks: :mod:`sync.vocabulary.fields`.

# -- the day's counts ----------------------------------------------------------------------

SCALARS = (
    "sessions",
    "sessions_ended",
    "help_searches",
    "help_searches_empty",
    "scan_pages",
    "tickets",
    "answers_asked",
    "events_lost",
    "late_events",
    "undated_events",
)
"""The day's single counts."""

TABLES = (
    "end_reasons",
    "durations",
    "tiles",
    "categories",
    "blocked",
    "help_views",
    "appointments_booked",
    "appointments_cancelled",
    "device_errors",
)
"""The day's ``key → count`` tables (besides the mediator's waits and the answers)."""

MEDIATOR_COUNTS = ("opened", "taken", "done", "missed")
PRINTING_COUNTS = ("jobs", "pages_printed", "pages_held", "pages_released", "pages_cancelled", "pages_staff")
NO_ANSWER = "sans_reponse"
"""The cell of every answer table that counts the residents who were asked and did not answer."""

# -- small cells ---------------------------------------------------------------------------

DEFAULT_K = 5
MIN_K = 5
MAX_K = 100


def suppress_table(cells: Mapping[str, int], k: int = DEFAULT_K, salt: bytes = b"") -> dict[str, int | None]:
    """The table as it may be published: hidden cells are ``None``. Keeps the cells' order.

    A cell below ``k`` is hidden (primary suppression). When the hidden cells are fewer than two
    or hold fewer than ``k`` together, one more is hidden (secondary suppression), drawn by a
    keyed hash of the cell's name so that the choice tells nothing about the visible values:
    ``salt`` is the publisher's secret plus what the table is, so that every table draws
    independently and reproducibly.
    """
    if k < MIN_K:
        raise ValueError(f"the suppression threshold k must be at least {MIN_K}, got {k}")
    if any(v < 0 for v in cells.values()):
        raise ValueError("a count cannot be negative")
    hidden = {key for key, value in cells.items() if value < k}
    if hidden and (len(hidden) < 2 or sum(cells[key] for key in hidden) < k):
        visible = [key for key in cells if key not in hidden]
        if visible:
            # Any visible cell holds at least k: one is enough for two cells and k answers.
            hidden.add(min(visible, key=lambda key: hashlib.sha256(salt + b"\x00" + key.encode()).digest()))
    return {key: (None if key in hidden else value) for key, value in cells.items()}
