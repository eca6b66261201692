"""The resident's language in the real shell: the picker on the attract and home screens, the
top bar and pages translated, Arabic laid out right to left, the default back for the next
resident."""

from __future__ import annotations

import pytest

from tests.shellkit import run_js, wait_ready

pytestmark = pytest.mark.shell


def page_language(qtbot, kiosk) -> str:  # type: ignore[no-untyped-def]
    page = kiosk.controller.session_page() if kiosk.controller.browser is not None else kiosk.window.lobby_view.page()
    return str(run_js(qtbot, page, "document.documentElement.lang + ' ' + document.documentElement.dir"))


def wait_language(qtbot, kiosk, expected: str) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: page_language(qtbot, kiosk) == expected, timeout=10_000)


def bar_order(kiosk) -> list[str]:  # type: ignore[no-untyped-def]
    """The top bar's buttons from left to right on the screen."""
    buttons = kiosk.window.top_bar.buttons
    return sorted(buttons, key=lambda name: buttons[name].mapTo(kiosk.window, buttons[name].rect().topLeft()).x())


def test_picking_arabic_on_the_attract_screen_starts_a_right_to_left_session(qtbot, make_kiosk) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    kiosk = make_kiosk()
    wait_ready(qtbot, kiosk, "kiosk://borne/attract")
    names = run_js(
        qtbot,
        kiosk.window.lobby_view.page(),
        "[...document.querySelectorAll('.language')].map(a => a.textContent).join('|')",
    )
    assert names == "Français|English|العربية|Português"  # each in its own language
    assert bar_order(kiosk)[0] == "home"

    run_js(qtbot, kiosk.window.lobby_view.page(), "document.querySelector('.language[lang=ar]').click()")
    wait_ready(qtbot, kiosk, "kiosk://borne/home")  # the tap started the session, at home
    wait_language(qtbot, kiosk, "ar rtl")
    assert kiosk.controller.language == "ar"
    assert kiosk.window.layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert kiosk.window.top_bar.label("home") == "الرئيسية"
    assert kiosk.window.top_bar.label("mediator") == "اتصل بالوسيط"
    # Mirrored: "Accueil" is now on the right, the mediator on the left.
    order = bar_order(kiosk)
    assert order[-1] == "home" and order[0] == "mediator", order
    page = kiosk.controller.session_page()
    assert run_js(qtbot, page, "document.querySelector('h1').textContent") == "مرحباً! ماذا تريد أن تفعل؟"
    assert run_js(qtbot, page, "getComputedStyle(document.querySelector('main')).direction") == "rtl"
    current = run_js(qtbot, page, "document.querySelector('.language[aria-current]').getAttribute('lang')")
    assert current == "ar"


def test_switching_language_at_home_then_the_next_resident_gets_french(qtbot, make_kiosk) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtCore import Qt

    from kiosk.core.session import State

    kiosk = make_kiosk()
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    wait_language(qtbot, kiosk, "fr ltr")
    run_js(qtbot, kiosk.controller.session_page(), "document.querySelector('.language[lang=pt]').click()")
    wait_language(qtbot, kiosk, "pt ltr")
    assert kiosk.window.top_bar.label("end") == "Terminar a sessão"
    assert "Olá" in str(run_js(qtbot, kiosk.controller.session_page(), "document.querySelector('h1').textContent"))

    run_js(qtbot, kiosk.controller.session_page(), "document.querySelector('.language[lang=ar]').click()")
    wait_language(qtbot, kiosk, "ar rtl")
    kiosk.controller.open_page("help")  # the help navigation follows, the guides stay in French
    wait_ready(qtbot, kiosk, "kiosk://borne/help")
    wait_language(qtbot, kiosk, "ar rtl")
    assert run_js(qtbot, kiosk.controller.session_page(), "document.querySelector('.french-only') !== null") is True

    kiosk.controller.end_session()
    qtbot.waitUntil(lambda: kiosk.controller.state is State.WIPED, timeout=10_000)
    wait_ready(qtbot, kiosk, "kiosk://borne/goodbye")
    wait_language(qtbot, kiosk, "ar rtl")  # the goodbye is said in the resident's language
    kiosk.controller.session.activity()
    wait_ready(qtbot, kiosk, "kiosk://borne/attract")
    wait_language(qtbot, kiosk, "fr ltr")
    assert kiosk.controller.language == "fr"
    assert kiosk.window.layoutDirection() == Qt.LayoutDirection.LeftToRight
    assert kiosk.window.top_bar.label("home") == "Accueil"
    assert bar_order(kiosk)[0] == "home"


