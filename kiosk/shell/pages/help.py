"""What the help pages show: the same for the kiosk's ``kiosk:`` pages and the public website.

``help_context`` builds a page's template context from the help centre and the page's query,
in the resident's language (a guide translated into it is shown translated, any other in
French), and says which usage event the visit is (an article read, a search and how many
results — never the words typed).
"""

from __future__ import annotations

from typing import Any

from kiosk.core.help import HelpCentre
from kiosk.core.stats.events import Event, HelpArticleViewed, HelpSearched
from kiosk.i18n import language as language_of

HELP_PAGES = frozenset({"help", "article", "glossary"})
MAX_QUERY = 100


def help_context(
    centre: HelpCentre | None, page: str, params: dict[str, str], language: str = "fr"
) -> tuple[dict[str, Any], Event | None]:
    if centre is None or not centre.articles:
        return {"unavailable": True, "groups": [], "query": "", "results": None}, None
    if page == "article":
        article = centre.articles.get(params.get("slug", ""))
        if article is None:
            return {"missing": True, "article": None}, None
        related = [a for a in centre.articles.values() if a.category is article.category and a is not article][:3]
        shown = centre.localized(article, language)
        context = {
            "missing": False,
            "article": shown,
            "article_dir": language_of(shown.language).direction,
            "html": centre.render(shown),
            "related": [centre.localized(a, language) for a in related],
            "category_label": article.category.label,
            "subtitles": [language_of(code) for code in centre.subtitles(article)],
        }
        return context, HelpArticleViewed(article=article.slug)
    if page == "glossary":
        terms = sorted(centre.glossary.values(), key=lambda t: t.term.lower())
        return {"terms": terms, "focus": params.get("term", "")}, None
    query = params.get("q", "").strip()[:MAX_QUERY]
    groups = [
        (category.label, [centre.localized(a, language) for a in articles])
        for category, articles in centre.by_category()
    ]
    if not query:
        return {"unavailable": False, "groups": groups, "query": "", "results": None}, None
    results = centre.search(query)
    return (
        {
            "unavailable": False,
            "groups": groups,
            "query": query,
            "results": [centre.localized(a, language) for a in results],
        },
        HelpSearched(results=len(results)),
    )
