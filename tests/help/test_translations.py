"""Guides translated into the kiosk's other languages: shown when fresh, French otherwise, and
the tutorial's subtitles in every language on the French timings."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from kiosk.core.help import HelpCentre
from kiosk.i18n import SUPPORTED
from kiosk.pages import PageRenderer
from kiosk.pages.guides import help_context
from kiosk.shell.topbar import BUTTONS

pytestmark = [pytest.mark.unit, pytest.mark.help]
REPO = Path(__file__).resolve().parents[2]
HELP = REPO / "config" / "help"
OTHERS = [code for code in SUPPORTED if code != "fr"]


@pytest.fixture(scope="module")
def centre() -> HelpCentre:
    return HelpCentre.load(HELP)


@pytest.mark.parametrize("code", OTHERS)
def test_using_the_terminal_is_translated_into_every_language(centre: HelpCentre, code: str) -> None:
    from kiosk.i18n import translator

    french = centre.articles["utiliser-la-borne"]
    shown = centre.localized(french, code)
    assert shown.language == code and shown.title != french.title
    assert (shown.category, shown.tile, shown.video) == (french.category, french.tile, french.video)
    # Same steps as the French, and every button it names is the top bar's word in that language.
    assert len(re.findall(r"^\d+\. ", shown.body, re.M)) == len(re.findall(r"^\d+\. ", french.body, re.M))
    labels = {translator(code)(label) for _name, label, _icon in BUTTONS}
    named = set(re.findall(r"\*\*(.+?)\*\*", shown.body))
    for label in ("Accueil", "Retour", "Aide", "Contacter le médiateur", "Terminer ma session"):
        assert translator(code)(label) in named, (code, label)
    assert named & labels
    assert len(shown.prepare) == len(french.prepare)


def test_untranslated_guides_stay_french(centre: HelpCentre) -> None:
    french = centre.articles["declarer-ses-revenus"]
    assert centre.localized(french, "ar") is french
    assert centre.localized(centre.articles["utiliser-la-borne"], "de").language == "fr"


def test_a_translation_older_than_the_french_is_not_shown(tmp_path: Path) -> None:
    copy = tmp_path / "help"
    shutil.copytree(HELP, copy)
    article = copy / "articles" / "en" / "utiliser-la-borne.md"
    article.write_text(article.read_text(encoding="utf-8").replace("updated = 2026-11-25", "updated = 2026-01-02"))
    (copy / "articles" / "en" / "nulle-part.md").write_text('+++\ntitle = "x"\nupdated = 2026-11-25\n+++\nx\n')
    (copy / "articles" / "pt" / "faire-un-cv.md").write_text("no front matter")
    centre = HelpCentre.load(copy)
    french = centre.articles["utiliser-la-borne"]
    assert centre.translations["en"]["utiliser-la-borne"].updated == date(2026, 1, 2)
    assert centre.localized(french, "en") is french  # stale: the French, which is up to date
    assert centre.localized(french, "pt").language == "pt"
    problems = "\n".join(centre.problems())
    assert "en/utiliser-la-borne.md: older than utiliser-la-borne.md" in problems
    assert "en/nulle-part.md: no French article nulle-part.md" in problems
    assert "faire-un-cv.md" in problems  # the broken one is reported, the French one still shown
    assert centre.localized(centre.articles["faire-un-cv"], "pt").language == "fr"


# An element marked French-only (the style sheet, inside the page, names the class too).
FRENCH_ONLY = re.compile(r'class="[^"]*\bfrench-only\b')


def test_the_page_shows_the_translation_in_its_direction(centre: HelpCentre) -> None:
    renderer = PageRenderer(icons_dir=REPO / "config" / "icons", centre_name="Centre", help_videos=HELP / "videos")
    context = help_context(centre, "article", {"slug": "utiliser-la-borne"}, "ar")
    html = renderer.render("article", language="ar", **context).body.decode()
    assert '<article class="guide-text" lang="ar" dir="rtl">' in html
    assert "استعمال الجهاز" in html and not FRENCH_ONLY.search(html)
    assert "قبل أن تبدأ، حضّر:" in html  # "what to prepare" heading in the guide's language
    # The video offers every subtitle track, the resident's language first shown.
    tracks = {
        re.search(r'srclang="(\w+)"', tag)[1]: (" default" in tag, re.search(r'src="([^"]+)"', tag)[1])  # type: ignore[index]
        for tag in re.findall(r"<track [^>]+>", html)
    }
    assert set(tracks) == {"fr", "en", "ar", "pt"}
    assert [code for code, (default, _src) in tracks.items() if default] == ["ar"]
    assert tracks["ar"][1] == "kiosk://borne/static/help-videos/utiliser-la-borne.ar.vtt"
    assert renderer.static("help-videos/utiliser-la-borne.ar.vtt").content_type == "text/vtt"

    context = help_context(centre, "article", {"slug": "carte-vitale"}, "ar")
    html = renderer.render("article", language="ar", **context).body.decode()
    assert '<article class="guide-text" lang="fr" dir="ltr">' in html and FRENCH_ONLY.search(html)
    assert "Avant de commencer, préparez" in html  # French heading over a French guide

    context = help_context(centre, "help", {}, "pt")
    html = renderer.render("help", language="pt", **context).body.decode()
    assert '<strong lang="fr" dir="auto">Déclarer vos revenus aux impôts</strong>' in html
    assert "<strong>Usar o terminal: botões, teclado, apagar</strong>" in html


def test_subtitles_follow_the_french_cues(centre: HelpCentre) -> None:
    french = (HELP / "videos" / "utiliser-la-borne.vtt").read_text(encoding="utf-8")
    timings = re.findall(r"^(\S+ --> \S+)$", french, re.M)
    assert centre.subtitles(centre.articles["utiliser-la-borne"]) == ["fr", "ar", "en", "pt"]
    for code in OTHERS:
        cues = (HELP / "videos" / f"utiliser-la-borne.{code}.vtt").read_text(encoding="utf-8")
        assert cues.startswith("WEBVTT") and re.findall(r"^(\S+ --> \S+)$", cues, re.M) == timings
        texts = [block.split("\n", 2)[2] for block in cues.split("\n\n")[1:] if block.strip()]
        assert len(texts) == len(timings) and not any(t in french for t in texts)
