"""The real shell, offscreen: session life, tiles, top bar, keyboard, PDF, crash recovery."""

from __future__ import annotations

import os
import signal

import pytest

from kiosk.core.devices import DeviceFailure
from kiosk.core.session import State
from kiosk.shell.web.scheme import page_name
from tests.shellkit import print_whole_document, run_js, wait_ready, wait_url
from tests.webserver import LoopbackWeb, Response

pytestmark = pytest.mark.shell

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def start_in_tile(qtbot, kiosk, web: LoopbackWeb, html: str, path: str = "/") -> None:  # type: ignore[no-untyped-def]
    web.page("www.allowed.test", path, html)
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    kiosk.controller.open_tile("allowed")
    wait_ready(qtbot, kiosk, "http://www.allowed.test/")


def test_touch_starts_a_session_with_its_own_directory_and_end_wipes_it(qtbot, kiosk) -> None:  # type: ignore[no-untyped-def]
    assert kiosk.controller.state is State.ATTRACT
    kiosk.controller.session.activity()
    wait_url(qtbot, kiosk, lambda u: u.startswith("kiosk://borne/home"))
    assert kiosk.controller.state is State.ACTIVE
    session_dir = kiosk.controller.browser.dir
    assert session_dir.is_dir() and session_dir.parent == kiosk.controller.session_root
    assert oct(session_dir.stat().st_mode & 0o777) == "0o700"
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    assert not session_dir.exists()
    assert kiosk.controller.browser is None
    qtbot.waitUntil(lambda: page_name(kiosk.window.lobby_view.page().url()) == "goodbye", timeout=10_000)


