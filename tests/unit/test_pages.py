"""kiosk: pages render, escape what they show, and serve static files safely."""

from __future__ import annotations

import logging
import re
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from kiosk.core.help import Article, GlossaryTerm, HelpCentre
from kiosk.core.setup import CODE_WORDS, NO_ANSWER_WORDS, PASSPHRASE_WORDS, SetupProblem, SetupView
from kiosk.core.stats.events import AgeBracket, Outcome, Satisfaction
from kiosk.core.trialpage import TRIAL_SENT
from kiosk.pages import PAGES, STATIC, TEMPLATES, Action, KioskLinks, PageNotFound, PageRegistry, PageRenderer
from kiosk.pages.address import Kind, Place, place
from kiosk.pages.guides import help_context, help_visit
from kiosk.pages.questions import QUESTIONS_PAGE, parse_answers
from kiosk.pages.setup import setup_context
from sync.vocabulary import Category

pytestmark = pytest.mark.unit
ICONS = Path(__file__).resolve().parents[2] / "config" / "icons"

SETUP_SAMPLE = SetupView(
    values={"centre": "Centre", "ssid": "Salle_2", "server": "https://stats.example"},
    problems=(
        SetupProblem(key="wifi.passphrase", message=PASSPHRASE_WORDS),
        SetupProblem(key="(borne)", message=NO_ANSWER_WORDS),
    ),
    usb=(SetupProblem(key="federation.code", message=CODE_WORDS),),
    printer=TRIAL_SENT,
    remembered=frozenset({"code"}),
)


SAMPLE = {
    "home": {
        "groups": [
            (
                "Argent – Impôts",
                [{"id": "impots", "label": "Vos impôts", "description": "D", "icon": "euro.svg", "lang": "fr"}],
            )
        ]
    },
    "blocked": {
        "site": "evil.example",
        "reason": "not_allowed",
        "back_url": "kiosk://borne/action/back",
        "suggest": {"id": "caf", "label": "La CAF"},
    },
    "warning": {"seconds": 30},
    "unreachable": {"site": "www.caf.fr"},
    "questions": {"questions": QUESTIONS_PAGE},
}

_GUIDE = Article(
    "guide",
    "Un guide",
    Category.AUTRE,
    ("mot",),
    date(2026, 11, 25),
    ("Votre téléphone",),
    "Intro.\n\n## Étapes\n\n1. Touchez **OK** et votre [[mot de passe]].\n",
    tile="caf",
)
_HELP = HelpCentre({"guide": _GUIDE}, {"mot-de-passe": GlossaryTerm("mot-de-passe", "mot de passe", "Un code secret.")})
SAMPLE["help"] = help_context(_HELP, "help", {"q": "guide"})
SAMPLE["article"] = help_context(_HELP, "article", {"slug": "guide"})
SAMPLE["glossary"] = help_context(_HELP, "glossary", {})
SAMPLE["setup"] = setup_context(SETUP_SAMPLE)


@pytest.fixture
def renderer() -> PageRenderer:
    return PageRenderer(icons_dir=ICONS, centre_name="Centre <b>test</b>")


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_page_renders_in_french_with_only_known_actions(renderer: PageRenderer, page: str) -> None:
    rendered = renderer.render(page, **SAMPLE.get(page, {}))
    html = rendered.body.decode()
    assert rendered.content_type.startswith("text/html")
    assert '<html lang="fr"' in html
    for action in re.findall(r"kiosk://borne/action/([a-z]+)", html):
        assert action in set(Action)
    assert "Centre <b>test</b>" not in html  # escaped


def test_hostile_values_are_escaped(renderer: PageRenderer) -> None:
    html = renderer.render(
        "blocked", site="<script>alert(1)</script>", reason="x", back_url=None, suggest=None
    ).body.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;" in html


def test_unknown_page(renderer: PageRenderer) -> None:
    with pytest.raises(PageNotFound):
        renderer.render("base")


@pytest.mark.parametrize(
    "path",
    [
        "../__init__.py",
        "%2e%2e/x",
        "/etc/passwd",
        "actions\\..\\x",
        "kiosk.css\x00",
        "icons/../../__init__.py",
        "",
        "templates/base.html",
        "icons/nope.svg",
    ],
)
def test_static_refuses_traversal(renderer: PageRenderer, path: str) -> None:
    with pytest.raises(PageNotFound):
        renderer.static(path)


def test_static_types(renderer: PageRenderer) -> None:
    assert renderer.static("kiosk.css").content_type == "text/css"
    assert renderer.static("icons/euro.svg").content_type == "image/svg+xml"
    assert renderer.static("actions/home.svg").body.startswith(b"<svg")


def test_no_external_resources() -> None:
    for path in [*TEMPLATES.glob("*.html"), *STATIC.rglob("*.css")]:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(src|href)=[\"']https?://", text), path
        assert "url(http" not in text, path


def test_the_questions_page_offers_every_answer_and_reads_back_only_known_ones(renderer: PageRenderer) -> None:
    html = renderer.render("questions", questions=QUESTIONS_PAGE).body.decode()
    for question in QUESTIONS_PAGE:
        for option in question["options"]:
            assert f'data-value="{option["value"]}"' in html
    assert "Passer les questions" in html and "C'est anonyme" in html
    assert parse_answers({"age": "70_plus", "outcome": "non", "satisfaction": "moyen", "first_visit": "non"}) == {
        "age": AgeBracket.FROM_70,
        "outcome": Outcome.NO,
        "satisfaction": Satisfaction.NEUTRAL,
        "first_visit": False,
    }
    assert parse_answers({"age": "43", "outcome": "<b>", "satisfaction": "", "first_visit": "true"}) == {}


