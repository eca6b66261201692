"""What is published, family by family: a total and its breakdown (see :mod:`.disclosure`).

The terminal's report and the federation server publish the same families from the same day's
tables (the names of :data:`sync.vocabulary.SCALARS` and :data:`sync.vocabulary.TABLES`), so
both hide small cells the same way. Not published: how sessions ended (a second breakdown of the
sessions ended: published beside the durations it would let anyone subtract one from the other)
— only the number of sessions that were asked the questions, which is its "button" cell.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping

from sync.vocabulary import MEDIATOR_COUNTS, PRINTING_COUNTS, SCALARS
from sync.vocabulary.disclosure import ROOT, Family

UNKNOWN = "inconnue"
"""The key of what a total holds that its breakdown does not say (a session without an hour)."""

SCALAR_FIGURES = tuple(name for name in SCALARS if name not in ("sessions", "sessions_ended"))
"""Single counts published on their own (the two others are totals of a breakdown)."""
EXEMPT = ("terminal_days",)
"""Counts of terminals' reports, not of residents: published as they are."""

FAMILIES: tuple[Family, ...] = (
    Family("sessions", ("sessions", ""), "hours"),
    Family("sessions_ended", ("sessions_ended", ""), "durations"),
    Family("tiles", ("tiles_opened", ""), "categories", "tiles"),
    Family("blocked", ("blocked_total", ""), "blocked"),
    Family("help_views", ("help_views_total", ""), "help_views"),
    Family("appointments_booked", ("appointments_booked_total", ""), "appointments_booked"),
    Family("appointments_cancelled", ("appointments_cancelled_total", ""), "appointments_cancelled"),
    Family("device_errors", ("device_errors_total", ""), "device_errors"),
    Family("mediator_taken", ("mediator", "taken"), "mediator_waits"),
    *(Family(f"mediator_{count}", ("mediator", count)) for count in MEDIATOR_COUNTS if count != "taken"),
    *(Family(f"printing_{count}", ("printing", count)) for count in PRINTING_COUNTS),
    *(Family(name, (name, "")) for name in SCALAR_FIGURES),
)
# Totals counted on their own (a session is counted even when its hour is unknown): their
# breakdown gets an UNKNOWN key for the difference, so that the total is the sum of its keys.
_SEPARATE_TOTALS = {"sessions", "sessions_ended", "mediator_taken"}


def answer_family(question: str) -> Family:
    """The answers to one question: cells published on their own (the terminals hid the small
    ones of each day, so their sum is a lower bound, not a breakdown of the sessions asked)."""
    return Family(f"answers.{question}", None, f"answers.{question}")


def families_for(metrics: Iterable[str]) -> list[Family]:
    questions = sorted({m.split(".", 1)[1] for m in metrics if m.startswith("answers.")})
    return [*FAMILIES, *(answer_family(q) for q in questions)]


def family_leaves(family: Family, tables: Mapping[str, Mapping[str, int]]) -> dict[str, int]:
    """The finest counts of ``family`` from one place and period's tables (metric → key → count;
    single counts under the key "")."""
    assert family.root is not None or family.table is not None
    if family.table is None:
        metric, key = family.root  # type: ignore[misc]
        value = tables.get(metric, {}).get(key, 0)
        return {ROOT: value} if value else {}
    source = family.leaves or family.table
    leaves: dict[str, int] = defaultdict(int)
    for key, value in tables.get(source, {}).items():
        if value:
            leaves[key] += value
    if family.name in _SEPARATE_TOTALS and family.root is not None:
        metric, key = family.root
        rest = tables.get(metric, {}).get(key, 0) - sum(leaves.values())
        if rest > 0:
            leaves[UNKNOWN] += rest
    return dict(leaves)