def test_idle_warning_then_wipe(qtbot, kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk.controller.start_session()
    wait_url(qtbot, kiosk, lambda u: u.startswith("kiosk://borne/home"))
    clock = kiosk.controller.clock
    clock.advance(60)
    kiosk.controller.session.tick()
    assert kiosk.controller.state is State.WARNING
    qtbot.waitUntil(
        lambda: kiosk.window.layer_view.isVisible() and page_name(kiosk.window.layer_view.page().url()) == "warning"
    )
    kiosk.controller.session.activity()  # the resident is back
    assert kiosk.controller.state is State.ACTIVE and not kiosk.window.layer_view.isVisible()
    clock.advance(60)
    kiosk.controller.session.tick()
    clock.advance(10)
    kiosk.controller.session.tick()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    clock.advance(2)
    kiosk.controller.session.tick()
    assert kiosk.controller.state is State.ATTRACT


def test_home_lists_tiles_and_opens_one(qtbot, kiosk, loopback_web) -> None:  # type: ignore[no-untyped-def]
    start_in_tile(qtbot, kiosk, loopback_web, "<h1>Bienvenue</h1>")
    assert kiosk.controller.browser.tile.id == "allowed"
    kiosk.controller.go_back()
    wait_url(qtbot, kiosk, lambda u: u.startswith("kiosk://borne/home"))


def test_home_page_tiles_are_clickable_links(qtbot, kiosk, loopback_web) -> None:  # type: ignore[no-untyped-def]
    loopback_web.page("other.test", "/", "<h1>Autre</h1>")
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    kiosk.controller.session_page().runJavaScript("document.querySelector('a[href*=\"tile=other\"]').click()")
    wait_url(qtbot, kiosk, lambda u: u.startswith("http://other.test/"))
    assert kiosk.controller.browser.tile.id == "other"


def test_zoom_cycles_three_levels_and_resets_with_the_session(qtbot, kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk.controller.start_session()
    wait_url(qtbot, kiosk, lambda u: u.startswith("kiosk://borne/home"))
    factors = []
    for _ in range(3):
        kiosk.window.top_bar.buttons["zoom"].click()
        qtbot.wait(50)
        factors.append(kiosk.controller.session_view().zoomFactor())
    assert factors == pytest.approx([1.25, 1.5, 1.0])
    kiosk.window.top_bar.buttons["zoom"].click()
    qtbot.wait(50)
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED)
    assert kiosk.controller.zoom_factor == 1.0


def test_top_bar_buttons(qtbot, kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk.window.top_bar.buttons["help"].click()
    wait_url(qtbot, kiosk, lambda u: u.startswith("kiosk://borne/help"))
    assert kiosk.controller.state is State.ACTIVE
    kiosk.window.top_bar.buttons["mediator"].click()
    wait_url(qtbot, kiosk, lambda u: u.startswith("kiosk://borne/mediator"))
    kiosk.window.top_bar.buttons["home"].click()
    wait_url(qtbot, kiosk, lambda u: u.startswith("kiosk://borne/home"))
    kiosk.window.top_bar.buttons["end"].click()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)


def test_pdf_download_opens_in_viewer_and_prints(qtbot, kiosk, loopback_web, tmp_path) -> None:  # type: ignore[no-untyped-def]
    loopback_web.add("www.allowed.test", "/attestation.pdf", Response(PDF, content_type="application/pdf"))
    start_in_tile(qtbot, kiosk, loopback_web, '<a id=a href="/attestation.pdf">Attestation</a>')
    kiosk.controller.session_page().runJavaScript("document.getElementById('a').click()")
    qtbot.waitUntil(lambda: kiosk.window.stack.currentWidget() is kiosk.window.pdf_viewer, timeout=10_000)
    assert kiosk.window.pdf_viewer.page_count() == 1
    assert kiosk.window.pdf_viewer.path.parent == kiosk.controller.browser.dir / "downloads"
    viewer = kiosk.window.pdf_viewer
    print_whole_document(viewer)
    assert not viewer.print_button.isEnabled()  # one tap, one job
    qtbot.waitUntil(lambda: "C'est imprimé" in viewer.status.text(), timeout=5_000)
    [job] = viewer.printer.printer.jobs.values()
    assert job.size == len(PDF) and job.title == "Borne"  # never the document's own name
    assert viewer.print_button.isEnabled()
    viewer.printer.printer.unavailable = DeviceFailure.OFFLINE
    print_whole_document(viewer)
    qtbot.waitUntil(lambda: "ne répond pas" in viewer.status.text(), timeout=5_000)
    viewer.printer.printer.unavailable = DeviceFailure.ABSENT
    print_whole_document(viewer)
    qtbot.waitUntil(lambda: "pas d'imprimante" in viewer.status.text(), timeout=5_000)
    kiosk.window.pdf_viewer.close_button.click()
    assert kiosk.window.stack.currentWidget() is kiosk.window.session_holder


def test_other_downloads_are_refused(qtbot, kiosk, loopback_web) -> None:  # type: ignore[no-untyped-def]
    loopback_web.add(
        "www.allowed.test",
        "/virus.exe",
        Response(
            b"MZ...",
            content_type="application/octet-stream",
            headers={"Content-Disposition": "attachment; filename=virus.exe"},
        ),
    )
    start_in_tile(qtbot, kiosk, loopback_web, '<a id=a href="/virus.exe">x</a>')
    kiosk.controller.session_page().runJavaScript("document.getElementById('a').click()")
    qtbot.waitUntil(lambda: kiosk.window.notice.isVisible(), timeout=10_000)
    assert "PDF" in kiosk.window.notice.message.text()
    assert not any(kiosk.controller.browser.downloads_dir.iterdir())


def test_keyboard_appears_for_a_field_and_goes_away(qtbot, kiosk, loopback_web) -> None:  # type: ignore[no-untyped-def]
    start_in_tile(qtbot, kiosk, loopback_web, "<input id=f><input id=p type=password><p id=x>texte</p>")
    assert kiosk.window.keyboard.available
    kiosk.window.activateWindow()
    kiosk.controller.session_view().setFocus()
    kiosk.controller.session_page().runJavaScript("document.getElementById('p').focus()")
    qtbot.waitUntil(lambda: kiosk.window.keyboard.shown, timeout=10_000)
    assert kiosk.window.keyboard.height() > 100
    assert kiosk.window.keyboard.geometry().top() >= kiosk.window.content.geometry().bottom()
    kiosk.controller.session_page().runJavaScript("document.activeElement.blur()")
    qtbot.waitUntil(lambda: not kiosk.window.keyboard.shown, timeout=10_000)


def test_renderer_crash_returns_home_within_two_seconds(qtbot, kiosk, loopback_web) -> None:  # type: ignore[no-untyped-def]
    start_in_tile(qtbot, kiosk, loopback_web, "<h1>page</h1>")
    pid = kiosk.controller.session_page().renderProcessPid()
    assert pid > 0
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: kiosk.window.layer_view.isVisible(), timeout=2000)
    wait_url(qtbot, kiosk, lambda u: u.startswith("kiosk://borne/home"), timeout=2000)
    assert kiosk.controller.state is State.ACTIVE


