"""What guards the console besides the password: failed-login throttling and its response headers."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

FAILURES_ALLOWED = 5
FAILURE_WINDOW_S = 600.0

HEADERS = {
    # No inline script or style anywhere: the page's script is /static/console.js.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self';"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=31536000",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
"""Added to every answer of the console (``sync.asgi.SecurityHeaders``)."""


class LoginThrottle:
    """At most :data:`FAILURES_ALLOWED` failed logins per address within :data:`FAILURE_WINDOW_S`.

    Kept in memory: a restart of the agent forgets it, which costs an attacker a restart they
    cannot cause. A successful login does not clear an address's failures (a guessed password
    among many tries must not reset the count for the next guesses).
    """

    def __init__(
        self,
        allowed: int = FAILURES_ALLOWED,
        window_s: float = FAILURE_WINDOW_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.allowed, self.window_s, self.clock = allowed, window_s, clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and now - failures[0] >= self.window_s:
            failures.popleft()
        return failures

    def blocked_for_s(self, address: str) -> float:
        """0 when the address may try; else how long until it may."""
        with self._lock:
            now = self.clock()
            failures = self._recent(address, now)
            if len(failures) < self.allowed:
                if not failures:
                    self._failures.pop(address, None)
                return 0.0
            return failures[-self.allowed] + self.window_s - now

    def failed(self, address: str) -> None:
        with self._lock:
            self._recent(address, self.clock()).append(self.clock())

    @staticmethod
    def minutes(seconds: float) -> int:
        return max(1, math.ceil(seconds / 60))
