"""The help centre in the real shell: search, an article, a glossary definition, the events."""

from __future__ import annotations

import json

import pytest

from kiosk.core.store import Role, open_store
from tests.shellkit import run_js, wait_ready

pytestmark = [pytest.mark.shell, pytest.mark.help]


def wait_article(qtbot, window, slug: str) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: f"slug={slug}" in window.current_url().toString(), timeout=10_000)
    wait_ready(qtbot, window, "kiosk://article")


def open_article(qtbot, window, slug: str) -> None:  # type: ignore[no-untyped-def]
    """Aide in the top bar, then the guide (as a tap on its link would)."""
    window.top_bar.triggered.emit("help")
    wait_ready(qtbot, window, "kiosk://help")
    window.session_page().runJavaScript(f"location.href = 'kiosk://article?slug={slug}'")
    wait_article(qtbot, window, slug)


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "data" / "kiosk.db", Role.SHELL)
    yield store
    store.close()


def test_search_read_and_tap_a_word(qtbot, make_window, store) -> None:  # type: ignore[no-untyped-def]
    window = make_window(store=store)
    window.top_bar.triggered.emit("help")
    wait_ready(qtbot, window, "kiosk://help")
    page = window.session_page()
    assert run_js(qtbot, page, "document.querySelectorAll('a.guide').length") >= 20
    run_js(qtbot, page, "document.getElementById('q').value = 'carte vital perdue'; document.forms[0].submit()")
    qtbot.waitUntil(lambda: "q=carte" in window.current_url().toString(), timeout=10_000)
    wait_ready(qtbot, window, "kiosk://help")
    first = run_js(qtbot, page, "document.querySelector('section[aria-live] a.guide').getAttribute('href')")
    assert first == "kiosk://article?slug=carte-vitale"  # the first result
    run_js(qtbot, page, "document.querySelector('section[aria-live] a.guide').click()")
    wait_article(qtbot, window, "carte-vitale")
    assert run_js(qtbot, page, "document.querySelector('h1').textContent").strip()
    shown = run_js(
        qtbot,
        page,
        "(function(){var b=document.querySelector('.term-word'); if(!b) return 'null'; b.click();"
        "return JSON.stringify([b.getAttribute('aria-expanded'), b.nextElementSibling.hidden,"
        " b.nextElementSibling.textContent]);})()",
    )
    expanded, hidden, definition = json.loads(shown)
    assert expanded == "true" and hidden is False and len(definition) > 10
    rows = [(k, json.loads(d)) for k, d in store.conn.execute("SELECT kind, data FROM events ORDER BY id")]
    searched = [d for k, d in rows if k == "help_searched"]
    assert len(searched) == 1 and searched[0]["results"] >= 1 and set(searched[0]) == {"results"}
    assert ("help_article_viewed", {"article": "carte-vitale"}) in rows


def test_the_glossary_page_lists_every_term(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    window.top_bar.triggered.emit("help")
    wait_ready(qtbot, window, "kiosk://help")
    window.session_page().runJavaScript("location.href = 'kiosk://glossary'")
    wait_ready(qtbot, window, "kiosk://glossary")
    assert run_js(qtbot, window.session_page(), "document.querySelectorAll('.glossary dt').length") >= 40


def test_read_aloud_speaks_the_page_and_stops_when_it_changes(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    speech = window.read_aloud.engine
    open_article(qtbot, window, "carte-vitale")
    read_links = "document.querySelectorAll('a[href=\"kiosk://action/read\"]').length"
    assert run_js(qtbot, window.session_page(), read_links) == 1
    run_js(qtbot, window.session_page(), "document.querySelector('a[href=\"kiosk://action/read\"]').click()")
    qtbot.waitUntil(lambda: len(speech.said) == 1, timeout=5_000)
    title = run_js(qtbot, window.session_page(), "document.querySelector('h1').textContent").strip()
    assert title in speech.said[0] and "Écouter" not in speech.said[0] and "Contraste" not in speech.said[0]
    assert "Étapes" in speech.said[0]
    stops = speech.stops
    window.session_page().runJavaScript("location.href = 'kiosk://help'")
    wait_ready(qtbot, window, "kiosk://help")
    assert speech.stops > stops and not window.read_aloud.speaking  # another page: silence


def test_the_tutorial_video_plays_in_the_kiosk(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    open_article(qtbot, window, "utiliser-la-borne")
    page = window.session_page()
    qtbot.waitUntil(lambda: run_js(qtbot, page, "document.querySelector('video').readyState") >= 1, timeout=10_000)
    assert run_js(qtbot, page, "document.querySelector('video').duration") > 20
    # Subtitles in the four languages, the resident's (French here) shown.
    tracks = run_js(
        qtbot, page, "[...document.querySelector('video').textTracks].map(t => t.language + ':' + t.mode).join(' ')"
    )
    assert sorted(str(tracks).split()) == ["ar:disabled", "en:disabled", "fr:showing", "pt:disabled"]


def test_a_definition_closes_when_the_resident_taps_elsewhere(qtbot, make_window) -> None:  # type: ignore[no-untyped-def]
    window = make_window()
    open_article(qtbot, window, "declarer-ses-revenus")
    page = window.session_page()
    run_js(qtbot, page, "document.querySelector('.term-word').click()")
    assert run_js(qtbot, page, "document.querySelector('.term-def').hidden") is False
    run_js(qtbot, page, "document.querySelector('h1').click()")
    assert run_js(qtbot, page, "document.querySelector('.term-def').hidden") is True