# A page that hangs its renderer when the test says so (``hang(qtbot, kiosk)``), not on a timer: on a
# loaded machine a timer could hang it before the test has seen it loaded.
HANGS_ON_DEMAND = "<h1>page</h1><script>window.hang = function(){ setTimeout(function(){while(true){}}, 0); };</script>"


def hang(qtbot, kiosk) -> None:  # type: ignore[no-untyped-def]
    assert run_js(qtbot, kiosk.controller.session_page(), "hang(); 1") == 1
    qtbot.wait(300)


def test_hung_renderer_is_restarted(qtbot, kiosk, loopback_web) -> None:  # type: ignore[no-untyped-def]
    start_in_tile(qtbot, kiosk, loopback_web, HANGS_ON_DEMAND)
    hang(qtbot, kiosk)
    kiosk.watchdog.check_renderer()  # sends a ping the hung page cannot answer
    qtbot.wait(500)
    assert kiosk.watchdog.pending_ping is not None
    kiosk.controller.clock.advance(kiosk.controller.config.kiosk.shell.hang_timeout_s + 0.5)
    kiosk.watchdog.check_renderer()
    qtbot.waitUntil(lambda: kiosk.window.layer_view.isVisible(), timeout=2000)
    wait_url(qtbot, kiosk, lambda u: u.startswith("kiosk://borne/home"), timeout=2000)


def test_responsive_page_is_left_alone(qtbot, kiosk, loopback_web) -> None:  # type: ignore[no-untyped-def]
    start_in_tile(qtbot, kiosk, loopback_web, "<h1>page</h1>")
    for _ in range(4):
        kiosk.watchdog.check_renderer()
        qtbot.waitUntil(lambda: kiosk.watchdog.pending_ping is None, timeout=2000)
        kiosk.controller.clock.advance(kiosk.controller.config.kiosk.shell.hang_timeout_s + 0.5)
    assert kiosk.controller.current_url().host() == "www.allowed.test"


