"""Searching the guides: SQLite FTS5 (diacritics folded, prefixes, BM25) with everyday synonyms
("sécu" → ameli, "chômage" → France Travail, from ``synonyms.toml``), and forgiving typos and
phonetic spellings by matching unknown words against the index's own vocabulary (edit distance,
and a French phonetic key: "inpo" → impôt, "alocation" → allocation)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from functools import cached_property

from kiosk.core.help.content import Article, Synonyms
from kiosk.core.help.markup import Markup
from kiosk.core.help.text import WORD, edit_distance, fold, phonetic


class SearchIndex:
    """An in-memory FTS5 index of the French guides, built on first use."""

    def __init__(self, articles: Mapping[str, Article], markup: Markup, synonyms: Synonyms) -> None:
        self._articles = articles
        self._markup = markup
        self._synonyms = synonyms

    @cached_property
    def _index(self) -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(slug UNINDEXED, title, keywords, body, "
            "tokenize = \"unicode61 remove_diacritics 2 tokenchars '-'\")"
        )
        conn.execute("CREATE VIRTUAL TABLE vocab USING fts5vocab(docs, 'row')")
        for article in self._articles.values():
            glossary = " ".join(t.term for t in self._markup.terms_in(article))
            conn.execute(
                "INSERT INTO docs (slug, title, keywords, body) VALUES (?, ?, ?, ?)",
                (
                    article.slug,
                    fold(article.title),
                    fold(" ".join(article.keywords) + " " + glossary),
                    fold(article.plain_text + " " + " ".join(article.prepare)),
                ),
            )
        return conn

    @cached_property
    def _vocabulary(self) -> dict[str, list[str]]:
        """Phonetic key → words of the index."""
        keys: dict[str, list[str]] = {}
        for (word,) in self._index.execute("SELECT term FROM vocab"):
            keys.setdefault(phonetic(word), []).append(word)
        return keys

    def _known(self, word: str) -> bool:
        row = self._index.execute("SELECT 1 FROM vocab WHERE term = ? OR term LIKE ? LIMIT 1", (word, word + "%"))
        return row.fetchone() is not None

    def _corrections(self, word: str) -> list[str]:
        """Words of the index this word may have meant (typo or phonetic spelling)."""
        if len(word) < 3:
            return []
        found = set(self._vocabulary.get(phonetic(word), []))
        limit = 1 if len(word) <= 5 else 2
        for candidates in self._vocabulary.values():
            for candidate in candidates:
                if abs(len(candidate) - len(word)) <= limit and edit_distance(word, candidate, limit) <= limit:
                    found.add(candidate)
        return sorted(found)[:8]

    def expand(self, query: str) -> list[str]:
        """The words searched for: the query's own, synonyms, and corrections of unknown words."""
        folded = fold(query)
        synonyms, stop_words = self._synonyms.words, self._synonyms.stop_words
        words: list[str] = []
        for phrase, extra in synonyms.items():  # several words: matched on the phrase
            if " " in phrase and phrase in folded:
                words += extra
        for token in WORD.findall(folded):
            token = token.strip("'")
            for part in token.split("'"):
                if len(part) < 2 or part in stop_words:
                    continue
                words.append(part)
                words += synonyms.get(part, ())
                if not self._known(part):
                    words += self._corrections(part)
        return list(dict.fromkeys(w for w in words if w not in stop_words))

    def search(self, query: str, limit: int = 8) -> list[Article]:
        """Articles best matching ``query``, best first (empty if nothing matches)."""
        words = self.expand(query)
        if not words:
            return []
        match = " OR ".join(f'"{w}"*' for w in words if '"' not in w)
        rows = self._index.execute(
            "SELECT slug FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0, 10.0, 6.0, 1.0) LIMIT ?",
            (match, limit),
        ).fetchall()
        return [self._articles[slug] for (slug,) in rows]
