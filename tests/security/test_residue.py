"""Nothing of one resident reaches the next: session 1 leaves a marker, session 2 finds none.

Each kind of residue has its positive control: before the wipe, a new page of the same session
(or the way a resident would reach it: back, paste) still sees the marker, so "session 2 finds
none" means the wipe removed it, not that the check could never see it.
"""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest

from kiosk.core.session import State
from tests.shellkit import run_js, wait_ready
from tests.webserver import Response

pytestmark = pytest.mark.residue

PAGE = (
    "<!doctype html><meta charset=utf-8><body><form action='/two' method=get>"
    "<input id=f name=f autocomplete=on><button>OK</button></form><input id=g><a href='/two'>two</a></body>"
)
SECRET = "Jeanne Dupont"


def new_session(qtbot, kiosk, path: str = "/") -> None:  # type: ignore[no-untyped-def]
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    kiosk.controller.open_tile("allowed")
    wait_ready(qtbot, kiosk, "http://www.allowed.test/")
    if path != "/":
        kiosk.controller.session_page().setUrl(QUrl(f"http://www.allowed.test{path}"))
        wait_ready(qtbot, kiosk, f"http://www.allowed.test{path}")


def open_page(qtbot, kiosk, path: str) -> None:  # type: ignore[no-untyped-def]
    """A new document of the same origin, in the same session (same page, same profile)."""
    kiosk.controller.session_page().setUrl(QUrl(f"http://www.allowed.test{path}"))
    wait_ready(qtbot, kiosk, f"http://www.allowed.test{path}")


def type_into(qtbot, kiosk, field: str, text: str) -> None:  # type: ignore[no-untyped-def]
    """Type with real key events, as the resident (or the on-screen keyboard) does. Offscreen, the
    first key after focusing can be lost on a loaded machine (HACKING): the field is emptied and
    typed again, at most three times."""
    kiosk.window.activateWindow()
    kiosk.controller.session_view().setFocus()

    def typed() -> bool:
        return js(qtbot, kiosk, f"document.getElementById('{field}').value") == text

    for _ in range(3):
        js(qtbot, kiosk, f"var f = document.getElementById('{field}'); f.value = ''; f.focus(); 1")
        QTest.keyClicks(kiosk.controller.session_view().focusProxy(), text)
        try:
            qtbot.waitUntil(typed, timeout=5000)
            return
        except qtbot.TimeoutError:
            continue
    assert typed(), f"could not type into #{field}"


def shortcut(kiosk, key: Qt.Key) -> None:  # type: ignore[no-untyped-def]
    QTest.keyClick(kiosk.window.windowHandle(), key, Qt.KeyboardModifier.ControlModifier)


