"""The help centre in the real shell: search, an article, a glossary definition, the events."""

from __future__ import annotations

import json

import pytest

from kiosk.core.store import Role, open_store
from tests.shellkit import run_js, wait_ready

pytestmark = [pytest.mark.shell, pytest.mark.help]


def wait_article(qtbot, kiosk, slug: str) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: f"slug={slug}" in kiosk.controller.current_url().toString(), timeout=10_000)
    wait_ready(qtbot, kiosk, "kiosk://borne/article")


def open_article(qtbot, kiosk, slug: str) -> None:  # type: ignore[no-untyped-def]
    """Aide in the top bar, then the guide (as a tap on its link would)."""
    kiosk.window.top_bar.triggered.emit("help")
    wait_ready(qtbot, kiosk, "kiosk://borne/help")
    kiosk.controller.session_page().runJavaScript(f"location.href = 'kiosk://borne/article?slug={slug}'")
    wait_article(qtbot, kiosk, slug)


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    store = open_store(tmp_path / "data" / "kiosk.db", Role.SHELL)
    yield store
    store.close()


def test_search_read_and_tap_a_word(qtbot, make_kiosk, store) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk(store=store)
    kiosk.window.top_bar.triggered.emit("help")
    wait_ready(qtbot, kiosk, "kiosk://borne/help")
    page = kiosk.controller.session_page()
    assert run_js(qtbot, page, "document.querySelectorAll('a.guide').length") >= 20
    run_js(qtbot, page, "document.getElementById('q').value = 'carte vital perdue'; document.forms[0].submit()")
    qtbot.waitUntil(lambda: "q=carte" in kiosk.controller.current_url().toString(), timeout=10_000)
    wait_ready(qtbot, kiosk, "kiosk://borne/help")
    first = run_js(qtbot, page, "document.querySelector('section[aria-live] a.guide').getAttribute('href')")
    assert first == "kiosk://borne/article?slug=carte-vitale"  # the first result
    run_js(qtbot, page, "document.querySelector('section[aria-live] a.guide').click()")
    wait_article(qtbot, kiosk, "carte-vitale")
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


def test_the_glossary_page_lists_every_term(qtbot, make_kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk()
    kiosk.window.top_bar.triggered.emit("help")
    wait_ready(qtbot, kiosk, "kiosk://borne/help")
    kiosk.controller.session_page().runJavaScript("location.href = 'kiosk://borne/glossary'")
    wait_ready(qtbot, kiosk, "kiosk://borne/glossary")
    assert run_js(qtbot, kiosk.controller.session_page(), "document.querySelectorAll('.glossary dt').length") >= 40


def test_read_aloud_speaks_the_page_and_stops_when_it_changes(qtbot, make_kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk()
    speech = kiosk.controller.read_aloud.engine
    open_article(qtbot, kiosk, "carte-vitale")
    read_links = "document.querySelectorAll('a[href=\"kiosk://borne/action/read\"]').length"
    assert run_js(qtbot, kiosk.controller.session_page(), read_links) == 1
    run_js(
        qtbot,
        kiosk.controller.session_page(),
        "document.querySelector('a[href=\"kiosk://borne/action/read\"]').click()",
    )
    qtbot.waitUntil(lambda: len(speech.said) == 1, timeout=5_000)
    title = run_js(qtbot, kiosk.controller.session_page(), "document.querySelector('h1').textContent").strip()
    assert title in speech.said[0] and "Écouter" not in speech.said[0] and "Contraste" not in speech.said[0]
    assert "Étapes" in speech.said[0]
    stops = speech.stops
    kiosk.controller.session_page().runJavaScript("location.href = 'kiosk://borne/help'")
    wait_ready(qtbot, kiosk, "kiosk://borne/help")
    assert speech.stops > stops and not kiosk.controller.read_aloud.speaking  # another page: silence


def test_the_tutorial_video_plays_in_the_kiosk(qtbot, make_kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk()
    open_article(qtbot, kiosk, "utiliser-la-borne")
    page = kiosk.controller.session_page()
    qtbot.waitUntil(lambda: run_js(qtbot, page, "document.querySelector('video').readyState") >= 1, timeout=10_000)
    assert run_js(qtbot, page, "document.querySelector('video').duration") > 20
    # Subtitles in the four languages, the resident's (French here) shown.
    tracks = run_js(
        qtbot, page, "[...document.querySelector('video').textTracks].map(t => t.language + ':' + t.mode).join(' ')"
    )
    assert sorted(str(tracks).split()) == ["ar:disabled", "en:disabled", "fr:showing", "pt:disabled"]


def test_a_definition_closes_when_the_resident_taps_elsewhere(qtbot, make_kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk()
    open_article(qtbot, kiosk, "declarer-ses-revenus")
    page = kiosk.controller.session_page()
    run_js(qtbot, page, "document.querySelector('.term-word').click()")
    assert run_js(qtbot, page, "document.querySelector('.term-def').hidden") is False
    run_js(qtbot, page, "document.querySelector('h1').click()")
    assert run_js(qtbot, page, "document.querySelector('.term-def').hidden") is True


def until_js(qtbot, page, script: str, expected: object, timeout: int = 10_000) -> None:  # type: ignore[no-untyped-def]
    """Ask the page again and again (a reload swallows a pending script) until ``script`` gives ``expected``."""
    seen: dict[str, object] = {}

    def check() -> bool:
        if seen.get("value") == expected:
            return True
        page.runJavaScript(script, 0, lambda value: seen.__setitem__("value", value))
        return False

    qtbot.waitUntil(check, timeout=timeout)


def test_a_guide_read_once_is_counted_once_whatever_the_resident_toggles(qtbot, make_kiosk, store) -> None:  # type: ignore[no-untyped-def]
    """Contrast and language re-render the page: that is not another reading of the guide."""
    kiosk = make_kiosk(store=store)
    open_article(qtbot, kiosk, "carte-vitale")
    page = kiosk.controller.session_page()
    contrast = "document.body.classList.contains('theme-contrast')"
    run_js(qtbot, page, "document.querySelector('a.contrast').click(); true")
    until_js(qtbot, page, contrast, True)
    kiosk.controller.set_language("en")
    until_js(qtbot, page, "document.documentElement.lang", "en")
    kiosk.controller.set_high_contrast(False)
    until_js(qtbot, page, contrast, False)
    kiosk.controller.stats.flush()
    viewed = [
        json.loads(d) for k, d in store.conn.execute("SELECT kind, data FROM events") if k == "help_article_viewed"
    ]
    assert viewed == [{"article": "carte-vitale"}]
