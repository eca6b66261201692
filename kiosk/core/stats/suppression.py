"""Small-cell suppression for figures derived from residents' answers.

Each answer table (age, outcome, satisfaction, first visit) sums to a published total: the
sessions that were asked. A cell below ``k`` could point at one person ("the only resident
aged 12–17 today was unhappy"), so it is hidden (primary suppression). Hiding one cell of a
table is not enough: it would be the total minus the others. So when the small cells are fewer
than two or hold fewer than ``k`` answers together, one more cell is hidden (secondary
suppression).

Which cell is the secondary one must not be guessable from the figures: choosing the smallest
would tell whoever knows this algorithm that every visible cell is at least as big as the hidden
ones, and a fixed choice would tell which hidden cell is the big one — both pin values down
(the property tests found exactly these attacks). So the secondary cell is drawn by a keyed hash
of the cell's name, with a secret that never leaves the terminal: the same day always gives the
same batch, and an attacker must consider every possible draw.

The rule itself, :func:`suppress_table`, is the shared vocabulary's (``sync.vocabulary``): the
federation server hides cells with the very same function.

No cross-tabulation of answers is ever published, so tables of the same day share only their
total and cannot be played against each other.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from kiosk.core.store import Store
from sync.vocabulary import DEFAULT_K, MIN_K, suppress_table

__all__ = ["DEFAULT_K", "MIN_K", "suppress_answers", "suppress_table", "terminal_secret"]


def suppress_answers(
    answers: Mapping[str, Mapping[str, int]], k: int = DEFAULT_K, salt: bytes = b""
) -> dict[str, dict[str, int | None]]:
    """Every answer table of a day or a period, suppressed (each with its own draw)."""
    return {
        question: suppress_table(table, k, salt + b"\x00" + question.encode()) for question, table in answers.items()
    }


SECRET_KEY = "suppression_secret"


def terminal_secret(store: Store) -> bytes:
    """The terminal's own secret for the draws (created on first use; never leaves the terminal)."""
    existing = store.meta(SECRET_KEY)
    if existing is None:
        with store.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (SECRET_KEY, secrets.token_hex(32)))
        existing = store.meta(SECRET_KEY)
    return bytes.fromhex(existing or "")