def end_session(qtbot, kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    kiosk.controller.session.activity()  # goodbye → attract
    assert kiosk.controller.state is State.ATTRACT


@pytest.fixture
def site(loopback_web):  # type: ignore[no-untyped-def]
    loopback_web.clear()
    loopback_web.page("www.allowed.test", "/", PAGE)
    loopback_web.page("www.allowed.test", "/two", PAGE)
    loopback_web.add(
        "www.allowed.test",
        "/sw.js",
        Response("self.addEventListener('fetch', function(){});", content_type="text/javascript"),
    )
    return loopback_web


def js(qtbot, kiosk, script: str):  # type: ignore[no-untyped-def]
    return run_js(qtbot, kiosk.controller.session_page(), script)


def js_async(qtbot, kiosk, script: str, timeout: int = 8000):  # type: ignore[no-untyped-def]
    """Run a promise-returning expression; wait for its value in window.__r."""
    js(
        qtbot,
        kiosk,
        f"window.__r = undefined; Promise.resolve().then(function(){{ return {script}; }})"
        ".then(function(v){ window.__r = String(v); }, function(e){ window.__r = 'error:' + e; }); 1",
    )
    qtbot.waitUntil(lambda: js(qtbot, kiosk, "String(window.__r)") != "undefined", timeout=timeout)
    return js(qtbot, kiosk, "window.__r")


KINDS = {
    "cookie": ("document.cookie = 'marker=1; max-age=86400; path=/'; document.cookie", "document.cookie"),
    "local_storage": (
        "localStorage.setItem('marker', '1'); localStorage.getItem('marker')",
        "String(localStorage.getItem('marker'))",
    ),
    "session_storage": (
        "sessionStorage.setItem('marker', '1'); sessionStorage.getItem('marker')",
        "String(sessionStorage.getItem('marker'))",
    ),
    "window_name": ("window.name = 'marker'; window.name", "window.name"),
}
EMPTY = {"cookie": "", "local_storage": "null", "session_storage": "null", "window_name": ""}


@pytest.mark.parametrize("kind", list(KINDS))
def test_synchronous_storage(qtbot, kiosk, site, kind: str) -> None:  # type: ignore[no-untyped-def]
    write, read = KINDS[kind]
    new_session(qtbot, kiosk)
    assert js(qtbot, kiosk, write) not in ("", "null", None)
    assert js(qtbot, kiosk, read) != EMPTY[kind]
    open_page(qtbot, kiosk, "/two")
    assert js(qtbot, kiosk, read) != EMPTY[kind]  # control: a new page of this session sees it
    end_session(qtbot, kiosk)
    new_session(qtbot, kiosk)
    assert js(qtbot, kiosk, read) == EMPTY[kind]
    open_page(qtbot, kiosk, "/two")
    assert js(qtbot, kiosk, read) == EMPTY[kind]


def test_indexeddb(qtbot, kiosk, site) -> None:  # type: ignore[no-untyped-def]
    open_db = (
        "new Promise(function(ok, ko){ var r = indexedDB.open('marker', 1);"
        " r.onupgradeneeded = function(){ r.result.createObjectStore('s'); };"
        " r.onsuccess = function(){ ok(r.result); }; r.onerror = ko; })"
    )
    new_session(qtbot, kiosk)
    put = (
        f"{open_db}.then(function(db){{ return new Promise(function(ok){{ var t = db.transaction('s', 'readwrite');"
        " t.objectStore('s').put('1', 'k'); t.oncomplete = function(){ ok('stored'); }; }); })"
    )
    get = (
        f"{open_db}.then(function(db){{ return new Promise(function(ok){{"
        " var r = db.transaction('s').objectStore('s').get('k'); r.onsuccess = function(){ ok(r.result); }; }); })"
    )
    assert js_async(qtbot, kiosk, put) == "stored"
    assert js_async(qtbot, kiosk, "indexedDB.databases().then(function(d){ return d.length; })") == "1"
    open_page(qtbot, kiosk, "/two")
    # control: a new page of this session finds the database and the value in it
    assert js_async(qtbot, kiosk, "indexedDB.databases().then(function(d){ return d.length; })") == "1"
    assert js_async(qtbot, kiosk, get) == "1"
    end_session(qtbot, kiosk)
    new_session(qtbot, kiosk)
    assert js_async(qtbot, kiosk, "indexedDB.databases().then(function(d){ return d.length; })") == "0"


def test_http_cache(qtbot, kiosk, site) -> None:  # type: ignore[no-untyped-def]
    site.add(
        "www.allowed.test",
        "/cached.js",
        Response(
            "window.cached = 1;", content_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"}
        ),
    )
    load = "fetch('/cached.js').then(function(r){ return r.text(); })"

    def hits() -> int:
        return len([h for h in site.requests_to("www.allowed.test") if h.path == "/cached.js"])

    new_session(qtbot, kiosk)
    assert js_async(qtbot, kiosk, load) == "window.cached = 1;"
    js_async(qtbot, kiosk, load)
    assert hits() == 1  # the second fetch came from the HTTP cache: the marker exists
    open_page(qtbot, kiosk, "/two")
    assert js_async(qtbot, kiosk, load) == "window.cached = 1;"
    assert hits() == 1  # control: a new page of this session is served from the same cache
    end_session(qtbot, kiosk)
    new_session(qtbot, kiosk)
    assert js_async(qtbot, kiosk, load) == "window.cached = 1;"
    assert hits() == 2


def test_history(qtbot, kiosk, site) -> None:  # type: ignore[no-untyped-def]
    new_session(qtbot, kiosk, "/two")
    assert kiosk.controller.session_page().history().count() >= 2
    urls = [item.url().toString() for item in kiosk.controller.session_page().history().items()]
    assert any(u.endswith("/two") for u in urls)  # control: the visit is in this session's history
    kiosk.controller.go_back()  # … and Retour reaches the page before it
    wait_ready(qtbot, kiosk, "http://www.allowed.test/", exact=True)
    kiosk.controller.session_page().history().forward()  # back where the resident was (going back alone drops nothing)
    wait_ready(qtbot, kiosk, "http://www.allowed.test/two")
    end_session(qtbot, kiosk)
    new_session(qtbot, kiosk)
    urls = [item.url().toString() for item in kiosk.controller.session_page().history().items()]
    assert not any(u.endswith("/two") for u in urls)
    kiosk.controller.go_back()  # Retour from the tile's first page leads home, not into the last session
    wait_ready(qtbot, kiosk, "kiosk://borne/home")


def test_downloads_and_session_directory(qtbot, kiosk, site) -> None:  # type: ignore[no-untyped-def]
    pdf = (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    site.add("www.allowed.test", "/doc.pdf", Response(pdf, content_type="application/pdf"))
    new_session(qtbot, kiosk)
    first_dir = kiosk.controller.browser.dir
    js(qtbot, kiosk, "location.href = '/doc.pdf'; 1")
    qtbot.waitUntil(
        lambda: kiosk.controller.browser is not None and len(kiosk.controller.browser.documents()) == 1, timeout=8000
    )
    (document,) = kiosk.controller.browser.documents()
    assert document.is_relative_to(first_dir) and document.read_bytes() == pdf  # control: the file is there
    end_session(qtbot, kiosk)
    assert not document.exists()
    assert not first_dir.exists()
    assert list(kiosk.controller.session_root.iterdir()) == []
    new_session(qtbot, kiosk)
    assert kiosk.controller.browser.documents() == []
    assert kiosk.controller.browser.dir != first_dir


def test_permission_grants(qtbot, kiosk, loopback_web) -> None:  # type: ignore[no-untyped-def]
    loopback_web.clear()
    loopback_web.page("cam.test", "/", PAGE)
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    kiosk.controller.open_tile("camera")
    wait_ready(qtbot, kiosk, "http://cam.test/")
    assert kiosk.controller.granted_permissions()
    end_session(qtbot, kiosk)
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    assert kiosk.controller.granted_permissions() == frozenset()
    assert kiosk.controller.browser.profile.listAllPermissions() == []


def test_zoom(qtbot, kiosk, site) -> None:  # type: ignore[no-untyped-def]
    new_session(qtbot, kiosk)
    kiosk.controller.cycle_zoom()
    kiosk.controller.cycle_zoom()
    assert kiosk.controller.session_view().zoomFactor() == pytest.approx(1.5)
    end_session(qtbot, kiosk)
    new_session(qtbot, kiosk)
    assert kiosk.controller.session_view().zoomFactor() == pytest.approx(1.0)
    assert kiosk.window.lobby_view.zoomFactor() == pytest.approx(1.0)


def test_form_text(qtbot, kiosk, site) -> None:  # type: ignore[no-untyped-def]
    new_session(qtbot, kiosk)
    type_into(qtbot, kiosk, "f", SECRET)
    QTest.keyClick(kiosk.controller.session_view().focusProxy(), Qt.Key.Key_Return)  # the resident sends the form
    wait_ready(qtbot, kiosk, "http://www.allowed.test/two?f=Jeanne")
    kiosk.controller.go_back()
    wait_ready(qtbot, kiosk, "http://www.allowed.test/", exact=True)
    # control: going back shows the form as it was filled in (Chromium restores it)
    qtbot.waitUntil(lambda: js(qtbot, kiosk, "document.getElementById('f').value") == SECRET, timeout=5000)
    kiosk.controller.session_page().history().forward()
    wait_ready(qtbot, kiosk, "http://www.allowed.test/two?f=Jeanne")
    end_session(qtbot, kiosk)
    new_session(qtbot, kiosk)
    assert js(qtbot, kiosk, "document.getElementById('f').value") == ""
    urls = [item.url().toString() for item in kiosk.controller.session_page().history().items()]
    assert not any("Jeanne" in u or "/two" in u for u in urls)
    kiosk.controller.go_back()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")


def test_clipboard(qtbot, kiosk, site) -> None:  # type: ignore[no-untyped-def]
    new_session(qtbot, kiosk)
    type_into(qtbot, kiosk, "f", "mot de passe secret")
    shortcut(kiosk, Qt.Key.Key_A)
    shortcut(kiosk, Qt.Key.Key_C)
    # control: the clipboard holds the text, and a page of this session can paste it
    qtbot.waitUntil(lambda: QGuiApplication.clipboard().text() == "mot de passe secret", timeout=5000)
    js(qtbot, kiosk, "document.getElementById('g').focus(); 1")
    shortcut(kiosk, Qt.Key.Key_V)
    pasted = "document.getElementById('g').value"
    qtbot.waitUntil(lambda: js(qtbot, kiosk, pasted) == "mot de passe secret", timeout=5000)
    end_session(qtbot, kiosk)
    new_session(qtbot, kiosk)
    assert QGuiApplication.clipboard().text() == ""
    kiosk.window.activateWindow()
    kiosk.controller.session_view().setFocus()
    js(qtbot, kiosk, "document.getElementById('g').focus(); 1")
    shortcut(kiosk, Qt.Key.Key_V)
    # A key typed after the paste arrives after it: once it is there, the paste is done.
    QTest.keyClicks(kiosk.controller.session_view().focusProxy(), "x")
    qtbot.waitUntil(lambda: js(qtbot, kiosk, "document.getElementById('g').value").endswith("x"), timeout=5000)
    assert js(qtbot, kiosk, "document.getElementById('g').value") == "x"


@pytest.mark.sane
def test_scans_and_scanned_pages(qtbot, kiosk, site, sane_test_backend) -> None:  # type: ignore[no-untyped-def]
    from kiosk.core.devices import ScanOptions, ScanSource
    from kiosk.core.scans import ScanFormat, export
    from kiosk.devices.sane import SaneScanner

    new_session(qtbot, kiosk)
    first_dir = kiosk.controller.browser.dir
    pages = SaneScanner("test:0").scan(first_dir / "pages", ScanOptions(source=ScanSource.FEEDER, max_pages=2))
    left_raw = pages[1]  # a page scanned, never saved (the resident walked away)
    (scan,) = export(pages[:1], ScanFormat.PDF, first_dir, limit_bytes=5_000_000)
    offered = kiosk.controller.scanning.offer(first_dir, [".pdf"], [])
    assert offered == [scan] and left_raw.exists()  # control: the chooser offers it in this session
    end_session(qtbot, kiosk)
    assert not scan.exists() and not left_raw.exists() and not first_dir.exists()
    assert list(kiosk.controller.session_root.iterdir()) == []
    new_session(qtbot, kiosk)
    assert kiosk.controller.scanning.offer(kiosk.controller.browser.dir, [".pdf"], []) == []
