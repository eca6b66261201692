"""The resident's session as a state machine driven by events and an injected clock.

Life of a session::

    ATTRACT ──activity/start──▶ ACTIVE ──idle_timeout_s──▶ WARNING ──warning_s──▶ ENDING(idle)
                                  ▲ │◀──────activity───────┘ │                      │
                                  │ └──end(reason)──▶ ENDING ◀──end(reason)────────┘
                                  │                     │ wiped()  (the shell destroyed everything)
                                  │                     ▼
    ATTRACT ◀──goodbye_s or activity (does not start a session)── WIPED

Rules the shell relies on:

* Every timer runs on ``clock.monotonic()``: a wall clock that jumps (dead RTC battery back to
  the year 2000, an NTP step) never shortens or lengthens anything. ``clock.now()`` is read once
  per session, to stamp ``started_at``.
* Events that make no sense in the current state are ignored, silently; they never raise. Only
  building ``Timings`` with a bad value raises ``ValueError``.
* ``tick()`` moves at most one step per call, and a timed state starts when the tick that
  entered it ran: after a frozen shell, the resident still sees the warning for its full length.
* ENDING is left only by ``wiped()``: the shell calls it once the session's page, profile and
  directory are destroyed. There is no timer out of ENDING.
* Listeners are called synchronously, in subscription order, for each transition in the order the
  transitions happened, even when a listener itself triggers a transition (that one is queued and
  delivered after every listener has seen the current one). A listener that raises is logged and
  the others still run. Read the ``Transition``, not ``machine.state``, inside a listener.
* The machine is not thread-safe: call it from the Qt main thread only.
"""

from __future__ import annotations

import logging
import math
import re
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from kiosk.core.ports import Clock

log = logging.getLogger(__name__)

__all__ = ["EndReason", "SessionStateMachine", "State", "Timings", "Transition"]


class State(StrEnum):
    ATTRACT = "attract"  # welcome screen, nobody in session
    ACTIVE = "active"  # a resident is using the terminal
    WARNING = "warning"  # idle: "Êtes-vous toujours là ?" with a countdown
    ENDING = "ending"  # the shell is destroying the session's page, profile and directory
    WIPED = "wiped"  # goodbye screen; nothing of the session is left


class EndReason(StrEnum):
    BUTTON = "button"  # "Terminer ma session"
    IDLE = "idle"  # the warning ran out
    CRASH = "crash"  # the session's renderer died
    STAFF = "staff"  # ended from the staff console


IN_SESSION = frozenset({State.ACTIVE, State.WARNING, State.ENDING})
"""States in which ``session_id`` is set."""

_SAFE_ID = re.compile(r"[0-9A-Za-z_-]{1,128}")


@dataclass(frozen=True)
class Timings:
    """Delays in seconds; each must be a finite number greater than zero."""

    idle_timeout_s: float
    warning_s: float
    goodbye_s: float

    def __post_init__(self) -> None:
        for name in ("idle_timeout_s", "warning_s", "goodbye_s"):
            value: object = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number of seconds, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number of seconds greater than 0, got {value!r}")


@dataclass(frozen=True)
class Transition:
    """One change of state, as listeners receive it.

    ``session_id`` is the session the transition belongs to: the new session for
    ATTRACT→ACTIVE, the session being wiped for ENDING→WIPED, ``None`` for WIPED→ATTRACT.
    ``reason`` is set on the way into ENDING and on ENDING→WIPED, ``None`` otherwise.
    ``at`` is ``clock.monotonic()`` when it happened.
    """

    old: State
    new: State
    session_id: str | None
    reason: EndReason | None
    at: float


def _new_session_id() -> str:
    return secrets.token_hex(16)


