"""The ids the server accepts in paths and queries: anything larger is a 422 or 404 with a reason,
never an overflow deeper down (an id PostgreSQL's ``integer`` cannot hold). Periods carry their
own bounds (``sync.vocabulary.periods.FIRST_YEAR`` / ``LAST_YEAR``)."""

from __future__ import annotations

MAX_ID = 2**31 - 1  # PostgreSQL's integer
