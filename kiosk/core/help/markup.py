"""Guides as HTML: Markdown (CommonMark, raw HTML off) with ``[[glossary]]`` links turned into
tappable definitions. Nothing written in a guide reaches the page as markup."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

from markdown_it import MarkdownIt

from kiosk.core.help.content import TERM, Article, GlossaryTerm
from kiosk.core.help.text import fold


class Markup:
    """The glossary with its aliases, and the Markdown renderer that links guides to it."""

    def __init__(self, glossary: Mapping[str, GlossaryTerm]) -> None:
        self._md = MarkdownIt("commonmark", {"html": False})
        self._aliases: dict[str, GlossaryTerm] = {}
        for term in glossary.values():
            for name in (term.term, *term.aliases):
                self._aliases[fold(name)] = term

    def term(self, written: str) -> GlossaryTerm | None:
        """The glossary term a ``[[link]]`` names (its term or one of its aliases, any case or accent)."""
        return self._aliases.get(fold(written.strip()))

    def terms_in(self, article: Article) -> list[GlossaryTerm]:
        terms = [self.term(w) for w in TERM.findall(article.body)]
        return list({t.slug: t for t in terms if t is not None}.values())

    def render(self, article: Article) -> str:
        """The article's body as HTML, glossary terms as tappable definitions."""
        placeholders: dict[str, str] = {}

        def mark(match: re.Match[str]) -> str:
            written = match.group(1)
            term = self.term(written)
            key = f"glossaryterm{len(placeholders)}x"
            if term is None:
                placeholders[key] = html.escape(written)
            else:
                placeholders[key] = (
                    f'<span class="term"><button type="button" class="term-word" aria-expanded="false" '
                    f'data-term="{term.slug}">{html.escape(written)}</button>'
                    f'<span class="term-def" role="note" hidden><strong>{html.escape(term.term)}</strong> : '
                    f"{html.escape(term.definition)}</span></span>"
                )
            return key

        rendered = str(self._md.render(TERM.sub(mark, article.body)))
        for key, value in placeholders.items():
            rendered = rendered.replace(key, value)
        return rendered
