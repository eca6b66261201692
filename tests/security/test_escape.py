"""Escape vectors against the real shell, offscreen: hostile pages served on loopback and key sequences.

Every vector ends with the same checks (``assert_contained``): the resident is still inside the
tile's origins or on a kiosk: page, there is no second window and no system dialog, nothing was
written outside the session directory, and the top bar is still there.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtTest import QTest

from tests.security.containment import Snapshot, assert_contained
from tests.shellkit import run_js, wait_ready
from tests.webserver import Response

pytestmark = pytest.mark.escape

EVIL = "http://evil.test/"
ALLOWED_PAGE2 = "http://sub.allowed.test/page2"


@dataclass(frozen=True)
class Vector:
    name: str
    html: str  # served at http://www.allowed.test/ (the tile's start page)
    script: str = ""  # run in the page after it loaded
    click: bool = False  # a real (synthesised) touch in the middle of the page, for user-gesture APIs
    expect_page: str | None = None  # the kiosk: page, or host, the resident should end on
    check: Callable[..., None] | None = None
    routes: dict[str, Response] = field(default_factory=dict)


def button(onclick: str) -> str:
    return (
        "<button id=b style='position:fixed;inset:0;width:100%;height:100%;font-size:40px' "
        f'onclick="{onclick}">go</button>'
    )


def js_result(name: str, expected: object) -> Callable[..., None]:
    def check(qtbot, window) -> None:  # type: ignore[no-untyped-def]
        qtbot.waitUntil(
            lambda: run_js(qtbot, window.session_page(), f"String(window.{name})") != "undefined", timeout=5000
        )
        assert run_js(qtbot, window.session_page(), f"String(window.{name})") == str(expected)

    return check


def session_continues(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    from kiosk.core.session import State

    assert window.state is State.ACTIVE
    assert window.browser is not None


def pdf_viewer_shown(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: window.stack.currentWidget() is window.pdf_viewer, timeout=8000)


def notice_shown(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: window.notice.isVisible(), timeout=8000)


def chooser_shown_and_closed(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    # A synthesised touch can land while the page is still settling: touch again if nothing came.
    for _ in range(4):
        try:
            qtbot.waitUntil(lambda: getattr(window.chooser, "seen", False), timeout=2500)
            break
        except Exception:
            touch_centre(window)
    qtbot.waitUntil(lambda: getattr(window.chooser, "seen", False), timeout=2500)
    assert "pas encore de document" in window.chooser.heading.text()
    qtbot.waitUntil(lambda: not window.chooser.isVisible(), timeout=3000)


def answer_overlay_when_shown(overlay, button) -> None:  # type: ignore[no-untyped-def]
    """The page waits inside confirm()/the chooser: the answer must come from the event loop."""
    from PySide6.QtCore import QTimer

    timer = QTimer(overlay)
    timer.setInterval(100)

    def press() -> None:
        if overlay.isVisible():
            overlay.seen = True
            timer.stop()
            button.click()

    timer.timeout.connect(press)
    timer.start()


def confirm_answered(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    js_result("answer", "false")(qtbot, window)
    assert window.confirm.seen


def not_fullscreen(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    qtbot.wait(500)
    assert not window.isFullScreen()
    assert run_js(qtbot, window.session_page(), "String(document.fullscreenElement)") == "null"


VECTORS = [
    Vector(
        "link_to_other_site",
        f"<a id=a href='{EVIL}'>x</a>",
        "document.getElementById('a').click()",
        expect_page="blocked",
    ),
    Vector("script_location", "<p>x</p>", f"location.href = '{EVIL}'", expect_page="blocked"),
    Vector("location_replace", "<p>x</p>", f"location.replace('{EVIL}')", expect_page="blocked"),
    Vector("window_open_other_site", "<p>x</p>", f"window.open('{EVIL}')", expect_page="blocked"),
    Vector(
        "target_blank_other_site",
        f"<a id=a target=_blank href='{EVIL}'>x</a>",
        "document.getElementById('a').click()",
        expect_page="blocked",
    ),
    Vector(
        "target_blank_allowed_same_view",
        f"<a id=a target=_blank href='{ALLOWED_PAGE2}'>x</a>",
        "document.getElementById('a').click()",
        expect_page="sub.allowed.test",
        routes={"sub.allowed.test /page2": Response("<p>page 2</p>")},
    ),
    Vector(
        "window_open_blank_then_write",
        "<p>x</p>",
        "var w = window.open(''); if (w) { w.document.write('<h1>pwn</h1>'); }",
    ),
    Vector("meta_refresh", f"<meta http-equiv=refresh content='0;url={EVIL}'>", expect_page="blocked"),
    Vector(
        "http_redirect",
        "<a id=a href='/redirect'>x</a>",
        "document.getElementById('a').click()",
        expect_page="blocked",
        routes={"www.allowed.test /redirect": Response("", status=302, headers={"Location": EVIL})},
    ),
    Vector(
        "form_post_elsewhere",
        f"<form id=f method=post action='{EVIL}'><input name=q value=1></form>",
        "document.getElementById('f').submit()",
        expect_page="blocked",
    ),
    Vector(
        "iframe_navigates_top",
        f"<iframe src='{EVIL}frame'></iframe>",
        routes={"evil.test /frame": Response(f"<script>top.location = '{EVIL}';</script>")},
    ),
    Vector("javascript_url_navigation", "<p id=p>x</p>", "location.href = 'javascript:document.title=\"pwn\"'"),
    Vector("data_url_navigation", "<p>x</p>", "location.href = 'data:text/html,<h1>fake login</h1>'"),
    Vector(
        "blob_url_navigation",
        "<p>x</p>",
        "location.href = URL.createObjectURL(new Blob(['<h1>fake</h1>'], {type: 'text/html'}))",
    ),
    Vector("file_url", "<a id=a href='file:///etc/passwd'>x</a>", "document.getElementById('a').click()"),
    Vector("view_source", "<p>x</p>", "location.href = 'view-source:http://www.allowed.test/'"),
    Vector("chrome_settings", "<p>x</p>", "location.href = 'chrome://settings'"),
    Vector("chrome_gpu_in_iframe", "<iframe src='chrome://gpu'></iframe>"),
    Vector("mailto_link", "<a id=a href='mailto:x@example.org'>x</a>", "document.getElementById('a').click()"),
    Vector("tel_link", "<a id=a href='tel:+33100000000'>x</a>", "document.getElementById('a').click()"),
    Vector(
        "intent_link", "<a id=a href='intent://x#Intent;scheme=y;end'>x</a>", "document.getElementById('a').click()"
    ),
    Vector("custom_protocol", "<p>x</p>", "location.href = 'ms-settings:display'"),
    Vector(
        "kiosk_action_from_web",
        "<a id=a href='kiosk://action/end'>x</a>",
        "document.getElementById('a').click()",
        check=session_continues,
    ),
    Vector("kiosk_page_in_iframe", "<iframe id=f src='kiosk://home/'></iframe>", check=session_continues),
    Vector(
        "idn_lookalike",
        "<a id=a href='http://www.аllowed.test/'>x</a>",
        "document.getElementById('a').click()",
        expect_page="blocked",
    ),
    Vector(
        "credentials_in_url", "<p>x</p>", "location.href = 'http://www.allowed.test@evil.test/'", expect_page="blocked"
    ),
    Vector(
        "ip_literal",
        "<p>x</p>",
        f"location.href = 'http://127.0.0.1:{os.getpid() % 1000 + 20000}/'",
        expect_page="blocked",
    ),
    Vector("other_port", "<p>x</p>", "location.href = 'http://www.allowed.test:8080/'", expect_page="blocked"),
    Vector(
        "fullscreen_request", button("document.documentElement.requestFullscreen()"), click=True, check=not_fullscreen
    ),
    Vector(
        "alert_loop",
        "<p>x</p>",
        "for (var i = 0; i < 20; i++) { alert('message ' + i); } window.done = 1;",
        check=js_result("done", 1),
    ),
    Vector(
        "confirm_in_window",
        "<p>x</p>",
        "setTimeout(function(){ window.answer = confirm('Continuer ?'); }, 10)",
        check=confirm_answered,
    ),
    Vector(
        "prompt_refused",
        "<p>x</p>",
        "window.answer = String(prompt('Votre mot de passe ?'))",
        check=js_result("answer", "null"),
    ),
    Vector(
        "beforeunload_trap",
        "<script>onbeforeunload = function(e){ e.preventDefault(); return 'stay'; }</script>",
        "document.body.click()",
        check=None,
    ),
    Vector("window_close_goes_home", "<p>x</p>", "window.close()", expect_page="home"),
    Vector(
        "window_close_in_popup_goes_home",
        f"<a id=a target=_blank href='{ALLOWED_PAGE2}'>x</a>",
        "document.getElementById('a').click()",
        expect_page="home",
        routes={"sub.allowed.test /page2": Response("<script>setTimeout(function(){ window.close(); }, 100)</script>")},
    ),
    Vector(
        "print_opens_viewer",
        "<h1>Attestation</h1>",
        "setTimeout(function(){ window.print(); }, 10)",
        check=pdf_viewer_shown,
    ),
    Vector(
        "exe_download_refused",
        "<a id=a href='/setup.exe'>x</a>",
        "document.getElementById('a').click()",
        check=notice_shown,
        routes={
            "www.allowed.test /setup.exe": Response(
                b"MZ",
                content_type="application/x-msdownload",
                headers={"Content-Disposition": "attachment; filename=setup.exe"},
            )
        },
    ),
    Vector(
        "download_attribute_refused",
        "<a id=a download='notes.txt' href='data:text/plain,hello'>x</a>",
        "document.getElementById('a').click()",
        check=notice_shown,
    ),
    Vector(
        "file_input_shows_only_session_documents",
        button("document.getElementById('f').click()") + "<input type=file id=f>",
        click=True,
        check=chooser_shown_and_closed,
    ),
    Vector(
        "geolocation_denied",
        "<p>x</p>",
        "navigator.geolocation.getCurrentPosition("
        "function(){window.answer='granted'}, function(e){window.answer=e.code})",
        check=js_result("answer", 1),
    ),
    Vector(
        "notifications_denied",
        "<p>x</p>",
        "Notification.requestPermission().then(function(p){window.answer=p})",
        check=js_result("answer", "denied"),
    ),
]


@pytest.fixture
def snapshot_roots(tmp_path: Path) -> list[Path]:
    return [Path(os.environ["HOME"]), tmp_path]


def open_vector(qtbot, window, web, vector: Vector) -> None:  # type: ignore[no-untyped-def]
    web.clear()
    web.page("www.allowed.test", "/", f"<!doctype html><meta charset=utf-8><body>{vector.html}</body>")
    web.page("evil.test", "/", "<h1>Evil</h1>")
    for key, response in vector.routes.items():
        host, path = key.split(" ")
        web.add(host, path, response)
    window.start_session()
    wait_ready(qtbot, window, "kiosk://home")
    window.open_tile("allowed")
    if vector.name == "meta_refresh":
        qtbot.waitUntil(lambda: window.current_url().host() != "home", timeout=5000)
    else:
        wait_ready(qtbot, window, "http://www.allowed.test/")


def touch_centre(window) -> None:  # type: ignore[no-untyped-def]
    view = window.session_view()
    target = view.focusProxy() or view
    QTest.mouseClick(
        target,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QPoint(target.width() // 2, target.height() // 2),
    )


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_escape_vector(qtbot, window, loopback_web, snapshot_roots, vector: Vector) -> None:  # type: ignore[no-untyped-def]
    open_vector(qtbot, window, loopback_web, vector)
    snapshot = Snapshot(snapshot_roots)
    answer_overlay_when_shown(window.confirm, window.confirm.no)
    answer_overlay_when_shown(window.chooser, window.chooser.cancel)
    if vector.click:
        touch_centre(window)
    if vector.script:
        window.session_page().runJavaScript(vector.script)
    if vector.expect_page:
        expected = vector.expect_page
        qtbot.waitUntil(lambda: window.current_url().host() == expected, timeout=8000)
    else:
        qtbot.wait(800)
    if vector.check is not None:
        vector.check(qtbot, window)
    assert_contained(window, snapshot, qtbot=qtbot)
    if vector.name == "beforeunload_trap":
        window.go_home()
        wait_ready(qtbot, window, "kiosk://home")
        assert_contained(window, snapshot, qtbot=qtbot)
    assert not loopback_web.requests_to("evil.test") or vector.name in ("iframe_navigates_top",), (
        "evil.test was reached"
    )


# -- key sequences ---------------------------------------------------------------------------

KEYS = [
    ("ctrl_l", Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier),
    ("ctrl_t", Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier),
    ("ctrl_n", Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier),
    ("ctrl_w", Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier),
    ("ctrl_o", Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier),
    ("ctrl_s", Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier),
    ("ctrl_p", Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier),
    ("ctrl_u", Qt.Key.Key_U, Qt.KeyboardModifier.ControlModifier),
    ("ctrl_shift_i", Qt.Key.Key_I, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier),
    ("ctrl_plus_zoom", Qt.Key.Key_Plus, Qt.KeyboardModifier.ControlModifier),
    ("f11", Qt.Key.Key_F11, Qt.KeyboardModifier.NoModifier),
    ("f12", Qt.Key.Key_F12, Qt.KeyboardModifier.NoModifier),
    ("alt_f4", Qt.Key.Key_F4, Qt.KeyboardModifier.AltModifier),
    ("alt_left", Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier),
    ("alt_right", Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier),
    ("ctrl_alt_f1", Qt.Key.Key_F1, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier),
]

KEY_PAGE = (
    "<input id=f autofocus><script>window.keys = [];"
    "addEventListener('keydown', function(e){ window.keys.push(e.key); }, true);</script>"
)


def focus_field(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    window.activateWindow()
    window.session_view().setFocus()
    run_js(qtbot, window.session_page(), "document.getElementById('f').focus(); 1")


@pytest.mark.parametrize(("name", "key", "modifiers"), KEYS, ids=[k[0] for k in KEYS])
def test_forbidden_key_never_reaches_the_page(
    qtbot, window, loopback_web, snapshot_roots, name, key, modifiers
) -> None:  # type: ignore[no-untyped-def]
    open_vector(qtbot, window, loopback_web, Vector(name, KEY_PAGE))
    snapshot = Snapshot(snapshot_roots)
    focus_field(qtbot, window)
    blocked_before = window.guard.blocked_count
    zoom_before = window.session_view().zoomFactor()
    QTest.keyClick(window.windowHandle(), key, modifiers)
    qtbot.wait(300)
    assert window.guard.blocked_count > blocked_before
    assert run_js(qtbot, window.session_page(), "window.keys.join(',')") == ""
    assert window.session_view().zoomFactor() == zoom_before
    assert window.current_url().host() == "www.allowed.test"
    assert_contained(window, snapshot, qtbot=qtbot)


def test_ordinary_keys_pass_the_guard(qtbot, window, loopback_web) -> None:  # type: ignore[no-untyped-def]
    """The control for the key vectors: the same route lets ordinary keys through, as activity."""
    open_vector(qtbot, window, loopback_web, Vector("typing", KEY_PAGE))
    focus_field(qtbot, window)
    blocked_before = window.guard.blocked_count
    window._clock.advance(50)
    assert window.session.idle_remaining() == pytest.approx(10)
    for key in (Qt.Key.Key_A, Qt.Key.Key_B, Qt.Key.Key_Return, Qt.Key.Key_Backspace):
        QTest.keyClick(window.windowHandle(), key)
    assert window.guard.blocked_count == blocked_before
    assert window.session.idle_remaining() == pytest.approx(60)  # a key is activity


def test_ctrl_wheel_does_not_zoom(qtbot, window, loopback_web) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    open_vector(qtbot, window, loopback_web, Vector("wheel", "<p style='height:3000px'>x</p>"))
    before = window.session_view().zoomFactor()
    handle = window.windowHandle()
    centre = QPointF(window.width() / 2, window.height() / 2)
    event = QWheelEvent(
        centre,
        centre,
        QPoint(0, 0),
        QPoint(0, 120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.ControlModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(handle, event)
    qtbot.wait(300)
    assert window.session_view().zoomFactor() == before
    assert_contained(window)


def test_containment_does_not_rest_on_the_policy_it_checks(qtbot, window, loopback_web) -> None:  # type: ignore[no-untyped-def]
    """The control for ``assert_contained``: a policy that wrongly allows a look-alike host
    (a substring match) lets the page go there, and containment still says "outside"."""
    from kiosk.core.policy import NavigationPolicy

    open_vector(qtbot, window, loopback_web, Vector("lookalike", "<p>x</p>"))
    loopback_web.page("evilallowed.test", "/", "<h1>Evil</h1>")
    wrong = NavigationPolicy.from_strings(["http://*.allowed.test", "http://evilallowed.test"])
    window.browser.set_tile(window.browser.tile, wrong)
    window.session_page().setUrl(QUrl("http://evilallowed.test/"))
    wait_ready(qtbot, window, "http://evilallowed.test/")
    assert window.current_policy().decide("http://evilallowed.test/").allowed  # the shell's policy says yes
    with pytest.raises(AssertionError, match="written in the test"):
        assert_contained(window, qtbot=qtbot)
