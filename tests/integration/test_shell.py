"""The real shell, offscreen: session life, tiles, top bar, keyboard, PDF, crash recovery."""

from __future__ import annotations

import os
import signal

import pytest

from kiosk.core.devices import DeviceFailure
from kiosk.core.session import State
from tests.shellkit import wait_ready, wait_url
from tests.webserver import LoopbackWeb, Response

pytestmark = pytest.mark.shell

PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def start_in_tile(qtbot, window, web: LoopbackWeb, html: str, path: str = "/") -> None:  # type: ignore[no-untyped-def]
    web.page("www.allowed.test", path, html)
    window.start_session()
    wait_ready(qtbot, window, "kiosk://home")
    window.open_tile("allowed")
    wait_ready(qtbot, window, "http://www.allowed.test/")


def test_touch_starts_a_session_with_its_own_directory_and_end_wipes_it(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    assert window.state is State.ATTRACT
    window.session.activity()
    wait_url(qtbot, window, lambda u: u.startswith("kiosk://home"))
    assert window.state is State.ACTIVE
    session_dir = window.browser.dir
    assert session_dir.is_dir() and session_dir.parent == window.session_root
    assert oct(session_dir.stat().st_mode & 0o777) == "0o700"
    window.end_session()
    qtbot.waitUntil(lambda: window.state is State.WIPED, timeout=10_000)
    assert not session_dir.exists()
    assert window.browser is None
    qtbot.waitUntil(lambda: window.lobby_view.page().url().host() == "goodbye", timeout=10_000)


def test_idle_warning_then_wipe(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.start_session()
    wait_url(qtbot, window, lambda u: u.startswith("kiosk://home"))
    clock = window._clock
    clock.advance(60)
    window.session.tick()
    assert window.state is State.WARNING
    qtbot.waitUntil(lambda: window.layer_view.isVisible() and window.layer_view.page().url().host() == "warning")
    window.session.activity()  # the resident is back
    assert window.state is State.ACTIVE and not window.layer_view.isVisible()
    clock.advance(60)
    window.session.tick()
    clock.advance(10)
    window.session.tick()
    qtbot.waitUntil(lambda: window.state is State.WIPED, timeout=10_000)
    clock.advance(2)
    window.session.tick()
    assert window.state is State.ATTRACT


def test_home_lists_tiles_and_opens_one(qtbot, window, loopback_web) -> None:  # type: ignore[no-untyped-def]
    start_in_tile(qtbot, window, loopback_web, "<h1>Bienvenue</h1>")
    assert window.browser.tile.id == "allowed"
    window.go_back()
    wait_url(qtbot, window, lambda u: u.startswith("kiosk://home"))


def test_home_page_tiles_are_clickable_links(qtbot, window, loopback_web) -> None:  # type: ignore[no-untyped-def]
    loopback_web.page("other.test", "/", "<h1>Autre</h1>")
    window.start_session()
    wait_ready(qtbot, window, "kiosk://home")
    window.session_page().runJavaScript("document.querySelector('a[href*=\"tile=other\"]').click()")
    wait_url(qtbot, window, lambda u: u.startswith("http://other.test/"))
    assert window.browser.tile.id == "other"


def test_zoom_cycles_three_levels_and_resets_with_the_session(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.start_session()
    wait_url(qtbot, window, lambda u: u.startswith("kiosk://home"))
    factors = []
    for _ in range(3):
        window.top_bar.buttons["zoom"].click()
        qtbot.wait(50)
        factors.append(window.session_view().zoomFactor())
    assert factors == pytest.approx([1.25, 1.5, 1.0])
    window.top_bar.buttons["zoom"].click()
    qtbot.wait(50)
    window.end_session()
    qtbot.waitUntil(lambda: window.state is State.WIPED)
    assert window.zoom_factor == 1.0


def test_top_bar_buttons(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.top_bar.buttons["help"].click()
    wait_url(qtbot, window, lambda u: u.startswith("kiosk://help"))
    assert window.state is State.ACTIVE
    window.top_bar.buttons["mediator"].click()
    wait_url(qtbot, window, lambda u: u.startswith("kiosk://mediator"))
    window.top_bar.buttons["home"].click()
    wait_url(qtbot, window, lambda u: u.startswith("kiosk://home"))
    window.top_bar.buttons["end"].click()
    qtbot.waitUntil(lambda: window.state is State.WIPED, timeout=10_000)


def test_pdf_download_opens_in_viewer_and_prints(qtbot, window, loopback_web, tmp_path) -> None:  # type: ignore[no-untyped-def]
    loopback_web.add("www.allowed.test", "/attestation.pdf", Response(PDF, content_type="application/pdf"))
    start_in_tile(qtbot, window, loopback_web, '<a id=a href="/attestation.pdf">Attestation</a>')
    window.session_page().runJavaScript("document.getElementById('a').click()")
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.pdf_viewer, timeout=10_000)
    assert window.pdf_viewer.page_count() == 1
    assert window.pdf_viewer.path.parent == window.browser.dir / "downloads"
    viewer = window.pdf_viewer
    viewer.print_button.click()
    assert not viewer.print_button.isEnabled()  # one tap, one job
    qtbot.waitUntil(lambda: "C'est imprimé" in viewer.status.text(), timeout=5_000)
    [job] = viewer.printer.jobs.values()
    assert job.size == len(PDF) and job.title == "Borne"  # never the document's own name
    assert viewer.print_button.isEnabled()
    viewer.printer.unavailable = DeviceFailure.OFFLINE
    viewer.print_button.click()
    qtbot.waitUntil(lambda: "ne répond pas" in viewer.status.text(), timeout=5_000)
    viewer.printer.unavailable = DeviceFailure.ABSENT
    viewer.print_button.click()
    qtbot.waitUntil(lambda: "pas d'imprimante" in viewer.status.text(), timeout=5_000)
    window.pdf_viewer.close_button.click()
    assert window.stack.currentWidget() is window.session_holder


def test_other_downloads_are_refused(qtbot, window, loopback_web) -> None:  # type: ignore[no-untyped-def]
    loopback_web.add(
        "www.allowed.test",
        "/virus.exe",
        Response(
            b"MZ...",
            content_type="application/octet-stream",
            headers={"Content-Disposition": "attachment; filename=virus.exe"},
        ),
    )
    start_in_tile(qtbot, window, loopback_web, '<a id=a href="/virus.exe">x</a>')
    window.session_page().runJavaScript("document.getElementById('a').click()")
    qtbot.waitUntil(lambda: window.notice.isVisible(), timeout=10_000)
    assert "PDF" in window.notice.message.text()
    assert not any(window.browser.downloads_dir.iterdir())


def test_keyboard_appears_for_a_field_and_goes_away(qtbot, window, loopback_web) -> None:  # type: ignore[no-untyped-def]
    start_in_tile(qtbot, window, loopback_web, "<input id=f><input id=p type=password><p id=x>texte</p>")
    assert window.keyboard.available
    window.activateWindow()
    window.session_view().setFocus()
    window.session_page().runJavaScript("document.getElementById('p').focus()")
    qtbot.waitUntil(lambda: window.keyboard.shown, timeout=10_000)
    assert window.keyboard.height() > 100
    assert window.keyboard.geometry().top() >= window.content.geometry().bottom()
    window.session_page().runJavaScript("document.activeElement.blur()")
    qtbot.waitUntil(lambda: not window.keyboard.shown, timeout=10_000)


def test_renderer_crash_returns_home_within_two_seconds(qtbot, window, loopback_web) -> None:  # type: ignore[no-untyped-def]
    start_in_tile(qtbot, window, loopback_web, "<h1>page</h1>")
    pid = window.session_page().renderProcessPid()
    assert pid > 0
    os.kill(pid, signal.SIGKILL)
    qtbot.waitUntil(lambda: window.layer_view.isVisible(), timeout=2000)
    wait_url(qtbot, window, lambda u: u.startswith("kiosk://home"), timeout=2000)
    assert window.state is State.ACTIVE


def test_hung_renderer_is_restarted(qtbot, window, loopback_web) -> None:  # type: ignore[no-untyped-def]
    start_in_tile(
        qtbot, window, loopback_web, "<h1>page</h1><script>setTimeout(function(){while(true){}}, 50)</script>"
    )
    qtbot.wait(300)
    window._check_renderer()  # sends a ping the hung page cannot answer
    qtbot.wait(500)
    assert window._pending_js_ping is not None
    window._clock.advance(window.config.kiosk.shell.hang_timeout_s + 0.5)
    window._check_renderer()
    qtbot.waitUntil(lambda: window.layer_view.isVisible(), timeout=2000)
    wait_url(qtbot, window, lambda u: u.startswith("kiosk://home"), timeout=2000)


def test_responsive_page_is_left_alone(qtbot, window, loopback_web) -> None:  # type: ignore[no-untyped-def]
    start_in_tile(qtbot, window, loopback_web, "<h1>page</h1>")
    for _ in range(4):
        window._check_renderer()
        qtbot.waitUntil(lambda: window._pending_js_ping is None, timeout=2000)
        window._clock.advance(window.config.kiosk.shell.hang_timeout_s + 0.5)
    assert window.current_url().host() == "www.allowed.test"


def test_lobby_renderer_over_the_memory_cap_is_restarted_between_sessions(qtbot, window, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import kiosk.shell.window as window_module

    before = window.lobby_view.page()
    qtbot.waitUntil(lambda: before.renderProcessPid() > 0, timeout=10_000)  # slow to start on a busy machine
    assert window_module.process_rss_mib(before.renderProcessPid()) > 0  # real measurement works
    window.start_session()
    wait_ready(qtbot, window, "kiosk://home")
    window.end_session()
    qtbot.waitUntil(lambda: window.state is State.WIPED, timeout=10_000)
    monkeypatch.setattr(window_module, "process_rss_mib", lambda pid: 10_000.0)
    window.session.activity()  # goodbye → attract: between sessions
    assert window.lobby_view.page() is not before
    qtbot.waitUntil(lambda: window.lobby_view.page().url().host() == "attract", timeout=10_000)
    monkeypatch.setattr(window_module, "process_rss_mib", lambda pid: 1.0)
    current = window.lobby_view.page()
    window.start_session()
    window.end_session()
    qtbot.waitUntil(lambda: window.state is State.WIPED, timeout=10_000)
    window.session.activity()
    assert window.lobby_view.page() is current
