"""The federation server's tunable limits, in one place (defaults are the production values).

``kiosk-federation serve`` uses the defaults; tests build servers with smaller limits to reach
them quickly. Every figure here is documented in README (*Deploying the federation server*).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rate:
    """A token bucket: ``burst`` requests at once, refilled at ``per_minute``."""

    per_minute: float
    burst: float


@dataclass(frozen=True)
class ServerSettings:
    # Requests from one terminal (its token), whatever their answer: a terminal catching up
    # after weeks offline sends one batch per request.
    terminal_rate: Rate = field(default_factory=lambda: Rate(per_minute=120.0, burst=240.0))
    # Requests without a terminal's token (enrolment, unknown tokens, exports, dashboard pages),
    # per client address.
    address_rate: Rate = field(default_factory=lambda: Rate(per_minute=120.0, burst=240.0))
    # Login attempts per client address: 10 at once, then one every 90 seconds.
    login_rate: Rate = field(default_factory=lambda: Rate(per_minute=10 / 15, burst=10.0))
    # A request body must arrive whole within this time (a client sending one byte a second is
    # cut off), and a request head within ``head_timeout_s`` of the first byte.
    body_timeout_s: float = 20.0
    head_timeout_s: float = 10.0
    # Plain-http test only: session cookies without the Secure flag.
    insecure_cookies: bool = False
    # Publish due months from the server process itself (at start-up, then every night:
    # sync/server/schedule.py); off where `kiosk-federation publish` runs from a timer, and in
    # tests that publish when they choose. Requests never publish.
    publish_in_process: bool = True
