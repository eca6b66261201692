"""The website's handlers run on a few threads at once, not one thread per visitor.

FastAPI runs a plain (``def``) handler on anyio's shared pool, up to 40 threads at once. Twenty
phones on the booking pages were then twenty threads taking turns on one interpreter lock: a
booking holding the database's write lock waited, at each of its statements, for the lock to
come back from nineteen threads drawing pages, and every other booking queued behind it (the
bench's ``booking_p95_ms``: 0.27 s, of which 0.2 s waiting for the previous bookings). On a
few threads the same work is done in turn, the bookings no longer wait behind pages being
drawn, and the other requests wait their turn in the event loop, where waiting costs nothing.

The limit is the website's own (:class:`SiteWorkers` per app): the staff console, served by the
same process, keeps anyio's pool.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import anyio
import anyio.to_thread
from fastapi import FastAPI

WORKERS = 4
"""Threads at once: the terminal has two to four cores, and a handler that waits (a database
locked by the shell for a moment) leaves three to go on."""

P = ParamSpec("P")
R = TypeVar("R")


class SiteWorkers:
    """Turns a plain handler into one run on this site's threads (``@workers`` under ``@app.get``)."""

    def __init__(self, count: int = WORKERS) -> None:
        self.count = count
        self._limiter: anyio.CapacityLimiter | None = None  # made in the event loop, at the first request

    def __call__(self, handler: Callable[P, R]) -> Callable[P, Awaitable[R]]:
        @functools.wraps(handler)  # FastAPI reads the handler's parameters through the wrapper
        async def run(*args: P.args, **kwargs: P.kwargs) -> R:
            if self._limiter is None:
                self._limiter = anyio.CapacityLimiter(self.count)
            return await anyio.to_thread.run_sync(functools.partial(handler, *args, **kwargs), limiter=self._limiter)

        return run


def site_workers(app: FastAPI) -> SiteWorkers:
    """The app's workers, made at the first ask: the help pages, the booking and the cancel
    pages share them."""
    workers = getattr(app.state, "site_workers", None)
    if not isinstance(workers, SiteWorkers):
        workers = app.state.site_workers = SiteWorkers()
    return workers
