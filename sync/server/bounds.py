"""The ranges the server accepts for dates and ids it is asked about: anything outside is a 422
with this reason, never an overflow deeper down (a week before year 1, an id PostgreSQL's
``integer`` cannot hold)."""

from __future__ import annotations

from datetime import date

EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2100, 12, 31)
MAX_ID = 2**31 - 1  # PostgreSQL's integer


def period_problem(first: date, last: date) -> str | None:
    """Why the period cannot be asked for, or ``None``."""
    if not EARLIEST_DAY <= first <= LATEST_DAY or not EARLIEST_DAY <= last <= LATEST_DAY:
        return f"dates must lie between {EARLIEST_DAY} and {LATEST_DAY}"
    return None
