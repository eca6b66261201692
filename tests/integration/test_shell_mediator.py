"""The resident calls a mediator from the real shell (offscreen); the console, a second
connection to the same database as the agent's, takes the call; the resident's screen follows.

Set ``BORNE_SHOTS=<dir>`` to keep a PNG of each state of the page.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from kiosk.core.mediation.calls import CallQueue
from kiosk.core.mediation.presence import beat, set_staff_present
from kiosk.core.ports import ManualClock
from kiosk.core.session import State
from kiosk.core.store import Role, Store, open_store
from kiosk.shell.web.scheme import page_name
from tests.shellkit import keep_shot, run_js, wait_ready

pytestmark = [pytest.mark.shell, pytest.mark.mediator]

MONDAY_10H = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 10:00 in Paris: open (09:00-12:00)
SATURDAY = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)  # closed all day
MEDIATOR = "kiosk://borne/mediator"


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[tuple[Store, Store]]:
    """The shell's connection and the agent's (the console's) to one database."""
    path = tmp_path / "data" / "kiosk.db"
    shell, agent = open_store(path, Role.SHELL), open_store(path, Role.AGENT)
    try:
        yield shell, agent
    finally:
        agent.close()
        shell.close()


def agent_up(agent: Store, clock: ManualClock) -> None:
    beat(agent, clock.now())
    set_staff_present(agent, True, clock.now())


def open_kiosk(make_kiosk, stores, at: datetime = MONDAY_10H, *, up: bool = True):  # type: ignore[no-untyped-def]
    """The shell on the shared database at ``at``, the agent beating (``up``) with staff present."""
    shell, agent = stores
    clock = ManualClock(at)
    if up:
        agent_up(agent, clock)
    return make_kiosk(store=shell, clock=clock), agent, clock


def calls(agent: Store) -> list[tuple[str, str | None, str | None]]:
    return [
        (row[0], row[1], row[2])
        for row in agent.conn.execute("SELECT state, category, first_name FROM mediator_calls ORDER BY id")
    ]


def text(qtbot, kiosk) -> str:  # type: ignore[no-untyped-def]
    return str(run_js(qtbot, kiosk.controller.session_page(), "document.body.innerText"))


def wait_text(qtbot, kiosk, words: str, timeout: int = 10_000) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: words in text(qtbot, kiosk), timeout=timeout)


