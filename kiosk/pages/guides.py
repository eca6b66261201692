"""The help pages (``help``, ``article``, ``glossary``): the same for the kiosk and the website.

Each builds its context from the help centre and the query, in the resident's language (a guide
translated into it is shown translated, any other in French); a visit is a usage event (an
article read, a search and how many results — never the words typed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kiosk.core.stats.events import Event, HelpArticleViewed, HelpSearched
from kiosk.i18n import language as language_of
from kiosk.pages.registry import PAGES, PageRequest, PageServices

if TYPE_CHECKING:  # loaded with the first help page (library.py): the home page needs none of it
    from kiosk.core.help import HelpCentre

MAX_QUERY = 100


def _query(request: PageRequest) -> str:
    return request.get("q").strip()[:MAX_QUERY]


def _article_visit(request: PageRequest, services: PageServices) -> Event | None:
    centre = services.help.centre
    slug = request.get("slug")
    return HelpArticleViewed(article=slug) if centre is not None and slug in centre.articles else None


def _search_visit(request: PageRequest, services: PageServices) -> Event | None:
    centre, query = services.help.centre, _query(request)
    if centre is None or not centre.articles or not query:
        return None
    return HelpSearched(results=len(centre.search(query)))


@PAGES.page("article", visit=_article_visit)
def article_page(request: PageRequest, services: PageServices) -> Mapping[str, Any]:
    centre = services.help.centre
    article = centre.articles.get(request.get("slug")) if centre is not None else None
    if centre is None or article is None:
        return {"missing": True, "article": None}
    related = [a for a in centre.articles.values() if a.category is article.category and a is not article][:3]
    shown = centre.localized(article, request.language)
    return {
        "missing": False,
        "article": shown,
        "article_dir": language_of(shown.language).direction,
        "html": centre.render(shown),
        "related": [centre.localized(a, request.language) for a in related],
        "category_label": article.category.label,
        "subtitles": [language_of(code) for code in centre.subtitles(article)],
    }


@PAGES.page("glossary")
def glossary_page(request: PageRequest, services: PageServices) -> Mapping[str, Any]:
    centre = services.help.centre
    if centre is None:
        return {"terms": [], "focus": ""}
    terms = sorted(centre.glossary.values(), key=lambda t: t.term.lower())
    return {"terms": terms, "focus": request.get("term")}


@PAGES.page("help", visit=_search_visit)
def help_page(request: PageRequest, services: PageServices) -> Mapping[str, Any]:
    centre = services.help.centre
    if centre is None or not centre.articles:
        return {"unavailable": True, "groups": [], "query": "", "results": None}
    query = _query(request)
    groups = [
        (category.label, [centre.localized(a, request.language) for a in articles])
        for category, articles in centre.by_category()
    ]
    results = [centre.localized(a, request.language) for a in centre.search(query)] if query else None
    return {"unavailable": False, "groups": groups, "query": query, "results": results}


def help_context(
    centre: HelpCentre | None, page: str, params: Mapping[str, str], language: str = "fr"
) -> Mapping[str, Any]:
    """The context of a help page around a given centre (tests and tools)."""
    return PAGES.context(page, PageRequest(dict(params), language), _services(centre))


def help_visit(centre: HelpCentre | None, page: str, params: Mapping[str, str]) -> Event | None:
    """The usage event of a visit to a help page around a given centre (tests and tools)."""
    return PAGES.visit(page, PageRequest(dict(params)), _services(centre))


def _services(centre: HelpCentre | None) -> PageServices:
    from kiosk.pages.library import HelpLibrary

    no_tiles: Any = None  # the help pages never read the tiles
    return PageServices(tiles=no_tiles, help=HelpLibrary.of(centre))
