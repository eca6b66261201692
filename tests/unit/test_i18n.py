"""The kiosk's words in the residents' languages: catalogues complete and consistent with the
code, pages and the website in each language, Arabic right to left, French the fallback."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

import kiosk.i18n as i18n
from kiosk.core.catalogue import merge
from kiosk.core.loading import ConfigError, load_config
from kiosk.core.settings import ShellSettings
from kiosk.i18n import DEFAULT_LANGUAGE, SUPPORTED, catalogue_path, language, translator
from kiosk.pages import PAGES, PageRenderer, home_groups
from kiosk.pages.questions import QUESTIONS_PAGE
from kiosk.pages.setup import setup_context
from tests.unit.test_pages import SETUP_SAMPLE

pytestmark = pytest.mark.unit
REPO = Path(__file__).resolve().parents[2]
POT = REPO / "kiosk" / "i18n" / "kiosk.pot"
TRANSLATED = [code for code in SUPPORTED if code != DEFAULT_LANGUAGE]
TAG = re.compile(r"<[^>]+>")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def messages(path: Path) -> dict[object, object]:
    with path.open("rb") as po:
        return {m.id: m for m in read_po(po) if m.id}


def test_the_template_lists_every_string_of_the_code(tmp_path: Path) -> None:
    """`make i18n` was run after the last string changed (else a new string shows in French)."""
    fresh = tmp_path / "kiosk.pot"
    subprocess.run(
        [sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "kiosk/i18n/babel.cfg", "-k", "N_",
         "--no-location", "-o", str(fresh), "."],
        cwd=REPO, check=True, capture_output=True,
    )  # fmt: skip
    extracted, committed = set(messages(fresh)), set(messages(POT))
    assert extracted == committed, {"new (run make i18n)": extracted - committed, "gone": committed - extracted}
    assert len(committed) > 100


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_string_is_translated_with_the_same_placeholders_and_markup(code: str) -> None:
    wanted = messages(POT)
    with catalogue_path(code).open("rb") as po:
        catalogue = read_po(po, locale=code)
    found = {m.id: m for m in catalogue if m.id}
    assert set(found) == set(wanted), {"missing": set(wanted) - set(found), "obsolete": set(found) - set(wanted)}
    problems = []
    for msgid, message in found.items():
        ids = msgid if isinstance(msgid, tuple) else (msgid,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {ids[0]!r}")
            continue
        tags = sorted(TAG.findall(ids[0]))
        for text in strings:
            if sorted(TAG.findall(text)) != tags:
                problems.append(f"markup differs: {ids[0]!r} → {text!r}")
            # Every placeholder of the French is kept (a plural form may spell its number out).
            if not isinstance(msgid, tuple) and set(PLACEHOLDER.findall(text)) != set(PLACEHOLDER.findall(ids[0])):
                problems.append(f"placeholders differ: {ids[0]!r} → {text!r}")
    problems += [f"{m.id!r}: {errors}" for m, errors in catalogue.check()]
    assert catalogue.num_plurals == (6 if code == "ar" else 2)
    assert not problems, problems


def test_translators() -> None:
    assert translator("fr")("Accueil") == "Accueil"
    assert translator("ar")("Accueil") == "الرئيسية"
    assert translator("en")("Ouvrir «\u00a0%(name)s\u00a0»", name="La CAF") == "Open “La CAF”"
    assert translator("pt").ngettext("%(pages)d page.", "%(pages)d pages.", 2) == "%(pages)d pages."  # not in catalogue
    assert (
        translator("ar").ngettext(
            "C'est parti\u00a0: %(pages)d page à l'impression.", "C'est parti\u00a0: %(pages)d pages à l'impression.", 2
        )
        == "جارٍ طباعة صفحتين."
    )  # Arabic's dual
    assert translator("xx").code == "fr"  # unknown: French
    assert language("ar").rtl and not language("pt").rtl
    assert [lang.name for lang in i18n.languages()] == ["Français", "English", "العربية", "Português"]


def test_a_damaged_catalogue_falls_back_to_french(tmp_path: Path, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    broken = tmp_path / "ar" / "LC_MESSAGES" / "kiosk.po"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b'msgid "Accueil"\nmsgstr "\xff\xfe unterminated\n\x00')
    monkeypatch.setattr(i18n, "HERE", tmp_path)
    translator.cache_clear()
    try:
        with caplog.at_level(logging.ERROR, logger="kiosk.i18n"):
            t = translator("ar")
        assert t.code == "fr" and t("Accueil") == "Accueil"
        assert any(r.message == "i18n.catalogue_unreadable" for r in caplog.records)
    finally:
        translator.cache_clear()


SAMPLE_CONTEXT: dict[str, dict[str, object]] = {
    "blocked": {
        "site": "evil.example",
        "reason": "insecure",
        "back_url": "x",
        "suggest": {"id": "caf", "label": "CAF"},
    },
    "unreachable": {"site": "www.caf.fr"},
    "warning": {"seconds": 30},
    "questions": {"questions": QUESTIONS_PAGE},
    "help": {"unavailable": False, "groups": [], "query": "vitale", "results": []},
    "article": {"missing": True, "article": None},
    "glossary": {"terms": [], "focus": ""},
    "mediator": {"desk": "waiting", "number": 3, "place": "2", "wait": "environ 15 minutes", "message": ""},
    "appointment": {
        "step": "contact",
        "chosen": {"value": "marie|1|2", "day": "x", "start": "9 h"},
        "category": "logement",
        "error": None,
        "error_field": None,
        "values": {},
        "keep_days": 30,
        "form_url": "x",
        "form_method": "get",
        "choose_url": "x",
        "token": "",
    },
    "setup": setup_context(SETUP_SAMPLE),
}


@pytest.mark.parametrize("code", TRANSLATED)
@pytest.mark.parametrize("page", sorted(PAGES))
def test_no_french_interface_words_left_in_another_language(page: str, code: str) -> None:
    """Each page in each language: none of the French interface sentences shows untranslated."""
    config = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml")
    renderer = PageRenderer(icons_dir=REPO / "config" / "icons", centre_name="Centre")
    context = {"groups": home_groups(config.tiles, code)} if page == "home" else SAMPLE_CONTEXT.get(page, {})
    html = renderer.render(page, language=code, **context).body.decode()
    assert f'<html lang="{code}" dir="{"rtl" if code == "ar" else "ltr"}">' in html
    text = TAG.sub(" ", re.sub(r"<script.*?</script>", "", html, flags=re.S))
    french = [
        m for m in messages(POT) if isinstance(m, str) and len(m) > 12 and "%" not in m and "<" not in m
    ]  # the interface sentences (short words like "Aide" may be a centre's name)
    translated = messages(catalogue_path(code))
    # (A word that is the same in both languages — "Contraste" in Portuguese — is not left over.)
    left = [m for m in french if m in text and getattr(translated.get(m), "string", None) != m]
    assert not left, left


def test_home_tiles_in_the_residents_language_with_french_fallback() -> None:
    config = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml")
    renderer = PageRenderer(icons_dir=REPO / "config" / "icons", centre_name="Centre")
    groups = home_groups(config.tiles, "ar")
    tiles = {t["id"]: t for _label, members in groups for t in members}
    assert tiles["impots"]["label"] == "ضرائبك" and tiles["impots"]["lang"] == "ar"
    html = renderer.render("home", language="ar", groups=groups).body.decode()
    assert "ضرائبك" in html and "الأوراق الثبوتية" in html  # tile and category in Arabic
    # A centre's own tile without a translation keeps its French words, marked as French.
    local = config.tiles.tiles[0].model_copy(update={"id": "maison", "label": "Maison des aînés", "translations": {}})
    extra = config.tiles.model_copy(update={"tiles": (*config.tiles.tiles, local)})
    html = renderer.render("home", language="ar", groups=home_groups(extra, "ar")).body.decode()
    assert re.search(r'<span lang="fr" dir="auto"><strong>Maison des aînés</strong>', html)


def test_language_settings_are_checked() -> None:
    assert ShellSettings().languages == SUPPORTED
    assert ShellSettings(language="ar", languages=("fr", "en")).languages == ("ar", "fr", "en")
    with pytest.raises(ValueError, match="no translation for es"):
        ShellSettings(languages=("fr", "es"))
    with pytest.raises(ValueError, match="the kiosk speaks"):
        ShellSettings(language="de")


def test_tile_translations_are_checked(tmp_path: Path) -> None:
    tiles = (REPO / "config" / "tiles.toml").read_text(encoding="utf-8")
    (tmp_path / "tiles.toml").write_text(tiles.replace("translations.pt =", "translations.es =", 1), encoding="utf-8")
    (tmp_path / "kiosk.toml").write_text((REPO / "config" / "kiosk.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "icons").symlink_to(REPO / "config" / "icons")
    with pytest.raises(ConfigError) as raised:
        load_config(tmp_path / "kiosk.toml", tmp_path / "tiles.toml")
    assert "no such language es" in str(raised.value.problems)


def test_national_catalogue_translations_in_unknown_languages_are_left_out() -> None:
    local = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml").tiles
    local = local.model_copy(update={"tiles": tuple(t for t in local.tiles if t.id != "ameli")})
    national = {
        "tiles": [
            {
                "id": "ameli", "label": "L'Assurance Maladie", "description": "Votre compte.", "icon": "sante.svg",
                "category": "social_sante", "url": "https://www.ameli.fr/", "origins": ["*.ameli.fr"],
                "translations": {"en": {"label": "Health", "description": "Your account."},
                                 "es": {"label": "Salud", "description": "Su cuenta."}},
            }
        ]
    }  # fmt: skip
    merged = merge(local, national, REPO / "config" / "icons")
    ameli = next(t for t in merged.tiles if t.id == "ameli")
    assert set(ameli.translations) == {"en"}
    assert ameli.text("en")[0] == "Health" and ameli.text("ar")[2] == "fr"


def test_the_website_speaks_the_visitors_language() -> None:
    from kiosk.agent.web import create_help_site

    config = load_config(REPO / "config" / "kiosk.toml", REPO / "config" / "tiles.toml")
    client = TestClient(create_help_site(config))
    page = client.get("/aide", params={"lang": "ar"})
    assert page.status_code == 200 and '<html lang="ar" dir="rtl">' in page.text
    assert 'href="/aide/guides/' in page.text and "?lang=ar" in page.text  # links keep the language
    assert 'href="/aide/glossaire?lang=ar"' in page.text
    assert '<input type="hidden" name="lang" value="ar">' in page.text  # and so does the search
    article = client.get("/aide/guides/carte-vitale", params={"lang": "en"})
    assert '<html lang="en"' in article.text and "This guide is only available in French." in article.text
    assert '<article class="guide-text" lang="fr" dir="ltr">' in article.text
    assert '<html lang="fr"' in client.get("/aide", params={"lang": "de"}).text  # not offered: French
    assert client.get("/aide", params={"lang": "../../etc"}).status_code == 422