def test_a_language_the_centre_does_not_offer_is_refused(qtbot, make_kiosk, kiosk_config) -> None:  # type: ignore[no-untyped-def]
    settings = kiosk_config.kiosk.model_copy(
        update={"shell": kiosk_config.kiosk.shell.model_copy(update={"languages": ("fr", "en")})}
    )
    kiosk = make_kiosk(config=type(kiosk_config)(**{**kiosk_config.__dict__, "kiosk": settings}))
    wait_ready(qtbot, kiosk, "kiosk://borne/attract")
    names = run_js(
        qtbot, kiosk.window.lobby_view.page(), "[...document.querySelectorAll('.language')].map(a => a.lang).join('|')"
    )
    assert names == "fr|en"
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    # A forged link asks for Arabic (or anything else): the kiosk stays in its default language.
    for code in ("ar", "xx", "../fr"):
        run_js(qtbot, kiosk.controller.session_page(), f"location.href = 'kiosk://borne/action/language?code={code}'")
        qtbot.wait(200)
        assert kiosk.controller.language == "fr"
    wait_language(qtbot, kiosk, "fr ltr")


def test_guides_are_read_with_the_voice_of_their_language(qtbot, make_kiosk) -> None:  # type: ignore[no-untyped-def]
    kiosk = make_kiosk()
    kiosk.controller.start_session()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    kiosk.controller.set_language("ar")
    wait_language(qtbot, kiosk, "ar rtl")
    engine = kiosk.controller.read_aloud.engine

    def read(slug: str) -> str:
        kiosk.controller.session_page().runJavaScript(f"location.href='kiosk://borne/article?slug={slug}'")
        qtbot.waitUntil(lambda: slug in kiosk.controller.current_url().toString(), timeout=10_000)
        wait_ready(qtbot, kiosk, "kiosk://borne/article")
        wait_language(qtbot, kiosk, "ar rtl")
        before = len(engine.said)
        run_js(
            qtbot,
            kiosk.controller.session_page(),
            "document.querySelector('a[href=\"kiosk://borne/action/read\"]').click()",
        )
        qtbot.waitUntil(lambda: len(engine.said) == before + 1, timeout=5_000)
        return engine.said[-1]

    # A guide that exists only in French: shown in French with a note, read with the French voice.
    said = read("declarer-ses-revenus")
    assert engine.voices[-1] == "fr" and said.startswith("Déclarer vos revenus")
    assert "هذا الدليل" not in said  # the article only, not the note around it
    # A guide translated into Arabic: shown and read in Arabic.
    said = read("utiliser-la-borne")
    assert engine.voices[-1] == "ar" and said.startswith("استعمال الجهاز")
    # The kiosk's own page: the page's language.
    kiosk.controller.go_home()
    wait_ready(qtbot, kiosk, "kiosk://borne/home")
    run_js(
        qtbot,
        kiosk.controller.session_page(),
        "document.querySelector('a[href=\"kiosk://borne/action/read\"]').click()",
    )
    qtbot.waitUntil(lambda: engine.voices[-1] == "ar" and "مرحباً" in engine.said[-1], timeout=5_000)


def test_a_long_centre_name_wraps_in_the_top_bar_rather_than_being_cut(qtbot, make_kiosk, kiosk_config) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtGui import QFontMetrics

    from kiosk.shell.topbar import fit_in_lines

    name = "Espace France Services de Saint-Exemple"
    centre = kiosk_config.kiosk.centre.model_copy(update={"name": name})
    settings = kiosk_config.kiosk.model_copy(update={"centre": centre})
    kiosk = make_kiosk(config=type(kiosk_config)(**{**kiosk_config.__dict__, "kiosk": settings}), size=(1280, 800))
    # Whole, on several lines (one line is too long for the room the buttons leave at 1280 px).
    qtbot.waitUntil(lambda: kiosk.window.top_bar.centre.text().replace("\n", " ") == name, timeout=5_000)
    assert "\n" in kiosk.window.top_bar.centre.text()

    metrics = QFontMetrics(kiosk.window.top_bar.centre.font())
    for width in range(10, 600, 7):
        lines = fit_in_lines(name, metrics, width).split("\n")
        assert len(lines) <= 3
        assert all(metrics.horizontalAdvance(line) <= width for line in lines), (width, lines)
        if all(line and "…" not in line for line in lines):  # (too narrow even for "…": nothing)
            assert " ".join(lines) == name
    assert fit_in_lines(name, metrics, 10_000) == name
