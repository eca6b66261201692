"""The help centre's content: guides, glossary, translations and search synonyms from a directory.

The format is ``config/help/FORMAT.md``. Loading is tolerant: what cannot be read becomes a
:class:`Problem` naming the file (and the line when it can be found) and the rest loads, so that
an editor sees every mistake at once (``kiosk help check``). Whether a problem makes the whole
centre unusable is the caller's choice (:meth:`kiosk.core.help.HelpCentre.load`).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

from kiosk.core.help.text import fold, slugify
from sync.vocabulary import Category

SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
TERM = re.compile(r"\[\[([^\[\]\n]{1,60})\]\]")
"""A glossary link in a guide: ``[[mot de passe]]``."""
SYNONYMS_FILE = "synonyms.toml"


class HelpError(ValueError):
    """A problem in the help content; the message names the file and what to fix."""


@dataclass(frozen=True)
class Problem:
    """Something wrong in the content: ``path`` is relative to the help directory."""

    path: str  # "articles/carte-vitale.md", "articles/en/x.md", "glossary.toml", "synonyms.toml"
    message: str
    line: int | None = None

    def __str__(self) -> str:
        """The short form the logs show: the guide's name within ``articles/``."""
        return f"{self.path.removeprefix('articles/')}: {self.message}"


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
        text = TERM.sub(lambda m: m.group(1), self.body)
        text = re.sub(r"[#*_`>]+", " ", text)
        return re.sub(r"\s+", " ", text).strip()

    @property
    def path(self) -> str:
        """Its file, relative to the help directory."""
        folder = "articles" if self.language == "fr" else f"articles/{self.language}"
        return f"{folder}/{self.slug}.md"


@dataclass(frozen=True)
class Synonyms:
    """Everyday words residents type → words of the guides; and the words search ignores."""

    words: dict[str, tuple[str, ...]] = field(default_factory=dict)  # folded word or phrase → folded words
    stop_words: frozenset[str] = frozenset()


@dataclass
class Content:
    """What loaded from a help directory, and what did not."""

    articles: dict[str, Article] = field(default_factory=dict)
    glossary: dict[str, GlossaryTerm] = field(default_factory=dict)
    translations: dict[str, dict[str, Article]] = field(default_factory=dict)  # language → slug → article
    synonyms: Synonyms = field(default_factory=Synonyms)
    errors: list[Problem] = field(default_factory=list)  # the glossary or a French guide unreadable
    problems: list[Problem] = field(default_factory=list)  # a translation or the synonyms unreadable


# -- finding lines -----------------------------------------------------------------------------