class SessionStateMachine:
    """One resident's session at a time."""

    def __init__(self, timings: Timings, clock: Clock, new_id: Callable[[], str] = _new_session_id) -> None:
        given: object = timings  # the shell's own code is not type-checked strictly
        if not isinstance(given, Timings):
            raise ValueError(f"timings must be a Timings, got {given!r}")
        self._timings = timings
        self._clock = clock
        self._new_id = new_id
        self._state = State.ATTRACT
        self._session_id: str | None = None
        self._last_id: str | None = None  # of the previous session, so that no two in a row share one
        self._started_at: datetime | None = None
        self._started_mono: float | None = None
        self._ended_mono: float | None = None
        self._end_reason: EndReason | None = None
        self._entered = clock.monotonic()  # when the current state began
        self._last_activity = self._entered
        self._listeners: list[Callable[[Transition], None]] = []
        self._pending: deque[Transition] = deque()
        self._dispatching = False

    # -- read side ---------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def session_id(self) -> str | None:
        """Random id of the session in ACTIVE, WARNING and ENDING; ``None`` in ATTRACT and WIPED."""
        return self._session_id

    @property
    def started_at(self) -> datetime | None:
        """Wall-clock start (``clock.now()``) of the current or last session, for records only."""
        return self._started_at

    @property
    def end_reason(self) -> EndReason | None:
        """Why the current or last session ended; ``None`` until it does, reset by the next start."""
        return self._end_reason

    def idle_remaining(self) -> float:
        """Seconds until the idle warning (ACTIVE), else 0."""
        if self._state is not State.ACTIVE:
            return 0.0
        return self._remaining(self._last_activity + self._timings.idle_timeout_s)

    def warning_remaining(self) -> float:
        """Seconds left on the warning's countdown (WARNING), else 0."""
        if self._state is not State.WARNING:
            return 0.0
        return self._remaining(self._entered + self._timings.warning_s)

    def next_deadline(self) -> float | None:
        """``clock.monotonic()`` time at which ``tick()`` will next change the state, or ``None``.

        It may already be past (a late tick): schedule ``max(0, deadline - monotonic())``. After
        any event or tick, ask again.
        """
        if self._state is State.ACTIVE:
            return self._last_activity + self._timings.idle_timeout_s
        if self._state is State.WARNING:
            return self._entered + self._timings.warning_s
        if self._state is State.WIPED:
            return self._entered + self._timings.goodbye_s
        return None

    def session_duration(self) -> float:
        """Seconds from the start of the current or last session to now, or to its end; ≥ 0."""
        if self._started_mono is None:
            return 0.0
        end = self._ended_mono if self._ended_mono is not None else self._clock.monotonic()
        return max(0.0, end - self._started_mono)

    def subscribe(self, listener: Callable[[Transition], None]) -> None:
        """Call ``listener`` after each transition, after the listeners subscribed before it."""
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
            self._last_activity = now  # the resident is back: a full idle delay again
            self._go(State.ACTIVE, now)
        elif self._state is State.WIPED:
            # The next resident must not wait for the goodbye to finish; the touch brings the
            # welcome screen, it does not open a session by itself.
            self._go(State.ATTRACT, now)
        # ENDING: the session is being destroyed; nothing to do.

    def start(self) -> None:
        """Explicit start (a tile, the welcome button): from ATTRACT only."""
        if self._state is State.ATTRACT:
            self._begin(self._clock.monotonic())

    def end(self, reason: EndReason) -> None:
        """End the session (ACTIVE or WARNING → ENDING); ignored in any other state."""
        if self._state in (State.ACTIVE, State.WARNING):
            now = self._clock.monotonic()
            self._end_reason = reason
            self._ended_mono = now
            self._go(State.ENDING, now, reason)

    def wiped(self) -> None:
        """The shell destroyed the session's page, profile and directory: ENDING → WIPED."""
        if self._state is State.ENDING:
            now = self._clock.monotonic()
            finished = self._session_id
            self._session_id = None
            self._go(State.WIPED, now, self._end_reason, session_id=finished)

    def tick(self) -> None:
        """Apply the timer that is due, if any; at most one step per call."""
        deadline = self.next_deadline()
        if deadline is None:
            return
        now = self._clock.monotonic()
        if now < deadline:
            return
        if self._state is State.ACTIVE:
            self._go(State.WARNING, now)
        elif self._state is State.WARNING:
            self.end(EndReason.IDLE)
        elif self._state is State.WIPED:
            self._go(State.ATTRACT, now)

    # -- internals ---------------------------------------------------------------------------
    def _remaining(self, deadline: float) -> float:
        return max(0.0, deadline - self._clock.monotonic())

    def _begin(self, now: float) -> None:
        self._session_id = self._fresh_id()
        self._last_id = self._session_id
        self._started_at = self._clock.now()
        self._started_mono = now
        self._ended_mono = None
        self._end_reason = None
        self._last_activity = now
        self._go(State.ACTIVE, now)

    def _fresh_id(self) -> str:
        """An id from ``new_id``, if it is safe as a directory name and not the last one."""
        try:
            candidate: object = self._new_id()
        except Exception:
            log.exception("session.id_generator_failed")
            return _new_session_id()
        if isinstance(candidate, str) and _SAFE_ID.fullmatch(candidate) and candidate != self._last_id:
            return candidate
        log.error("session.id_rejected", extra={"reason": "unsafe or repeated"})
        fallback = _new_session_id()
        while fallback == self._last_id:  # pragma: no cover - 2**-128
            fallback = _new_session_id()
        return fallback

    def _go(self, new: State, now: float, reason: EndReason | None = None, *, session_id: str | None = None) -> None:
        old = self._state
        self._state = new
        self._entered = now
        self._pending.append(Transition(old, new, session_id or self._session_id, reason, now))
        if self._dispatching:
            return  # a listener caused this one: delivered once every listener has seen the last
        self._dispatching = True
        try:
            while self._pending:
                transition = self._pending.popleft()
                for listener in tuple(self._listeners):
                    try:
                        listener(transition)
                    except Exception:
                        log.exception(
                            "session.listener_failed",
                            extra={"from": str(transition.old), "to": str(transition.new)},
                        )
        finally:
            self._dispatching = False