def press_mediator(qtbot, kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk.window.top_bar.buttons["mediator"].click()
    qtbot.waitUntil(lambda: page_name(kiosk.controller.current_url()) == "mediator", timeout=10_000)
    wait_ready(qtbot, kiosk, MEDIATOR)


def confirm_call(qtbot, kiosk, category: str, first_name: str = "") -> None:  # type: ignore[no-untyped-def]
    page = kiosk.controller.session_page()
    run_js(qtbot, page, f"document.querySelector('input[name=category][value={category}]').click(); true")
    if first_name:
        run_js(qtbot, page, f"document.getElementById('first_name').value = {first_name!r}; true")
    run_js(qtbot, page, "document.querySelector('.call-confirm').click(); true")


def test_a_resident_calls_and_the_console_takes_the_call(qtbot, make_kiosk, stores) -> None:  # type: ignore[no-untyped-def]
    kiosk, agent, clock = open_kiosk(make_kiosk, stores)
    press_mediator(qtbot, kiosk)
    wait_text(qtbot, kiosk, "C'est pour quelle démarche ?")
    keep_shot(qtbot, kiosk, "mediator-offer")
    confirm_call(qtbot, kiosk, "social_sante", "Zoé")
    qtbot.waitUntil(lambda: calls(agent) == [("waiting", "social_sante", "Zoé")], timeout=5_000)
    wait_text(qtbot, kiosk, "Vous êtes le 1er dans la file.")
    assert "Attente : moins de 5 minutes." in text(qtbot, kiosk)  # nobody ahead, nobody being helped
    assert kiosk.window.top_bar.label("mediator") == "Médiateur : n° 1"
    keep_shot(qtbot, kiosk, "mediator-waiting")

    # The resident goes on with their démarche; the console takes the call.
    run_js(qtbot, kiosk.controller.session_page(), "document.querySelector('a[href$=\"action/back\"]').click(); true")
    qtbot.waitUntil(lambda: page_name(kiosk.controller.current_url()) == "home", timeout=5_000)
    console = CallQueue(agent, kiosk.controller.config.kiosk.mediator, ZoneInfo("Europe/Paris"), clock)
    console.take(console.today()[0].id)
    taken_at = time.monotonic()
    qtbot.waitUntil(lambda: kiosk.window.top_bar.label("mediator") == "Un médiateur arrive", timeout=2_000)
    assert time.monotonic() - taken_at < 2.0

    # Pressing the button again shows the call, never a second one.
    press_mediator(qtbot, kiosk)
    wait_text(qtbot, kiosk, "Un médiateur arrive vers vous", timeout=2_000)
    keep_shot(qtbot, kiosk, "mediator-taken")
    press_mediator(qtbot, kiosk)
    wait_text(qtbot, kiosk, "Un médiateur arrive vers vous")
    assert calls(agent) == [("taken", "social_sante", "Zoé")]

    # The mediator finishes: the page says so, and the top bar is itself again.
    console.finish(console.today()[0].id)
    wait_text(qtbot, kiosk, "l'échange avec le médiateur est terminé", timeout=3_000)
    assert kiosk.window.top_bar.label("mediator") == "Contacter le médiateur"
    keep_shot(qtbot, kiosk, "mediator-done")
    # The page was shown again in place by the second press: one step back is the démarche.
    run_js(qtbot, kiosk.controller.session_page(), "document.querySelector('a[href$=\"action/back\"]').click(); true")
    qtbot.waitUntil(lambda: page_name(kiosk.controller.current_url()) == "home", timeout=5_000)


def test_the_page_follows_the_console_within_two_seconds_while_shown(qtbot, make_kiosk, stores) -> None:  # type: ignore[no-untyped-def]
    kiosk, agent, clock = open_kiosk(make_kiosk, stores)
    press_mediator(qtbot, kiosk)
    confirm_call(qtbot, kiosk, "inconnu")
    wait_text(qtbot, kiosk, "Un médiateur va venir vous voir")
    assert calls(agent) == [("waiting", None, None)]  # "Je ne sais pas", no name
    console = CallQueue(agent, kiosk.controller.config.kiosk.mediator, ZoneInfo("Europe/Paris"), clock)
    console.take(console.today()[0].id)
    wait_text(qtbot, kiosk, "Un médiateur arrive vers vous", timeout=2_000)
    console.cancel(console.today()[0].id)
    wait_text(qtbot, kiosk, "Votre appel est terminé", timeout=3_000)
    keep_shot(qtbot, kiosk, "mediator-cancelled")


def test_a_call_still_waiting_when_the_session_ends_is_missed(qtbot, make_kiosk, stores) -> None:  # type: ignore[no-untyped-def]
    kiosk, agent, _clock = open_kiosk(make_kiosk, stores)
    press_mediator(qtbot, kiosk)
    confirm_call(qtbot, kiosk, "papiers")
    qtbot.waitUntil(lambda: calls(agent) == [("waiting", "papiers", None)], timeout=5_000)
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    qtbot.waitUntil(lambda: calls(agent) == [("missed", "papiers", None)], timeout=5_000)
    assert kiosk.window.top_bar.label("mediator") == "Contacter le médiateur"

    def stages() -> list[str]:
        query = "SELECT json_extract(data, '$.stage') FROM events WHERE kind = 'mediator_call' ORDER BY id"
        return [row[0] for row in agent.conn.execute(query)]

    # The call counted once, pressing the button not at all (written off the GUI thread).
    qtbot.waitUntil(lambda: stages() == ["opened", "missed"], timeout=5_000)


def test_with_the_agent_down_the_resident_is_sent_to_the_reception_desk(qtbot, make_kiosk, stores) -> None:  # type: ignore[no-untyped-def]
    shell, agent = stores
    clock = ManualClock(MONDAY_10H)
    set_staff_present(agent, True, clock.now())  # present, but the agent has not beaten: down
    kiosk = make_kiosk(store=shell, clock=clock)
    press_mediator(qtbot, kiosk)
    wait_text(qtbot, kiosk, "Adressez-vous à l'accueil de Centre de test : une personne peut vous aider.")
    keep_shot(qtbot, kiosk, "mediator-reception")
    assert "C'est pour quelle démarche" not in text(qtbot, kiosk)
    # A call asked all the same (a page's verb) opens nothing.
    run_js(qtbot, kiosk.controller.session_page(), "location.href = 'kiosk://borne/action/call?category=logement'")
    qtbot.wait(500)
    assert calls(agent) == []


def test_closed_hours_say_when_the_next_mediator_is(qtbot, make_kiosk, stores) -> None:  # type: ignore[no-untyped-def]
    kiosk, agent, _clock = open_kiosk(make_kiosk, stores, SATURDAY)
    press_mediator(qtbot, kiosk)
    wait_text(qtbot, kiosk, "L'espace est fermé en ce moment. Prochaine présence : Lundi de 9 h à 12 h.")
    assert "l'accueil de Centre de test" in text(qtbot, kiosk)
    keep_shot(qtbot, kiosk, "mediator-closed")
    assert calls(agent) == []


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ("category=impots", None),  # not a category of the vocabulary
        ("category=logement&first_name=" + "a" * 500, "Ce nom est trop long"),
        ("category=logement&first_name=%3Cb%3EZo%C3%A9%3C%2Fb%3E", "Écrivez seulement des lettres"),
    ],
)
def test_bad_call_requests_are_refused_without_a_call(qtbot, make_kiosk, stores, query: str, shown: str | None) -> None:  # type: ignore[no-untyped-def]
    kiosk, agent, _clock = open_kiosk(make_kiosk, stores)
    press_mediator(qtbot, kiosk)
    run_js(qtbot, kiosk.controller.session_page(), f"location.href = 'kiosk://borne/action/call?{query}'; true")
    if shown:
        wait_text(qtbot, kiosk, shown)
        assert "<b>" not in text(qtbot, kiosk)
        keep_shot(qtbot, kiosk, "mediator-refused")
    else:
        qtbot.wait(500)
    assert calls(agent) == []
    assert "C'est pour quelle démarche ?" in text(qtbot, kiosk)  # the form is still there to try again
    confirm_call(qtbot, kiosk, "papiers")  # and a good call goes through
    qtbot.waitUntil(lambda: calls(agent) == [("waiting", "papiers", None)], timeout=5_000)


