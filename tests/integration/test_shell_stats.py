"""The real shell records usage events, and asks the optional end-of-session questions."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from kiosk.core.devices import DeviceFailure
from kiosk.core.ports import ManualClock
from kiosk.core.session import EndReason, State
from kiosk.core.store import Role, open_store
from kiosk.shell.web.scheme import page_name
from tests.integration.test_shell import PDF, start_in_tile
from tests.shellkit import print_whole_document, run_js, wait_ready
from tests.webserver import Response

pytestmark = [pytest.mark.shell, pytest.mark.stats]


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "data" / "kiosk.db", Role.SHELL)
    yield store
    store.close()


def rows(store) -> list[tuple[str, dict[str, object], str | None]]:  # type: ignore[no-untyped-def]
    return [
        (kind, json.loads(data), session)
        for kind, data, session in store.conn.execute("SELECT kind, data, session FROM events ORDER BY id")
    ]


def with_questions(config, timeout_s: int = 45):  # type: ignore[no-untyped-def]
    stats = config.kiosk.stats.model_copy(update={"questions": True, "questions_timeout_s": timeout_s})
    return replace(config, kiosk=config.kiosk.model_copy(update={"stats": stats}))


def end_and_wait_questions(qtbot, kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk.controller.end_session(EndReason.BUTTON)
    qtbot.waitUntil(lambda: page_name(kiosk.window.lobby_view.page().url()) == "questions", timeout=10_000)
    qtbot.waitUntil(
        lambda: run_js(qtbot, kiosk.window.lobby_view.page(), "document.querySelectorAll('.question').length") == 4,
        timeout=10_000,
    )


def tap(qtbot, kiosk, value: str) -> None:  # type: ignore[no-untyped-def]
    """Tap the visible answer ``value`` (the page moves to the next question after 250 ms)."""
    page = kiosk.window.lobby_view.page()
    script = (
        "(function(){var b=[...document.querySelectorAll('.question:not([hidden]) .choice')]"
        f".find(x=>x.dataset.value=={json.dumps(value)}); if(!b) return false; b.click(); return true;}})()"
    )
    visible = "(document.querySelector('.question:not([hidden])') || {dataset: {}}).dataset.key || ''"
    before = run_js(qtbot, page, visible)
    assert run_js(qtbot, page, script) is True, f"no visible answer {value!r}"
    if before != "first_visit":  # the last answer ends the questions; any other shows the next
        qtbot.waitUntil(lambda: run_js(qtbot, page, visible) != before, timeout=5_000)


def test_a_session_is_recorded_start_tile_end_with_one_random_id(qtbot, make_kiosk, store, loopback_web) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    kiosk = make_kiosk(store=store, clock=clock)
    start_in_tile(qtbot, kiosk, loopback_web, "<h1>Bonjour</h1>")
    clock.advance(42.5)  # the resident stays 42.5 s (below the idle warning at 50 s)
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    recorded = rows(store)
    assert [kind for kind, _, _ in recorded] == ["session_started", "tile_opened", "session_ended"]
    sessions = {session for _, _, session in recorded}
    assert len(sessions) == 1 and re.fullmatch(r"[0-9a-f]{32}", sessions.pop() or "")
    assert recorded[1][1] == {"tile": "allowed", "category": "autre"}
    ended = recorded[2][1]
    assert ended["reason"] == "button" and ended["duration_s"] == 42.5
    assert ended["age"] is None and ended["satisfaction"] is None  # questions are off in this config


def test_looking_at_the_mediator_page_is_not_a_call(qtbot, make_kiosk, store) -> None:  # type: ignore[no-untyped-def]
    """A call is counted once, when it is opened (tests/integration/test_shell_mediator.py): the
    page shown without a call made counts nothing (it was counted as "opened" before)."""
    kiosk = make_kiosk(store=store)
    kiosk.window.top_bar.triggered.emit("mediator")
    qtbot.waitUntil(lambda: page_name(kiosk.controller.current_url()) == "mediator", timeout=10_000)
    qtbot.wait(200)
    assert [kind for kind, _, _ in rows(store)] == ["session_started"]


def test_a_blocked_navigation_keeps_the_domain_and_nothing_of_the_url(qtbot, make_kiosk, store, loopback_web) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk(store=store)
    loopback_web.page("www.elsewhere.test", "/dossier/dupont-jean", "<p>ailleurs</p>")
    start_in_tile(
        qtbot,
        kiosk,
        loopback_web,
        '<a id=a href="http://www.elsewhere.test/dossier/dupont-jean?nom=Dupont&nir=1840512345678">x</a>',
    )
    run_js(qtbot, kiosk.controller.session_page(), "document.getElementById('a').click()")
    wait_ready(qtbot, kiosk, "kiosk://borne/blocked")
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    blocked = [data for kind, data, _ in rows(store) if kind == "navigation_blocked"]
    assert blocked == [{"tile": "allowed", "domain": "elsewhere.test"}]
    kiosk.controller.stats.flush()
    store.checkpoint()
    on_disk = b"".join(p.read_bytes() for p in Path(store.path).parent.glob("kiosk.db*"))
    for secret in (b"dupont", b"Dupont", b"1840512345678", b"dossier", b"www.elsewhere.test"):
        assert secret not in on_disk


def test_printing_counts_pages_and_a_printer_failure_is_a_device_error(qtbot, make_kiosk, store, loopback_web) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk(store=store)
    loopback_web.add("www.allowed.test", "/attestation.pdf", Response(PDF, content_type="application/pdf"))
    start_in_tile(qtbot, kiosk, loopback_web, '<a id=a href="/attestation.pdf">Attestation</a>')
    run_js(qtbot, kiosk.controller.session_page(), "document.getElementById('a').click()")
    qtbot.waitUntil(lambda: kiosk.window.stack.currentWidget() is kiosk.window.pdf_viewer, timeout=10_000)
    viewer = kiosk.window.pdf_viewer
    print_whole_document(viewer)
    qtbot.waitUntil(lambda: viewer.print_button.isEnabled(), timeout=5_000)
    viewer.printer.printer.unavailable = DeviceFailure.OFFLINE
    print_whole_document(viewer)
    qtbot.waitUntil(lambda: viewer.print_button.isEnabled(), timeout=5_000)
    viewer.printer.printer.unavailable = DeviceFailure.ABSENT  # no printer here: said to the resident, not an error
    print_whole_document(viewer)
    qtbot.waitUntil(lambda: viewer.print_button.isEnabled(), timeout=5_000)
    recorded = [(kind, data) for kind, data, _ in rows(store)]
    assert [r for r in recorded if r[0] in ("print_job", "device_error")] == [
        ("print_job", {"pages": 1, "status": "printed"}),
        ("device_error", {"device": "printer", "error": "offline"}),
    ]


def test_questions_answered_travel_with_the_end_of_the_session(qtbot, make_kiosk, kiosk_config, store) -> None:  # type: ignore[no-untyped-def]
    clock = ManualClock()
    kiosk = make_kiosk(config=with_questions(kiosk_config), store=store, clock=clock)
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    session_dir = kiosk.controller.browser.dir
    clock.advance(30)
    kiosk.controller.session.activity()  # a touch: the idle delay starts again
    clock.advance(45)  # 75 s in all, never 50 s without a touch
    end_and_wait_questions(qtbot, kiosk)
    clock.advance(20)  # answering takes time, which is not the session's
    # Everything is already wiped while the questions are on screen.
    assert kiosk.controller.browser is None and not session_dir.exists()
    assert kiosk.controller.state is State.ENDING and kiosk.controller.asking_questions
    for value in ("60_69", "en_partie", "content", "oui"):
        tap(qtbot, kiosk, value)
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    qtbot.waitUntil(lambda: page_name(kiosk.window.lobby_view.page().url()) == "goodbye", timeout=10_000)
    ended = [data for kind, data, _ in rows(store) if kind == "session_ended"]
    assert ended == [
        {
            "duration_s": 75.0,
            "reason": "button",
            "age": "60_69",
            "outcome": "en_partie",
            "satisfaction": "content",
            "first_visit": True,
        }
    ]


def test_one_tap_skips_the_questions_and_keeps_what_was_answered(qtbot, make_kiosk, kiosk_config, store) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk(config=with_questions(kiosk_config), store=store)
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    end_and_wait_questions(qtbot, kiosk)
    tap(qtbot, kiosk, "non_communique")
    run_js(qtbot, kiosk.window.lobby_view.page(), "document.getElementById('skip').click()")
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    ended = next(data for kind, data, _ in rows(store) if kind == "session_ended")
    assert ended["age"] == "non_communique"
    assert ended["outcome"] is None and ended["satisfaction"] is None and ended["first_visit"] is None


def test_unanswered_questions_go_away_on_their_own(qtbot, make_kiosk, kiosk_config, store) -> None:  # type: ignore[no-untyped-def]
    config = with_questions(kiosk_config, timeout_s=1)  # below the configurable minimum, for the test
    kiosk = make_kiosk(config=config, store=store)
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    end_and_wait_questions(qtbot, kiosk)
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=5_000)
    assert [kind for kind, _, _ in rows(store)] == ["session_started", "session_ended"]


def test_a_resident_who_walked_away_is_not_asked(qtbot, make_kiosk, kiosk_config, store) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk(config=with_questions(kiosk_config), store=store)
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    kiosk.controller.end_session(EndReason.IDLE)
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    qtbot.waitUntil(lambda: page_name(kiosk.window.lobby_view.page().url()) == "goodbye", timeout=10_000)
    assert [data["reason"] for kind, data, _ in rows(store) if kind == "session_ended"] == ["idle"]


def test_forged_answers_are_dropped(qtbot, make_kiosk, kiosk_config, store) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk(config=with_questions(kiosk_config), store=store)
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    end_and_wait_questions(qtbot, kiosk)
    run_js(
        qtbot,
        kiosk.window.lobby_view.page(),
        "location.href='kiosk://borne/action/answers?age=%3Cscript%3E&outcome=oui&satisfaction=Jean%20Dupont&first_visit=1'",
    )
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    ended = next(data for kind, data, _ in rows(store) if kind == "session_ended")
    assert (ended["age"], ended["outcome"], ended["satisfaction"], ended["first_visit"]) == (None, "oui", None, None)


def test_events_wait_in_memory_while_the_database_is_locked(qtbot, make_kiosk, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk(store=store)
    blocker = open_store(Path(store.path), Role.AGENT)
    blocker.conn.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        kiosk.controller.start_session()
        wait_ready(qtbot, kiosk, "kiosk://borne/home")
        assert kiosk.controller.state is State.ACTIVE  # the screen did not wait for the lock
        assert kiosk.controller.stats.waiting == 1
    finally:
        blocker.conn.execute("ROLLBACK")
        blocker.close()
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    assert [kind for kind, _, _ in rows(store)] == ["session_started", "session_ended"]
    assert kiosk.controller.stats.waiting == 0