def test_help_pages_say_which_usage_event_the_visit_is() -> None:
    from kiosk.core.stats.events import HelpArticleViewed, HelpSearched

    assert help_visit(_HELP, "article", {"slug": "guide"}) == HelpArticleViewed(article="guide")
    context = help_context(_HELP, "help", {"q": "Jean Dupont cherche un guide"})
    event = help_visit(_HELP, "help", {"q": "Jean Dupont cherche un guide"})
    assert event == HelpSearched(results=len(context["results"]))  # the count only, never the words
    assert help_visit(_HELP, "help", {}) is None
    assert help_context(_HELP, "article", {"slug": "nope"}) == {"missing": True, "article": None}
    assert help_visit(_HELP, "article", {"slug": "nope"}) is None
    assert help_context(None, "help", {"q": "x"})["unavailable"] is True


def test_article_page_links_its_tile_and_lists_what_to_prepare(renderer: PageRenderer) -> None:
    html = renderer.render("article", **SAMPLE["article"]).body.decode()
    assert "kiosk://borne/action/open?tile=caf" in html and "Votre téléphone" in html
    assert 'class="term-word"' in html


def test_every_template_is_a_registered_page_and_every_page_has_a_template() -> None:
    from kiosk.pages.renderer import template_names

    assert PAGES.names == template_names()


def test_a_page_asking_for_an_unknown_verb_fails_at_render_time() -> None:
    from kiosk.pages import action_url

    assert action_url(Action.OPEN, tile="caf") == "kiosk://borne/action/open?tile=caf"
    with pytest.raises(ValueError):
        action_url("close")  # handled by nothing: not a verb


def test_every_block_reason_of_the_policy_has_words_for_the_resident() -> None:
    from kiosk.core.policy import BlockReason
    from kiosk.pages.renderer import BLOCK_REASONS

    assert set(BLOCK_REASONS) == {reason.value for reason in BlockReason}


def test_the_website_links_carry_the_language_and_refuse_kiosk_verbs() -> None:
    from kiosk.pages import WebsiteLinks

    links = WebsiteLinks("/aide/", "fr")
    assert links.page("article", "ar", slug="carte vitale") == "/aide/guides/carte%20vitale?lang=ar"
    assert links.page("help", "fr", q="caf") == "/aide?q=caf"
    assert links.language("fr") == "/aide" and links.language("pt") == "/aide?lang=pt"
    with pytest.raises(ValueError):
        links.action("open", tile="caf")


def test_the_renderer_keeps_no_language_between_renders(renderer: PageRenderer) -> None:
    assert '<html lang="ar"' in renderer.render("attract", language="ar").body.decode()
    assert '<html lang="fr"' in renderer.render("attract").body.decode()
    body_class = re.compile(r'<body class="[^"]*theme-contrast')  # the style sheet names it too
    assert body_class.search(renderer.render("attract", high_contrast=True).body.decode())
    assert not body_class.search(renderer.render("attract").body.decode())


def test_every_kiosk_url_is_on_one_host_and_reads_back_as_what_it_names() -> None:
    # One host, one site for Chromium: the lobby's pages share one renderer process.
    links = KioskLinks()
    for url, named in [
        (links.page("goodbye", "fr"), Place(Kind.PAGE, "goodbye")),
        (links.page("article", "fr", slug="carte-vitale"), Place(Kind.PAGE, "article")),
        (links.static("icons/caf.svg"), Place(Kind.STATIC, "icons/caf.svg")),
        (links.action("open", tile="caf"), Place(Kind.ACTION, "open")),
    ]:
        parsed = urlsplit(url)
        assert (parsed.scheme, parsed.netloc) == ("kiosk", "borne")
        assert place(parsed.netloc, parsed.path) == named
    assert place("home", "/") is None  # the old one-host-per-page form names nothing
    assert place("borne", "/home/more") is None and place("borne", "/") is None


@pytest.mark.parametrize("name", ["static", "action"])
def test_no_page_may_take_the_name_of_the_files_or_the_verbs(name: str) -> None:
    with pytest.raises(ValueError, match="not a page name"):
        PageRegistry().static_pages(name)


def test_compiled_templates_outlive_the_process_and_a_broken_cache_is_no_cache(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = tmp_path / "templates"
    renderer = PageRenderer(icons_dir=ICONS, centre_name="Centre", template_cache=cache)
    first = renderer.render("attract").body
    assert not list(cache.iterdir()), "rendering a page writes nothing (a visit leaves no file)"
    renderer.warm()
    entries = sorted(cache.iterdir())
    assert len(entries) == len(list(TEMPLATES.glob("*.html"))), "warm() compiled and kept every template"
    # A later start reads them back (the same page), a damaged entry is compiled again.
    assert PageRenderer(icons_dir=ICONS, centre_name="Centre", template_cache=cache).render("attract").body == first
    for entry in entries:
        entry.write_bytes(b"garbage")
    assert PageRenderer(icons_dir=ICONS, centre_name="Centre", template_cache=cache).render("attract").body == first
    # A cache that cannot be written (a full or read-only disk) leaves the pages as they are.
    unwritable = PageRenderer(icons_dir=ICONS, centre_name="Centre", template_cache=tmp_path / "gone")
    (tmp_path / "gone").rmdir()
    (tmp_path / "gone").write_text("no longer a directory")  # even root cannot write in it
    with caplog.at_level(logging.WARNING, logger="kiosk.pages.renderer"):
        unwritable.warm()
        assert unwritable.render("attract").body == first
    assert "templates.cache_not_written" in caplog.messages
    unusable = PageRenderer(icons_dir=ICONS, centre_name="Centre", template_cache=tmp_path / "gone" / "templates")
    unusable.warm()
    assert unusable.render("attract").body == first
