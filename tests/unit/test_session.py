"""Session state machine: every transition, every ignored event, every timer edge, a stateful model."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from kiosk.core.ports import ManualClock
from kiosk.core.session import EndReason, SessionStateMachine, State, Timings, Transition

pytestmark = pytest.mark.unit

T = Timings(idle_timeout_s=120, warning_s=30, goodbye_s=6)
HEX32 = re.compile(r"[0-9a-f]{32}")
TIMER = {State.ACTIVE: T.idle_timeout_s, State.WARNING: T.warning_s, State.WIPED: T.goodbye_s}
AFTER_TIMER = {State.ACTIVE: State.WARNING, State.WARNING: State.ENDING, State.WIPED: State.ATTRACT}


class JumpClock:
    """A Clock whose wall time can jump (RTC reset, NTP step) while monotonic time goes on."""

    def __init__(self, wall: datetime | None = None, mono: float = 1000.0) -> None:
        self.wall = wall or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        self.mono = mono
        self.now_calls = 0

    def now(self) -> datetime:
        self.now_calls += 1
        return self.wall

    def monotonic(self) -> float:
        return self.mono

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)

    def jump_wall(self, delta: timedelta) -> None:
        self.wall += delta


def machine(clock: Any = None, timings: Timings = T) -> tuple[SessionStateMachine, Any, list[Transition]]:
    clock = clock or ManualClock()
    sm = SessionStateMachine(timings, clock)
    seen: list[Transition] = []
    sm.subscribe(seen.append)
    return sm, clock, seen


def drive_to(sm: SessionStateMachine, clock: Any, state: State) -> None:
    """From ATTRACT to ``state`` by the ordinary road."""
    if state is State.ATTRACT:
        return
    sm.activity()
    if state is State.WARNING:
        clock.advance(T.idle_timeout_s)
        sm.tick()
    elif state in (State.ENDING, State.WIPED):
        sm.end(EndReason.BUTTON)
        if state is State.WIPED:
            sm.wiped()
    assert sm.state is state


def in_state(state: State) -> tuple[SessionStateMachine, Any, list[Transition]]:
    sm, clock, seen = machine()
    drive_to(sm, clock, state)
    seen.clear()
    return sm, clock, seen


@dataclass(frozen=True)
class Snapshot:
    state: State
    session_id: str | None
    started_at: datetime | None
    end_reason: EndReason | None
    next_deadline: float | None
    idle_remaining: float
    warning_remaining: float
    session_duration: float


def snapshot(sm: SessionStateMachine) -> Snapshot:
    return Snapshot(
        sm.state,
        sm.session_id,
        sm.started_at,
        sm.end_reason,
        sm.next_deadline(),
        sm.idle_remaining(),
        sm.warning_remaining(),
        sm.session_duration(),
    )


def advance_to(clock: Any, when: float) -> None:
    """Move the monotonic clock to exactly ``when`` (the difference of two nearby floats is exact)."""
    clock.advance(when - clock.monotonic())


def late_tick(sm: SessionStateMachine, clock: Any) -> None:
    clock.advance(10_000)
    sm.tick()


EVENTS: dict[str, Callable[[SessionStateMachine, Any], None]] = {
    "activity": lambda sm, _c: sm.activity(),
    "start": lambda sm, _c: sm.start(),
    "end": lambda sm, _c: sm.end(EndReason.STAFF),
    "wiped": lambda sm, _c: sm.wiped(),
    "tick": lambda sm, _c: sm.tick(),
    "late_tick": late_tick,
}

# (event, state) -> (state after, reason carried by the transition); absent = ignored.
MOVES: dict[tuple[str, State], tuple[State, EndReason | None]] = {
    ("activity", State.ATTRACT): (State.ACTIVE, None),
    ("activity", State.WARNING): (State.ACTIVE, None),
    ("activity", State.WIPED): (State.ATTRACT, None),
    ("start", State.ATTRACT): (State.ACTIVE, None),
    ("end", State.ACTIVE): (State.ENDING, EndReason.STAFF),
    ("end", State.WARNING): (State.ENDING, EndReason.STAFF),
    ("wiped", State.ENDING): (State.WIPED, EndReason.BUTTON),
    ("late_tick", State.ACTIVE): (State.WARNING, None),
    ("late_tick", State.WARNING): (State.ENDING, EndReason.IDLE),
    ("late_tick", State.WIPED): (State.ATTRACT, None),
}
# Not a transition, not ignored either: the idle timer starts again.
RESETS = {("activity", State.ACTIVE)}


# --------------------------------------------------------------------------------- construction
@pytest.mark.parametrize("field", ["idle_timeout_s", "warning_s", "goodbye_s"])
@pytest.mark.parametrize("bad", [0, 0.0, -1, -0.001, float("nan"), float("inf"), float("-inf"), True, "5", None])
def test_invalid_timings_raise_value_error(field: str, bad: object) -> None:
    values: dict[str, object] = {"idle_timeout_s": 120, "warning_s": 30, "goodbye_s": 6, field: bad}
    with pytest.raises(ValueError, match=field):
        Timings(**values)  # type: ignore[arg-type]


def test_valid_timings_accept_ints_and_small_floats() -> None:
    assert Timings(1, 1e-6, 0.5).warning_s == 1e-6


def test_machine_needs_timings() -> None:
    with pytest.raises(ValueError):
        SessionStateMachine(None, ManualClock())  # type: ignore[arg-type]


def test_initial_state() -> None:
    sm, _clock, seen = machine()
    assert snapshot(sm) == Snapshot(State.ATTRACT, None, None, None, None, 0.0, 0.0, 0.0)
    sm.tick()
    assert sm.state is State.ATTRACT and seen == []


# --------------------------------------------------------------------------------- the table
@pytest.mark.parametrize("event", list(EVENTS))
@pytest.mark.parametrize("state", list(State))
def test_event_table(event: str, state: State) -> None:
    sm, clock, seen = in_state(state)
    clock.advance(1)  # less than any timer: a plain tick must do nothing
    before = snapshot(sm)
    EVENTS[event](sm, clock)
    move = MOVES.get((event, state))
    if move is None:
        assert seen == []
        assert sm.state is state
        after = snapshot(sm)
        if (event, state) in RESETS:
            assert after.next_deadline == clock.monotonic() + T.idle_timeout_s
            assert after.idle_remaining == T.idle_timeout_s
            assert after == Snapshot(**{**before.__dict__, "next_deadline": after.next_deadline, "idle_remaining": 120})
        elif event == "late_tick":
            assert after.next_deadline == before.next_deadline  # nothing moved but time
        else:
            assert after == before
        return
    new, reason = move
    assert sm.state is new
    assert len(seen) == 1
    t = seen[0]
    assert (t.old, t.new, t.reason) == (state, new, reason)
    assert t.at == clock.monotonic()
    if state is State.ATTRACT:
        assert t.session_id is not None and t.session_id == sm.session_id
    elif new is State.ATTRACT:
        assert t.session_id is None and sm.session_id is None
    else:  # within a session, or its wipe: the transition names the session
        assert t.session_id == before.session_id is not None


@pytest.mark.parametrize("state", [State.ATTRACT, State.ENDING])
def test_untimed_states_never_move_on_their_own(state: State) -> None:
    sm, clock, seen = in_state(state)
    for _ in range(5):
        late_tick(sm, clock)
    assert sm.state is state and sm.next_deadline() is None and seen == []


@pytest.mark.parametrize("reason", list(EndReason))
@pytest.mark.parametrize("state", [State.ACTIVE, State.WARNING])
def test_end_carries_its_reason_to_ending_and_wiped(state: State, reason: EndReason) -> None:
    sm, _clock, seen = in_state(state)
    session_id = sm.session_id
    sm.end(reason)
    sm.end(EndReason.CRASH)  # a second end does not overwrite the first
    sm.wiped()
    assert [(t.new, t.reason, t.session_id) for t in seen] == [
        (State.ENDING, reason, session_id),
        (State.WIPED, reason, session_id),
    ]
    assert sm.end_reason is reason


def test_full_life() -> None:
    sm, clock, seen = machine()
    sm.activity()
    first = sm.session_id
    assert first is not None and sm.started_at == clock.now()
    sm.end(EndReason.BUTTON)
    assert sm.session_id == first and sm.end_reason is EndReason.BUTTON
    sm.wiped()
    assert sm.session_id is None
    clock.advance(T.goodbye_s)
    sm.tick()
    sm.activity()
    assert sm.session_id not in (None, first)
    assert [t.new for t in seen] == [State.ACTIVE, State.ENDING, State.WIPED, State.ATTRACT, State.ACTIVE]


def test_touch_on_goodbye_brings_welcome_without_starting_a_session() -> None:
    sm, _clock, seen = in_state(State.WIPED)
    sm.activity()
    sm.start()  # the shell's own start (a tile, the welcome button) is what opens one
    assert [(t.old, t.new) for t in seen] == [(State.WIPED, State.ATTRACT), (State.ATTRACT, State.ACTIVE)]


def test_double_events_are_harmless() -> None:
    sm, _clock, seen = machine()
    for call in (sm.activity, sm.activity, sm.start, sm.start):
        call()
    for _ in range(3):
        sm.end(EndReason.BUTTON)
    for _ in range(3):
        sm.wiped()
    assert [t.new for t in seen] == [State.ACTIVE, State.ENDING, State.WIPED]


# --------------------------------------------------------------------------------- timer edges
@pytest.mark.parametrize("state", list(TIMER))
@pytest.mark.parametrize(("offset", "moves"), [(-0.001, False), (0.0, True), (0.001, True), (10_000.0, True)])
def test_timer_edges(state: State, offset: float, moves: bool) -> None:
    sm, clock, seen = in_state(state)
    clock.advance(TIMER[state] + offset)
    sm.tick()
    assert sm.state is (AFTER_TIMER[state] if moves else state)
    assert len(seen) == int(moves)
    if state is State.WARNING and moves:
        assert seen[0].reason is EndReason.IDLE and sm.end_reason is EndReason.IDLE


@pytest.mark.parametrize("state", list(TIMER))
def test_repeated_ticks_before_the_deadline_do_not_move_it(state: State) -> None:
    sm, clock, _ = in_state(state)
    deadline = sm.next_deadline()
    for _ in range(int(TIMER[state]) - 1):
        clock.advance(1)
        sm.tick()
        assert sm.state is state and sm.next_deadline() == deadline


def test_activity_just_before_the_deadline_restarts_the_full_idle_delay() -> None:
    sm, clock, seen = in_state(State.ACTIVE)
    old_deadline = sm.next_deadline()
    assert old_deadline is not None
    advance_to(clock, old_deadline - 0.001)
    sm.activity()
    assert sm.idle_remaining() == pytest.approx(T.idle_timeout_s)
    new_deadline = sm.next_deadline()
    assert new_deadline is not None
    assert new_deadline == pytest.approx(old_deadline - 0.001 + T.idle_timeout_s)
    advance_to(clock, old_deadline)
    sm.tick()
    assert sm.state is State.ACTIVE
    advance_to(clock, new_deadline - 0.001)
    sm.tick()
    assert sm.state is State.ACTIVE and sm.idle_remaining() == pytest.approx(0.001)
    advance_to(clock, new_deadline)
    sm.tick()
    assert sm.state is State.WARNING and seen[-1].new is State.WARNING


def test_back_from_the_warning_just_before_it_runs_out_gets_a_full_idle_delay() -> None:
    sm, clock, _ = in_state(State.WARNING)
    clock.advance(T.warning_s - 0.001)
    sm.tick()
    assert sm.state is State.WARNING and sm.warning_remaining() == pytest.approx(0.001)
    sm.activity()
    assert sm.state is State.ACTIVE and sm.idle_remaining() == pytest.approx(T.idle_timeout_s)
    deadline = sm.next_deadline()
    assert deadline is not None
    advance_to(clock, deadline - 0.001)
    sm.tick()
    assert sm.state is State.ACTIVE
    advance_to(clock, deadline)
    sm.tick()
    assert sm.state is State.WARNING and sm.warning_remaining() == T.warning_s


def test_late_tick_goes_one_step_so_the_warning_is_seen_in_full() -> None:
    sm, clock, seen = in_state(State.ACTIVE)
    clock.advance(10_000)  # the shell was frozen
    sm.tick()
    sm.tick()
    assert sm.state is State.WARNING and sm.warning_remaining() == T.warning_s
    assert sm.next_deadline() == clock.monotonic() + T.warning_s
    advance_to(clock, clock.monotonic() + T.warning_s - 0.001)
    sm.tick()
    assert sm.state is State.WARNING
    advance_to(clock, seen[0].at + T.warning_s)
    sm.tick()
    assert [t.new for t in seen] == [State.WARNING, State.ENDING]
    assert seen[1].at - seen[0].at >= T.warning_s


def test_late_tick_on_goodbye_goes_to_welcome_only() -> None:
    sm, clock, seen = in_state(State.WIPED)
    late_tick(sm, clock)
    late_tick(sm, clock)
    assert sm.state is State.ATTRACT and sm.session_id is None and len(seen) == 1


def test_goodbye_lasts_from_the_wipe_not_from_the_end() -> None:
    sm, clock, _ = in_state(State.ENDING)
    clock.advance(100)  # a slow wipe
    sm.wiped()
    clock.advance(T.goodbye_s - 0.001)
    sm.tick()
    assert sm.state is State.WIPED


# --------------------------------------------------------------------------------- read side
@pytest.mark.parametrize("state", list(State))
def test_next_deadline_agrees_with_remaining_and_tick(state: State) -> None:
    sm, clock, seen = in_state(state)
    clock.advance(0.5)
    deadline = sm.next_deadline()
    if state not in TIMER:
        assert deadline is None
        assert sm.idle_remaining() == sm.warning_remaining() == 0
        return
    assert deadline is not None
    remaining = {State.ACTIVE: sm.idle_remaining(), State.WARNING: sm.warning_remaining()}.get(state)
    if remaining is not None:
        assert deadline == pytest.approx(clock.monotonic() + remaining)
    assert deadline == pytest.approx(clock.monotonic() + TIMER[state] - 0.5)
    clock.advance(deadline - 0.001 - clock.monotonic())
    sm.tick()
    assert sm.state is state and not seen
    clock.advance(deadline - clock.monotonic())
    sm.tick()
    assert sm.state is AFTER_TIMER[state]


def test_a_shell_with_one_timer_on_next_deadline_sees_every_step() -> None:
    sm, clock, seen = machine()
    sm.activity()
    for _ in range(2):
        deadline = sm.next_deadline()
        assert deadline is not None
        clock.advance(deadline - clock.monotonic())
        sm.tick()
    assert sm.state is State.ENDING and sm.next_deadline() is None
    sm.wiped()
    deadline = sm.next_deadline()
    assert deadline is not None
    clock.advance(deadline - clock.monotonic())
    sm.tick()
    assert [t.new for t in seen] == [State.ACTIVE, State.WARNING, State.ENDING, State.WIPED, State.ATTRACT]
    assert sm.next_deadline() is None


def test_remaining_counts_down_and_is_zero_in_other_states() -> None:
    sm, clock, _ = in_state(State.ACTIVE)
    clock.advance(20)
    assert sm.idle_remaining() == 100 and sm.warning_remaining() == 0
    clock.advance(100)
    sm.tick()
    clock.advance(10)
    assert sm.warning_remaining() == 20 and sm.idle_remaining() == 0
    clock.advance(500)  # overdue, tick not yet run
    assert sm.warning_remaining() == 0


def test_session_duration_runs_freezes_at_end_and_resets_at_next_start() -> None:
    sm, clock, _ = machine()
    assert sm.session_duration() == 0
    sm.activity()
    assert sm.session_duration() == 0
    clock.advance(150)
    sm.tick()  # WARNING still counts
    assert sm.session_duration() == 150
    sm.end(EndReason.BUTTON)
    clock.advance(40)
    sm.wiped()
    clock.advance(T.goodbye_s)
    sm.tick()
    assert sm.state is State.ATTRACT and sm.session_duration() == 150  # the last session's
    clock.advance(1000)
    sm.start()
    assert sm.session_duration() == 0
    clock.advance(7)
    assert sm.session_duration() == 7


def test_started_at_and_end_reason_follow_the_session() -> None:
    sm, clock, _ = machine()
    sm.activity()
    first_start = clock.now()
    assert sm.started_at == first_start and sm.end_reason is None
    sm.end(EndReason.CRASH)
    sm.wiped()
    sm.activity()
    assert sm.state is State.ATTRACT
    assert sm.started_at == first_start and sm.end_reason is EndReason.CRASH  # kept for the records
    clock.advance(60)
    sm.activity()
    assert sm.started_at == first_start + timedelta(seconds=60) and sm.end_reason is None


# --------------------------------------------------------------------------------- wall clock
@pytest.mark.parametrize(
    "jump",
    [
        timedelta(days=-365 * 26),  # dead RTC battery: back to the year 2000
        timedelta(days=365 * 30),
        timedelta(hours=-1),  # NTP step backwards
        timedelta(seconds=119),
    ],
)
@pytest.mark.parametrize("during", list(TIMER))
def test_wall_clock_jumps_change_no_timing(jump: timedelta, during: State) -> None:
    clock = JumpClock()
    sm, _, seen = machine(clock)
    drive_to(sm, clock, during)
    started_at, deadline = sm.started_at, sm.next_deadline()
    assert deadline is not None
    clock.jump_wall(jump)
    clock.mono = deadline - 0.001
    sm.tick()
    assert sm.state is during and sm.next_deadline() == deadline
    clock.jump_wall(-2 * jump)
    clock.mono = deadline
    sm.tick()
    assert sm.state is AFTER_TIMER[during]
    assert sm.started_at == started_at
    assert seen[-1].at == deadline


def test_wall_clock_is_read_only_to_stamp_the_start() -> None:
    clock = JumpClock(wall=datetime(2000, 1, 1, tzinfo=UTC))
    sm, _, _ = machine(clock)
    for _ in range(3):
        sm.activity()
        clock.advance(500)
        sm.tick()
        clock.advance(500)
        sm.tick()
        sm.wiped()
        clock.advance(500)
        sm.tick()
        sm.session_duration()
    assert clock.now_calls == 3
    assert sm.started_at == datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=3000)


def test_session_duration_ignores_wall_clock() -> None:
    clock = JumpClock()
    sm, _, _ = machine(clock)
    sm.activity()
    clock.jump_wall(timedelta(days=-9000))
    clock.mono += 42
    assert sm.session_duration() == 42


# --------------------------------------------------------------------------------- listeners
def test_listeners_are_called_in_order_after_the_change() -> None:
    sm, _clock, _ = machine()
    calls: list[tuple[str, State, State]] = []
    sm.subscribe(lambda t: calls.append(("a", t.new, sm.state)))
    sm.subscribe(lambda t: calls.append(("b", t.new, sm.state)))
    sm.activity()
    sm.end(EndReason.BUTTON)
    assert calls == [
        ("a", State.ACTIVE, State.ACTIVE),
        ("b", State.ACTIVE, State.ACTIVE),
        ("a", State.ENDING, State.ENDING),
        ("b", State.ENDING, State.ENDING),
    ]


def test_a_raising_listener_is_logged_and_corrupts_nothing(caplog: pytest.LogCaptureFixture) -> None:
    sm, clock, seen = machine()
    calls: list[str] = []

    def broken(t: Transition) -> None:
        calls.append(f"broken:{t.new}")
        raise RuntimeError("listener bug")

    sm.subscribe(broken)
    sm.subscribe(lambda t: calls.append(f"ok:{t.new}"))
    with caplog.at_level(logging.ERROR, logger="kiosk.core.session"):
        sm.activity()
        sm.end(EndReason.BUTTON)
        sm.wiped()
    assert calls == ["broken:active", "ok:active", "broken:ending", "ok:ending", "broken:wiped", "ok:wiped"]
    assert [t.new for t in seen] == [State.ACTIVE, State.ENDING, State.WIPED]
    failures = [r for r in caplog.records if r.getMessage() == "session.listener_failed"]
    assert len(failures) == 3 and all(r.exc_info for r in failures)
    clock.advance(T.goodbye_s)
    sm.tick()
    sm.activity()
    assert sm.state is State.ACTIVE


def test_a_listener_that_triggers_a_transition_does_not_reorder_them() -> None:
    sm, _clock, _ = machine()
    first: list[State] = []
    second: list[State] = []

    def wipe_at_once(t: Transition) -> None:  # a shell that destroys synchronously
        first.append(t.new)
        if t.new is State.ENDING:
            sm.wiped()
        elif t.new is State.WIPED:
            sm.activity()

    sm.subscribe(wipe_at_once)
    sm.subscribe(lambda t: second.append(t.new))
    sm.activity()
    sm.end(EndReason.BUTTON)
    expected = [State.ACTIVE, State.ENDING, State.WIPED, State.ATTRACT]
    assert first == expected and second == expected
    assert sm.state is State.ATTRACT


def test_a_listener_subscribed_during_a_transition_hears_the_next_one() -> None:
    sm, _clock, _ = machine()
    late: list[Transition] = []
    sm.subscribe(lambda t: sm.subscribe(late.append) if t.new is State.ACTIVE else None)
    sm.activity()
    sm.end(EndReason.BUTTON)
    assert [t.new for t in late] == [State.ENDING]


# --------------------------------------------------------------------------------- session ids
def test_ids_are_random_hex_and_never_shared() -> None:
    sm, _clock, _ = machine()
    ids = []
    for _ in range(500):
        sm.activity()
        ids.append(sm.session_id)
        sm.end(EndReason.BUTTON)
        sm.wiped()
        sm.activity()
    assert len(set(ids)) == 500
    assert all(isinstance(i, str) and HEX32.fullmatch(i) for i in ids)
    other, _, _ = machine(ManualClock())  # the same clock, to the microsecond
    other.activity()
    assert other.session_id not in ids


def test_default_ids_come_from_the_secrets_module(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[int] = []

    def token_hex(nbytes: int) -> str:
        asked.append(nbytes)
        return "ab" * nbytes

    monkeypatch.setattr(secrets, "token_hex", token_hex)
    sm, _clock, _ = machine()
    sm.activity()
    assert asked == [16] and sm.session_id == "ab" * 16


def test_injected_ids_are_used() -> None:
    ids = iter(["first", "second"])
    sm = SessionStateMachine(T, ManualClock(), new_id=lambda: next(ids))
    sm.activity()
    assert sm.session_id == "first"
    sm.end(EndReason.BUTTON)
    sm.wiped()
    sm.activity()
    sm.activity()
    assert sm.session_id == "second"


@pytest.mark.parametrize("bad", ["", ".", "..", "../../etc", "a/b", "a b", "é", "x" * 129, 42, None])
def test_an_id_unfit_for_a_directory_name_is_replaced(bad: object, caplog: pytest.LogCaptureFixture) -> None:
    sm = SessionStateMachine(T, ManualClock(), new_id=lambda: bad)  # type: ignore[arg-type,return-value]
    sm.activity()
    assert sm.session_id is not None and HEX32.fullmatch(sm.session_id)
    assert any(r.getMessage() == "session.id_rejected" for r in caplog.records)


def test_a_repeated_or_failing_id_generator_is_replaced() -> None:
    sm = SessionStateMachine(T, ManualClock(), new_id=lambda: "same")
    ids = []
    for _ in range(2):
        sm.activity()
        ids.append(sm.session_id)
        sm.end(EndReason.BUTTON)
        sm.wiped()
        sm.activity()
    assert ids[0] == "same" and ids[1] != "same" and ids[1] is not None and HEX32.fullmatch(ids[1])

    def broken() -> str:
        raise OSError("no entropy")

    sm = SessionStateMachine(T, ManualClock(), new_id=broken)
    sm.activity()
    assert sm.state is State.ACTIVE and sm.session_id is not None and HEX32.fullmatch(sm.session_id)


# --------------------------------------------------------------------------------- stateful model
H = Timings(idle_timeout_s=10, warning_s=3, goodbye_s=2)
H_TIMER = {State.ACTIVE: H.idle_timeout_s, State.WARNING: H.warning_s, State.WIPED: H.goodbye_s}


class SessionModel(RuleBasedStateMachine):
    """Random events, waits, late and exact ticks and wall-clock jumps against a reference model."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = JumpClock()
        self.sm = SessionStateMachine(H, self.clock)
        self.sm.subscribe(self._record)
        self.transitions: list[Transition] = []
        self.ids: set[str] = set()
        # The reference model.
        self.state = State.ATTRACT
        self.entered = self.clock.mono
        self.last_activity = self.clock.mono
        self.wall_at_start: datetime | None = None

    def _record(self, t: Transition) -> None:
        previous = self.transitions[-1] if self.transitions else None
        assert t.old is (previous.new if previous else State.ATTRACT)
        assert t.at == self.clock.mono
        if t.new is State.ACTIVE:
            assert t.old in (State.ATTRACT, State.WARNING)  # never ACTIVE out of nowhere
        if t.old is State.ATTRACT:
            assert t.new is State.ACTIVE and t.session_id is not None and t.session_id not in self.ids
            self.ids.add(t.session_id)
        if t.new is State.WARNING:
            assert t.old is State.ACTIVE
        if t.old is State.WARNING and t.new is State.ENDING and t.reason is EndReason.IDLE:
            assert previous is not None and previous.new is State.WARNING
            assert t.at >= previous.at + H.warning_s  # the warning was shown in full
        if t.new is State.WIPED:
            assert t.old is State.ENDING
        self.transitions.append(t)

    def _model_go(self, new: State) -> None:
        self.state = new
        self.entered = self.clock.mono

    @rule()
    def activity(self) -> None:
        now = self.clock.mono
        if self.state is State.ATTRACT:
            self.last_activity = now
            self.wall_at_start = self.clock.wall
            self._model_go(State.ACTIVE)
        elif self.state is State.ACTIVE:
            self.last_activity = now
        elif self.state is State.WARNING:
            self.last_activity = now
            self._model_go(State.ACTIVE)
        elif self.state is State.WIPED:
            self._model_go(State.ATTRACT)
        self.sm.activity()

    @rule()
    def start(self) -> None:
        if self.state is State.ATTRACT:
            self.last_activity = self.clock.mono
            self.wall_at_start = self.clock.wall
            self._model_go(State.ACTIVE)
        self.sm.start()

    # IDLE is the timer's reason (tick), never one the shell passes to end() itself.
    @rule(reason=st.sampled_from([r for r in EndReason if r is not EndReason.IDLE]))
    def end(self, reason: EndReason) -> None:
        ends = self.state in (State.ACTIVE, State.WARNING)
        if ends:
            self._model_go(State.ENDING)
        self.sm.end(reason)
        if ends:
            assert self.sm.end_reason is reason and self.transitions[-1].reason is reason

    @rule()
    def wiped(self) -> None:
        if self.state is State.ENDING:
            self._model_go(State.WIPED)
        self.sm.wiped()

    @rule()
    def tick(self) -> None:
        now = self.clock.mono
        if self.state is State.ACTIVE and now >= self.last_activity + H.idle_timeout_s:
            self._model_go(State.WARNING)
        elif self.state is State.WARNING and now >= self.entered + H.warning_s:
            self._model_go(State.ENDING)
        elif self.state is State.WIPED and now >= self.entered + H.goodbye_s:
            self._model_go(State.ATTRACT)
        self.sm.tick()

    @rule(seconds=st.one_of(st.floats(min_value=0, max_value=30), st.sampled_from([0.001, 1, 2, 3, 10, 1e6])))
    def wait(self, seconds: float) -> None:
        self.clock.mono += seconds

    @precondition(lambda self: self.sm.next_deadline() is not None)
    @rule(offset=st.sampled_from([-0.001, 0.0, 0.001]))
    def wait_until_deadline(self, offset: float) -> None:
        deadline = self.sm.next_deadline()
        assert deadline is not None
        self.clock.mono = max(self.clock.mono, deadline + offset)

    @rule(days=st.integers(min_value=-365 * 30, max_value=365 * 30))
    def jump_wall_clock(self, days: int) -> None:
        self.clock.jump_wall(timedelta(days=days))

    @invariant()
    def agrees_with_the_model(self) -> None:
        assert self.sm.state is self.state

    @invariant()
    def session_id_iff_in_session(self) -> None:
        in_session = self.sm.state in (State.ACTIVE, State.WARNING, State.ENDING)
        assert (self.sm.session_id is not None) == in_session
        if in_session:
            assert self.sm.session_id in self.ids

    @invariant()
    def timers_agree_with_the_model(self) -> None:
        now = self.clock.mono
        deadline = self.sm.next_deadline()
        expected = {
            State.ACTIVE: self.last_activity + H.idle_timeout_s,
            State.WARNING: self.entered + H.warning_s,
            State.WIPED: self.entered + H.goodbye_s,
        }.get(self.state)
        assert deadline == expected
        assert 0 <= self.sm.idle_remaining() <= H.idle_timeout_s + 1e-9
        assert 0 <= self.sm.warning_remaining() <= H.warning_s + 1e-9
        if self.state is State.ACTIVE:
            assert self.sm.idle_remaining() == max(0.0, self.last_activity + H.idle_timeout_s - now)
        if self.state is State.WARNING:
            assert self.sm.warning_remaining() == max(0.0, self.entered + H.warning_s - now)

    @invariant()
    def durations_are_never_negative(self) -> None:
        assert self.sm.session_duration() >= 0

    @invariant()
    def started_at_is_the_wall_time_at_start(self) -> None:
        assert self.sm.started_at == self.wall_at_start


TestSessionModel = SessionModel.TestCase
TestSessionModel.settings = settings(max_examples=150, stateful_step_count=60, deadline=None)
