"""Session state machine: every transition, every ignored event, every timer edge."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from kiosk.core.ports import ManualClock
from kiosk.core.session import EndReason, SessionStateMachine, State, Timings, Transition

pytestmark = pytest.mark.unit

T = Timings(idle_timeout_s=120, warning_s=30, goodbye_s=6)


def machine() -> tuple[SessionStateMachine, ManualClock, list[Transition]]:
    clock = ManualClock()
    sm = SessionStateMachine(T, clock)
    seen: list[Transition] = []
    sm.subscribe(seen.append)
    return sm, clock, seen


def in_state(state: State) -> tuple[SessionStateMachine, ManualClock, list[Transition]]:
    sm, clock, seen = machine()
    if state is State.ATTRACT:
        return sm, clock, seen
    sm.activity()
    if state is State.WARNING:
        clock.advance(T.idle_timeout_s)
        sm.tick()
    elif state is State.ENDING:
        sm.end(EndReason.BUTTON)
    elif state is State.WIPED:
        sm.end(EndReason.BUTTON)
        sm.wiped()
    assert sm.state is state
    seen.clear()
    return sm, clock, seen


# event -> {state: expected state after the event}
TABLE = {
    "activity": {
        State.ATTRACT: State.ACTIVE,
        State.ACTIVE: State.ACTIVE,
        State.WARNING: State.ACTIVE,
        State.ENDING: State.ENDING,
        State.WIPED: State.ATTRACT,
    },
    "start": {
        State.ATTRACT: State.ACTIVE,
        State.ACTIVE: State.ACTIVE,
        State.WARNING: State.WARNING,
        State.ENDING: State.ENDING,
        State.WIPED: State.WIPED,
    },
    "end": {
        State.ATTRACT: State.ATTRACT,
        State.ACTIVE: State.ENDING,
        State.WARNING: State.ENDING,
        State.ENDING: State.ENDING,
        State.WIPED: State.WIPED,
    },
    "wiped": {
        State.ATTRACT: State.ATTRACT,
        State.ACTIVE: State.ACTIVE,
        State.WARNING: State.WARNING,
        State.ENDING: State.WIPED,
        State.WIPED: State.WIPED,
    },
    "tick_now": {s: s for s in State},
}


@pytest.mark.parametrize("event", list(TABLE))
@pytest.mark.parametrize("state", list(State))
def test_event_table(event: str, state: State) -> None:
    sm, _clock, seen = in_state(state)
    if event == "end":
        sm.end(EndReason.BUTTON)
    elif event == "tick_now":
        sm.tick()
    else:
        getattr(sm, event)()
    assert sm.state is TABLE[event][state]
    assert (len(seen) > 0) == (TABLE[event][state] is not state)


def test_full_life_and_ids() -> None:
    sm, clock, seen = machine()
    assert sm.session_id is None
    sm.activity()
    first = sm.session_id
    assert first and len(first) == 32
    assert sm.started_at == clock.now()
    sm.end(EndReason.BUTTON)
    assert sm.session_id == first and sm.end_reason is EndReason.BUTTON
    sm.wiped()
    assert sm.session_id is None
    clock.advance(T.goodbye_s)
    sm.tick()
    assert sm.state is State.ATTRACT
    sm.activity()
    assert sm.session_id not in (None, first)
    assert [t.new for t in seen] == [State.ACTIVE, State.ENDING, State.WIPED, State.ATTRACT, State.ACTIVE]
    assert seen[1].reason is EndReason.BUTTON


@pytest.mark.parametrize(
    ("advance", "expected"), [(119.999, State.ACTIVE), (120, State.WARNING), (5000, State.WARNING)]
)
def test_idle_edge(advance: float, expected: State) -> None:
    sm, clock, _ = in_state(State.ACTIVE)
    clock.advance(advance)
    sm.tick()
    assert sm.state is expected


@pytest.mark.parametrize(("advance", "expected"), [(29.999, State.WARNING), (30, State.ENDING)])
def test_warning_edge(advance: float, expected: State) -> None:
    sm, clock, seen = in_state(State.WARNING)
    clock.advance(advance)
    sm.tick()
    assert sm.state is expected
    if expected is State.ENDING:
        assert seen[-1].reason is EndReason.IDLE and sm.end_reason is EndReason.IDLE


@pytest.mark.parametrize(("advance", "expected"), [(5.999, State.WIPED), (6, State.ATTRACT)])
def test_goodbye_edge(advance: float, expected: State) -> None:
    sm, clock, _ = in_state(State.WIPED)
    clock.advance(advance)
    sm.tick()
    assert sm.state is expected


def test_activity_just_before_deadline_restarts_full_delay() -> None:
    sm, clock, _ = in_state(State.ACTIVE)
    clock.advance(119.9)
    sm.activity()
    clock.advance(119.9)
    sm.tick()
    assert sm.state is State.ACTIVE
    assert sm.idle_remaining() == pytest.approx(0.1)
    clock.advance(0.1)
    sm.tick()
    assert sm.state is State.WARNING


def test_late_tick_moves_one_step_so_warning_is_seen_in_full() -> None:
    sm, clock, _ = in_state(State.ACTIVE)
    clock.advance(10_000)
    sm.tick()
    assert sm.state is State.WARNING
    assert sm.warning_remaining() == pytest.approx(30)
    sm.tick()
    assert sm.state is State.WARNING


def test_back_from_warning_gets_a_full_idle_delay() -> None:
    sm, clock, _ = in_state(State.WARNING)
    clock.advance(20)
    sm.activity()
    assert sm.state is State.ACTIVE
    assert sm.idle_remaining() == pytest.approx(120)


def test_wall_clock_jumps_do_not_change_timing() -> None:
    sm, clock, _ = in_state(State.ACTIVE)
    clock._now -= timedelta(days=365 * 26)  # RTC battery dead: year 2000
    clock.advance(60)
    sm.tick()
    assert sm.state is State.ACTIVE
    clock._now += timedelta(days=365 * 30)
    clock.advance(59)
    sm.tick()
    assert sm.state is State.ACTIVE
    assert sm.session_duration() == pytest.approx(119)


def test_next_deadline() -> None:
    sm, clock, _ = machine()
    assert sm.next_deadline() is None
    sm.activity()
    assert sm.next_deadline() == pytest.approx(clock.monotonic() + 120)
    clock.advance(120)
    sm.tick()
    assert sm.next_deadline() == pytest.approx(clock.monotonic() + 30)
    sm.end(EndReason.BUTTON)
    assert sm.next_deadline() is None


def test_duration_frozen_at_end_and_never_negative() -> None:
    sm, clock, _ = in_state(State.ACTIVE)
    assert sm.session_duration() == 0
    clock.advance(42)
    sm.end(EndReason.BUTTON)
    clock.advance(100)
    assert sm.session_duration() == pytest.approx(42)


def test_listeners_in_order_and_a_failing_listener_is_contained() -> None:
    sm, _clock, _ = machine()
    calls: list[str] = []

    def broken(_t: Transition) -> None:
        calls.append("broken")
        raise RuntimeError("listener bug")

    sm.subscribe(broken)
    sm.subscribe(lambda t: calls.append(f"ok:{t.new}"))
    sm.activity()
    assert calls == ["broken", "ok:active"]
    assert sm.state is State.ACTIVE


def test_invalid_timings() -> None:
    with pytest.raises(ValueError):
        Timings(0, 30, 6)
    with pytest.raises(ValueError):
        Timings(120, -1, 6)


def test_ids_are_unique() -> None:
    sm, _clock, _ = machine()
    ids = set()
    for _ in range(200):
        sm.activity()
        ids.add(sm.session_id)
        sm.end(EndReason.BUTTON)
        sm.wiped()
        sm.activity()
    assert len(ids) == 200


class SessionModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.sm = SessionStateMachine(T, self.clock)
        self.warning_entered: float | None = None
        self.sm.subscribe(self._record)
        self.last: Transition | None = None

    def _record(self, t: Transition) -> None:
        if t.new is State.WARNING:
            self.warning_entered = t.at
        if t.old is State.WARNING and t.new is State.ENDING and t.reason is EndReason.IDLE:
            assert self.warning_entered is not None
            assert t.at - self.warning_entered >= T.warning_s
        if t.new is State.ACTIVE and t.old is not State.WARNING:
            assert t.old is State.ATTRACT
        self.last = t

    @rule()
    def activity(self) -> None:
        self.sm.activity()

    @rule()
    def end(self) -> None:
        self.sm.end(EndReason.BUTTON)

    @rule()
    def wiped(self) -> None:
        self.sm.wiped()

    @rule(seconds=st.floats(min_value=0, max_value=400))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.sm.tick()

    @invariant()
    def id_iff_in_session(self) -> None:
        in_session = self.sm.state in (State.ACTIVE, State.WARNING, State.ENDING)
        assert (self.sm.session_id is not None) == in_session

    @invariant()
    def durations_positive(self) -> None:
        assert self.sm.session_duration() >= 0
        assert self.sm.idle_remaining() >= 0
        assert self.sm.warning_remaining() >= 0


TestSessionModel = SessionModel.TestCase
TestSessionModel.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
