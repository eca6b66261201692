"""The help centre: articles and glossary from ``config/help``, rendered and searched.

Articles are Markdown files with TOML front matter (see ``config/help/FORMAT.md``); glossary
terms written ``[[term]]`` become tappable definitions. Search runs on SQLite FTS5 (diacritics
folded, prefixes) with everyday synonyms ("sécu" → ameli, "chômage" → France Travail) and
forgives typos and phonetic spellings by matching unknown words against the index's own
vocabulary (edit distance, and a French phonetic key: "inpo" → impôt, "alocation" → allocation).
"""

from __future__ import annotations

import html
import re
import sqlite3
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from functools import cached_property
from pathlib import Path

from markdown_it import MarkdownIt

from sync.vocabulary import Category

_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_TERM = re.compile(r"\[\[([^\[\]\n]{1,60})\]\]")
_WORD = re.compile(r"[\w']+", re.UNICODE)

SYNONYMS: dict[str, str] = {
    "secu": "ameli securite sociale carte vitale",
    "securite sociale": "ameli carte vitale",
    "mutuelle": "ameli",
    "chomage": "france travail inscription actualisation",
    "pole emploi": "france travail",
    "poleemploi": "france travail",
    "emploi": "france travail",
    "travail": "france travail cv",
    "boulot": "france travail cv",
    "papiers": "carte identite passeport titre sejour ants",
    "carte d'identite": "carte identite ants",
    "cni": "carte identite ants",
    "passeport": "passeport ants",
    "apl": "caf logement aide",
    "allocs": "caf allocation",
    "alloc": "caf allocation",
    "allocations": "caf",
    "impot": "impots revenus declaration",
    "impots": "impots revenus declaration",
    "taxes": "impots",
    "mdp": "mot de passe",
    "code": "mot de passe code verification",
    "mail": "adresse email",
    "email": "adresse email",
    "courriel": "adresse email",
    "retraite": "retraite releve carriere",
    "scanner": "numeriser",
    "scan": "numeriser",
    "photocopie": "numeriser imprimer",
    "imprimante": "imprimer",
    "impression": "imprimer",
    "arnaque": "arnaques site officiel hameconnage",
    "rdv": "rendez-vous",
    "permis": "permis conduire ants",
    "carte grise": "carte grise vehicule ants",
    "voiture": "carte grise vehicule",
    "rsa": "rsa caf declaration trimestrielle",
    "prime": "prime activite caf",
    "quelqu'un": "mediateur",
    "personne": "mediateur",
    "sejour": "titre sejour",
    "etranger": "titre sejour anef",
    "cv": "cv curriculum",
    "vitale": "carte vitale ameli",
    "fichier": "joindre fichier piece jointe",
    "piece jointe": "joindre fichier",
    "connexion": "franceconnect connecter",
    "france connect": "franceconnect",
    "oublie": "mot de passe oublie",
}
"""Everyday words (folded) → words of the articles. Multi-word keys are matched on the phrase."""


class HelpError(ValueError):
    """A problem in the help content; the message names the file and what to fix."""


@dataclass(frozen=True)
class GlossaryTerm:
    slug: str
    term: str
    definition: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Article:
    slug: str
    title: str
    category: Category
    keywords: tuple[str, ...]
    updated: date
    prepare: tuple[str, ...]
    body: str  # Markdown, with [[glossary]] links
    tile: str | None = None
    video: str | None = None  # a WebM in config/help/videos, with its .vtt beside it
    language: str = "fr"  # a translation (articles/<code>/<slug>.md) says its language

    @property
    def plain_text(self) -> str:
        """The body without Markdown marks, for search and read-aloud."""
        text = _TERM.sub(lambda m: m.group(1), self.body)
        text = re.sub(r"[#*_`>]+", " ", text)
        return re.sub(r"\s+", " ", text).strip()


def fold(text: str) -> str:
    """Lower case, no diacritics, ligatures opened, apostrophes kept plain."""
    text = text.lower().replace("œ", "oe").replace("æ", "ae").replace("’", "'")
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", fold(text)).strip("-")


