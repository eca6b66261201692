"""The end-of-session questions: what the page shows and how its answers are read back.

No Qt here: the values are the statistics vocabulary, the labels are the resident's French
(message ids: the page translates them).
"""

from __future__ import annotations

from kiosk.core.stats.events import AgeBracket, Outcome, Satisfaction
from kiosk.i18n import N_

QUESTIONS_PAGE = (
    {
        "key": "age",
        "title": N_("Quel âge avez-vous ?"),
        "options": [{"value": a.value, "label": a.label} for a in AgeBracket],
    },
    {
        "key": "outcome",
        "title": N_("Avez-vous pu faire votre démarche ?"),
        "options": [
            {"value": Outcome.YES.value, "label": N_("Oui")},
            {"value": Outcome.PARTLY.value, "label": N_("En partie")},
            {"value": Outcome.NO.value, "label": N_("Non")},
        ],
    },
    {
        "key": "satisfaction",
        "title": N_("Êtes-vous content de la borne ?"),
        "options": [
            {"value": Satisfaction.HAPPY.value, "label": N_("Content"), "face": "happy"},
            {"value": Satisfaction.NEUTRAL.value, "label": N_("Moyen"), "face": "neutral"},
            {"value": Satisfaction.UNHAPPY.value, "label": N_("Pas content"), "face": "unhappy"},
        ],
    },
    {
        "key": "first_visit",
        "title": N_("Est-ce votre première visite ici ?"),
        "options": [
            {"value": "oui", "label": N_("Oui, c'est la première fois")},
            {"value": "non", "label": N_("Non, je suis déjà venu")},
        ],
    },
)
"""The end-of-session questions as the page shows them (values are the stats vocabulary)."""

_ANSWER_TYPES: dict[str, type[AgeBracket] | type[Outcome] | type[Satisfaction]] = {
    "age": AgeBracket,
    "outcome": Outcome,
    "satisfaction": Satisfaction,
}


def parse_answers(params: dict[str, str]) -> dict[str, object]:
    """The questions page's answers, keeping only known values (a page cannot inject anything)."""
    answers: dict[str, object] = {}
    for key, enum in _ANSWER_TYPES.items():
        value = params.get(key, "")
        if value in {member.value for member in enum}:
            answers[key] = enum(value)
    first = params.get("first_visit")
    if first in ("oui", "non"):
        answers["first_visit"] = first == "oui"
    return answers