def test_the_first_name_is_typed_with_the_keyboard_in_view(qtbot, make_kiosk, stores) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtTest import QTest

    kiosk, agent, _clock = open_kiosk(make_kiosk, stores)
    press_mediator(qtbot, kiosk)
    page = kiosk.controller.session_page()
    kiosk.window.activateWindow()
    kiosk.controller.session_view().setFocus()
    run_js(qtbot, page, "document.getElementById('first_name').focus(); true")
    qtbot.waitUntil(lambda: kiosk.window.keyboard.shown, timeout=10_000)
    assert kiosk.window.keyboard.geometry().top() >= kiosk.window.content.geometry().bottom()
    keep_shot(qtbot, kiosk, "mediator-keyboard")
    value = "document.getElementById('first_name').value"
    for _ in range(3):  # offscreen, the first key after focusing a field can be lost (HACKING)
        run_js(qtbot, page, "var f = document.getElementById('first_name'); f.value = ''; f.focus(); 1")
        QTest.keyClicks(kiosk.controller.session_view().focusProxy(), "Lea")
        try:
            qtbot.waitUntil(lambda: run_js(qtbot, page, value) == "Lea", timeout=3_000)
            break
        except qtbot.TimeoutError:
            continue
    run_js(qtbot, page, "document.querySelector('.call-confirm').click(); true")
    qtbot.waitUntil(lambda: calls(agent) == [("waiting", None, "Lea")], timeout=5_000)


def test_a_mediator_turned_off_in_the_config_sends_to_the_reception(qtbot, make_kiosk, kiosk_config, stores) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from kiosk.core.settings import MediatorSettings

    shell, agent = stores
    clock = ManualClock(MONDAY_10H)
    agent_up(agent, clock)
    off = kiosk_config.kiosk.model_copy(update={"mediator": MediatorSettings(enabled=False)})
    kiosk = make_kiosk(config=dataclasses.replace(kiosk_config, kiosk=off), store=shell, clock=clock)
    press_mediator(qtbot, kiosk)
    wait_text(qtbot, kiosk, "Adressez-vous à l'accueil de Centre de test : une personne peut vous aider.")
    run_js(qtbot, kiosk.controller.session_page(), "location.href = 'kiosk://borne/action/call?category=papiers'")
    qtbot.wait(500)
    assert calls(agent) == []