def phonetic(word: str) -> str:
    """A rough French phonetic key: words that sound alike get the same key."""
    w = fold(word)
    for pattern, repl in (
        (r"tion", "sion"),
        (r"ph", "f"),
        (r"qu", "k"),
        (r"c(?=[eiy])", "s"),
        (r"c", "k"),
        (r"g(?=[eiy])", "j"),
        (r"gu", "g"),
        (r"eau|au", "o"),
        (r"ai|ei", "e"),
        (r"[ae][nm](?![aeiou])", "an"),
        (r"[aeiu]?[iy][nm](?![aeiou])", "in"),
        (r"on|om(?![aeiou])", "on"),
        (r"y", "i"),
        (r"z", "s"),
        (r"h", ""),
        (r"w", "v"),
        (r"x", "ks"),
        (r"(.)\1+", r"\1"),
        (r"[stxde]+$", ""),
    ):
        w = re.sub(pattern, repl, w)
    return w or fold(word)


def edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau–Levenshtein distance, stopping early above ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cost = 0 if ca == cb else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def syllables(word: str) -> int:
    """French syllables, roughly: groups of vowels, a final mute 'e' not counted."""
    w = fold(word)
    w = re.sub(r"(?<=[^aeiouy])es?$", "", w) if len(w) > 3 else w
    return max(1, len(re.findall(r"[aeiouy]+", w)))


def readability(text: str) -> float:
    """Kandel & Moles' adaptation of Flesch's reading ease to French (higher is easier; 60–70 is
    plain language, above 70 easy): 207 − 1.015 × words per sentence − 73.6 × syllables per word."""
    sentences = [s for s in re.split(r"[.!?:;]+|\n", text) if re.search(r"\w", s)]
    words = _WORD.findall(text)
    if not sentences or not words:
        return 0.0
    per_sentence = len(words) / len(sentences)
    per_word = sum(syllables(w) for w in words) / len(words)
    return 207 - 1.015 * per_sentence - 73.6 * per_word


# -- loading ---------------------------------------------------------------------------------


def _front_matter(path: Path) -> tuple[dict[str, object], str]:
    text = path.read_text(encoding="utf-8")
    if not text.startswith("+++\n"):
        raise HelpError(f"{path.name}: starts with '+++' then the front matter (see FORMAT.md)")
    try:
        head, body = text[4:].split("\n+++\n", 1)
        return tomllib.loads(head), body.strip() + "\n"
    except ValueError as error:
        raise HelpError(f"{path.name}: front matter: {error}") from None


def load_glossary(path: Path) -> dict[str, GlossaryTerm]:
    """Glossary by slug. Raises HelpError if an alias is claimed twice or a field is missing."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise HelpError(f"{path.name}: {error}") from None
    terms: dict[str, GlossaryTerm] = {}
    for entry in data.get("terms", []):
        try:
            term = GlossaryTerm(
                slug=slugify(str(entry["term"])),
                term=str(entry["term"]),
                definition=str(entry["definition"]).strip(),
                aliases=tuple(str(a) for a in entry.get("aliases", [])),
            )
        except KeyError as missing:
            raise HelpError(f"{path.name}: a term has no {missing}") from None
        if not term.definition:
            raise HelpError(f"{path.name}: {term.term!r} has an empty definition")
        terms[term.slug] = term
    return terms


def load_article(path: Path) -> Article:
    meta, body = _front_matter(path)
    slug = path.stem
    if not _SLUG.fullmatch(slug):
        raise HelpError(f"{path.name}: the file name must be a slug (a-z, 0-9, dashes)")
    try:
        category = Category(str(meta["category"]))
        updated = meta["updated"]
        if not isinstance(updated, date):
            raise HelpError(f"{path.name}: updated must be a date, e.g. updated = 2026-11-25")
        return Article(
            slug=slug,
            title=str(meta["title"]),
            category=category,
            keywords=tuple(str(k) for k in meta.get("keywords", [])),  # type: ignore[attr-defined]
            updated=updated,
            prepare=tuple(str(p) for p in meta.get("prepare", [])),  # type: ignore[attr-defined]
            body=body,
            tile=str(meta["tile"]) if meta.get("tile") else None,
            video=str(meta["video"]) if meta.get("video") else None,
        )
    except KeyError as missing:
        raise HelpError(f"{path.name}: the front matter needs {missing}") from None
    except ValueError as error:
        raise HelpError(f"{path.name}: {error}") from None


def load_translation(path: Path, original: Article, language: str) -> Article:
    """``articles/<language>/<slug>.md``: the French article's title, what to prepare and body in
    another language; its category, tile, video and search keywords are the French article's."""
    meta, body = _front_matter(path)
    updated = meta.get("updated")
    if "title" not in meta or not isinstance(updated, date):
        raise HelpError(f"{language}/{path.name}: the front matter needs a title and an updated date")
    return replace(
        original,
        title=str(meta["title"]),
        updated=updated,
        prepare=tuple(str(p) for p in meta.get("prepare", [])),  # type: ignore[attr-defined]
        body=body,
        language=language,
    )


