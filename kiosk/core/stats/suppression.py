"""Small-cell suppression for figures derived from residents' answers.

Each answer table (age, outcome, satisfaction, first visit) sums to a published total: the
sessions that were asked. A cell below ``k`` could point at one person ("the only resident
aged 12–17 today was unhappy"), so it is hidden (primary suppression). Hiding one cell of a
table is not enough: it could be recomputed as total minus the others. So more cells are hidden
(secondary suppression), smallest first, until the hidden cells are at least two and together
hold at least ``k`` — then neither subtraction nor the bounds 0 ≤ cell ≤ hidden sum pin any of
them, even for someone who knows this algorithm (the property tests attack it that way).

No cross-tabulation of answers is ever published, so tables of the same day share only their
total and cannot be played against each other.
"""

from __future__ import annotations

from collections.abc import Mapping

DEFAULT_K = 5
MIN_K = 3


def suppress_table(cells: Mapping[str, int], k: int = DEFAULT_K) -> dict[str, int | None]:
    """The table as it may be published: hidden cells are ``None``. Keeps the cells' order."""
    if k < MIN_K:
        raise ValueError(f"the suppression threshold k must be at least {MIN_K}, got {k}")
    if any(v < 0 for v in cells.values()):
        raise ValueError("a count cannot be negative")
    hidden = {key for key, value in cells.items() if value < k}
    if hidden:
        order = list(cells)
        while len(hidden) < len(cells) and (len(hidden) < 2 or sum(cells[key] for key in hidden) < k):
            visible = [key for key in order if key not in hidden]
            hidden.add(min(visible, key=lambda key: (cells[key], order.index(key))))
    return {key: (None if key in hidden else value) for key, value in cells.items()}


def suppress_answers(answers: Mapping[str, Mapping[str, int]], k: int = DEFAULT_K) -> dict[str, dict[str, int | None]]:
    """Every answer table of a day or a period, suppressed."""
    return {question: suppress_table(table, k) for question, table in answers.items()}
