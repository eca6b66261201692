"""The resident's session as a state machine driven by events and an injected clock.

attract → active → warning → ending → wiped → attract. Timers use ``clock.monotonic()`` so
a wall clock that jumps (dead RTC battery, NTP step) never changes how long anything lasts.
The shell translates Qt events into calls here and states into screens.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kiosk.core.ports import Clock

log = logging.getLogger(__name__)


class State(StrEnum):
    ATTRACT = "attract"
    ACTIVE = "active"
    WARNING = "warning"
    ENDING = "ending"
    WIPED = "wiped"


class EndReason(StrEnum):
    BUTTON = "button"
    IDLE = "idle"
    CRASH = "crash"
    STAFF = "staff"


@dataclass(frozen=True)
class Timings:
    idle_timeout_s: float
    warning_s: float
    goodbye_s: float

    def __post_init__(self) -> None:
        for name in ("idle_timeout_s", "warning_s", "goodbye_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive")


@dataclass(frozen=True)
class Transition:
    old: State
    new: State
    session_id: str | None
    reason: EndReason | None
    at: float


def _new_session_id() -> str:
    return secrets.token_hex(16)


class SessionStateMachine:
    """One resident's session at a time; events that make no sense in a state are ignored."""

    def __init__(self, timings: Timings, clock: Clock, new_id: Callable[[], str] = _new_session_id) -> None:
        self._timings = timings
        self._clock = clock
        self._new_id = new_id
        self._state = State.ATTRACT
        self._session_id: str | None = None
        self._started_at: datetime | None = None
        self._started_mono: float | None = None
        self._ended_mono: float | None = None
        self._entered = clock.monotonic()  # when the current state began
        self._last_activity = self._entered
        self._end_reason: EndReason | None = None
        self._listeners: list[Callable[[Transition], None]] = []

    # -- read side ---------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def session_id(self) -> str | None:
        return self._session_id

    @property
    def started_at(self) -> datetime | None:
        return self._started_at

    @property
    def end_reason(self) -> EndReason | None:
        return self._end_reason

    def idle_remaining(self) -> float:
        if self._state is not State.ACTIVE:
            return 0.0
        return max(0.0, self._last_activity + self._timings.idle_timeout_s - self._clock.monotonic())

    def warning_remaining(self) -> float:
        if self._state is not State.WARNING:
            return 0.0
        return max(0.0, self._entered + self._timings.warning_s - self._clock.monotonic())

    def next_deadline(self) -> float | None:
        if self._state is State.ACTIVE:
            return self._last_activity + self._timings.idle_timeout_s
        if self._state is State.WARNING:
            return self._entered + self._timings.warning_s
        if self._state is State.WIPED:
            return self._entered + self._timings.goodbye_s
        return None

    def session_duration(self) -> float:
        if self._started_mono is None:
            return 0.0
        end = self._ended_mono if self._ended_mono is not None else self._clock.monotonic()
        return max(0.0, end - self._started_mono)

    def subscribe(self, listener: Callable[[Transition], None]) -> None:
        self._listeners.append(listener)

    # -- events ------------------------------------------------------------------------------
    def activity(self) -> None:
        """A touch, a key, a tap anywhere."""
        now = self._clock.monotonic()
        if self._state is State.ATTRACT:
            self._begin(now)
        elif self._state is State.ACTIVE:
            self._last_activity = now
        elif self._state is State.WARNING:
            self._last_activity = now
            self._go(State.ACTIVE, now)
        elif self._state is State.WIPED:
            # The next resident must not wait for the goodbye to finish; a touch here
            # brings the welcome screen, it does not open a session by itself.
            self._go(State.ATTRACT, now)

    def start(self) -> None:
        if self._state is State.ATTRACT:
            self._begin(self._clock.monotonic())

    def end(self, reason: EndReason) -> None:
        if self._state in (State.ACTIVE, State.WARNING):
            now = self._clock.monotonic()
            self._end_reason = reason
            self._ended_mono = now
            self._go(State.ENDING, now, reason)

    def wiped(self) -> None:
        if self._state is State.ENDING:
            now = self._clock.monotonic()
            self._session_id = None
            self._go(State.WIPED, now, self._end_reason)

    def tick(self) -> None:
        """Evaluate timers; at most one step per call so the warning is always seen in full."""
        now = self._clock.monotonic()
        deadline = self.next_deadline()
        if deadline is None or now < deadline:
            return
        if self._state is State.ACTIVE:
            self._go(State.WARNING, now)
        elif self._state is State.WARNING:
            self.end(EndReason.IDLE)
        elif self._state is State.WIPED:
            self._go(State.ATTRACT, now)

    # -- internals ---------------------------------------------------------------------------
    def _begin(self, now: float) -> None:
        self._session_id = self._new_id()
        self._started_at = self._clock.now()
        self._started_mono = now
        self._ended_mono = None
        self._end_reason = None
        self._last_activity = now
        self._go(State.ACTIVE, now)

    def _go(self, new: State, now: float, reason: EndReason | None = None) -> None:
        old = self._state
        self._state = new
        self._entered = now
        transition = Transition(old, new, self._session_id, reason, now)
        for listener in list(self._listeners):
            try:
                listener(transition)
            except Exception:
                log.exception("session.listener_failed", extra={"to": str(new)})