def key_line(text: str, key: str) -> int | None:
    """The line (1-based) where ``key = …`` is first written, if any."""
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=", re.M)
    match = pattern.search(text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def text_line(text: str, needle: str) -> int | None:
    """The line (1-based) where ``needle`` first appears, if any."""
    position = text.find(needle)
    return text.count("\n", 0, position) + 1 if position >= 0 else None


def _toml_problem(name: str, error: tomllib.TOMLDecodeError, prefix: str = "", offset: int = 0) -> Problem:
    """A TOML syntax error as a problem at its line (``offset``: lines of the file before the TOML)."""
    match = re.search(r"\s*\(at line (\d+), column (\d+)\)", str(error))
    if match is None:
        return Problem(name, f"{prefix}{error}")
    where = f" (column {match.group(2)})"
    return Problem(name, f"{prefix}{str(error)[: match.start()]}{where}", int(match.group(1)) + offset)


# -- files -------------------------------------------------------------------------------------


class _Unreadable(Exception):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _front_matter(path: Path, name: str) -> tuple[dict[str, object], str, str]:
    """(front matter, body, whole text) of the guide ``name`` (its path in the help directory)."""
    text = path.read_text(encoding="utf-8")
    if not text.startswith("+++\n"):
        raise _Unreadable(Problem(name, "starts with '+++' then the front matter (see FORMAT.md)", 1))
    try:
        head, body = text[4:].split("\n+++\n", 1)
    except ValueError:
        raise _Unreadable(Problem(name, "the front matter has no closing '+++' line", 1)) from None
    try:
        return tomllib.loads(head), body.strip() + "\n", text
    except tomllib.TOMLDecodeError as error:
        raise _Unreadable(_toml_problem(name, error, "front matter: ", offset=1)) from None


def _glossary(path: Path) -> dict[str, GlossaryTerm]:
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _Unreadable(_toml_problem(path.name, error)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise _Unreadable(Problem(path.name, f"cannot be read: {error}")) from None
    terms: dict[str, GlossaryTerm] = {}
    headers = [m.start() for m in re.finditer(r"^\s*\[\[\s*terms\s*\]\]", text, re.M)]
    for index, entry in enumerate(data.get("terms", [])):
        line = text.count("\n", 0, headers[index]) + 1 if index < len(headers) else None
        try:
            term = GlossaryTerm(
                slug=slugify(str(entry["term"])),
                term=str(entry["term"]),
                definition=str(entry["definition"]).strip(),
                aliases=tuple(str(a) for a in entry.get("aliases", [])),
            )
        except KeyError as missing:
            raise _Unreadable(Problem(path.name, f"a term has no {missing}", line)) from None
        if not term.definition:
            raise _Unreadable(Problem(path.name, f"{term.term!r} has an empty definition", line))
        terms[term.slug] = term
    return terms


def _article(path: Path, name: str) -> Article:
    meta, body, text = _front_matter(path, name)
    slug = path.stem
    if not SLUG.fullmatch(slug):
        raise _Unreadable(Problem(name, "the file name must be a slug (a-z, 0-9, dashes)"))
    try:
        category = Category(str(meta["category"]))
        updated = meta["updated"]
        if not isinstance(updated, date):
            raise _Unreadable(
                Problem(name, "updated must be a date, e.g. updated = 2026-11-25", key_line(text, "updated"))
            )
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
        raise _Unreadable(Problem(name, f"the front matter needs {missing}", 1)) from None
    except ValueError as error:
        raise _Unreadable(Problem(name, str(error), key_line(text, "category"))) from None


def _translation(path: Path, original: Article, language: str) -> Article:
    name = f"articles/{language}/{path.name}"
    meta, body, _text = _front_matter(path, name)
    updated = meta.get("updated")
    if "title" not in meta or not isinstance(updated, date):
        raise _Unreadable(Problem(name, "the front matter needs a title and an updated date", 1))
    return replace(
        original,
        title=str(meta["title"]),
        updated=updated,
        prepare=tuple(str(p) for p in meta.get("prepare", [])),  # type: ignore[attr-defined]
        body=body,
        language=language,
    )


def load_synonyms(path: Path) -> tuple[Synonyms, list[Problem]]:
    """The search's synonyms and stop words; what is wrong is left out and reported, never raised."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        return Synonyms(), [Problem(name, "missing: search finds only the guides' own words")]
    except tomllib.TOMLDecodeError as error:
        problem = _toml_problem(name, error)
        return Synonyms(), [replace(problem, message=f"{problem.message}; search finds only the guides' own words")]
    except (OSError, UnicodeDecodeError) as error:
        return Synonyms(), [Problem(name, f"cannot be read: {error}")]
    problems = [
        Problem(name, f"unknown key {key!r}: only stop_words and [synonyms]", key_line(text, key))
        for key in data
        if key not in ("stop_words", "synonyms")
    ]
    stop_words = data.get("stop_words", [])
    if not isinstance(stop_words, list) or not all(isinstance(w, str) for w in stop_words):
        problems.append(Problem(name, "stop_words must be a list of words", key_line(text, "stop_words")))
        stop_words = []
    table = data.get("synonyms", {})
    if not isinstance(table, dict):
        problems.append(Problem(name, "[synonyms] must be a table: word = [words…]", key_line(text, "synonyms")))
        table = {}
    words: dict[str, tuple[str, ...]] = {}
    for written, found in table.items():
        if not isinstance(found, list) or not found or not all(isinstance(w, str) and w.strip() for w in found):
            line = key_line(text, written) or key_line(text, f'"{written}"')
            problems.append(Problem(name, f'{written!r} needs a list of words, e.g. ["ameli"]', line))
            continue
        words[fold(written).strip()] = tuple(w for phrase in found for w in fold(phrase).split())
    return Synonyms(words, frozenset(fold(w) for w in stop_words)), problems


def load_content(directory: Path) -> Content:
    """Everything in ``directory`` that can be read; the rest as problems (see :class:`Content`)."""
    content = Content()
    try:
        content.glossary = _glossary(directory / "glossary.toml")
    except _Unreadable as error:
        content.errors.append(error.problem)
    articles = directory / "articles"
    for path in sorted(articles.glob("*.md")):
        try:
            article = _article(path, f"articles/{path.name}")
        except (_Unreadable, OSError, UnicodeDecodeError) as error:
            content.errors.append(_problem(error, f"articles/{path.name}"))
            continue
        content.articles[article.slug] = article
    for folder in sorted(articles.iterdir()) if articles.is_dir() else ():
        if not folder.is_dir() or not re.fullmatch(r"[a-z]{2}", folder.name) or folder.name == "fr":
            continue
        for path in sorted(folder.glob("*.md")):
            name = f"articles/{folder.name}/{path.name}"
            original = content.articles.get(path.stem)
            if original is None:
                content.problems.append(Problem(name, f"no French article {path.stem}.md"))
                continue
            try:  # one bad translation: the French is shown instead
                translated = _translation(path, original, folder.name)
            except (_Unreadable, OSError, UnicodeDecodeError) as error:
                content.problems.append(_problem(error, name))
                continue
            content.translations.setdefault(folder.name, {})[original.slug] = translated
    content.synonyms, found = load_synonyms(directory / SYNONYMS_FILE)
    content.problems += found
    return content


def _problem(error: Exception, path: str) -> Problem:
    """``error`` as a problem of the file at ``path`` (relative to the help directory)."""
    if isinstance(error, _Unreadable):
        return error.problem
    return Problem(path, f"cannot be read: {error}")