def test_lobby_renderer_over_the_memory_cap_is_renewed_while_a_resident_hides_it(qtbot, kiosk, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import kiosk.shell.watchdog as watchdog_module

    before = kiosk.window.lobby_view.page()
    qtbot.waitUntil(lambda: before.renderProcessPid() > 0, timeout=10_000)  # slow to start on a busy machine
    assert watchdog_module.process_rss_mib(before.renderProcessPid()) > 0  # real measurement works
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    assert kiosk.window.lobby_view.page() is before  # as it was, under the cap
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    kiosk.controller.session.activity()  # goodbye → attract
    monkeypatch.setattr(watchdog_module, "process_rss_mib", lambda pid: 10_000.0)
    kiosk.controller.start_session()  # the lobby is hidden behind the resident's page
    renewed = kiosk.window.lobby_view.page()
    assert renewed is not before
    # Its own renderer shows the welcome screen again, ready for when the resident leaves.
    qtbot.waitUntil(lambda: page_name(renewed.url()) == "attract" and renewed.renderProcessPid() > 0, timeout=10_000)
    monkeypatch.setattr(watchdog_module, "process_rss_mib", lambda pid: 1.0)
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    kiosk.controller.session.activity()
    kiosk.controller.start_session()
    assert kiosk.window.lobby_view.page() is renewed


def test_a_lobby_renderer_that_keeps_growing_is_renewed(qtbot, kiosk, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import kiosk.shell.watchdog as watchdog_module

    rss = [200.0]
    monkeypatch.setattr(watchdog_module, "process_rss_mib", lambda pid: rss[0])
    first = kiosk.window.lobby_view.page()
    qtbot.waitUntil(lambda: first.renderProcessPid() > 0, timeout=10_000)
    for grown, renewed in (
        (0.0, False),
        (watchdog_module.LOBBY_GROWTH_MIB - 1, False),
        (watchdog_module.LOBBY_GROWTH_MIB + 1, True),
    ):
        rss[0] = 200.0 + grown  # far under the cap: only the growth since it was new counts
        kiosk.controller.start_session()
        assert (kiosk.window.lobby_view.page() is not first) is renewed, grown
        kiosk.controller.end_session()
        qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
        kiosk.controller.session.activity()


def test_every_verb_has_a_handler_and_every_top_bar_button_its_icon(kiosk) -> None:  # type: ignore[no-untyped-def]
    from kiosk.pages import Action

    assert set(kiosk.actions.handlers) == set(Action)
    for name, button in kiosk.window.top_bar.buttons.items():
        assert Action(name) in kiosk.actions.handlers
        assert not button.icon().isNull(), name


def test_the_mediator_button_is_highlighted_while_a_call_is_open_and_only_then(qtbot, kiosk) -> None:  # type: ignore[no-untyped-def]
    """The button is repainted in its "calling" style when a note appears and back when it goes:
    the style is re-applied on a change only (the first screen must not pay for PySide's QStyle)."""
    button = kiosk.window.top_bar.buttons["mediator"]

    def looks() -> object:
        return button.grab().toImage().pixelColor(button.width() // 2, 12).name()  # the background

    usual = looks()
    kiosk.window.top_bar.set_mediator_note("Vous êtes le n° %(number)s", 12)
    assert button.property("calling") is True
    assert kiosk.window.top_bar.label("mediator") == "Vous êtes le n° 12"
    calling = looks()
    assert calling != usual
    kiosk.window.top_bar.set_mediator_note("Vous êtes le n° %(number)s", 13)  # the same style, new words
    assert looks() == calling
    kiosk.window.top_bar.set_mediator_note(None)
    assert button.property("calling") is False
    assert looks() == usual


@pytest.mark.parametrize("size", [(1024, 768), (1280, 800), (1920, 1080)])
def test_every_top_bar_label_shows_whole_and_the_centre_keeps_room(qtbot, make_kiosk, size) -> None:  # type: ignore[no-untyped-def]
    """With "Scanner un document" the bar holds seven buttons: on a narrow screen their words go
    onto two lines rather than being cut ("Agrand… texte"), and the centre's name (which staff
    hold for their panel) keeps room."""
    kiosk = make_kiosk(size=size)
    bar = kiosk.window.top_bar
    assert bar.buttons["scan"].isVisible()  # the test configuration's scanner: SANE, auto
    qtbot.wait(300)  # the bar's layout follows the window's last resize in the event loop
    for name, button in bar.buttons.items():
        assert button.width() >= button.sizeHint().width(), (name, button.width(), button.sizeHint().width())
        assert button.text().replace("\n", " ").strip() == bar.label(name) == button.accessibleName(), name
    assert bar.centre.width() >= 90
    assert bar.compact is (size[0] < 1920)