@dataclass
class HelpCentre:
    articles: dict[str, Article]
    glossary: dict[str, GlossaryTerm]
    directory: Path | None = None
    translations: dict[str, dict[str, Article]] = field(default_factory=dict)  # language → slug → article
    _md: MarkdownIt = field(default_factory=lambda: MarkdownIt("commonmark", {"html": False}), repr=False)
    _load_problems: list[str] = field(default_factory=list, repr=False)

    @classmethod
    def load(cls, directory: Path) -> HelpCentre:
        glossary = load_glossary(directory / "glossary.toml")
        articles = {}
        for path in sorted((directory / "articles").glob("*.md")):
            article = load_article(path)
            articles[article.slug] = article
        centre = cls(articles, glossary, directory)
        for folder in sorted((directory / "articles").iterdir()):
            if not folder.is_dir() or not re.fullmatch(r"[a-z]{2}", folder.name) or folder.name == "fr":
                continue
            for path in sorted(folder.glob("*.md")):
                original = articles.get(path.stem)
                if original is None:
                    centre._load_problems.append(f"{folder.name}/{path.name}: no French article {path.stem}.md")
                    continue
                try:
                    translated = load_translation(path, original, folder.name)
                except HelpError as error:  # one bad translation: the French is shown instead
                    centre._load_problems.append(str(error))
                    continue
                centre.translations.setdefault(folder.name, {})[original.slug] = translated
        return centre

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

    # -- glossary ------------------------------------------------------------------------------
    @cached_property
    def _aliases(self) -> dict[str, GlossaryTerm]:
        index: dict[str, GlossaryTerm] = {}
        for term in self.glossary.values():
            for name in (term.term, *term.aliases):
                index[fold(name)] = term
        return index

    def term(self, written: str) -> GlossaryTerm | None:
        return self._aliases.get(fold(written.strip()))

    def problems(self, tile_ids: set[str] | None = None) -> list[str]:
        """Every problem of the content: unknown glossary links and tiles, empty sections,
        translations without a French article, older than it or with glossary links."""
        found = list(self._load_problems)
        for language, translated in sorted(self.translations.items()):
            for slug, article in sorted(translated.items()):
                if article.updated < self.articles[slug].updated:
                    found.append(
                        f"{language}/{slug}.md: older than {slug}.md (the French is shown until it is updated)"
                    )
                if _TERM.search(article.body):
                    found.append(f"{language}/{slug}.md: [[glossary]] links are for French articles only")
        for article in self.articles.values():
            for written in _TERM.findall(article.body):
                if self.term(written) is None:
                    found.append(f"{article.slug}.md: [[{written}]] is not in glossary.toml")
            if tile_ids is not None and article.tile is not None and article.tile not in tile_ids:
                found.append(f"{article.slug}.md: tile {article.tile!r} is not in tiles.toml")
            if "## Étapes" not in article.body:
                found.append(f"{article.slug}.md: no '## Étapes' section")
            if not article.prepare:
                found.append(f"{article.slug}.md: say what to prepare beforehand (prepare = [...])")
            if article.video and self.directory is not None:
                video = self.directory / "videos" / article.video
                if not video.is_file() or not video.with_suffix(".vtt").is_file():
                    found.append(f"{article.slug}.md: video {article.video} or its .vtt subtitles are missing")
        return found

    # -- rendering -----------------------------------------------------------------------------
    def render(self, article: Article) -> str:
        """The article's body as HTML, glossary terms as tappable definitions."""
        seen: dict[str, int] = {}
        placeholders: dict[str, str] = {}

        def mark(match: re.Match[str]) -> str:
            written = match.group(1)
            term = self.term(written)
            key = f"glossaryterm{len(placeholders)}x"
            if term is None:
                placeholders[key] = html.escape(written)
            else:
                seen[term.slug] = seen.get(term.slug, 0) + 1
                placeholders[key] = (
                    f'<span class="term"><button type="button" class="term-word" aria-expanded="false" '
                    f'data-term="{term.slug}">{html.escape(written)}</button>'
                    f'<span class="term-def" role="note" hidden><strong>{html.escape(term.term)}</strong> : '
                    f"{html.escape(term.definition)}</span></span>"
                )
            return key

        rendered = str(self._md.render(_TERM.sub(mark, article.body)))
        for key, value in placeholders.items():
            rendered = rendered.replace(key, value)
        return rendered

    def glossary_terms_in(self, article: Article) -> list[GlossaryTerm]:
        terms = [self.term(w) for w in _TERM.findall(article.body)]
        return list({t.slug: t for t in terms if t is not None}.values())

    def by_category(self) -> list[tuple[Category, list[Article]]]:
        groups = []
        for category in Category:
            members = sorted((a for a in self.articles.values() if a.category is category), key=lambda a: a.title)
            if members:
                groups.append((category, members))
        return groups

    # -- search --------------------------------------------------------------------------------
    @cached_property
    def _index(self) -> sqlite3.Connection:
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        conn.execute(
            "CREATE VIRTUAL TABLE docs USING fts5(slug UNINDEXED, title, keywords, body, "
            "tokenize = \"unicode61 remove_diacritics 2 tokenchars '-'\")"
        )
        conn.execute("CREATE VIRTUAL TABLE vocab USING fts5vocab(docs, 'row')")
        for article in self.articles.values():
            conn.execute(
                "INSERT INTO docs (slug, title, keywords, body) VALUES (?, ?, ?, ?)",
                (
                    article.slug,
                    fold(article.title),
                    fold(" ".join(article.keywords) + " " + " ".join(t.term for t in self.glossary_terms_in(article))),
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
        words: list[str] = []
        for phrase, extra in SYNONYMS.items():
            if " " in phrase and phrase in folded:
                words += extra.split()
        for token in _WORD.findall(folded):
            token = token.strip("'")
            for part in token.split("'"):
                if len(part) < 2 or part in _STOP_WORDS:
                    continue
                words.append(part)
                if part in SYNONYMS:
                    words += SYNONYMS[part].split()
                if not self._known(part):
                    words += self._corrections(part)
        return list(dict.fromkeys(w for w in words if w not in _STOP_WORDS))

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
        return [self.articles[slug] for (slug,) in rows]


_STOP_TEXT = """
le la les l un une des de du d et ou à au aux en pour par sur avec sans mon ma mes ton ta tes son sa ses
je j tu il elle on nous vous ils elles me m te t se s ce c ça ca cela qui que qu quoi comment où
est suis es sont ai as a avoir être faire fait veux voudrais peux peut dois besoin svp stp merci
bonjour site internet ligne y
"""
_STOP_WORDS = frozenset(fold(word) for word in _STOP_TEXT.split())
