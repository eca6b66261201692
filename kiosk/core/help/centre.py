"""The help centre as the shell and the website use it: one object over the content, the
glossary's markup, the search and the checks."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from kiosk.core.help.checks import content_problems, editorial_problems
from kiosk.core.help.content import Article, GlossaryTerm, HelpError, Problem, Synonyms, load_content
from kiosk.core.help.markup import Markup
from kiosk.core.help.search import SearchIndex
from sync.vocabulary import Category


@dataclass
class HelpCentre:
    articles: dict[str, Article]
    glossary: dict[str, GlossaryTerm]
    directory: Path | None = None
    translations: dict[str, dict[str, Article]] = field(default_factory=dict)  # language → slug → article
    synonyms: Synonyms = field(default_factory=Synonyms)
    load_problems: list[Problem] = field(default_factory=list, repr=False)

    @classmethod
    def load(cls, directory: Path, *, strict: bool = True) -> HelpCentre:
        """The content of ``directory``. ``strict``: raise :class:`HelpError` when the glossary or a
        French guide cannot be read (the terminal then says its help is unavailable); otherwise
        keep what loaded and report the rest as :attr:`load_problems` (for ``kiosk help check``).
        A broken translation or synonyms file is always a problem, never an error."""
        content = load_content(directory)
        if strict and content.errors:
            raise HelpError(str(content.errors[0]))
        problems = [*content.errors, *content.problems]
        return cls(content.articles, content.glossary, directory, content.translations, content.synonyms, problems)

    def localized(self, article: Article, language: str) -> Article:
        """``article`` in ``language`` when translated and the translation is at least as recent
        as the French (an older one may say something the French no longer says), else French."""
        translated = self.translations.get(language, {}).get(article.slug)
        if translated is None or translated.updated < article.updated:
            return article
        return translated

    def subtitles(self, article: Article) -> list[str]:
        """Languages of the subtitles of the article's video: fr (``x.vtt``), then ``x.<code>.vtt``."""
        if not article.video or self.directory is None:
            return []
        video = self.directory / "videos" / article.video
        found = ["fr"] if video.with_suffix(".vtt").is_file() else []
        found += sorted(
            p.suffixes[-2][1:]
            for p in video.parent.glob(f"{video.stem}.*.vtt")
            if re.fullmatch(r"\.[a-z]{2}", p.suffixes[-2])
        )
        return found

    def by_category(self) -> list[tuple[Category, list[Article]]]:
        groups = []
        for category in Category:
            members = sorted((a for a in self.articles.values() if a.category is category), key=lambda a: a.title)
            if members:
                groups.append((category, members))
        return groups

    # -- glossary and rendering ----------------------------------------------------------------
    @cached_property
    def _markup(self) -> Markup:
        return Markup(self.glossary)

    def term(self, written: str) -> GlossaryTerm | None:
        return self._markup.term(written)

    def render(self, article: Article) -> str:
        """The article's body as HTML, glossary terms as tappable definitions."""
        return self._markup.render(article)

    def glossary_terms_in(self, article: Article) -> list[GlossaryTerm]:
        return self._markup.terms_in(article)

    # -- search --------------------------------------------------------------------------------
    @cached_property
    def _search(self) -> SearchIndex:
        return SearchIndex(self.articles, self._markup, self.synonyms)

    def expand(self, query: str) -> list[str]:
        """The words searched for: the query's own, synonyms, and corrections of unknown words."""
        return self._search.expand(query)

    def search(self, query: str, limit: int = 8) -> list[Article]:
        """Articles best matching ``query``, best first (empty if nothing matches)."""
        return self._search.search(query, limit)

    # -- checks --------------------------------------------------------------------------------
    def content_problems(self, tile_ids: Collection[str] | None = None) -> list[Problem]:
        found = content_problems(self.articles, self.translations, self._markup, self.directory, tile_ids)
        return [*self.load_problems, *found]

    def problems(self, tile_ids: Collection[str] | None = None) -> list[str]:
        """Every problem of the content, in short (the shell logs them at start): unknown glossary
        links and tiles, empty sections, translations without a French article, older than it or
        with glossary links, an unreadable synonyms file."""
        return [str(problem) for problem in self.content_problems(tile_ids)]

    def check(self, tile_ids: Collection[str] | None = None) -> list[Problem]:
        """What an editor must fix: the content's problems and what makes a guide hard to read."""
        found = self.content_problems(tile_ids) + editorial_problems(self.articles, self.directory)
        if self.directory is not None and not self.articles:
            found.append(Problem("articles", "no guide found (articles/<slug>.md)"))
        return found
