"""The goodbye comes with the questions: shown in place the moment they are answered, skipped
or left unanswered, without asking the scheme handler for another page; a questions page that
cannot show it in place still gets the goodbye, loaded."""

from __future__ import annotations

from kiosk.core.ports import ManualClock
from kiosk.core.session import State
from kiosk.shell.web.scheme import page_name
from tests.integration.test_shell_stats import end_and_wait_questions, with_questions
from tests.shellkit import run_js, wait_ready

GOODBYE_SHOWN = "!!document.getElementById('goodbye') && !document.getElementById('goodbye').hidden"


def rendered_pages(kiosk) -> list[str]:  # type: ignore[no-untyped-def]
    """Every page the kiosk's scheme handler renders from now on, in order."""
    pages, render, seen = kiosk.controller.pages, kiosk.controller.pages.render, []

    def spy(page: str, params):  # type: ignore[no-untyped-def]
        seen.append(page)
        return render(page, params)

    pages.render = spy
    return seen


def at_the_questions(qtbot, make_kiosk, kiosk_config, timeout_s: int = 45):  # type: ignore[no-untyped-def]
    # A clock that stands still: the goodbye stays until the test moves on.
    kiosk = make_kiosk(config=with_questions(kiosk_config, timeout_s=timeout_s), clock=ManualClock())
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    end_and_wait_questions(qtbot, kiosk)
    lobby = kiosk.window.lobby_view.page()
    qtbot.waitUntil(lambda: not lobby.isLoading(), timeout=10_000)
    assert run_js(qtbot, lobby, GOODBYE_SHOWN) is False  # the questions first
    return kiosk, lobby


def test_a_tap_on_skip_shows_the_goodbye_in_place(qtbot, make_kiosk, kiosk_config) -> None:  # type: ignore[no-untyped-def]
    kiosk, lobby = at_the_questions(qtbot, make_kiosk, kiosk_config)
    rendered = rendered_pages(kiosk)
    run_js(qtbot, lobby, "document.getElementById('skip').click()")
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    qtbot.waitUntil(lambda: page_name(lobby.url()) == "goodbye", timeout=10_000)
    assert run_js(qtbot, lobby, GOODBYE_SHOWN) is True
    assert run_js(qtbot, lobby, "document.querySelector('main.questions').hidden") is True
    assert lobby.title() == "Merci et au revoir\u00a0!"
    qtbot.wait(300)  # a load of the goodbye, had one been asked for, would have started by now
    assert "goodbye" not in rendered
    # A tap on the goodbye brings the welcome screen, as on the goodbye page.
    run_js(qtbot, lobby, "document.getElementById('goodbye').click()")
    qtbot.waitUntil(lambda: kiosk.controller.state is State.ATTRACT, timeout=10_000)
    wait_ready(qtbot, kiosk, "kiosk://borne/attract")


def test_unanswered_questions_give_way_to_the_goodbye_in_place(qtbot, make_kiosk, kiosk_config) -> None:  # type: ignore[no-untyped-def]
    kiosk, lobby = at_the_questions(qtbot, make_kiosk, kiosk_config)
    rendered = rendered_pages(kiosk)
    kiosk.controller.skip_questions()  # what the questions' own timer does
    qtbot.waitUntil(lambda: page_name(lobby.url()) == "goodbye", timeout=10_000)
    qtbot.waitUntil(lambda: run_js(qtbot, lobby, GOODBYE_SHOWN) is True, timeout=5_000)
    qtbot.wait(300)
    assert rendered == []


def test_a_questions_page_that_cannot_show_it_gets_the_goodbye_loaded(qtbot, make_kiosk, kiosk_config) -> None:  # type: ignore[no-untyped-def]
    kiosk, lobby = at_the_questions(qtbot, make_kiosk, kiosk_config)
    run_js(qtbot, lobby, "window.kioskScreen = function () { return false; }")
    rendered = rendered_pages(kiosk)
    kiosk.controller.skip_questions()
    qtbot.waitUntil(lambda: "goodbye" in rendered, timeout=10_000)
    wait_ready(qtbot, kiosk, "kiosk://borne/goodbye")
    assert run_js(qtbot, lobby, "!!document.querySelector('main.questions')") is False  # the page itself
    assert run_js(qtbot, lobby, GOODBYE_SHOWN) is True


def test_a_renewed_lobby_shows_the_goodbye_page_itself(qtbot, make_kiosk, kiosk_config) -> None:  # type: ignore[no-untyped-def]
    """The goodbye's address is the page's own: a reload (after a renderer crash) shows it."""
    kiosk, lobby = at_the_questions(qtbot, make_kiosk, kiosk_config)
    run_js(qtbot, lobby, "document.getElementById('skip').click()")
    qtbot.waitUntil(lambda: page_name(lobby.url()) == "goodbye", timeout=10_000)
    kiosk.window.renew_lobby_page(kiosk.window.lobby_view)
    fresh = kiosk.window.lobby_view.page()
    assert fresh is not lobby
    assert page_name(fresh.url()) == "goodbye"
    qtbot.waitUntil(lambda: run_js(qtbot, fresh, GOODBYE_SHOWN) is True, timeout=10_000)
    assert run_js(qtbot, fresh, "!!document.querySelector('main.questions')") is False
