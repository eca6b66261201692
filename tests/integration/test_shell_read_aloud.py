"""Read-aloud and high contrast on the kiosk's own pages, in the real shell."""

from __future__ import annotations

import pytest

from tests.shellkit import run_js, wait_ready

pytestmark = pytest.mark.shell


def test_read_aloud_stops_at_the_end_of_the_session(qtbot, make_kiosk) -> None:  # type: ignore[no-untyped-def]
    from kiosk.core.session import State

    kiosk = make_kiosk()
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    run_js(
        qtbot,
        kiosk.controller.session_page(),
        "document.querySelector('a[href=\"kiosk://borne/action/read\"]').click()",
    )
    qtbot.waitUntil(lambda: len(kiosk.controller.read_aloud.engine.said) == 1, timeout=5_000)
    assert kiosk.controller.read_aloud.speaking
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    assert not kiosk.controller.read_aloud.speaking and kiosk.controller.read_aloud.engine.stops >= 1


def test_third_party_pages_get_no_read_aloud_button(qtbot, make_kiosk, loopback_web) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_shell import start_in_tile

    kiosk = make_kiosk()
    start_in_tile(qtbot, kiosk, loopback_web, "<main><h1>Site</h1></main>")
    assert run_js(qtbot, kiosk.controller.session_page(), "document.querySelectorAll('.read-aloud').length") == 0
    kiosk.controller.read_page_aloud()  # even if asked, a third-party site is not read by the shell
    qtbot.wait(300)
    assert kiosk.controller.read_aloud.engine.said == []


def test_high_contrast_for_this_resident_only(qtbot, make_kiosk) -> None:  # type: ignore[no-untyped-def]
    from kiosk.core.session import State

    kiosk = make_kiosk()
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    page = kiosk.controller.session_page()
    assert run_js(qtbot, page, "document.body.classList.contains('theme-contrast')") is False
    run_js(qtbot, page, "document.querySelector('a.contrast').click()")
    qtbot.waitUntil(
        lambda: (
            run_js(qtbot, kiosk.controller.session_page(), "document.body.classList.contains('theme-contrast')") is True
        ),
        timeout=10_000,
    )
    assert kiosk.controller.high_contrast
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    assert not kiosk.controller.high_contrast  # the next resident starts with the usual colours
